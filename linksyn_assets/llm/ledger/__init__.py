"""The request ledger: claims, answers and shared budgets in SQLite (one machine) or PostgreSQL (many)."""

from linksyn_assets.llm.ledger.backends import LedgerUnusable
from linksyn_assets.llm.ledger.core import DONE, FAILED, IN_FLIGHT, PENDING, Claim, RequestLedger, request_key

__all__ = ["LedgerUnusable", "DONE", "FAILED", "IN_FLIGHT", "PENDING", "Claim", "RequestLedger", "request_key"]
