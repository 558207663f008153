"""The request ledger: claims, answers and shared budgets in SQLite (one machine) or PostgreSQL (many)."""

from linksyn_assets.llm.ledger.backends import redact_url
from linksyn_assets.llm.ledger.core import DONE, FAILED, IN_FLIGHT, PENDING, Claim, RequestLedger, owner_id, request_key

__all__ = ["DONE", "FAILED", "IN_FLIGHT", "PENDING", "Claim", "RequestLedger", "owner_id", "redact_url", "request_key"]
