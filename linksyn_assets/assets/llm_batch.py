"""Running one LLM batch from an asset: progress, spend per run, and clear stops."""

from collections.abc import Iterable

import dagster as dg
from pydantic import BaseModel

from resources.llm import LLMResource
from resources.llm_budget import BudgetExceeded
from resources.llm_client import CallResult, LLMClient, Request, RunAborted
from resources.progress_bar import terminal_progress


def run_llm_batch(context: dg.AssetExecutionContext, llm: LLMResource, stage: str, requests: Iterable[Request],
                  output: type[BaseModel], prompt_version: str) -> tuple[list[CallResult], LLMClient]:
    partition = context.partition_key if context.has_partition_key else "-"
    client = llm.client(stage, context.log.info, run_id=context.run_id, partition=partition,
                        on_progress=terminal_progress(stage, partition))
    try:
        results = client.run(requests, output, prompt_version)
    except (BudgetExceeded, RunAborted) as exc:
        raise dg.Failure(str(exc), metadata=client.stats.as_metadata()) from exc
    finally:
        llm.record_spend(client, context.run_id)
    return results, client
