"""One batch spread over several processes.

litellm costs a few milliseconds of CPU per call, so one process tops out at a few hundred
requests per second. Each worker process runs its own event loop and LLMClient against the shared
SQLite ledger (claims are transactional, so a request is still sent once); the parent feeds
requests through a bounded queue and hands results to the sink as they arrive.
"""

from __future__ import annotations

import importlib
import itertools
import multiprocessing as mp
import queue as queue_mod
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from linksyn_assets.llm.budget import Budget, BudgetExceeded
from linksyn_assets.llm.client import CLAIM_CHUNK, CallResult, LLMClient, Request, RunAborted
from linksyn_assets.llm.ledger import RequestLedger

_FLUSH_EVERY_S = 0.2
_SUMMED = ("http_calls", "retries", "throttled", "repaired", "length_retries", "not_sent")


def _worker_main(spec: dict[str, Any], in_q: Any, out_q: Any) -> None:
    module, _, name = spec["output"].rpartition(".")
    output = getattr(importlib.import_module(module), name)
    client = LLMClient(spec["route"], RequestLedger(Path(spec["ledger_path"]), lease_s=spec["lease_s"]),
                       **spec["options"], progress_every_s=1e9)

    def requests() -> Iterator[Request]:
        while (batch := in_q.get()) is not None:
            yield from batch

    buffer: list[dict[str, Any]] = []
    last = [time.monotonic()]

    def sink(result: CallResult) -> None:
        buffer.append(result.model_dump())
        if len(buffer) >= CLAIM_CHUNK or time.monotonic() - last[0] > _FLUSH_EVERY_S:
            out_q.put(("results", list(buffer)))
            buffer.clear()
            last[0] = time.monotonic()

    error = None
    try:
        client.stream(requests(), output, spec["version"], sink)
    except (BudgetExceeded, RunAborted) as exc:
        error = (client._stop_kind, client._stop_reason or str(exc))
    finally:
        if buffer:
            out_q.put(("results", buffer))
        out_q.put(("done", {f: getattr(client.stats, f) for f in _SUMMED}, error))


def stream_in_workers(client: LLMClient, requests: Iterator[Request], output: type[BaseModel], version: str,
                      sink: Callable[[CallResult], None], total: int | None) -> tuple[str, str] | None:
    """Run client's batch in client.workers processes; returns (stop kind, reason), if any."""
    n = client.workers
    ctx = mp.get_context("spawn")
    in_q, out_q = ctx.Queue(maxsize=4 * n), ctx.Queue()
    share = [Budget(b.name, None if b.usd_limit is None else (b.usd_limit - b.spent_usd) / n,
                    None if b.token_limit is None else (b.token_limit - b.spent_tokens) // n)
             for b in client.budgets]
    spec = {
        "route": client.route, "ledger_path": str(client.ledger.path), "lease_s": client.ledger.lease_s,
        "output": f"{output.__module__}.{output.__qualname__}", "version": version,
        "options": {"stage": client.stage, "max_concurrency": max(1, client.max_concurrency // n),
                    "timeout_s": client.timeout_s, "max_retries": client.max_retries,
                    "temperature": client.temperature, "max_tokens": client.max_tokens,
                    "max_tokens_cap": client.max_tokens_cap, "retry_failed": client.retry_failed,
                    "prices": client.prices, "budgets": share, "transport": client.transport},
    }
    procs = [ctx.Process(target=_worker_main, args=(spec, in_q, out_q), daemon=True) for _ in range(n)]
    for proc in procs:
        proc.start()
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            batch = list(itertools.islice(requests, CLAIM_CHUNK))
            if not batch:
                break
            client.stats.requests += len(batch)
            while not stop.is_set():
                try:
                    in_q.put(batch, timeout=0.5)
                    break
                except queue_mod.Full:
                    continue
        for _ in procs:
            in_q.put(None)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    stats, finished, reasons = client.stats, 0, []
    last_log = time.monotonic()
    while finished < n:
        try:
            kind, *payload = out_q.get(timeout=1.0)
        except queue_mod.Empty:
            if not any(p.is_alive() for p in procs) and out_q.empty():
                stop.set()
                raise RuntimeError(f"[{client.stage}] LLM worker processes exited early "
                                   f"(exit codes {[p.exitcode for p in procs]})") from None
            continue
        if kind == "done":
            finished += 1
            for name in _SUMMED:
                setattr(stats, name, getattr(stats, name) + payload[0][name])
            if payload[1]:
                reasons.append(payload[1])
                stop.set()
            continue
        for raw in payload[0]:
            result = CallResult(**raw)
            stats.count(result, with_usage=True)
            sink(result)
        if client.on_progress:
            client.on_progress(stats, total)
        if time.monotonic() - last_log >= client.progress_every_s:
            last_log = time.monotonic()
            client.log(stats.progress_line(client.stage, total))
    feeder.join(timeout=5)
    for proc in procs:
        proc.join(timeout=10)
    client.log(stats.progress_line(client.stage, total))
    return reasons[0] if reasons else None
