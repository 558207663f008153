"""Batch LLM calls through litellm, built for very long runs.

- Requests stream from an iterator through bounded queues (memory is O(concurrency)); batch_loop.py
  holds the loop: claiming with single flight, sending, recording.
- Every request is claimed in the durable ledger before it is sent and its answer is committed
  before it is handed on, so a crash re-sends at most what was in flight, and a re-run of
  unchanged work sends nothing. Identical requests are sent once (single flight).
- Concurrency per route adapts (AIMD); 429s slow the run and Retry-After is honoured; our own
  retries (litellm's are off) back off exponentially with jitter, a bounded number of times.
- Replies are read for a thought first (a field, or `<think>` tags in the content: llm/reply_reader.py) and the
  JSON only from the answer after it; answers are validated with pydantic. An unusable answer gets one repair
  turn (the answer is sent back, never the thought); a blank reply is asked again as a fresh sample; a reply cut at
  max_tokens gets one retry with more room (sized from the thought it spent); a host that rejects json_schema is
  asked with json_object for the rest of the batch.
- A thinking route's output cap carries a thinking allowance (providers.route_thinks), and so does every later
  request of a batch once a reply shows a thought.
- Tokens (prompt, completion, reasoning) and cost are counted from usage; budgets are reserved
  before each send, so a run stops before it overspends.

One process per client; workers.py spreads a batch over processes from a ClientSpec (the caller chooses).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from linksyn_assets.llm.batch_loop import BatchLoop
from linksyn_assets.llm.budget import Budget, BudgetExceeded, Prices
from linksyn_assets.llm.ledger import RequestLedger, request_key
from linksyn_assets.llm.providers import model_not_served, response_format_rejected
from linksyn_assets.llm.rate_control import AdaptiveLimiter, FailureBreaker, RouteRate
from linksyn_assets.llm.records import (
    BatchStats,
    CallResult,
    ModelRoute,
    Request,
    RunAborted,
    scrub,
)
from linksyn_assets.llm.reply_reader import BlankReply, SplitReply, answer_json, reasoning_share, split_reply
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
OUTAGE_S = 120.0  # how long a route that has answered before may be unreachable before requests give up
OUTAGE_BACKOFF_CAP_S = 10.0  # waits between attempts during an outage: short, so the batch resumes soon after
HOLD_WAIT_S = 0.25  # a refused reservation retries this often while calls in flight may free room


# The largest max_tokens a reply cut off at its cap is asked again with (once, with more room). R1's thought alone
# can reach 32K tokens (DeepSeek's reasoning-model guide).
LENGTH_RETRY_CAP = 32768
# Blank replies asked again as fresh samples before the request counts as failed (DeepSeek's JSON mode documents
# whitespace-only content and says to retry).
MAX_BLANK_RETRIES = 2


@dataclass(frozen=True)
class ClientSpec:
    """Everything another process needs to build the same client (no callbacks, no open handles)."""

    route: ModelRoute
    ledger_url: str  # a SQLite path or a postgresql:// URL
    lease_s: float
    stage: str
    max_concurrency: int
    timeout_s: float
    max_retries: int
    temperature: float
    max_tokens: int
    max_tokens_cap: int
    retry_failed: bool
    prices: Prices
    budgets: tuple[Budget, ...] = field(default=())
    transport: str = "auto"
    answer_tokens: int | None = None
    thinking_tokens: int = 0
    outage_s: float = OUTAGE_S


class _GaveUp(PermanentError):
    """Every attempt met a transient failure (connection, timeout, 5xx, 429) until the retries or the outage
    allowance ran out."""


class _BudgetStop(Exception):
    """A budget cannot cover the next HTTP call: leave the request undone."""


class _FormatRejected(Exception):
    """The host rejected the structured-output format the request was sent with; the batch now uses another."""


def _estimate_prompt_tokens(messages: Sequence[dict[str, str]]) -> int:
    # Upper-bound-ish: about 2 characters per token covers English and Chinese.
    return sum(len(m.get("content") or "") for m in messages) // 2 + 8 * len(messages)


class LLMClient:
    def __init__(self, route: ModelRoute, ledger: RequestLedger, *, stage: str, max_concurrency: int = 8,
                 timeout_s: float = 600.0, max_retries: int = 4, temperature: float = 0.6,
                 max_tokens: int = 2048, max_tokens_cap: int = LENGTH_RETRY_CAP, retry_failed: bool = False,
                 prices: Prices | None = None, budgets: Sequence[Budget] = (),
                 log: Callable[[str], None] | None = None, progress_every_s: float = 10.0,
                 on_progress: Callable[[BatchStats, int | None], None] | None = None,
                 breaker: FailureBreaker | None = None, transport: str = "auto", answer_tokens: int | None = None,
                 thinking_tokens: int = 0, liveness: Callable[[], str | None] | None = None,
                 rate: RouteRate | None = None, outage_s: float = OUTAGE_S) -> None:
        self.route, self.ledger, self.stage = route, ledger, stage
        self.max_concurrency, self.timeout_s, self.max_retries = max_concurrency, timeout_s, max_retries
        # the route's adaptive concurrency, shared with the run's other batches (llm/session.py) when given
        self.rate = rate or RouteRate(max_limit=max_concurrency, limit=float(max_concurrency))
        self.temperature, self.max_tokens, self.max_tokens_cap = temperature, max_tokens, max_tokens_cap
        # max_tokens is the first attempt's cap (with the thinking allowance when the route is known to think);
        # answer_tokens the answer's own room; thinking_tokens the allowance added once replies show a thought.
        self.key_max_tokens = max_tokens  # what the request key records, whatever later requests are sent with
        self.answer_tokens = answer_tokens or max_tokens
        self.thinking_tokens = thinking_tokens
        self.thinking_seen = route.thinking
        # Why the route's server is gone (the embedded model's process died), asked when a request cannot connect:
        # then the batch stops at once with that reason instead of retrying a server that is not coming back.
        self.liveness = liveness
        self.retry_failed = retry_failed
        self.prices = prices or Prices()
        self.budgets = list(budgets)
        self.log = log or (lambda _msg: None)
        self.progress_every_s = progress_every_s
        self.on_progress = on_progress
        self.breaker = breaker or FailureBreaker()
        self.transport = transport  # "auto": our HTTP for OpenAI-format providers; "litellm": acompletion
        self._prepared: PreparedRoute | None = None
        self._session: Any = None
        self.response_format: dict[str, Any] | None = None  # the batch's structured-output format (may switch)
        self.stats = BatchStats(stage=stage, price_source=self.prices.source)
        self.stopped: tuple[str, str] | None = None  # (kind, reason) once the batch was stopped
        # An outage: since when every attempt failed transiently. A route known to answer (a reply in this batch,
        # or an earlier answer in the ledger) is waited for up to outage_s; one that never answered and refuses
        # connections is a wrong address, and the batch stops at once.
        self.outage_s = outage_s
        self._outage_since: float | None = None
        self._route_known: bool | None = None

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
        try:
            asyncio.run(self._run_loop(BatchLoop(self, iter(requests), output, prompt_version, sink, total)))
        finally:
            self.ledger.flush_settles()
        self.raise_if_stopped(self.stopped, total)
        return self.stats

    def raise_if_stopped(self, stopped: tuple[str, str] | None, total: int | None) -> None:
        if not stopped:
            return
        kind, reason = stopped
        undone = (total - self.stats.done) if total else self.stats.not_sent
        message = (f"[{self.stage}] stopped: {reason}. {self.stats.done} request(s) finished "
                   f"(their answers are kept), about {undone} left undone; re-running sends only those.")
        raise (BudgetExceeded if kind == "budget" else RunAborted)(message)

    def spec(self) -> ClientSpec:
        return ClientSpec(route=self.route, ledger_url=self.ledger.url, lease_s=self.ledger.lease_s,
                          stage=self.stage, max_concurrency=self.max_concurrency, timeout_s=self.timeout_s,
                          max_retries=self.max_retries, temperature=self.temperature, max_tokens=self.max_tokens,
                          max_tokens_cap=self.max_tokens_cap, retry_failed=self.retry_failed, prices=self.prices,
                          budgets=tuple(self.budgets), transport=self.transport, answer_tokens=self.answer_tokens,
                          thinking_tokens=self.thinking_tokens, outage_s=self.outage_s)

    @classmethod
    def from_spec(cls, spec: ClientSpec, **callbacks: Any) -> LLMClient:
        return cls(spec.route, RequestLedger(spec.ledger_url, lease_s=spec.lease_s), stage=spec.stage,
                   max_concurrency=spec.max_concurrency, timeout_s=spec.timeout_s, max_retries=spec.max_retries,
                   temperature=spec.temperature, max_tokens=spec.max_tokens, max_tokens_cap=spec.max_tokens_cap,
                   retry_failed=spec.retry_failed, prices=spec.prices, budgets=spec.budgets,
                   transport=spec.transport, answer_tokens=spec.answer_tokens, thinking_tokens=spec.thinking_tokens,
                   outage_s=spec.outage_s, **callbacks)

    def request_key(self, messages: list[dict[str, str]], schema: dict[str, Any], version: str, sample: int) -> str:
        extra = {"request_params": self.route.params()} if self.route.request_params else {}
        return request_key(model=self.route.cache_identity, messages=messages, temperature=self.temperature,
                           max_tokens=self.key_max_tokens, schema=schema, prompt_version=version, sample_index=sample,
                           **extra)

    def stop_batch(self, kind: str, reason: str, stop: asyncio.Event) -> None:
        if not self.stopped:
            self.stopped = (kind, reason)
            self.log(f"[{self.stage}] stopping: {reason}")
        stop.set()

    async def _run_loop(self, loop: BatchLoop) -> None:
        """Open the HTTP session for the route (our own for OpenAI-format providers), run the loop, close it."""
        self.response_format = loop.response_format
        self._prepare()
        self._session = new_session(loop.senders, self.timeout_s) if self._prepared else None
        try:
            await loop.run()
        finally:
            if self._session is not None:
                await self._session.close()

    def _prepare(self) -> None:
        """Route, headers and body template for our own HTTP (OpenAI-format providers), for the current format."""
        self._prepared = None
        if self.transport != "auto":
            return
        try:
            self._prepared = prepare_route(self.route.model, self.route.api_base, self.route.api_key,
                                           self.temperature, self.max_tokens, self.response_format,
                                           self.route.params())
        except Exception as exc:  # litellm.acompletion will report the real problem per request
            self.log(f"[{self.stage}] using litellm.acompletion for {self.route.model}: "
                     f"{scrub(str(exc), self.route.api_key)[:200]}")

    def _format_rejected(self, sent: dict[str, Any] | None, error: str) -> None:
        """The host answered 400 to json_schema: json_object (schema in the prompt, answers validated) for the rest
        of the batch, once, logged. Requests already in flight with the old format are simply asked again."""
        if self.response_format is not sent:
            return
        self.response_format = {"type": "json_object"}
        self.stats.format_switches += 1
        self._prepare()
        self.log(f"[{self.stage}] {self.route.model} rejected response_format json_schema "
                 f"({scrub(error, self.route.api_key)[:160]}); using json_object for the rest of this batch")

    def _saw_thinking(self) -> None:
        """A reply carried a thought on a route not known to think: later requests get the thinking allowance."""
        if self.thinking_seen:
            return
        self.thinking_seen = True
        if self.thinking_tokens > 0:
            self.max_tokens = min(self.max_tokens_cap, self.answer_tokens + self.thinking_tokens)
            self.log(f"[{self.stage}] {self.route.model} replies with a thought: output cap raised to "
                     f"{self.max_tokens} tokens (thinking allowance {self.thinking_tokens}) for the rest of this "
                     "batch; set llm.thinking=on to start with it")

    def _length_retry_tokens(self, max_tokens: int, reasoning_tokens: int, inside_thought: bool) -> int:
        """The cap for the one retry of a reply cut off at max_tokens: twice the room for a plain reply; for a
        thinking reply, half again the thought it spent (all of max_tokens when it stopped inside the thought)
        plus twice the answer's room."""
        if inside_thought:
            reasoning_tokens = max(reasoning_tokens, max_tokens)
        want = 2 * max_tokens if reasoning_tokens <= 0 else -(-3 * reasoning_tokens // 2) + 2 * self.answer_tokens
        return min(self.max_tokens_cap, max(want, max_tokens + 1))

    # ------------------------------------------------------------ one request

    async def answer(self, item_id: str, messages: list[dict[str, str]], output: type[BaseModel],
                     limiter: AdaptiveLimiter, stop: asyncio.Event) -> CallResult | None:
        """The answer to one request (with its blank re-asks, repair and longer-output turns); None if a budget
        stopped it."""
        result = CallResult(item_id=item_id, ok=False, model=self.route.model)
        conversation = list(messages)
        max_tokens = self.max_tokens
        while True:
            try:
                reply = await self._send(conversation, max_tokens, result, limiter, stop)
            except _BudgetStop:
                return None
            except _FormatRejected:
                continue
            except PermanentError as exc:
                result.error = scrub(str(exc), self.route.api_key)
                result.transient = isinstance(exc, _GaveUp)
                unserved = model_not_served(self.route.model, self.route.api_base, result.error)
                if unserved:
                    self.stop_batch("route", unserved, stop)
                return result
            result.answered = True
            split = split_reply(reply.content, reply.reasoning)
            if reply.finish_reason == "length" and self.thinking_seen and not split.reasoning:
                # a thinking route's reply cut off with no tag and no field: cut inside a thought whose opening tag
                # the chat template wrote (any JSON in it is a draft)
                split = SplitReply("", split.answer or None, True)
            reasoning_tokens = self._count_reasoning(reply, split, result)
            if split.reasoning:
                result.reasoning = split.reasoning
                self._saw_thinking()
            try:
                result.data = answer_json(split, reply.content, output)
                result.ok, result.error = True, None
                self.stats.repaired += int(result.repaired)
                return result
            except BlankReply as exc:
                reason = str(exc)
                if reply.finish_reason != "length":  # a new sample, not a repair: there is nothing to repair
                    if result.blank_retries < MAX_BLANK_RETRIES:
                        result.blank_retries += 1
                        self.stats.blank_retries += 1
                        continue
                    result.error = f"{reason}, {result.blank_retries + 1} times"
                    return result
            except ValueError as exc:
                reason = str(exc)
            if reply.finish_reason == "length":
                inside = split.thought_open or (not split.answer.strip() and bool(split.reasoning))
                where = " inside the thought" if inside else ""
                reason = f"truncated at max_tokens={max_tokens}{where} ({reason})"
                if result.length_retries == 0 and max_tokens < self.max_tokens_cap:
                    max_tokens = self._length_retry_tokens(max_tokens, reasoning_tokens, inside)
                    result.length_retries += 1
                    self.stats.length_retries += 1
                    continue
            result.error = reason
            # a reply cut off at the largest cap allowed would only be cut off again, with a longer prompt
            # and a reply with no answer (cut inside the thought) has nothing to repair
            if result.repaired or (reply.finish_reason == "length" and max_tokens >= self.max_tokens_cap) \
                    or not split.answer.strip():
                return result
            result.repaired = True
            # the answer only: a thought sent back makes a reasoning model think again (and DeepSeek refuses it)
            conversation = [*conversation, {"role": "assistant", "content": split.answer.strip()},
                            {"role": "user", "content": f"That reply was not usable: {reason}. Reply again with "
                                                         "only the corrected JSON object."}]

    def _count_reasoning(self, reply: Reply, split: SplitReply, result: CallResult) -> int:
        """The reply's reasoning tokens: as the host reports them, else the thought's share of the completion tokens
        (a thought inside the content is billed as completion tokens and counted nowhere else)."""
        tokens = reply.reasoning_tokens or round(reply.completion_tokens * reasoning_share(split.reasoning,
                                                                                          split.answer))
        result.reasoning_tokens += tokens
        self.stats.reasoning_tokens += tokens
        return tokens

    async def _reserve(self, messages: list[dict[str, str]], max_tokens: int,
                       stop: asyncio.Event) -> tuple[float, int]:
        """Book the worst case of one HTTP call (prompt estimate + max_tokens) on every budget. While calls in
        flight (of any process) hold what would make it fit, wait for them to settle; stop the batch when what
        was spent alone leaves no room."""
        tokens = _estimate_prompt_tokens(messages) + max_tokens
        usd = self.prices.cost(_estimate_prompt_tokens(messages), max_tokens)
        while True:
            refused = self._book(usd, tokens)
            if refused is None:
                return usd, tokens
            if stop.is_set() or not refused.fits_once_settled(usd, tokens):
                self.stop_batch("budget", f"{refused.describe()}; the next request could cost up to ${usd:.4f} / "
                                f"{tokens} tokens", stop)
                raise _BudgetStop
            await asyncio.sleep(HOLD_WAIT_S)

    def _book(self, usd: float, tokens: int) -> Budget | None:
        """Reserve on every budget, or on none: returns the budget that refused, if any."""
        booked: list[Budget] = []
        for budget in self.budgets:
            if not (self.ledger.reserve(budget, usd, tokens) if budget.scope else budget.reserve(usd, tokens)):
                for b in booked:
                    self._settle(b, usd, tokens, 0.0, 0)
                return budget
            booked.append(budget)
        return None

    def _known_route(self) -> bool:
        """The route has answered before: in this batch, or any request of its model in the ledger."""
        if self._route_known is None:
            self._route_known = self.ledger.answered_before(self.route.cache_identity)
        return self._route_known

    def _keep_trying(self, attempt: int, error: Retryable, stop: asyncio.Event) -> bool:
        """After a transient failure: retry (within max_retries, or while an outage of a known route lasts less
        than outage_s); else give up. A route that never answered and cannot be connected to stops the batch."""
        since = self._outage_since or time.monotonic()
        self._outage_since = since
        # a route that never answered is stopped at a request's second refusal in a row (a burst can overflow a
        # listen backlog once), or at its first when no retry is allowed
        if attempt >= min(1, self.max_retries) and error.unreachable and not self._known_route():
            self.stop_batch("route", f"{self.route.model} at {self.route.api_base or 'its default endpoint'} "
                            f"cannot be reached ({scrub(str(error), self.route.api_key)[:160]}) and has never "
                            "answered: check llm.api_base (LINKSYN_API_BASE) and that the server is up", stop)
            return False
        if attempt < self.max_retries:
            return True
        return self._known_route() and time.monotonic() - since < self.outage_s

    async def _send(self, messages: list[dict[str, str]], max_tokens: int, result: CallResult,
                    limiter: AdaptiveLimiter, stop: asyncio.Event) -> Reply:
        last: Retryable | None = None
        attempt = -1
        while True:
            attempt += 1
            if stop.is_set():
                raise _BudgetStop
            reserved_usd, reserved_tokens = await self._reserve(messages, max_tokens, stop)
            spent_usd, spent_tokens = 0.0, 0
            await limiter.acquire()
            response_format, prepared = self.response_format, self._prepared
            try:
                result.http_calls += 1
                self.stats.http_calls += 1
                if prepared is not None:
                    reply = await send_prepared(self._session, prepared, messages, max_tokens)
                else:
                    reply = await send_litellm(self.route.model, self.route.api_base, self.route.api_key, messages,
                                               self.temperature, max_tokens, response_format, self.timeout_s,
                                               self.route.params())
            except PermanentError as exc:
                if (response_format or {}).get("type") == "json_schema" and response_format_rejected(str(exc)):
                    self._format_rejected(response_format, str(exc))
                    raise _FormatRejected from exc
                raise
            except Retryable as exc:
                last = exc
                dead = self.liveness() if self.liveness is not None else None
                if dead:
                    self.stop_batch("route", dead, stop)
                    raise PermanentError(dead) from exc
                if exc.throttled:
                    self.stats.throttled += 1
                    limiter.rate.on_throttle(exc.retry_after)
            else:
                limiter.rate.on_success()
                self._outage_since, self._route_known = None, True
                self._account(reply, result)
                spent_usd = self.prices.cost(reply.prompt_tokens, reply.completion_tokens)
                spent_tokens = reply.prompt_tokens + reply.completion_tokens
                return reply
            finally:
                await limiter.release()
                for budget in self.budgets:
                    self._settle(budget, reserved_usd, reserved_tokens, spent_usd, spent_tokens)
            if not self._keep_trying(attempt, last, stop):
                break
            self.stats.retries += 1
            cap = BACKOFF_CAP_S if attempt < self.max_retries else OUTAGE_BACKOFF_CAP_S
            delay = (last.retry_after * (1 + 0.25 * random.random()) if last.retry_after
                     else min(cap, BACKOFF_BASE_S * 2 ** attempt) * (0.5 + random.random()))
            with contextlib.suppress(TimeoutError):  # a stop (budget, signal) ends the wait
                await asyncio.wait_for(stop.wait(), timeout=delay)
        if self.stopped and self.stopped[0] == "route":
            raise PermanentError(self.stopped[1])
        raise _GaveUp(f"gave up after {attempt + 1} attempts: {scrub(str(last), self.route.api_key)[:300]}")

    def _settle(self, budget: Budget, reserved_usd: float, reserved_tokens: int, usd: float, tokens: int) -> None:
        if budget.scope:
            self.ledger.settle(budget, reserved_usd, reserved_tokens, usd, tokens)
        else:
            budget.settle(reserved_usd, reserved_tokens, usd, tokens)

    def _account(self, reply: Reply, result: CallResult) -> None:
        cost = self.prices.cost(reply.prompt_tokens, reply.completion_tokens)
        result.prompt_tokens += reply.prompt_tokens
        result.completion_tokens += reply.completion_tokens
        result.cost_usd += cost
        self.stats.prompt_tokens += reply.prompt_tokens
        self.stats.completion_tokens += reply.completion_tokens
        self.stats.cost_usd += cost

