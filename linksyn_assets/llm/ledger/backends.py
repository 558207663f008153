"""The two databases a ledger can live in, and the few ways their SQL differs.

- SQLite (one machine): one file in WAL mode; `BEGIN IMMEDIATE` serializes writers, so a claim
  transaction sees every other process's committed claims.
- PostgreSQL (many machines): one connection per ledger object; claims lock their rows
  (`FOR UPDATE SKIP LOCKED`, keys in sorted order so two claimers never deadlock), and a row another
  transaction is claiming right now counts as someone else's live lease.

Both create and version their schema (see schema.py) in the first transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from linksyn_assets.llm.ledger.schema import migrate


class Backend(Protocol):
    url: str  # what another process opens the same ledger with
    location: str  # the same, without a password, for messages
    skip_locked: str  # appended to the claim's SELECT

    def tx(self, fn: Callable[[Any], Any]) -> Any: ...
    def execute(self, db: Any, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, db: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def insert_new(self, db: Any, rows: Sequence[Sequence[Any]]) -> set[str]: ...
    def close(self) -> None: ...


class LedgerUnusable(RuntimeError):
    """The ledger file cannot be used (corrupt, not a database, unreadable): retrying will not help."""


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> LedgerUnusable:
    return LedgerUnusable(
        f"request ledger {path} is not usable ({exc}): it is corrupt or not a LinkSyn ledger. Move it aside "
        "(answers recorded in it will be asked again) or restore it from a backup, or point LINKSYN_LEDGER_PATH "
        "elsewhere; then run again")


def _transient(exc: sqlite3.DatabaseError) -> bool:
    """Another process holds the file for a moment (a retry helps); anything else is the file itself."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


_INSERT = ("INSERT INTO requests (key, stage, model, prompt_version, state, lease_owner, lease_expires, updated_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING")


class SQLiteBackend:
    skip_locked = ""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.url = self.location = str(path)
        self._path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        for attempt in range(20):  # several processes opening a fresh file at once: WAL setup may meet a lock
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                break
            except sqlite3.DatabaseError as exc:
                if not _transient(exc):
                    self._db.close()
                    raise _unusable(path, exc) from exc
                if attempt == 19:
                    raise
                time.sleep(0.05 * (attempt + 1))
        self.tx(lambda db: migrate(self, db, "sqlite"))

    def tx(self, fn: Callable[[Any], Any]) -> Any:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(self._db)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return out
            except sqlite3.DatabaseError as exc:
                if _transient(exc) or isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
                    raise
                raise _unusable(self._path, exc) from exc

    def execute(self, db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return db.execute(sql, tuple(params))

    def executemany(self, db: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        db.executemany(sql, rows)

    def insert_new(self, db: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> set[str]:
        inserted = set()
        for row in rows:
            if db.execute(_INSERT, tuple(row)).rowcount:
                inserted.add(row[0])
        return inserted

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresBackend:
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        import psycopg  # only deployments with a shared ledger need the driver loaded

        self.url, self.location = url, redact_url(url)
        self._lock = threading.Lock()
        self._db = psycopg.connect(url, autocommit=True)
        self.tx(lambda db: migrate(self, db, "postgres"))

    def tx(self, fn: Callable[[Any], Any]) -> Any:
        with self._lock, self._db.transaction():
            return fn(self._db)

    def execute(self, db: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return db.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, db: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with db.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)

    def insert_new(self, db: Any, rows: Sequence[Sequence[Any]]) -> set[str]:
        if not rows:
            return set()
        columns = list(zip(*rows, strict=True))
        cur = db.execute(
            "INSERT INTO requests (key, stage, model, prompt_version, state, lease_owner, lease_expires, updated_at) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::double precision[], %s::double precision[]) ON CONFLICT (key) DO NOTHING RETURNING key",
            [list(c) for c in columns])
        return {row[0] for row in cur.fetchall()}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_backend(location: str | Path) -> SQLiteBackend | PostgresBackend:
    """A postgresql:// (or postgres://) URL opens the shared ledger; anything else is a SQLite file path."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(text)
    if "://" in text:
        raise ValueError(f"ledger location {redact_url(text)!r}: use a postgresql:// URL or a local file path "
                         "(SQLite must not live on object storage or a network file system)")
    return SQLiteBackend(Path(text))


def redact_url(url: str) -> str:
    """The URL without its password, for messages and metadata."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
