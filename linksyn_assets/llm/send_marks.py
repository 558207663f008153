"""A request's first HTTP call is counted in the ledger before it goes out, so a worker killed mid-call
leaves its calls counted (the provider bills a call that reached it). Marks of concurrent senders are
written together, one transaction per MARK_WINDOW_S, so counting costs a few milliseconds per call window,
not a round trip per call. A mark whose call then never went out (a stop, a budget) is taken back."""

from __future__ import annotations

import asyncio

from linksyn_assets.llm.ledger import RequestLedger

MARK_WINDOW_S = 0.01


class SendMarks:
    def __init__(self, ledger: RequestLedger) -> None:
        self.ledger = ledger
        self.pending: list[tuple[str, asyncio.Future[None]]] = []
        self.marked: set[str] = set()
        self._flushing: asyncio.Task | None = None

    async def mark(self, key: str) -> None:
        """Returns once the ledger counts one send of `key`."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((key, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        await asyncio.sleep(MARK_WINDOW_S)
        batch, self.pending = self.pending, []
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.ledger.add_sends,
                                                             [key for key, _ in batch], 1)
        except BaseException as exc:  # the senders see the ledger's error
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        self.marked.update(key for key, _ in batch)
        for _, done in batch:
            if not done.done():
                done.set_result(None)
        if self.pending:
            self._flushing = asyncio.create_task(self._flush())

    def take_back(self, keys: list[str]) -> None:
        """Marked keys whose call never went out."""
        back = [key for key in keys if key in self.marked]
        if back:
            self.ledger.add_sends(back, -1)
            self.marked.difference_update(back)
