"""Stopping `linksyn run` when told: SIGINT (Ctrl-C) or SIGTERM (systemd, Kubernetes, a CI cancel).

While a run executes, Dagster owns both signals (its handler does not reach an LLM batch running in an event
loop). Which signal arrived is read from Python's signal wakeup fd, which the interpreter writes every handled
signal's number to, whoever's handler runs: a watcher thread then asks every LLM batch of the process to stop
(llm/shutdown.py: requests in flight finish, nothing more is sent, the step fails), and the loop that launches
runs launches no further one, skips the release and exits 128 + the signal number. Between runs the signal
raises `Stopped`, which the loop treats the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from types import FrameType
from typing import Any

from linksyn_assets.llm.shutdown import request_stop

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(Exception):
    """Raised between runs after a stop signal."""


class StopSignals:
    """Records the first SIGINT/SIGTERM while installed (a context manager, main thread only)."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._previous: dict[int, Any] = {}
        self._read, self._write = -1, -1
        self._old_fd = -1

    def __enter__(self) -> StopSignals:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._old_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="linksyn-stop-signals", daemon=True).start()
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._between_runs)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._old_fd)
        for fd in (self._write, self._read):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data:
                return
            for number in data:
                if number in STOP_SIGNALS and self.received is None:
                    self.received = signal.Signals(number)
                    request_stop(f"{self.received.name} received")

    def _between_runs(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.Signals(signum)
            request_stop(f"{self.received.name} received")
        raise Stopped(signal.Signals(signum).name)

    def settle(self) -> signal.Signals | None:
        """The signal received so far (the watcher thread may lag the handler by a moment)."""
        if self.received is None:
            threading.Event().wait(0.05)
        return self.received

    @property
    def exit_code(self) -> int:
        return 128 + int(self.received) if self.received is not None else 1


def host_tags() -> dict[str, str]:
    """Tags that let a later `linksyn run` tell a run whose process is gone (killed) from one still going."""
    return {"linksyn/host": socket.gethostname(), "linksyn/pid": str(os.getpid())}


def process_gone(tags: dict[str, str]) -> bool:
    """The run was launched by a `linksyn run` on this host whose process no longer exists."""
    if tags.get("linksyn/host") != socket.gethostname() or not tags.get("linksyn/pid", "").isdigit():
        return False
    pid = int(tags["linksyn/pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
