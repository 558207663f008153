"""Prices, cost from usage, and budgets that reserve before a request is sent."""

from __future__ import annotations

from dataclasses import dataclass

from linksyn_assets.llm.litellm_setup import litellm
from linksyn_assets.llm.providers import cost_map_names


@dataclass(frozen=True)
class Prices:
    input_per_token: float = 0.0
    output_per_token: float = 0.0
    source: str = "none"  # "config" | "litellm" | "local" (the embedded model: free) | "none" (unknown)

    @property
    def known(self) -> bool:
        return self.source != "none"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


def prices_for(model: str, input_per_mtok: float | None = None, output_per_mtok: float | None = None) -> Prices:
    """Configured prices (USD per million tokens) win; else litellm's local cost map; else free."""
    if input_per_mtok is not None or output_per_mtok is not None:
        return Prices((input_per_mtok or 0.0) / 1e6, (output_per_mtok or 0.0) / 1e6, "config")
    for name in cost_map_names(model):
        info = litellm().model_cost.get(name)
        if info and (info.get("input_cost_per_token") or info.get("output_cost_per_token")):
            return Prices(float(info.get("input_cost_per_token") or 0.0),
                          float(info.get("output_cost_per_token") or 0.0), "litellm")
    return Prices()


PRICE_VARIABLES = "LINKSYN_PRICE_INPUT_PER_MTOK / LINKSYN_PRICE_OUTPUT_PER_MTOK"


class UnpricedBudget(RuntimeError):
    """A USD budget is set but the route has no price: the budget could never bind."""


def check_priced(model: str, prices: Prices, usd_budgets: bool) -> None:
    """Refuse to start a batch whose USD budget could never bind: litellm's cost map has no price for many hosted
    routes (R1 on OpenRouter, Together, vLLM), and an unknown price is not a price of zero."""
    if usd_budgets and not prices.known:
        raise UnpricedBudget(f"a USD budget is set but no price is known for {model!r} (not configured, not in "
                             f"litellm's cost map): set {PRICE_VARIABLES} (USD per million tokens), or use a token "
                             "budget (LINKSYN_BUDGET_TOKENS)")


class BudgetExceeded(RuntimeError):
    """Raised after in-flight requests finish, when the next one would pass a budget."""


@dataclass
class Budget:
    """A limit in USD and/or tokens. reserve() books the worst case (prompt estimate plus
    max_tokens) before sending; settle() replaces it with what the call really used."""

    name: str
    usd_limit: float | None = None
    token_limit: int | None = None
    spent_usd: float = 0.0
    spent_tokens: int = 0
    reserved_usd: float = 0.0
    reserved_tokens: int = 0
    # Set: the budget is kept in the request ledger under this scope, shared by every process and run on it
    # (the numbers above are then this process's latest view of the shared totals).
    scope: str | None = None

    def reserve(self, usd: float, tokens: int) -> bool:
        if self.usd_limit is not None and self.spent_usd + self.reserved_usd + usd > self.usd_limit:
            return False
        if self.token_limit is not None and self.spent_tokens + self.reserved_tokens + tokens > self.token_limit:
            return False
        self.reserved_usd += usd
        self.reserved_tokens += tokens
        return True

    def fits_once_settled(self, usd: float, tokens: int) -> bool:
        """Would (usd, tokens) fit if every call in flight settled at no cost? If so, a refused reservation
        should wait for them rather than stop the batch."""
        return (self.usd_limit is None or self.spent_usd + usd <= self.usd_limit) and \
            (self.token_limit is None or self.spent_tokens + tokens <= self.token_limit)

    def settle(self, reserved_usd: float, reserved_tokens: int, usd: float, tokens: int) -> None:
        self.reserved_usd -= reserved_usd
        self.reserved_tokens -= reserved_tokens
        self.spent_usd += usd
        self.spent_tokens += tokens

    def describe(self) -> str:
        parts = []
        if self.usd_limit is not None:
            parts.append(f"${self.spent_usd:.4f} of ${self.usd_limit:.4f}")
        if self.token_limit is not None:
            parts.append(f"{self.spent_tokens} of {self.token_limit} tokens")
        return f"{self.name} budget: spent " + " and ".join(parts)
