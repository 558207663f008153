"""The ledger's tables, created and upgraded by the code: each step below runs once, in order, and the
version it reached is stored in the database. A ledger written by a newer LinkSyn is refused, not guessed at.

Ledgers made before versioning (SQLite, with `requests` and `spend`) count as version 1.
"""

from __future__ import annotations

from typing import Any

_TYPES = {"sqlite": {"REAL": "REAL", "BIGINT": "INTEGER"},
          "postgres": {"REAL": "DOUBLE PRECISION", "BIGINT": "BIGINT"}}

STEPS: list[list[str]] = [
    [  # 1: requests and per-scope spend
        """CREATE TABLE IF NOT EXISTS requests (
            key TEXT PRIMARY KEY,
            stage TEXT, model TEXT, prompt_version TEXT,
            state TEXT NOT NULL,
            lease_owner TEXT, lease_expires {REAL},
            sends {BIGINT} NOT NULL DEFAULT 0,
            answered {BIGINT} NOT NULL DEFAULT 0,
            error TEXT,
            payload TEXT,
            updated_at {REAL} NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS requests_state ON requests(state)",
        """CREATE TABLE IF NOT EXISTS spend (
            scope TEXT PRIMARY KEY, usd {REAL} NOT NULL DEFAULT 0, tokens {BIGINT} NOT NULL DEFAULT 0)""",
    ],
    [  # 2: budgets shared by every process on the ledger, and the reservations of calls in flight
        """CREATE TABLE IF NOT EXISTS budgets (
            scope TEXT PRIMARY KEY,
            usd_limit {REAL}, token_limit {BIGINT},
            spent_usd {REAL} NOT NULL DEFAULT 0, spent_tokens {BIGINT} NOT NULL DEFAULT 0)""",
        """CREATE TABLE IF NOT EXISTS budget_holds (
            scope TEXT NOT NULL, owner TEXT NOT NULL,
            usd {REAL} NOT NULL DEFAULT 0, tokens {BIGINT} NOT NULL DEFAULT 0,
            expires {REAL} NOT NULL,
            PRIMARY KEY (scope, owner))""",
        "CREATE INDEX IF NOT EXISTS requests_lease_owner ON requests(lease_owner)",
    ],
]
VERSION = len(STEPS)


class LedgerSchemaError(RuntimeError):
    pass


def migrate(backend: Any, db: Any, dialect: str) -> int:
    """Bring the schema to VERSION inside the caller's transaction; returns the version found."""
    if dialect == "postgres":  # concurrent first starts of many workers: one creates, the others wait
        backend.execute(db, "SELECT pg_advisory_xact_lock(724501)")
    backend.execute(db, "CREATE TABLE IF NOT EXISTS linksyn_schema (version INTEGER NOT NULL)")
    row = backend.execute(db, "SELECT version FROM linksyn_schema").fetchone()
    if row is None:
        legacy = _has_table(backend, db, dialect, "requests")
        found = 1 if legacy else 0
        backend.execute(db, "INSERT INTO linksyn_schema (version) VALUES (?)", (found,))
    else:
        found = int(row[0])
    if found > VERSION:
        raise LedgerSchemaError(f"request ledger {backend.location}: schema version {found} was written by a newer "
                                f"LinkSyn (this one knows up to {VERSION}); upgrade LinkSyn on this worker")
    for step in STEPS[found:]:
        for statement in step:
            backend.execute(db, statement.format(**_TYPES[dialect]))
    if found < VERSION:
        backend.execute(db, "UPDATE linksyn_schema SET version = ?", (VERSION,))
    return found


def _has_table(backend: Any, db: Any, dialect: str, name: str) -> bool:
    if dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
    return backend.execute(db, sql, (name,)).fetchone() is not None
