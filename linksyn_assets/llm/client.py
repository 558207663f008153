"""Batch LLM calls through litellm, built for very long runs.

- Requests stream from an iterator through a bounded queue (memory is O(concurrency)).
- Every request is claimed in the durable ledger before it is sent and its answer is committed
  before it is handed on, so a crash re-sends at most what was in flight, and a re-run of
  unchanged work sends nothing. Identical requests are sent once (single flight).
- Concurrency per route adapts (AIMD); 429s slow the run and Retry-After is honoured; our own
  retries (litellm's are off) back off exponentially with jitter, a bounded number of times.
- Answers are validated with pydantic; an unusable reply gets one repair turn, a reply cut at
  max_tokens one retry with twice the room.
- Tokens (prompt, completion, reasoning) and cost are counted from usage; budgets are reserved
  before each send, so a run stops before it overspends.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from linksyn_assets.llm.budget import Budget, BudgetExceeded, Prices
from linksyn_assets.llm.ledger import DONE, FAILED, RequestLedger, request_key
from linksyn_assets.llm.providers import model_not_served
from linksyn_assets.llm.rate_control import AdaptiveLimiter, FailureBreaker, route_key, route_rate
from linksyn_assets.llm.transport import (
    PermanentError,
    PreparedRoute,
    Reply,
    Retryable,
    new_session,
    prepare_route,
    send_litellm,
    send_prepared,
)

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 60.0
CLAIM_CHUNK = 64
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)

Request = tuple[str, list[dict[str, str]]] | tuple[str, list[dict[str, str]], int]


@dataclass(frozen=True)
class ModelRoute:
    """Where one stage's calls go. api_key is read from the environment and never logged."""

    model: str
    cache_identity: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    structured_output: str = "auto"  # auto | json_schema | json_object | llama_cpp
    request_params: str = ""  # canonical JSON object of extra request parameters (part of the request key)

    def params(self) -> dict[str, Any]:
        return json.loads(self.request_params) if self.request_params else {}

    def response_format(self, output: type[BaseModel]) -> dict[str, Any]:
        schema = output.model_json_schema()
        mode = self.structured_output
        if mode == "auto":  # DeepSeek's API rejects json_schema; vLLM, llama.cpp and OpenAI take it
            mode = "json_object" if self.model.startswith("deepseek/") else "json_schema"
        if mode == "llama_cpp":
            return {"type": "json_object", "schema": schema}
        if mode == "json_object":
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
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    http_calls: int = 0
    repaired: bool = False
    length_retries: int = 0
    answered: bool = False  # the model replied (even if the reply stayed unusable)


_NOT_STORED = {"item_id", "cached", "http_calls"}
_SHARED = {"prompt_tokens": 0, "completion_tokens": 0, "reasoning_tokens": 0, "cost_usd": 0.0, "http_calls": 0}


@dataclass
class BatchStats:
    requests: int = 0
    done: int = 0
    cache_hits: int = 0
    http_calls: int = 0
    retries: int = 0
    throttled: int = 0
    repaired: int = 0
    length_retries: int = 0
    ok: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    data_cost_usd: float = 0.0  # what every answer in the batch cost when it was made, cache hits included
    not_sent: int = 0
    started: float = field(default_factory=time.monotonic)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "llm_requests": self.requests, "llm_cache_hits": self.cache_hits,
            "llm_http_calls": self.http_calls, "llm_retries": self.retries, "llm_throttled": self.throttled,
            "llm_repaired": self.repaired, "llm_length_retries": self.length_retries, "llm_ok": self.ok,
            "llm_failed": sum(self.failed.values()), "llm_failed_by_reason": dict(self.failed),
            "llm_not_sent": self.not_sent,
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens, "cost_usd": round(self.cost_usd, 6),
            "data_cost_usd": round(self.data_cost_usd, 6),
        }

    def count(self, result: CallResult, with_usage: bool = False) -> None:
        """Tally one finished result; with_usage adds its tokens and cost (when they were not
        already counted at send time, as in another process)."""
        self.done += 1
        self.data_cost_usd += result.cost_usd
        if result.cached:
            self.cache_hits += 1
        elif with_usage:
            self.prompt_tokens += result.prompt_tokens
            self.completion_tokens += result.completion_tokens
            self.reasoning_tokens += result.reasoning_tokens
            self.cost_usd += result.cost_usd
        if result.ok:
            self.ok += 1
        else:
            self.failed[_reason_key(result.error)] += 1

    def progress_line(self, stage: str, total: int | None) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        tokens = (self.prompt_tokens + self.completion_tokens) / elapsed
        of = f"/{total}" if total else ""
        eta = f", ETA {(total - self.done) / rate:.0f}s" if total and rate > 0 else ""
        failed = f", failed {dict(self.failed)}" if self.failed else ""
        return (f"[{stage}] {self.done}{of} done, {rate:.1f} req/s, {tokens:.0f} tok/s{eta}, "
                f"cache hits {self.cache_hits}, cost ${self.cost_usd:.4f}{failed}")


class _BudgetStop(Exception):
    """A budget cannot cover the next HTTP call: leave the request undone."""


class RunAborted(RuntimeError):
    """Too many requests got no answer: the key, model name or endpoint is probably wrong."""


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


def failed_share_verdict(stage: str, results: Sequence[CallResult], max_share: float) -> str | None:
    """Why a batch counts as failed (more than max_share of its requests got no usable answer), else None.
    Small batches are judged too: 3 of 3 failed is a failed stage, not an empty success."""
    failed = [r for r in results if not r.ok]
    if not results or len(failed) <= max_share * len(results):
        return None
    first = list(dict.fromkeys((r.error or "unknown error")[:200] for r in failed))[:3]
    return (f"[{stage}] {len(failed)} of {len(results)} requests failed (more than {max_share:.0%}; llm "
            f"max_failed_share). First reasons: " + " | ".join(first))


def _estimate_prompt_tokens(messages: Sequence[dict[str, str]]) -> int:
    # Upper-bound-ish: about 2 characters per token covers English and Chinese.
    return sum(len(m.get("content") or "") for m in messages) // 2 + 8 * len(messages)


def _reason_key(error: str | None) -> str:
    return (error or "unknown").split(":")[0][:80]


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


class LLMClient:
    def __init__(self, route: ModelRoute, ledger: RequestLedger, *, stage: str, max_concurrency: int = 8,
                 timeout_s: float = 600.0, max_retries: int = 4, temperature: float = 0.6,
                 max_tokens: int = 2048, max_tokens_cap: int = 32768, retry_failed: bool = False,
                 prices: Prices | None = None, budgets: Sequence[Budget] = (),
                 log: Callable[[str], None] | None = None, progress_every_s: float = 10.0,
                 on_progress: Callable[[BatchStats, int | None], None] | None = None,
                 breaker: FailureBreaker | None = None, workers: int = 1, transport: str = "auto") -> None:
        self.route, self.ledger, self.stage = route, ledger, stage
        self.max_concurrency, self.timeout_s, self.max_retries = max_concurrency, timeout_s, max_retries
        self.temperature, self.max_tokens, self.max_tokens_cap = temperature, max_tokens, max_tokens_cap
        self.retry_failed = retry_failed
        self.prices = prices or Prices()
        self.budgets = list(budgets)
        self.log = log or (lambda _msg: None)
        self.progress_every_s = progress_every_s
        self.on_progress = on_progress
        self.breaker = breaker or FailureBreaker()
        self.workers = workers
        self.transport = transport  # "auto": our HTTP for OpenAI-format providers; "litellm": acompletion
        self._prepared: PreparedRoute | None = None
        self._session: Any = None
        self.stats = BatchStats()
        self._stop_reason: str | None = None
        self._stop_kind = ""

    # ------------------------------------------------------------ public

    def run(self, requests: Iterable[Request], output: type[BaseModel], prompt_version: str) -> list[CallResult]:
        """One CallResult per request, in input order (collects: use stream() for huge batches)."""
        items = list(requests)
        got: dict[str, CallResult] = {}
        self.stream(items, output, prompt_version, lambda r: got.__setitem__(r.item_id, r), total=len(items))
        return [got[item[0]] for item in items if item[0] in got]

    def stream(self, requests: Iterable[Request], output: type[BaseModel], prompt_version: str,
               sink: Callable[[CallResult], None], total: int | None = None) -> BatchStats:
        """Send every request (or reuse its recorded answer) and hand each result to sink once it is
        committed to the ledger. Raises BudgetExceeded / RunAborted after in-flight work finishes."""
        if self.workers > 1:
            from linksyn_assets.llm.workers import stream_in_workers

            stopped = stream_in_workers(self, iter(requests), output, prompt_version, sink, total)
            if stopped:
                self._stop_kind, self._stop_reason = stopped
        else:
            asyncio.run(self._stream(iter(requests), output, prompt_version, sink, total))
        if self._stop_reason:
            undone = (total - self.stats.done) if total else self.stats.not_sent
            message = (f"[{self.stage}] stopped: {self._stop_reason}. {self.stats.done} request(s) finished "
                       f"(their answers are kept), about {undone} left undone; re-running sends only those.")
            raise (BudgetExceeded if self._stop_kind == "budget" else RunAborted)(message)
        return self.stats

    # ------------------------------------------------------------ the loop

    def _key(self, messages: list[dict[str, str]], schema: dict[str, Any], version: str, sample: int) -> str:
        extra = {"request_params": self.route.params()} if self.route.request_params else {}
        return request_key(model=self.route.cache_identity, messages=messages, temperature=self.temperature,
                           max_tokens=self.max_tokens, schema=schema, prompt_version=version, sample_index=sample,
                           **extra)

    def _stop(self, kind: str, reason: str, stop: asyncio.Event) -> None:
        if not self._stop_reason:
            self._stop_kind, self._stop_reason = kind, reason
            self.log(f"[{self.stage}] stopping: {reason}")
        stop.set()

    async def _stream(self, requests: Iterable[Request], output: type[BaseModel], version: str,
                      sink: Callable[[CallResult], None], total: int | None) -> None:
        schema = output.model_json_schema()
        response_format = self.route.response_format(output)
        limiter = AdaptiveLimiter(route_rate(route_key(self.route.model, self.route.api_base, self.route.api_key),
                                             self.max_concurrency))
        workers_n = self.max_concurrency
        queue: asyncio.Queue[tuple[str, str, list[dict[str, str]]] | None] = asyncio.Queue(maxsize=2 * workers_n)
        done_q: asyncio.Queue[tuple[str, CallResult] | None] = asyncio.Queue()
        stop = asyncio.Event()
        followers: dict[str, list[str]] = {}  # key -> extra item ids (single flight)
        unsent: list[str] = []
        last_report = [time.monotonic(), 0.0]
        logged_done = [-1]  # the final line is skipped when a periodic one already said the same

        def emit(key: str, result: CallResult) -> None:
            for item_id in [result.item_id, *followers.pop(key, [])]:
                # a follower shares the answer but not its price: usage counted once, per row and in the stats
                out = result if item_id == result.item_id else result.model_copy(update={"item_id": item_id, **_SHARED})
                self.stats.count(out)
                sink(out)
            now = time.monotonic()
            if self.on_progress and now - last_report[1] >= 0.2:
                last_report[1] = now
                self.on_progress(self.stats, total)
            if now - last_report[0] >= self.progress_every_s:
                last_report[0] = now
                logged_done[0] = self.stats.done
                self.log(self.stats.progress_line(self.stage, total))

        def reuse(key: str, item_id: str, payload: dict[str, Any] | None) -> None:
            emit(key, CallResult(**{**(payload or {}), "item_id": item_id, "cached": True, "http_calls": 0,
                                    "model": (payload or {}).get("model", self.route.model),
                                    "ok": bool((payload or {}).get("ok"))}))

        async def wait_for(key: str, item_id: str, messages: list[dict[str, str]]) -> None:
            # Another process holds a live lease on the same request: wait for its answer.
            while not stop.is_set():
                claim = self.ledger.claim([(key, self.stage, self.route.cache_identity, version)],
                                          self.retry_failed)[key]
                if claim.action == "reuse":
                    reuse(key, item_id, claim.payload)
                    return
                if claim.action == "send":
                    await queue.put((key, item_id, messages))
                    return
                await asyncio.sleep(0.5)

        async def dispatch(chunk: list[tuple[str, str, list[dict[str, str]]]], waits: list[asyncio.Task]) -> None:
            claims = self.ledger.claim([(k, self.stage, self.route.cache_identity, version) for k, _, _ in chunk],
                                       self.retry_failed)
            for key, item_id, messages in chunk:
                claim = claims[key]
                if claim.action == "reuse":
                    reuse(key, item_id, claim.payload)
                elif claim.action == "wait":
                    waits.append(asyncio.create_task(wait_for(key, item_id, messages)))
                elif stop.is_set():
                    unsent.append(key)
                else:
                    await queue.put((key, item_id, messages))

        loop = asyncio.get_running_loop()

        def take(n: int) -> list[Request]:
            return list(itertools.islice(requests, n))

        async def producer() -> None:
            chunk: list[tuple[str, str, list[dict[str, str]]]] = []
            waits: list[asyncio.Task] = []
            while not stop.is_set():
                # The iterator may block (a queue fed by another process): read it off the loop.
                batch = await loop.run_in_executor(None, take, CLAIM_CHUNK)
                if not batch:
                    break
                consume(batch, chunk)
                if len(chunk) >= CLAIM_CHUNK:
                    await dispatch(chunk, waits)
                    chunk = []
            if chunk:
                await dispatch(chunk, waits)
            await asyncio.gather(*waits)
            for _ in range(workers_n):
                await queue.put(None)

        def consume(batch: list[Request], chunk: list[tuple[str, str, list[dict[str, str]]]]) -> None:
            for request in batch:
                item_id, messages = request[0], request[1]
                sample = request[2] if len(request) > 2 else 0  # type: ignore[misc]
                self.stats.requests += 1
                key = self._key(messages, schema, version, sample)
                if key in followers:
                    followers[key].append(item_id)
                    continue
                followers[key] = []
                chunk.append((key, item_id, messages))

        async def worker() -> None:
            while True:
                item = await queue.get()
                if item is None:
                    return
                key, item_id, messages = item
                if stop.is_set():
                    unsent.append(key)
                    continue
                result = await self._one(item_id, messages, output, response_format, limiter, stop)
                if result is None:  # the budget ran out before this request could finish
                    unsent.append(key)
                    continue
                self.breaker.add(not result.answered)
                if self.breaker.tripped:
                    self._stop("breaker", f"{self.breaker.describe()} (last error: {result.error}); "
                               "check the API key, model name and api_base", stop)
                await done_q.put((key, result))

        async def writer() -> None:
            while True:
                first = await done_q.get()
                batch = [first]
                while not done_q.empty():
                    batch.append(done_q.get_nowait())
                items = [b for b in batch if b is not None]
                if items:
                    self.ledger.record([
                        (key, DONE if r.ok else FAILED,
                         r.model_dump(exclude=_NOT_STORED) if (r.ok or r.answered) else None,
                         r.error, r.answered, r.http_calls) for key, r in items])
                    for key, result in items:
                        emit(key, result)
                if len(items) < len(batch):
                    return

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(self.ledger.lease_s / 3)
                self.ledger.renew()

        self._prepared = None
        if self.transport == "auto":
            try:
                self._prepared = prepare_route(self.route.model, self.route.api_base, self.route.api_key,
                                               self.temperature, self.max_tokens, response_format,
                                               self.route.params())
            except Exception as exc:  # litellm.acompletion will report the real problem per request
                self.log(f"[{self.stage}] using litellm.acompletion for {self.route.model}: "
                         f"{_scrub(str(exc), self.route.api_key)[:200]}")
        self._session = new_session(workers_n, self.timeout_s) if self._prepared else None
        beat = asyncio.create_task(heartbeat())
        writer_task = asyncio.create_task(writer())
        try:
            await asyncio.gather(producer(), *[worker() for _ in range(workers_n)])
        finally:
            await done_q.put(None)
            await writer_task
            beat.cancel()
            if self._session is not None:
                await self._session.close()
            self.ledger.release(unsent)
            self.stats.not_sent += len(unsent)
            if self.on_progress:
                self.on_progress(self.stats, total)
            if logged_done[0] != self.stats.done:
                self.log(self.stats.progress_line(self.stage, total))

    # ------------------------------------------------------------ one request

    async def _one(self, item_id: str, messages: list[dict[str, str]], output: type[BaseModel],
                   response_format: dict[str, Any], limiter: AdaptiveLimiter, stop: asyncio.Event
                   ) -> CallResult | None:
        """The answer to one request (with its repair / longer-output turns); None if a budget stopped it."""
        result = CallResult(item_id=item_id, ok=False, model=self.route.model)
        conversation = list(messages)
        max_tokens = self.max_tokens
        while True:
            try:
                reply = await self._send(conversation, response_format, max_tokens, result, limiter, stop)
            except _BudgetStop:
                return None
            except PermanentError as exc:
                result.error = _scrub(str(exc), self.route.api_key)
                unserved = model_not_served(self.route.model, self.route.api_base, result.error)
                if unserved:
                    self._stop("route", unserved, stop)
                return result
            content = reply.content
            result.answered = True
            result.reasoning = reply.reasoning or result.reasoning
            try:
                result.data = parse_json_answer(content, output)
                result.ok, result.error = True, None
                self.stats.repaired += int(result.repaired)
                return result
            except ValueError as exc:
                reason = str(exc)
            if reply.finish_reason == "length":
                reason = f"truncated at max_tokens={max_tokens} ({reason})"
                if result.length_retries == 0 and max_tokens < self.max_tokens_cap:
                    max_tokens = min(self.max_tokens_cap, max_tokens * 2)
                    result.length_retries += 1
                    self.stats.length_retries += 1
                    continue
            result.error = reason
            if result.repaired:
                return result
            result.repaired = True
            conversation = [*conversation, {"role": "assistant", "content": content or ""},
                            {"role": "user", "content": f"That reply was not usable: {reason}. Reply again with "
                                                         "only the corrected JSON object."}]

    def _reserve(self, messages: list[dict[str, str]], max_tokens: int, stop: asyncio.Event) -> tuple[float, int]:
        """Book the worst case of one HTTP call (prompt estimate + max_tokens) on every budget."""
        tokens = _estimate_prompt_tokens(messages) + max_tokens
        usd = self.prices.cost(_estimate_prompt_tokens(messages), max_tokens)
        booked: list[Budget] = []
        for budget in self.budgets:
            if not budget.reserve(usd, tokens):
                for b in booked:
                    b.settle(usd, tokens, 0.0, 0)
                self._stop("budget", f"{budget.describe()}; the next request could cost up to ${usd:.4f} / "
                           f"{tokens} tokens", stop)
                raise _BudgetStop
            booked.append(budget)
        return usd, tokens

    async def _send(self, messages: list[dict[str, str]], response_format: dict[str, Any], max_tokens: int,
                    result: CallResult, limiter: AdaptiveLimiter, stop: asyncio.Event) -> Reply:
        last: Retryable | None = None
        for attempt in range(self.max_retries + 1):
            if stop.is_set():
                raise _BudgetStop
            reserved_usd, reserved_tokens = self._reserve(messages, max_tokens, stop)
            spent_usd, spent_tokens = 0.0, 0
            await limiter.acquire()
            try:
                result.http_calls += 1
                self.stats.http_calls += 1
                if self._prepared is not None:
                    reply = await send_prepared(self._session, self._prepared, messages, max_tokens)
                else:
                    reply = await send_litellm(self.route.model, self.route.api_base, self.route.api_key, messages,
                                               self.temperature, max_tokens, response_format, self.timeout_s,
                                               self.route.params())
            except Retryable as exc:
                last = exc
                if exc.throttled:
                    self.stats.throttled += 1
                    limiter.rate.on_throttle(exc.retry_after)
            else:
                limiter.rate.on_success()
                self._account(reply, result)
                spent_usd = self.prices.cost(reply.prompt_tokens, reply.completion_tokens)
                spent_tokens = reply.prompt_tokens + reply.completion_tokens
                return reply
            finally:
                await limiter.release()
                for budget in self.budgets:
                    budget.settle(reserved_usd, reserved_tokens, spent_usd, spent_tokens)
            if attempt == self.max_retries:
                break
            self.stats.retries += 1
            delay = (last.retry_after * (1 + 0.25 * random.random()) if last.retry_after
                     else min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt) * (0.5 + random.random()))
            await asyncio.sleep(delay)
        raise PermanentError(f"gave up after {self.max_retries + 1} attempts: "
                             f"{_scrub(str(last), self.route.api_key)[:300]}")

    def _account(self, reply: Reply, result: CallResult) -> None:
        cost = self.prices.cost(reply.prompt_tokens, reply.completion_tokens)
        result.prompt_tokens += reply.prompt_tokens
        result.completion_tokens += reply.completion_tokens
        result.reasoning_tokens += reply.reasoning_tokens
        result.cost_usd += cost
        self.stats.prompt_tokens += reply.prompt_tokens
        self.stats.completion_tokens += reply.completion_tokens
        self.stats.reasoning_tokens += reply.reasoning_tokens
        self.stats.cost_usd += cost
