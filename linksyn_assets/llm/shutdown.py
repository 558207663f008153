"""A stop asked of the whole process: `linksyn run` received SIGINT or SIGTERM (cli/interrupt.py). Every LLM
batch of the process then sends nothing more: requests in flight finish and are recorded, the rest stay undone
for the next run. A signal is process-wide, so this request is too (one flag per process)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_REQUESTED: dict[str, str] = {}
_LOCK = threading.Lock()


def request_stop(reason: str) -> None:
    with _LOCK:
        _REQUESTED.setdefault("reason", reason)


def stop_requested() -> str | None:
    return _REQUESTED.get("reason")


@contextmanager
def graceful_stop() -> Iterator[None]:
    """While an LLM batch runs in the main thread, SIGINT and SIGTERM ask it to stop instead of raising inside its
    event loop (which would cut requests mid-flight and look like an error worth retrying): requests in flight
    finish and are recorded, nothing more is sent, and the batch reports the stop. Elsewhere: no change."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask(signum: int, _frame: object) -> None:
        request_stop(f"{signal.Signals(signum).name} received")

    previous = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
