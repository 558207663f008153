"""The LLM resource: one litellm model string per stage, the embedded model by default."""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from linksyn_assets.llm.budget import Budget, prices_for
from linksyn_assets.llm.client import BatchStats, LLMClient, ModelRoute
from linksyn_assets.llm.embedded_model import EMBEDDED_MODEL_ID, ensure_server
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.storage import data_dir

# The local llama.cpp server checks no key, but the OpenAI wire format wants one: not a secret.
_LOCAL_KEY = "sk-no-key-needed"
# The demo model loops until max_tokens under a JSON grammar; short caps keep a demo run short.
EMBEDDED_MAX_TOKENS = {"extract": 160, "synthesize": 640, "harden": 640, "judge": 96, "verify": 256}
_ledgers: dict[Path, RequestLedger] = {}
STAGES = ("extract", "synthesize", "harden", "judge", "verify")


class LLMResource(dg.ConfigurableResource):
    """Model strings are litellm's ('deepseek/deepseek-v4-pro', 'hosted_vllm/deepseek-ai/DeepSeek-R1',
    'openai/gpt-4o-mini'). Empty = the embedded SmolLM2 demo model. The API key is read from
    the environment variable named by api_key_env (or litellm's provider default, e.g.
    DEEPSEEK_API_KEY) at call time; it is never stored in config, ledger, logs or metadata."""

    model: str = Field("", description="default model for every stage; empty = embedded demo model")
    extract_model: str = Field("", description="overrides `model` for KP extraction")
    synthesize_model: str = Field("", description="overrides `model` for synthesis")
    harden_model: str = Field("", description="overrides `model` for hard variants")
    judge_model: str = Field("", description="overrides `model` for the difficulty judge of hard variants")
    verify_model: str = Field("", description="overrides `model` for the independent solve of every answer")
    api_base: str = Field("", description="OpenAI-compatible base URL (vLLM, proxies); empty = provider's")
    api_key_env: str = Field("", description="name of the env var holding the key; empty = litellm default")
    structured_output: str = Field("auto", description="auto | json_schema | json_object")
    max_concurrency: int = Field(8, ge=1, description="upper bound; adapts down on 429s")
    timeout_s: float = Field(600.0, gt=0)
    max_retries: int = Field(4, ge=0)
    temperature: float = Field(0.6, ge=0)
    extract_max_tokens: int = Field(512, ge=16)
    synthesize_max_tokens: int = Field(4096, ge=16)
    harden_max_tokens: int = Field(4096, ge=16)
    judge_max_tokens: int = Field(1024, ge=16)
    verify_max_tokens: int = Field(4096, ge=16)
    ledger_path: str = Field("", description="SQLite request ledger; empty = <data dir>/llm_ledger.sqlite")
    retry_failed: bool = Field(False, description="re-ask requests whose recorded reply was unusable")
    price_input_per_mtok: float | None = Field(None, description="USD per million prompt tokens (self-hosted)")
    price_output_per_mtok: float | None = Field(None, description="USD per million completion tokens")
    budget_usd_per_run: float | None = Field(None, ge=0, description="stop before a run spends more")
    budget_tokens_per_run: int | None = Field(None, ge=0)
    budget_usd_per_partition: float | None = Field(None, ge=0, description="per asset partition, per run")
    budget_tokens_per_partition: int | None = Field(None, ge=0)
    transport: str = Field("auto", description="auto: litellm routes, our HTTP for OpenAI-format providers; "
                                               "litellm: every call through litellm.acompletion")
    workers: int = Field(1, ge=1, description="processes per batch (helps the litellm transport)")
    request_params: str = Field("", description='JSON object of extra request parameters for every stage, e.g. '
                                                '{"reasoning_effort": "high"} or {"thinking": {"type": "disabled"}}; '
                                                'part of the request key')
    extract_request_params: str = Field("", description="JSON object merged over request_params for extraction")
    synthesize_request_params: str = Field("", description="... for synthesis")
    harden_request_params: str = Field("", description="... for hard variants")
    judge_request_params: str = Field("", description="... for the difficulty judge")
    verify_request_params: str = Field("", description="... for the independent solve")
    max_failed_share: float = Field(0.5, ge=0, le=1, description="an LLM asset fails when more than this share of "
                                                                 "its requests failed, however few they are")

    def request_params_for(self, stage: str) -> dict:
        merged: dict = {}
        for name, raw in (("request_params", self.request_params),
                          (f"{stage}_request_params", self._stage_field(stage, "request_params"))):
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

    def _stage_field(self, stage: str, suffix: str) -> Any:
        """The per-stage field `<stage>_<suffix>` (one naming rule instead of a map per setting)."""
        if stage not in STAGES:
            raise KeyError(f"unknown LLM stage {stage!r}; stages: {STAGES}")
        return getattr(self, f"{stage}_{suffix}")

    def model_for(self, stage: str) -> str:
        return self._stage_field(stage, "model") or self.model

    def route(self, stage: str) -> ModelRoute:
        model = self.model_for(stage)
        if not model:
            return ModelRoute(model="openai/smollm2", cache_identity=EMBEDDED_MODEL_ID,
                              api_base=ensure_server(), api_key=_LOCAL_KEY, structured_output="llama_cpp")
        key = None
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise dg.Failure(f"environment variable {self.api_key_env} (api_key_env) is not set")
        identity = f"{model}@{self.api_base}" if self.api_base else model
        params = self.request_params_for(stage)
        return ModelRoute(model=model, cache_identity=identity, api_base=self.api_base or None,
                          api_key=key, structured_output=self.structured_output,
                          request_params=json.dumps(params, sort_keys=True, ensure_ascii=False) if params else "")

    def ledger(self) -> RequestLedger:
        path = Path(self.ledger_path) if self.ledger_path else data_dir() / "llm_ledger.sqlite"
        if path not in _ledgers:
            _ledgers[path] = RequestLedger(path)
        return _ledgers[path]

    def client(self, stage: str, log: Callable[[str], None] | None = None, run_id: str | None = None,
               partition: str | None = None,
               on_progress: Callable[[BatchStats, int | None], None] | None = None) -> LLMClient:
        max_tokens = self._stage_field(stage, "max_tokens")
        route = self.route(stage)
        if route.cache_identity == EMBEDDED_MODEL_ID:
            max_tokens = min(max_tokens, EMBEDDED_MAX_TOKENS[stage])
        ledger = self.ledger()
        budgets = []
        if self.budget_usd_per_run is not None or self.budget_tokens_per_run is not None:
            usd, tokens = ledger.spent(f"run:{run_id}") if run_id else (0.0, 0)
            budgets.append(Budget("run", self.budget_usd_per_run, self.budget_tokens_per_run, usd, tokens))
        if self.budget_usd_per_partition is not None or self.budget_tokens_per_partition is not None:
            budgets.append(Budget(f"partition {partition or '?'}", self.budget_usd_per_partition,
                                  self.budget_tokens_per_partition))
        return LLMClient(route, ledger, stage=stage, max_concurrency=self.max_concurrency,
                         timeout_s=self.timeout_s, max_retries=self.max_retries, temperature=self.temperature,
                         max_tokens=max_tokens, retry_failed=self.retry_failed,
                         prices=prices_for(route.model, self.price_input_per_mtok, self.price_output_per_mtok),
                         budgets=budgets, log=log, on_progress=on_progress, transport=self.transport,
                         workers=self.workers)

    def record_spend(self, client: LLMClient, run_id: str | None) -> None:
        """Add a finished batch's spend to its run, for the run budget of later stages."""
        if run_id:
            self.ledger().add_spend(f"run:{run_id}", client.stats.cost_usd,
                                    client.stats.prompt_tokens + client.stats.completion_tokens)
