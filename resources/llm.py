"""The LLM resource: the settings of every stage (one litellm model string per stage, the embedded model
by default); what they mean is in linksyn_assets/llm/stage_config.py."""

from collections.abc import Callable
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from linksyn_assets.layout import ledger_location
from linksyn_assets.llm.budget import Prices, UnpricedBudget, check_priced, prices_for
from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.embedded.process import EmbeddedServerFailed, server_failure
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.rate_control import route_key
from linksyn_assets.llm.records import BatchStats, ModelRoute
from linksyn_assets.llm.session import LLMSession
from linksyn_assets.llm.stage_config import (
    STAGES,
    THINKING_TOKENS,
    MissingApiKey,
    batch_budgets,
    check_stage,
    is_embedded,
    length_retry_cap,
    merged_request_params,
    model_route,
    stage_caps,
)

_HOW_NOT_WHAT = {"max_concurrency", "timeout_s", "max_retries", "outage_s", "ledger_path", "workers", "transport",
                 "max_failed_share", "price_input_per_mtok", "price_output_per_mtok"}


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
    structured_output: str = Field("auto", description="auto | json_schema | json_object | prompt (no "
                                                       "response_format; the schema is in the prompt)")
    thinking: str = Field("auto", description="does the model think before answering (its thought counts "
                                              "against max_tokens)? auto: R1 and its distills, DeepSeek's API and "
                                              "deepseek-v4-pro unless thinking is disabled, any model with "
                                              "reasoning_effort set, and a route whose replies show a thought; "
                                              "on | off override")
    max_concurrency: int = Field(8, ge=1, description="upper bound; adapts down on 429s")
    timeout_s: float = Field(600.0, gt=0)
    max_retries: int = Field(4, ge=0)
    outage_s: float = Field(120.0, ge=0, description="a route that has answered before and now cannot be reached "
                            "(refused, reset, timeouts, 5xx, 429) is waited for this long, with backoff, before its "
                            "requests give up; a step whose failures were all of this kind is then retried by its "
                            "retry policy")
    temperature: float = Field(0.6, ge=0)
    extract_max_tokens: int = Field(512, ge=16)
    synthesize_max_tokens: int = Field(4096, ge=16)
    harden_max_tokens: int = Field(4096, ge=16)
    judge_max_tokens: int = Field(1024, ge=16)
    verify_max_tokens: int = Field(4096, ge=16)
    # The thinking allowance, on top of the caps above when the route thinks.
    extract_thinking_tokens: int = Field(THINKING_TOKENS["extract"], ge=0,
                                   description="thinking allowance for extraction")
    synthesize_thinking_tokens: int = Field(THINKING_TOKENS["synthesize"], ge=0,
                                   description="thinking allowance for synthesis")
    harden_thinking_tokens: int = Field(THINKING_TOKENS["harden"], ge=0,
                                   description="thinking allowance for hard variants")
    judge_thinking_tokens: int = Field(THINKING_TOKENS["judge"], ge=0,
                                   description="thinking allowance for the difficulty judge")
    verify_thinking_tokens: int = Field(THINKING_TOKENS["verify"], ge=0,
                                   description="thinking allowance for the independent solve")
    ledger_path: str = Field("", description="request ledger: a SQLite file or a postgresql:// URL; empty = "
                                             "LINKSYN_LEDGER_URL, else <scratch dir>/llm_ledger.sqlite")
    retry_failed: bool = Field(False, description="re-ask requests whose recorded reply was unusable")
    price_input_per_mtok: float | None = Field(None, description="USD per million prompt tokens (self-hosted)")
    price_output_per_mtok: float | None = Field(None, description="USD per million completion tokens")
    budget_usd_per_run: float | None = Field(None, ge=0, description="stop before a run spends more")
    budget_tokens_per_run: int | None = Field(None, ge=0)
    budget_usd_per_partition: float | None = Field(None, ge=0, description="per asset partition, per run")
    budget_tokens_per_partition: int | None = Field(None, ge=0)
    budget_usd_total: float | None = Field(None, ge=0, description="one budget for every run and worker on this "
                                                                    "ledger (scope budget_scope)")
    budget_tokens_total: int | None = Field(None, ge=0)
    budget_scope: str = Field("project", description="name of the shared total budget")
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

    def answer_settings(self) -> dict[str, Any]:
        """The fields that decide what the answers are (models, endpoint, sampling, caps, parameters), for a
        recipe (recipes.py); budgets, concurrency, retries and the ledger's place only decide how they are got.
        Holds the key's variable name, never the key."""
        return self.model_dump(exclude={name for name in type(self).model_fields
                                        if name.startswith("budget_") or name in _HOW_NOT_WHAT})

    def request_params_for(self, stage: str) -> dict:
        return merged_request_params(stage, self.request_params, self._stage_field(stage, "request_params"))

    def _stage_field(self, stage: str, suffix: str) -> Any:
        """The per-stage field `<stage>_<suffix>` (one naming rule instead of a map per setting)."""
        return getattr(self, f"{check_stage(stage)}_{suffix}")

    def model_for(self, stage: str) -> str:
        return self._stage_field(stage, "model") or self.model

    def route(self, stage: str) -> ModelRoute:
        try:
            return model_route(self.model_for(stage), self.api_base, self.api_key_env, self.structured_output,
                               self.request_params_for(stage), self.thinking)
        except (MissingApiKey, EmbeddedServerFailed, ValueError) as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc

    def prices(self, route: ModelRoute) -> Prices:
        if is_embedded(route):
            return Prices(source="local")
        return prices_for(route.model, self.price_input_per_mtok, self.price_output_per_mtok)

    def usd_budget_set(self) -> bool:
        return any(v is not None for v in (self.budget_usd_per_run, self.budget_usd_per_partition,
                                           self.budget_usd_total))

    def unpriced_budget(self) -> str | None:
        """Why a run may not start: a USD budget with a stage whose price is unknown (checked without starting the
        embedded model)."""
        if not self.usd_budget_set():
            return None
        for stage in STAGES:
            model = self.model_for(stage)
            if not model:
                continue
            try:
                check_priced(model, prices_for(model, self.price_input_per_mtok, self.price_output_per_mtok), True)
            except UnpricedBudget as exc:
                return f"[{stage}] {exc}"
        return None

    _session: LLMSession | None = PrivateAttr(default=None)

    def session(self) -> LLMSession:
        """The ledger connections and route rates of this run's batches (closed when the run ends)."""
        if self._session is None:
            self._session = LLMSession()
        return self._session

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def ledger(self) -> RequestLedger:
        return self.session().ledger(self.ledger_path or ledger_location())

    def client(self, stage: str, log: Callable[[str], None] | None = None, run_id: str | None = None,
               partition: str | None = None,
               on_progress: Callable[[BatchStats, int | None], None] | None = None) -> LLMClient:
        route = self.route(stage)
        prices = self.prices(route)
        try:
            check_priced(route.model, prices, self.usd_budget_set())
        except UnpricedBudget as exc:
            raise dg.Failure(f"[{stage}] {exc}", allow_retries=False) from exc
        ledger = self.ledger()
        answer_tokens = self._stage_field(stage, "max_tokens")
        max_tokens, answer_tokens, thinking_tokens = stage_caps(stage, route, answer_tokens,
                                                                self._stage_field(stage, "thinking_tokens"))
        budgets = batch_budgets(run_id, stage, partition, self.budget_usd_per_run, self.budget_tokens_per_run,
                                self.budget_usd_per_partition, self.budget_tokens_per_partition,
                                self.budget_usd_total, self.budget_tokens_total, self.budget_scope)
        return LLMClient(route, ledger, stage=stage, max_concurrency=self.max_concurrency,
                         timeout_s=self.timeout_s, max_retries=self.max_retries, outage_s=self.outage_s,
                         temperature=self.temperature,
                         max_tokens=max_tokens, max_tokens_cap=length_retry_cap(route, max_tokens),
                         retry_failed=self.retry_failed, prices=prices, budgets=budgets, log=log,
                         on_progress=on_progress, transport=self.transport,
                         answer_tokens=answer_tokens, thinking_tokens=thinking_tokens,
                         liveness=server_failure if is_embedded(route) else None,
                         rate=self.session().rate(route_key(route.model, route.api_base, route.api_key),
                                                  self.max_concurrency))
