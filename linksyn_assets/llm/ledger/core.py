"""The durable request ledger, shared by every process and (on PostgreSQL) every machine of a deployment.

Each request is keyed by the sha256 of its canonical form. States:

    PENDING -> IN_FLIGHT (lease: owner + expiry) -> DONE | FAILED(reason)

- The answer is written in the same transaction that marks a request DONE, so a crash never
  loses an answer it has recorded, and never records DONE without one.
- A request is sent only by the owner of a live lease. A lease expires when its time is up (any host), or
  at once when its owner is a process of this host that is gone, so a restart re-sends only what was in
  flight, and another worker takes over a dead worker's requests after one lease.
- `sends` counts HTTP calls: a request's first call is counted just before it goes out (llm/send_marks.py),
  its retries when its outcome is recorded, so a worker killed mid-call leaves its calls counted.
- DONE answers are reused forever (this is also the response cache). A FAILED request that got an
  unusable reply is reused too unless the caller asks to retry failures; one that never got a
  reply (network, rate limit, bad key) is sent again by the next run.
- Budgets with a scope live here too: every HTTP call first holds its worst case on the scope (in the same
  transaction that checks the limit against what all processes spent and hold), then settles to what it
  really cost. A dead worker's holds are charged in full when its lease runs out: a budget errs on the side
  of spending less, never more.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linksyn_assets.llm.budget import Budget
from linksyn_assets.llm.ledger.backends import open_backend
from linksyn_assets.text.normalize import canonical_sha256

PENDING, IN_FLIGHT, DONE, FAILED = "PENDING", "IN_FLIGHT", "DONE", "FAILED"
# LINKSYN_WORKER_NAME (e.g. the pod name) names this worker in leases when host names are not unique
_HOST = (os.environ.get("LINKSYN_WORKER_NAME") or socket.gethostname()).replace(":", "_")
_SELECT_CHUNK = 500
SETTLE_EVERY_S = 0.1


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
    """location: a SQLite file path, or a postgresql:// URL for a ledger shared across machines."""

    def __init__(self, location: Path | str, lease_s: float = 120.0) -> None:
        self._db = open_backend(location)
        self.url = self._db.url
        self.lease_s = lease_s
        self.owner = owner_id()
        # settled calls not yet written: (scope) -> [held usd, held tokens, cost usd, cost tokens] to apply; until
        # then their holds stay as they were (higher than the cost), so a budget is never passed meanwhile
        self._settles: dict[str, list[float]] = {}
        self._settles_lock = threading.Lock()
        self._settled_at = time.monotonic()

    # ---------------------------------------------------------------- claiming

    def claim(self, items: Iterable[tuple[str, str, str, str]], retry_failed: bool = False) -> dict[str, Claim]:
        """items: (key, stage, model, prompt_version). One transaction for the whole chunk; keys in sorted
        order so concurrent claimers lock rows in the same order."""
        unique = dict(sorted((key, (stage, model, version)) for key, stage, model, version in items))
        now = time.time()
        expires = now + self.lease_s
        b = self._db

        def work(db: Any) -> dict[str, Claim]:
            inserted = b.insert_new(db, [(key, stage, model, version, IN_FLIGHT, self.owner, expires, now)
                                         for key, (stage, model, version) in unique.items()])
            out = {key: Claim("send") for key in inserted}
            rest = [key for key in unique if key not in inserted]
            rows: dict[str, tuple] = {}
            for start in range(0, len(rest), _SELECT_CHUNK):
                chunk = rest[start:start + _SELECT_CHUNK]
                marks = ", ".join("?" * len(chunk))
                for row in b.execute(db, "SELECT key, state, lease_owner, lease_expires, answered, payload FROM "
                                         f"requests WHERE key IN ({marks}) ORDER BY key{b.skip_locked}",
                                     chunk).fetchall():
                    rows[row[0]] = row
            take = []
            for key in rest:
                if key not in rows:  # another worker's claim transaction holds the row right now
                    out[key] = Claim("wait")
                    continue
                _, state, owner, lease_expires, answered, payload = rows[key]
                if state == DONE or (state == FAILED and answered and not retry_failed):
                    out[key] = Claim("reuse", json.loads(payload) if payload else None)
                elif state == IN_FLIGHT and owner != self.owner and (lease_expires or 0) > now \
                        and _owner_alive(owner):
                    out[key] = Claim("wait")
                else:
                    take.append((IN_FLIGHT, self.owner, expires, now, key))
                    out[key] = Claim("send")
            if take:
                b.executemany(db, "UPDATE requests SET state = ?, lease_owner = ?, lease_expires = ?, "
                                  "updated_at = ? WHERE key = ?", take)
            return out

        return b.tx(work)

    # ---------------------------------------------------------------- results

    def record(self, outcomes: list[tuple[str, str, dict[str, Any] | None, str | None, bool, int]]) -> None:
        """outcomes: (key, state DONE|FAILED, payload, error, answered, sends). Answer and state are
        written in one transaction."""
        now = time.time()
        in_lock_order = sorted(outcomes, key=lambda outcome: outcome[0])
        rows = [(state, json.dumps(payload, ensure_ascii=False) if payload is not None else None, error,
                 int(answered), sends, now, key) for key, state, payload, error, answered, sends in in_lock_order]
        self._db.tx(lambda db: self._db.executemany(
            db, "UPDATE requests SET state = ?, payload = ?, error = ?, answered = ?, sends = sends + ?, "
                "lease_owner = NULL, lease_expires = NULL, updated_at = ? WHERE key = ?", rows))

    def release(self, keys: list[str]) -> None:
        """Give back leases of requests that were never sent (a stop before their turn)."""
        if keys:
            self._db.tx(lambda db: self._db.executemany(
                db, "UPDATE requests SET state = ?, lease_owner = NULL, lease_expires = NULL WHERE key = ? "
                    "AND lease_owner = ? AND state = ?", [(PENDING, k, self.owner, IN_FLIGHT) for k in sorted(keys)]))

    def renew(self) -> None:
        """Extend this owner's leases and budget holds (long reasoning calls outlive one lease)."""
        until = time.time() + self.lease_s

        self.flush_settles()

        def work(db: Any) -> None:
            self._db.execute(db, "UPDATE requests SET lease_expires = ? WHERE lease_owner = ? AND state = ?",
                             (until, self.owner, IN_FLIGHT))
            self._db.execute(db, "UPDATE budget_holds SET expires = ? WHERE owner = ?", (until, self.owner))

        self._db.tx(work)

    # ---------------------------------------------------------------- shared budgets

    def reserve(self, budget: Budget, usd: float, tokens: int) -> bool:
        """Hold (usd, tokens) on the budget's scope unless what every process spent and holds, plus this,
        would pass a limit. Refreshes budget's numbers with the shared ones either way."""
        now = time.time()
        b = self._db

        def work(db: Any) -> bool:
            # the upsert locks the scope's row: reservations on one scope are serialized across workers
            b.execute(db, "INSERT INTO budgets (scope, usd_limit, token_limit) VALUES (?, ?, ?) ON CONFLICT (scope) "
                          "DO UPDATE SET usd_limit = excluded.usd_limit, token_limit = excluded.token_limit",
                      (budget.scope, budget.usd_limit, budget.token_limit))
            spent_usd, spent_tokens, held_usd, held_tokens = b.execute(
                db, "SELECT b.spent_usd, b.spent_tokens, COALESCE(SUM(h.usd), 0), COALESCE(SUM(h.tokens), 0) "
                    "FROM budgets b LEFT JOIN budget_holds h ON h.scope = b.scope WHERE b.scope = ? "
                    "GROUP BY b.spent_usd, b.spent_tokens", (budget.scope,)).fetchone()
            budget.spent_usd, budget.spent_tokens = float(spent_usd), int(spent_tokens)
            budget.reserved_usd, budget.reserved_tokens = float(held_usd), int(held_tokens)
            if not budget.reserve(usd, tokens):
                # Holds of a worker that died are charged in full once its lease ran out (spent + held is the
                # same either way, so this only matters for the caller's decision to wait or stop).
                lapsed = b.execute(db, "SELECT COALESCE(SUM(usd), 0), COALESCE(SUM(tokens), 0) FROM budget_holds "
                                       "WHERE scope = ? AND expires < ?", (budget.scope, now)).fetchone()
                if lapsed[1]:
                    b.execute(db, "UPDATE budgets SET spent_usd = spent_usd + ?, spent_tokens = spent_tokens + ? "
                                  "WHERE scope = ?", (lapsed[0], lapsed[1], budget.scope))
                    b.execute(db, "DELETE FROM budget_holds WHERE scope = ? AND expires < ?", (budget.scope, now))
                    budget.spent_usd += float(lapsed[0])
                    budget.spent_tokens += int(lapsed[1])
                    budget.reserved_usd -= float(lapsed[0])
                    budget.reserved_tokens -= int(lapsed[1])
                return False
            b.execute(db, "INSERT INTO budget_holds (scope, owner, usd, tokens, expires) VALUES (?, ?, ?, ?, ?) "
                          "ON CONFLICT (scope, owner) DO UPDATE SET usd = budget_holds.usd + excluded.usd, "
                          "tokens = budget_holds.tokens + excluded.tokens, expires = excluded.expires",
                      (budget.scope, self.owner, usd, tokens, now + self.lease_s))
            return True

        if self._settles and time.monotonic() - self._settled_at >= SETTLE_EVERY_S:
            self.flush_settles()
        if b.tx(work):
            return True
        if budget.scope not in self._settles:
            return False
        self.flush_settles()  # this process's settled calls may free the room
        return b.tx(work)

    def settle(self, budget: Budget, reserved_usd: float, reserved_tokens: int, usd: float, tokens: int) -> None:
        """Replace a hold by what the call cost: written with the next reservation (at most every
        SETTLE_EVERY_S) or flush_settles(), not one transaction per call."""
        with self._settles_lock:
            pending = self._settles.setdefault(budget.scope or "", [0.0, 0, 0.0, 0])
            pending[0] += reserved_usd
            pending[1] += reserved_tokens
            pending[2] += usd
            pending[3] += tokens
        budget.settle(reserved_usd, reserved_tokens, usd, tokens)

    def flush_settles(self) -> None:
        """Write the settled calls, in a transaction of their own: scopes in sorted order and, per scope, the
        budget row before the hold (the order reserve() locks them in), so two workers never deadlock."""
        with self._settles_lock:
            pending, self._settles = self._settles, {}
            self._settled_at = time.monotonic()
        if not pending:
            return
        b = self._db

        def work(db: Any) -> None:
            for scope, (held_usd, held_tokens, usd, tokens) in sorted(pending.items()):
                # a hold already charged in full (its lease ran out) is left so
                b.execute(db, "UPDATE budgets SET spent_usd = spent_usd + ?, spent_tokens = spent_tokens + ? "
                              "WHERE scope = ? AND EXISTS (SELECT 1 FROM budget_holds WHERE scope = ? AND owner = ?)",
                          (usd, tokens, scope, scope, self.owner))
                b.execute(db, "UPDATE budget_holds SET usd = usd - ?, tokens = tokens - ? WHERE scope = ? AND "
                              "owner = ?", (held_usd, held_tokens, scope, self.owner))
                b.execute(db, "DELETE FROM budget_holds WHERE scope = ? AND owner = ? AND tokens <= 0",
                          (scope, self.owner))

        b.tx(work)

    def budget_totals(self, scope: str) -> tuple[float, int, float, int]:
        """(spent usd, spent tokens, held usd, held tokens) of a scope, over every process."""
        self.flush_settles()

        def work(db: Any) -> tuple[float, int, float, int]:
            spent = self._db.execute(db, "SELECT spent_usd, spent_tokens FROM budgets WHERE scope = ?",
                                     (scope,)).fetchone() or (0.0, 0)
            held = self._db.execute(db, "SELECT COALESCE(SUM(usd), 0), COALESCE(SUM(tokens), 0) FROM budget_holds "
                                        "WHERE scope = ?", (scope,)).fetchone()
            return float(spent[0]), int(spent[1]), float(held[0]), int(held[1])

        return self._db.tx(work)

    # ---------------------------------------------------------------- reporting

    def answered_before(self, model: str) -> bool:
        """Some request of this model (its cache identity) was answered: the route has worked."""
        row = self._db.tx(lambda db: self._db.execute(
            db, "SELECT 1 FROM requests WHERE model = ? AND state IN (?, ?) LIMIT 1", (model, DONE, FAILED)).fetchone())
        return row is not None

    def add_sends(self, keys: list[str], n: int) -> None:
        """Count n more HTTP calls of each key (before a call goes out: llm/send_marks.py)."""
        if keys:
            self._db.tx(lambda db: self._db.executemany(
                db, "UPDATE requests SET sends = sends + ? WHERE key = ?", [(n, k) for k in sorted(keys)]))

    def sends_total(self) -> int:
        """HTTP calls counted over every request (see `sends` in the module docstring)."""
        rows = self._db.tx(lambda db: self._db.execute(db, "SELECT SUM(sends) FROM requests").fetchall())
        return int(rows[0][0] or 0)

    def counts(self) -> dict[str, int]:
        rows = self._db.tx(lambda db: self._db.execute(
            db, "SELECT state, COUNT(*) FROM requests GROUP BY state").fetchall())
        return {state: int(n) for state, n in rows}

    def close(self) -> None:
        self.flush_settles()
        self._db.close()
