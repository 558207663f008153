"""Running one LLM batch from an asset: progress, spend per run, and clear stops."""

from collections.abc import Iterable

import dagster as dg
from pydantic import BaseModel

from linksyn_assets.layout import spool_dir
from linksyn_assets.llm.budget import BudgetExceeded
from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.ledger import LedgerUnusable
from linksyn_assets.llm.progress import ProgressSink
from linksyn_assets.llm.records import (
    CallResult,
    Request,
    RunAborted,
    failed_share_verdict,
    only_refused,
    only_transient,
)
from linksyn_assets.llm.shutdown import graceful_stop
from linksyn_assets.llm.spool import ResultShards
from linksyn_assets.llm.workers import stream_batch
from resources.llm import LLMResource

# A failure that every discipline would meet the same way (the ledger, the key, the model): `linksyn run` stops
# at the first one instead of repeating it per discipline (cli/launch.py: stops_run).
STOPS_RUN = {"stops_run": True}


def run_llm_batch(context: dg.AssetExecutionContext, llm: LLMResource, progress: ProgressSink, stage: str,
                  requests: Iterable[Request], output: type[BaseModel],
                  prompt_version: str) -> tuple[list[CallResult], LLMClient]:
    partition = context.partition_key if context.has_partition_key else "-"
    try:
        client = llm.client(stage, context.log.info, run_id=context.run_id, partition=partition,
                            on_progress=progress.for_batch(stage, partition))
    except LedgerUnusable as exc:
        raise dg.Failure(str(exc), metadata=STOPS_RUN, allow_retries=False) from exc
    requests = list(requests)
    shards = ResultShards(spool_dir(stage, partition, context.run_id))
    try:
        with graceful_stop():
            stream_batch(client, requests, output, prompt_version, shards, total=len(requests), workers=llm.workers)
        results = list(shards.read())
    except RunAborted as exc:
        # a stop signal to the process, a route that cannot be reached and never answered, or a model the host does
        # not serve: no retry, and no other discipline
        everywhere = STOPS_RUN if client.stopped and client.stopped[0] in ("signal", "route") else {}
        raise dg.Failure(str(exc), metadata={**client.stats.as_metadata(), **everywhere},
                         allow_retries=False) from exc
    except BudgetExceeded as exc:
        raise dg.Failure(str(exc), metadata=client.stats.as_metadata(), allow_retries=False) from exc
    except LedgerUnusable as exc:
        raise dg.Failure(str(exc), metadata={**client.stats.as_metadata(), **STOPS_RUN}, allow_retries=False) from exc
    finally:
        shards.remove()
    verdict = failed_share_verdict(stage, results, llm.max_failed_share)
    if verdict:
        # an outage longer than llm.outage_s: the step's retry policy tries again later (answers so far are kept);
        # refused keys and bad requests would fail again, in every discipline
        transient = only_transient(results)
        refused = not transient and only_refused(results)
        raise dg.Failure(verdict + ("; all transient: the step is retried" if transient else ""),
                         metadata={**client.stats.as_metadata(), **(STOPS_RUN if refused else {})},
                         allow_retries=transient)
    return results, client
