"""From settings to a client: each stage's route, request parameters, token cap and budgets.

The settings themselves live in the Dagster resource (resources/llm.py); this module is what they mean,
so it can be used and tested without Dagster.
"""

from __future__ import annotations

import json
import os
import uuid

from linksyn_assets.llm.budget import Budget
from linksyn_assets.llm.client import LENGTH_RETRY_CAP
from linksyn_assets.llm.embedded.route import MAX_TOKENS as EMBEDDED_MAX_TOKENS
from linksyn_assets.llm.embedded.route import embedded_route_fields
from linksyn_assets.llm.providers import route_thinks
from linksyn_assets.llm.records import ModelRoute

STAGES = ("extract", "synthesize", "harden", "judge", "verify")
# Thinking allowance per stage, added to the answer's cap on a route that thinks (DeepSeek counts the thought inside
# max_tokens). R1 and deepseek-v4-pro think for 1-4k tokens on most exam questions and longer on hard maths, and
# docs/scaling.md plans with about 2,000 reasoning tokens per call; writing and solving get more room than reading.
THINKING_TOKENS = {"extract": 4096, "synthesize": 8192, "harden": 8192, "judge": 4096, "verify": 8192}


class MissingApiKey(RuntimeError):
    """api_key_env names a variable that is not set."""


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise KeyError(f"unknown LLM stage {stage!r}; stages: {STAGES}")
    return stage


def merged_request_params(stage: str, common: str, for_stage: str) -> dict:
    """The JSON objects `request_params` and `<stage>_request_params`, the stage's keys winning."""
    merged: dict = {}
    for name, raw in (("request_params", common), (f"{stage}_request_params", for_stage)):
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"llm.{name}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(value, dict):
            raise ValueError(f"llm.{name}: must be a JSON object, got {type(value).__name__}")
        merged.update(value)
    return merged


def model_route(model: str, api_base: str, api_key_env: str, structured_output: str, params: dict,
                thinking: str = "auto") -> ModelRoute:
    """Where a stage's calls go; an empty model is the embedded demo model (started on first use). `thinking`
    (auto | on | off) says whether the model thinks before answering (auto: providers.route_thinks)."""
    if not model:
        return ModelRoute(**embedded_route_fields())
    key = None
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise MissingApiKey(f"environment variable {api_key_env} (api_key_env) is not set")
    identity = f"{model}@{api_base}" if api_base else model
    return ModelRoute(model=model, cache_identity=identity, api_base=api_base or None, api_key=key,
                      structured_output=structured_output,
                      request_params=json.dumps(params, sort_keys=True, ensure_ascii=False) if params else "",
                      thinking=route_thinks(model, params, thinking))


def is_embedded(route: ModelRoute) -> bool:
    return route.embedded


def stage_max_tokens(stage: str, route: ModelRoute, configured: int) -> int:
    """The answer's own cap (the thinking allowance comes on top: stage_caps)."""
    if is_embedded(route):
        return min(configured, EMBEDDED_MAX_TOKENS[stage])
    return configured


def stage_caps(stage: str, route: ModelRoute, answer_tokens: int, thinking_tokens: int) -> tuple[int, int, int]:
    """(first attempt's max_tokens, the answer's cap, allowance for later requests once replies show a thought): a
    route known to think starts with the answer's cap plus the allowance; the embedded demo model never thinks."""
    answer = stage_max_tokens(stage, route, answer_tokens)
    if is_embedded(route):
        return answer, answer, 0
    return (answer + thinking_tokens if route.thinking else answer), answer, thinking_tokens


def length_retry_cap(route: ModelRoute, max_tokens: int) -> int:
    """The largest max_tokens a reply cut off at the cap may be asked again with. The demo model's cut-off replies
    are loops (a word repeated up to the cap), which a longer cap only makes longer: no second try for it."""
    return max_tokens if is_embedded(route) else LENGTH_RETRY_CAP


def batch_budgets(run_id: str | None, stage: str, partition: str | None,
                  usd_per_run: float | None, tokens_per_run: int | None,
                  usd_per_partition: float | None, tokens_per_partition: int | None,
                  usd_total: float | None = None, tokens_total: int | None = None,
                  total_scope: str = "total") -> list[Budget]:
    """Every budget is kept in the ledger, so it holds across the worker processes of a batch, the stages of
    a run (run scope), and, for the total, every run and worker on the same ledger."""
    budgets = []
    run_id = run_id or f"adhoc-{uuid.uuid4().hex}"  # outside a run: this batch alone
    if usd_total is not None or tokens_total is not None:
        budgets.append(Budget(f"shared '{total_scope}'", usd_total, tokens_total, scope=f"total:{total_scope}"))
    if usd_per_run is not None or tokens_per_run is not None:
        budgets.append(Budget("run", usd_per_run, tokens_per_run, scope=f"run:{run_id}"))
    if usd_per_partition is not None or tokens_per_partition is not None:
        budgets.append(Budget(f"partition {partition or '?'}", usd_per_partition, tokens_per_partition,
                              scope=f"partition:{run_id}:{stage}:{partition or '?'}"))
    return budgets
