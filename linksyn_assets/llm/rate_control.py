"""Adaptive rate control per (provider, model, key): additive-increase / multiplicative-decrease
on concurrency, a shared pause honouring Retry-After, and a failure-rate breaker."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class RouteRate:
    """Shared state of one route across the batches of a run (llm/session.py)."""

    max_limit: int
    limit: float
    min_limit: int = 1
    paused_until: float = 0.0  # time.monotonic()

    def on_success(self) -> None:
        self.limit = min(float(self.max_limit), self.limit + 1.0 / max(self.limit, 1.0))

    def on_throttle(self, retry_after: float | None) -> None:
        self.limit = max(float(self.min_limit), self.limit * 0.5)
        if retry_after:
            self.paused_until = max(self.paused_until, time.monotonic() + retry_after)


def route_key(provider_model: str, api_base: str | None, api_key: str | None) -> str:
    key_tag = hashlib.sha256((api_key or "").encode()).hexdigest()[:12]  # never the key itself
    return f"{provider_model}|{api_base or ''}|{key_tag}"


class AdaptiveLimiter:
    """Concurrency gate for one event loop, following a RouteRate's current limit."""

    def __init__(self, rate: RouteRate) -> None:
        self.rate = rate
        self.in_use = 0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_use < int(self.rate.limit))
            self.in_use += 1
        wait = self.rate.paused_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def release(self) -> None:
        async with self._cond:
            self.in_use -= 1
            self._cond.notify(max(1, int(self.rate.limit) - self.in_use))


@dataclass
class FailureBreaker:
    """Trips when more than `threshold` of the last `window` requests got no answer at all
    (bad key, unknown model, endpoint down), once `min_samples` have been seen."""

    window: int = 50
    threshold: float = 0.5
    min_samples: int = 20
    _recent: deque[bool] = field(default_factory=deque)

    def add(self, failed: bool) -> None:
        self._recent.append(failed)
        if len(self._recent) > self.window:
            self._recent.popleft()

    @property
    def tripped(self) -> bool:
        n = len(self._recent)
        return n >= self.min_samples and sum(self._recent) / n > self.threshold

    def describe(self) -> str:
        return f"{sum(self._recent)} of the last {len(self._recent)} requests got no answer"
