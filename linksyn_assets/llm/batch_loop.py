"""One batch in one process, in three named parts around two queues:

- claiming (`produce`, `claim`, `wait_for`): requests are keyed, identical keys in the batch are sent once
  (single flight: later items follow the first), and each key is claimed in the ledger in chunks: reuse a
  recorded answer, wait for another process's live lease, or send;
- sending (`send`): a fixed number of tasks take claimed requests and ask the client for an answer;
- recording (`record`): finished answers are committed to the ledger in groups, then delivered to the sink
  (a crash between the two re-delivers from the ledger, it never re-pays).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from linksyn_assets.llm.ledger import DONE, FAILED
from linksyn_assets.llm.rate_control import AdaptiveLimiter
from linksyn_assets.llm.records import FOLLOWER_USAGE, NOT_STORED, CallResult, Request
from linksyn_assets.llm.send_marks import SendMarks
from linksyn_assets.llm.shutdown import stop_requested

if TYPE_CHECKING:
    from linksyn_assets.llm.client import LLMClient

CLAIM_CHUNK = 64
STOP_POLL_S = 0.2  # how soon a stop signal reaches a running batch
Claimed = tuple[str, str, list[dict[str, str]]]  # request key, item id, messages


class BatchLoop:
    def __init__(self, client: LLMClient, requests: Iterator[Request], output: type[BaseModel], version: str,
                 sink: Callable[[CallResult], None], total: int | None) -> None:
        self.client, self.requests, self.output, self.version = client, requests, output, version
        self.sink, self.total = sink, total
        self.schema = client.route.key_schema(output)
        self.response_format = client.route.response_format(output)
        self.limiter = AdaptiveLimiter(client.rate)
        self.senders = client.max_concurrency
        self.to_send: asyncio.Queue[Claimed | None] = asyncio.Queue(maxsize=2 * self.senders)
        self.to_record: asyncio.Queue[tuple[str, CallResult] | None] = asyncio.Queue()
        self.stop = asyncio.Event()
        self.followers: dict[str, list[str]] = {}  # key -> further item ids with the same request
        self.unsent: list[str] = []
        self.marks = SendMarks(client.ledger)
        self._last_progress = 0.0
        self._last_log = time.monotonic()
        self._logged_done = -1  # the final line is skipped when a periodic one already said the same

    async def run(self) -> None:
        client = self.client
        beat = asyncio.create_task(self.heartbeat())
        watch = asyncio.create_task(self.watch_stop())
        recorder = asyncio.create_task(self.record())
        try:
            await asyncio.gather(self.produce(), *[self.send() for _ in range(self.senders)])
        finally:
            await self.to_record.put(None)
            await recorder
            beat.cancel()
            watch.cancel()
            self.marks.take_back(self.unsent)
            client.ledger.release(self.unsent)
            client.stats.not_sent += len(self.unsent)
            if client.on_progress:
                client.on_progress(client.stats, self.total)
            if self._logged_done != client.stats.done:
                client.log(client.stats.progress_line(client.stage, self.total))

    # ------------------------------------------------------------ delivery

    def deliver(self, key: str, result: CallResult) -> None:
        client = self.client
        for item_id in [result.item_id, *self.followers.pop(key, [])]:
            out = result if item_id == result.item_id else result.model_copy(
                update={"item_id": item_id, **FOLLOWER_USAGE})
            client.stats.count(out)
            self.sink(out)
        now = time.monotonic()
        if client.on_progress and now - self._last_progress >= 0.2:
            self._last_progress = now
            client.on_progress(client.stats, self.total)
        if now - self._last_log >= client.progress_every_s:
            self._last_log = now
            self._logged_done = client.stats.done
            client.log(client.stats.progress_line(client.stage, self.total))

    def reuse(self, key: str, item_id: str, payload: dict[str, Any] | None) -> None:
        payload = payload or {}
        self.deliver(key, CallResult(**{**payload, "item_id": item_id, "cached": True, "http_calls": 0,
                                        "model": payload.get("model", self.client.route.model),
                                        "ok": bool(payload.get("ok"))}))

    # ------------------------------------------------------------ claiming and single flight

    def _take(self, n: int) -> list[Request]:
        return list(itertools.islice(self.requests, n))

    def keyed(self, batch: list[Request]) -> list[Claimed]:
        """Key each request; a key already in flight in this batch only adds a follower."""
        fresh = []
        for request in batch:
            item_id, messages = request[0], request[1]
            sample = request[2] if len(request) > 2 else 0  # type: ignore[misc]
            self.client.stats.requests += 1
            key = self.client.request_key(messages, self.schema, self.version, sample)
            if key in self.followers:
                self.followers[key].append(item_id)
                continue
            self.followers[key] = []
            fresh.append((key, item_id, messages))
        return fresh

    async def produce(self) -> None:
        loop = asyncio.get_running_loop()
        chunk: list[Claimed] = []
        waits: list[asyncio.Task] = []
        while not self.stop.is_set():
            # The iterator may block (a queue fed by another process): read it off the loop.
            batch = await loop.run_in_executor(None, self._take, CLAIM_CHUNK)
            if not batch:
                break
            chunk += self.keyed(batch)
            if len(chunk) >= CLAIM_CHUNK:
                await self.claim(chunk, waits)
                chunk = []
        if chunk:
            await self.claim(chunk, waits)
        await asyncio.gather(*waits)
        for _ in range(self.senders):
            await self.to_send.put(None)

    def _ledger_claim(self, keys: list[str]) -> dict[str, Any]:
        client = self.client
        return client.ledger.claim([(k, client.stage, client.route.cache_identity, self.version) for k in keys],
                                   client.retry_failed)

    async def claim(self, chunk: list[Claimed], waits: list[asyncio.Task]) -> None:
        claims = self._ledger_claim([key for key, _, _ in chunk])
        for key, item_id, messages in chunk:
            claim = claims[key]
            if claim.action == "reuse":
                self.reuse(key, item_id, claim.payload)
            elif claim.action == "wait":
                waits.append(asyncio.create_task(self.wait_for(key, item_id, messages)))
            elif self.stop.is_set():
                self.unsent.append(key)
            else:
                await self.to_send.put((key, item_id, messages))

    async def wait_for(self, key: str, item_id: str, messages: list[dict[str, str]]) -> None:
        """Another process holds a live lease on the same request: wait for its answer (or its lapse)."""
        while not self.stop.is_set():
            claim = self._ledger_claim([key])[key]
            if claim.action == "reuse":
                self.reuse(key, item_id, claim.payload)
                return
            if claim.action == "send":
                await self.to_send.put((key, item_id, messages))
                return
            await asyncio.sleep(0.5)

    async def watch_stop(self) -> None:
        """A stop signal to the process ends the batch: nothing more is sent, what is in flight finishes."""
        while not self.stop.is_set():
            reason = stop_requested()
            if reason:
                self.client.stop_batch("signal", reason, self.stop)
                return
            await asyncio.sleep(STOP_POLL_S)

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.client.ledger.lease_s / 3)
            self.client.ledger.renew()

    # ------------------------------------------------------------ sending

    async def send(self) -> None:
        client = self.client
        while (item := await self.to_send.get()) is not None:
            key, item_id, messages = item
            if self.stop.is_set():
                self.unsent.append(key)
                continue
            await self.marks.mark(key)
            result = await client.answer(item_id, client.route.outgoing(messages), self.output, self.limiter,
                                         self.stop)
            if result is None:  # the budget ran out before this request could finish
                self.unsent.append(key)
                continue
            client.breaker.add(not result.answered)
            if client.breaker.tripped:
                client.stop_batch("breaker", f"{client.breaker.describe()} (last error: {result.error}); "
                                  "check the API key, model name and api_base", self.stop)
            await self.to_record.put((key, result))

    # ------------------------------------------------------------ recording

    async def record(self) -> None:
        while True:
            group = [await self.to_record.get()]
            while not self.to_record.empty():
                group.append(self.to_record.get_nowait())
            finished = [g for g in group if g is not None]
            if finished:
                self.client.ledger.record([
                    (key, DONE if r.ok else FAILED, r.model_dump(exclude=NOT_STORED) if (r.ok or r.answered) else None,
                     r.error, r.answered, r.http_calls - (key in self.marks.marked)) for key, r in finished])
                self.marks.marked.difference_update(key for key, _ in finished)
                for key, result in finished:
                    self.deliver(key, result)
            if len(finished) < len(group):
                return
