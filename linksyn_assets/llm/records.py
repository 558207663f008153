"""What crosses the LLM layer's boundaries: requests, routes, results and a batch's running totals.

Kept apart from the client so that the spool, the progress view, the worker processes and the assets can
use them without importing the sending machinery.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from linksyn_assets.llm.embedded.grammar import bounded_schema
from linksyn_assets.llm.providers import structured_output_mode
from linksyn_assets.llm.reply_reader import answer_json, split_reply

# The JSON-schema rule at the end of a system prompt (prompts/messages.py `_json_rule`): the rule sentence and
# the schema, one JSON line.
_SCHEMA_RULE = "Reply with one JSON object only, no prose and no code fences"
_SCHEMA_TEXT = re.compile(re.escape(_SCHEMA_RULE) + r", matching this JSON schema:\n\{.*\}[ \t]*$", re.MULTILINE)

Request = tuple[str, list[dict[str, str]]] | tuple[str, list[dict[str, str]], int]


@dataclass(frozen=True)
class ModelRoute:
    """Where one stage's calls go. api_key is read from the environment and never logged."""

    model: str
    cache_identity: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    structured_output: str = "auto"  # auto | json_schema | json_object | prompt
    request_params: str = ""  # canonical JSON object of extra request parameters (part of the request key)
    thinking: bool = False  # the model thinks before it answers (providers.route_thinks): caps carry an allowance
    embedded: bool = False  # the embedded demo model (llm/embedded/route.py): its grammar, caps and retry rules

    def params(self) -> dict[str, Any]:
        return json.loads(self.request_params) if self.request_params else {}

    def key_schema(self, output: type[BaseModel]) -> dict[str, Any]:
        """The schema the answers are held to, as the request key records it: the embedded model's grammar is
        bounded (llm/embedded/grammar.py), every other route's schema is the model's own."""
        schema = output.model_json_schema()
        return bounded_schema(schema) if self.embedded else schema

    def outgoing(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """The messages as sent. The embedded model's grammar enforces the schema, so the schema text in the
        prompt only costs it prompt evaluation (a quarter of a synthesis prompt): it is left out there. The
        request key is still computed on the full messages."""
        if not self.embedded:
            return messages
        return [{**m, "content": _SCHEMA_TEXT.sub(_SCHEMA_RULE, m["content"])} if m.get("role") == "system" else m
                for m in messages]

    def response_format(self, output: type[BaseModel]) -> dict[str, Any] | None:
        """What the request's `response_format` says; None (mode `prompt`) sends none: the schema is in the prompt."""
        schema = output.model_json_schema()
        if self.embedded:  # llama.cpp's json_object with a schema: the bounded grammar
            return {"type": "json_object", "schema": bounded_schema(schema)}
        mode = structured_output_mode(self.model, self.structured_output, self.thinking)
        if mode == "prompt":
            return None
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
    blank_retries: int = 0  # blank replies asked again as fresh samples
    answered: bool = False  # the model replied (even if the reply stayed unusable)
    transient: bool = False  # no reply because the route was unreachable or overloaded (a later attempt may get one)


# Fields a ledger entry does not keep (they belong to one delivery), and the usage a single-flight follower
# reports (it shares the answer, not its price).
NOT_STORED = {"item_id", "cached", "http_calls", "transient"}
FOLLOWER_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "reasoning_tokens": 0, "cost_usd": 0.0, "http_calls": 0}


@dataclass
class BatchStats:
    stage: str = ""
    price_source: str = ""  # llm/budget.Prices.source: "none" means the cost is unknown, not zero
    requests: int = 0
    done: int = 0
    cache_hits: int = 0
    http_calls: int = 0
    retries: int = 0
    throttled: int = 0
    repaired: int = 0
    length_retries: int = 0
    blank_retries: int = 0
    format_switches: int = 0
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
            "llm_stage": self.stage, "llm_price_source": self.price_source, "llm_repaired": self.repaired,
            "llm_length_retries": self.length_retries,
            "llm_blank_retries": self.blank_retries, "llm_format_switches": self.format_switches, "llm_ok": self.ok,
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
            self.failed[reason_key(result.error)] += 1

    def progress_line(self, stage: str, total: int | None) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        tokens = (self.prompt_tokens + self.completion_tokens) / elapsed
        of = f"/{total}" if total else ""
        eta = f", ETA {(total - self.done) / rate:.0f}s" if total and rate > 0 else ""
        failed = f", failed {dict(self.failed)}" if self.failed else ""
        return (f"[{stage}] {self.done}{of} done, {rate:.1f} req/s, {tokens:.0f} tok/s{eta}, "
                f"cache hits {self.cache_hits}, cost ${self.cost_usd:.4f}{failed}")


class RunAborted(RuntimeError):
    """Too many requests got no answer: the key, model name or endpoint is probably wrong."""


def parse_json_answer(content: str | None, output: type[BaseModel]) -> dict[str, Any]:
    """Validated JSON from a reply's content, read only from the answer after any thought (llm/reply_reader.py);
    raises ValueError with a reason a model can act on."""
    return answer_json(split_reply(content), content, output)


def only_transient(results: Sequence[CallResult]) -> bool:
    """Every failed request failed for want of a reply from a reachable-again route (connection, timeout, 5xx,
    429): a later attempt of the whole step may succeed."""
    failed = [r for r in results if not r.ok]
    return bool(failed) and all(r.transient for r in failed)


_REFUSED = ("HTTP 401", "HTTP 403", "AuthenticationError", "PermissionDeniedError")  # our transport, litellm's


def only_refused(results: Sequence[CallResult]) -> bool:
    """Every failed request was refused the key (401/403): the same key fails for every discipline."""
    failed = [r for r in results if not r.ok]
    return bool(failed) and all(any(mark in (r.error or "") for mark in _REFUSED) for r in failed)


def failed_share_verdict(stage: str, results: Sequence[CallResult], max_share: float) -> str | None:
    """Why a batch counts as failed (more than max_share of its requests got no usable answer), else None.
    Small batches are judged too: 3 of 3 failed is a failed stage, not an empty success."""
    failed = [r for r in results if not r.ok]
    if not results or len(failed) <= max_share * len(results):
        return None
    first = list(dict.fromkeys((r.error or "unknown error")[:200] for r in failed))[:3]
    return (f"[{stage}] {len(failed)} of {len(results)} requests failed (more than {max_share:.0%}; llm "
            f"max_failed_share). First reasons: " + " | ".join(first))


def reason_key(error: str | None) -> str:
    return (error or "unknown").split(":")[0][:80]


def scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


