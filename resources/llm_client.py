"""Batch LLM calls through litellm: bounded concurrency, retries with backoff, JSON validation
with one repair turn, usage and cost, and a response cache keyed by the full request."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from .llm_cache import ResponseCache, request_key

# Before litellm is imported: never fetch the cost map over the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402

litellm.suppress_debug_info = True
litellm.telemetry = False
litellm.drop_params = True  # e.g. deepseek-reasoner rejects temperature

RETRYABLE = (
    litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.InternalServerError,
    litellm.ServiceUnavailableError, litellm.BadGatewayError,
)
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 60.0
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


@dataclass(frozen=True)
class ModelRoute:
    """Where one stage's calls go. api_key is read from the environment and never logged."""

    model: str
    cache_identity: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    structured_output: str = "json_schema"  # json_schema | json_object | llama_cpp

    def response_format(self, output: type[BaseModel]) -> dict[str, Any]:
        schema = output.model_json_schema()
        if self.structured_output == "llama_cpp":
            return {"type": "json_object", "schema": schema}
        if self.structured_output == "json_object":
            return {"type": "json_object"}
        return {"type": "json_schema", "json_schema": {"name": output.__name__, "schema": schema}}


class CallResult(BaseModel):
    item_id: str
    ok: bool
    data: dict[str, Any] | None = None
    error: str | None = None
    reasoning: str | None = None
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    http_calls: int = 0
    repaired: bool = False
    answered: bool = False  # the model replied (even if the reply stayed unusable)


@dataclass
class BatchStats:
    requests: int = 0
    cache_hits: int = 0
    http_calls: int = 0
    retries: int = 0
    repaired: int = 0
    ok: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def as_metadata(self) -> dict[str, Any]:
        return {
            "llm_requests": self.requests, "llm_cache_hits": self.cache_hits,
            "llm_http_calls": self.http_calls, "llm_retries": self.retries,
            "llm_repaired": self.repaired, "llm_ok": self.ok,
            "llm_failed": sum(self.failed.values()),
            "llm_failed_by_reason": dict(self.failed),
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }


class PermanentError(Exception):
    """A request that retrying will not fix (bad key, unknown model, bad request)."""


def parse_json_answer(content: str | None, output: type[BaseModel]) -> dict[str, Any]:
    """Validated JSON from a reply; raises ValueError with a reason a model can act on."""
    if not content or not content.strip():
        raise ValueError("empty reply")
    text = _FENCE.sub("", content.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the reply")
    try:
        data = json.loads(text[start:end + 1], strict=False)  # raw newlines inside strings are common
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg}") from exc
    try:
        return output.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'root'}: {e['msg']}" for e in exc.errors()[:5])
        raise ValueError(f"schema mismatch: {problems}") from exc


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class LLMClient:
    def __init__(self, route: ModelRoute, cache: ResponseCache, *, stage: str, max_concurrency: int = 8,
                 timeout_s: float = 600.0, max_retries: int = 4, temperature: float = 0.6,
                 max_tokens: int = 2048, log: Callable[[str], None] | None = None,
                 progress_every_s: float = 10.0, retry_failed: bool = False) -> None:
        self.route, self.cache, self.stage = route, cache, stage
        self.max_concurrency, self.timeout_s, self.max_retries = max_concurrency, timeout_s, max_retries
        self.temperature, self.max_tokens = temperature, max_tokens
        self.log = log or (lambda _msg: None)
        self.progress_every_s = progress_every_s
        self.retry_failed = retry_failed
        self.stats = BatchStats()

    # ------------------------------------------------------------ public

    def run(self, requests: Iterable[tuple[str, list[dict[str, str]]]], output: type[BaseModel],
            prompt_version: str) -> list[CallResult]:
        """One CallResult per (item_id, messages), in input order."""
        items = list(requests)
        return asyncio.run(self._run_all(items, output, prompt_version))

    # ------------------------------------------------------------ internals

    def _key(self, messages: list[dict[str, str]], output: type[BaseModel], prompt_version: str) -> str:
        return request_key(model=self.route.cache_identity, messages=messages, temperature=self.temperature,
                           max_tokens=self.max_tokens, schema=output.model_json_schema(),
                           prompt_version=prompt_version)

    async def _run_all(self, items: list[tuple[str, list[dict[str, str]]]], output: type[BaseModel],
                       prompt_version: str) -> list[CallResult]:
        results: list[CallResult | None] = [None] * len(items)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(items)):
            queue.put_nowait(i)
        started = time.monotonic()
        last_report = [started]
        done = [0]
        self.stats.requests += len(items)

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                item_id, messages = items[i]
                results[i] = await self._one(item_id, messages, output, prompt_version)
                done[0] += 1
                now = time.monotonic()
                if now - last_report[0] >= self.progress_every_s or done[0] == len(items):
                    last_report[0] = now
                    rate = done[0] / max(now - started, 1e-9)
                    eta = (len(items) - done[0]) / rate if rate > 0 else 0.0
                    self.log(f"[{self.stage}] {done[0]}/{len(items)} done, {rate:.2f} req/s, "
                             f"ETA {eta:.0f}s, cache hits {self.stats.cache_hits}, "
                             f"failed {sum(self.stats.failed.values())}, cost ${self.stats.cost_usd:.4f}")

        workers = [asyncio.create_task(worker()) for _ in range(max(1, min(self.max_concurrency, len(items))))]
        await asyncio.gather(*workers)
        return [r for r in results if r is not None]

    async def _one(self, item_id: str, messages: list[dict[str, str]], output: type[BaseModel],
                   prompt_version: str) -> CallResult:
        key = self._key(messages, output, prompt_version)
        hit = self.cache.get(key)
        if hit is not None and (hit["ok"] or not self.retry_failed):
            self.stats.cache_hits += 1
            cached = CallResult(**{**hit, "item_id": item_id, "cached": True, "http_calls": 0})
            if cached.ok:
                self.stats.ok += 1
            else:
                self.stats.failed[_reason_key(cached.error)] += 1
            return cached
        result = CallResult(item_id=item_id, ok=False, model=self.route.model)
        conversation = list(messages)
        for turn in range(2):  # the answer, then at most one repair turn
            try:
                response = await self._send(conversation, output, result)
            except PermanentError as exc:
                result.error = str(exc)
                break
            choice = response.choices[0]
            content = choice.message.content
            result.answered = True
            result.reasoning = getattr(choice.message, "reasoning_content", None) or result.reasoning
            try:
                result.data = parse_json_answer(content, output)
            except ValueError as exc:
                reason = str(exc)
                if choice.finish_reason == "length":
                    reason = f"truncated at max_tokens ({reason})"
                result.error = reason
                if turn == 0:
                    conversation += [
                        {"role": "assistant", "content": content or ""},
                        {"role": "user", "content": f"That reply was not usable: {reason}. Reply again "
                                                     "with only the corrected JSON object."},
                    ]
                    result.repaired = True
                continue
            result.ok, result.error = True, None
            break
        self.stats.repaired += int(result.repaired and result.ok)
        if result.ok:
            self.stats.ok += 1
        else:
            self.stats.failed[_reason_key(result.error)] += 1
        # An unusable reply is kept too: asking again costs as much and rarely helps (retry_failed
        # re-asks). A request that got no reply at all (network, 429s, bad key) is not kept.
        if result.ok or result.answered:
            self.cache.put(key, self.stage, self.route.cache_identity, prompt_version,
                           result.model_dump(exclude={"item_id", "cached", "http_calls"}))
        return result

    async def _send(self, messages: list[dict[str, str]], output: type[BaseModel], result: CallResult) -> Any:
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            try:
                result.http_calls += 1
                self.stats.http_calls += 1
                response = await litellm.acompletion(
                    model=self.route.model, messages=messages, api_base=self.route.api_base,
                    api_key=self.route.api_key, temperature=self.temperature, max_tokens=self.max_tokens,
                    response_format=self.route.response_format(output), timeout=self.timeout_s,
                    num_retries=0, max_retries=0,
                )
            except RETRYABLE as exc:
                last = exc
                if attempt == self.max_retries:
                    break
                self.stats.retries += 1
                delay = _retry_after(exc) or min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt)
                await asyncio.sleep(delay * (0.5 + random.random()))
                continue
            except Exception as exc:  # 4xx (bad key, unknown model, bad request): retrying cannot help
                raise PermanentError(f"{type(exc).__name__}: {_scrub(str(exc), self.route.api_key)}") from exc
            self._account(response, result)
            return response
        raise PermanentError(f"gave up after {self.max_retries + 1} attempts: {type(last).__name__}: "
                             f"{_scrub(str(last), self.route.api_key)[:300]}")

    def _account(self, response: Any, result: CallResult) -> None:
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        try:
            cost = float(litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:  # unpriced (self-hosted) models cost 0 here; issue 3 adds configured prices
            cost = 0.0
        result.prompt_tokens += prompt
        result.completion_tokens += completion
        result.cost_usd += cost
        self.stats.prompt_tokens += prompt
        self.stats.completion_tokens += completion
        self.stats.cost_usd += cost


def _reason_key(error: str | None) -> str:
    return (error or "unknown").split(":")[0][:80]


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
