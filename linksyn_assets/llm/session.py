"""What the LLM batches of one run share, with the run's lifetime: one request ledger per location (its
connection and lease heartbeat) and one adaptive rate per route (a 429 seen by one batch slows the next).
The LLM resource holds one session per run and closes it when the run ends."""

from __future__ import annotations

from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.rate_control import RouteRate


class LLMSession:
    def __init__(self) -> None:
        self._ledgers: dict[str, RequestLedger] = {}
        self._rates: dict[str, RouteRate] = {}

    def ledger(self, location: str) -> RequestLedger:
        if location not in self._ledgers:
            self._ledgers[location] = RequestLedger(location)
        return self._ledgers[location]

    def rate(self, route_key: str, max_concurrency: int) -> RouteRate:
        """The route's adaptive concurrency; a new one when the configured maximum changed."""
        rate = self._rates.get(route_key)
        if rate is None or rate.max_limit != max_concurrency:
            rate = self._rates[route_key] = RouteRate(max_limit=max_concurrency, limit=float(max_concurrency))
        return rate

    def close(self) -> None:
        for ledger in self._ledgers.values():
            ledger.close()
        self._ledgers.clear()
        self._rates.clear()
