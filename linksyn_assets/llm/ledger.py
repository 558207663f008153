"""The durable request ledger: one SQLite file (WAL) per deployment, shared by every process.

Each request is keyed by the sha256 of its canonical form. States:

    PENDING -> IN_FLIGHT (lease: owner + expiry) -> DONE | FAILED(reason)

- The answer is written in the same transaction that marks a request DONE, so a crash never
  loses an answer it has recorded, and never records DONE without one.
- A request is sent only by the owner of a live lease. After a crash, a lease counts as expired
  when its time is up or when its owner process (same host) is gone, so a restart re-sends only
  what was in flight.
- DONE answers are reused forever (this is also the response cache). A FAILED request that got an
  unusable reply is reused too unless the caller asks to retry failures; one that never got a
  reply (network, rate limit, bad key) is sent again by the next run.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linksyn_assets.text.normalize import canonical_sha256

PENDING, IN_FLIGHT, DONE, FAILED = "PENDING", "IN_FLIGHT", "DONE", "FAILED"
_HOST = socket.gethostname()
_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    stage TEXT, model TEXT, prompt_version TEXT,
    state TEXT NOT NULL,
    lease_owner TEXT, lease_expires REAL,
    sends INTEGER NOT NULL DEFAULT 0,
    answered INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    payload TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_state ON requests(state);
CREATE TABLE IF NOT EXISTS spend (
    scope TEXT PRIMARY KEY, usd REAL NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0
);
"""


def request_key(**parts: Any) -> str:
    """sha256 of the canonical request (model, messages, parameters, schema, prompt version,
    sample index); the API key is never part of it."""
    return canonical_sha256(parts)


def owner_id() -> str:
    return f"{_HOST}:{os.getpid()}:{int(time.time() * 1000)}"


def _owner_alive(owner: str | None) -> bool:
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    if host != _HOST:
        return True  # cannot tell for another host: trust the lease time
    pid = int(rest.partition(":")[0] or 0)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Claim:
    """What the caller should do with one key."""

    action: str  # "send" | "reuse" | "wait"
    payload: dict[str, Any] | None = None


class RequestLedger:
    def __init__(self, path: Path, lease_s: float = 120.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lease_s = lease_s
        self.owner = owner_id()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def _tx(self, fn: Any) -> Any:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return out

    # ---------------------------------------------------------------- claiming

    def claim(self, items: Iterable[tuple[str, str, str, str]], retry_failed: bool = False) -> dict[str, Claim]:
        """items: (key, stage, model, prompt_version). One transaction for the whole chunk."""
        now = time.time()
        expires = now + self.lease_s

        def work(db: sqlite3.Connection) -> dict[str, Claim]:
            out: dict[str, Claim] = {}
            for key, stage, model, version in items:
                row = db.execute("SELECT state, lease_owner, lease_expires, answered, payload FROM requests "
                                 "WHERE key = ?", (key,)).fetchone()
                if row is None:
                    db.execute("INSERT INTO requests (key, stage, model, prompt_version, state, lease_owner, "
                               "lease_expires, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (key, stage, model, version, IN_FLIGHT, self.owner, expires, now))
                    out[key] = Claim("send")
                    continue
                state, owner, lease_expires, answered, payload = row
                if state == DONE or (state == FAILED and answered and not retry_failed):
                    out[key] = Claim("reuse", json.loads(payload) if payload else None)
                    continue
                live = state == IN_FLIGHT and owner != self.owner and (lease_expires or 0) > now \
                    and _owner_alive(owner)
                if live:
                    out[key] = Claim("wait")
                    continue
                db.execute("UPDATE requests SET state = ?, lease_owner = ?, lease_expires = ?, updated_at = ? "
                           "WHERE key = ?", (IN_FLIGHT, self.owner, expires, now, key))
                out[key] = Claim("send")
            return out

        return self._tx(work)

    # ---------------------------------------------------------------- results

    def record(self, outcomes: list[tuple[str, str, dict[str, Any] | None, str | None, bool, int]]) -> None:
        """outcomes: (key, state DONE|FAILED, payload, error, answered, sends). Answer and state are
        written in one transaction."""
        now = time.time()

        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "UPDATE requests SET state = ?, payload = ?, error = ?, answered = ?, sends = sends + ?, "
                "lease_owner = NULL, lease_expires = NULL, updated_at = ? WHERE key = ?",
                [(state, json.dumps(payload, ensure_ascii=False) if payload is not None else None, error,
                  int(answered), sends, now, key) for key, state, payload, error, answered, sends in outcomes])

        self._tx(work)

    def release(self, keys: list[str]) -> None:
        """Give back leases of requests that were never sent (a stop before their turn)."""
        if keys:
            self._tx(lambda db: db.executemany(
                "UPDATE requests SET state = ?, lease_owner = NULL, lease_expires = NULL WHERE key = ? "
                "AND lease_owner = ? AND state = ?", [(PENDING, k, self.owner, IN_FLIGHT) for k in keys]))

    def renew(self) -> None:
        """Extend this owner's leases (long reasoning calls outlive one lease)."""
        self._tx(lambda db: db.execute("UPDATE requests SET lease_expires = ? WHERE lease_owner = ? AND state = ?",
                                       (time.time() + self.lease_s, self.owner, IN_FLIGHT)))

    # ---------------------------------------------------------------- spend (budgets)

    def add_spend(self, scope: str, usd: float, tokens: int) -> None:
        self._tx(lambda db: db.execute(
            "INSERT INTO spend (scope, usd, tokens) VALUES (?, ?, ?) ON CONFLICT(scope) DO UPDATE SET "
            "usd = usd + excluded.usd, tokens = tokens + excluded.tokens", (scope, usd, tokens)))

    def spent(self, scope: str) -> tuple[float, int]:
        with self._lock:
            row = self._db.execute("SELECT usd, tokens FROM spend WHERE scope = ?", (scope,)).fetchone()
        return (float(row[0]), int(row[1])) if row else (0.0, 0)

    # ---------------------------------------------------------------- reporting

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM requests GROUP BY state").fetchall()
        return {state: int(n) for state, n in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()
