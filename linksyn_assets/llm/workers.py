"""One batch spread over several processes.

litellm costs a few milliseconds of CPU per call, so one process tops out at a few hundred
requests per second. Each worker process runs its own event loop and LLMClient against the shared
SQLite ledger (claims are transactional, so a request is still sent once); the parent feeds
requests through a bounded queue and hands results to the sink as they arrive.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import multiprocessing as mp
import queue as queue_mod
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel

from linksyn_assets.llm.batch_loop import CLAIM_CHUNK
from linksyn_assets.llm.budget import Budget, BudgetExceeded
from linksyn_assets.llm.client import ClientSpec, LLMClient
from linksyn_assets.llm.records import BatchStats, CallResult, Request, RunAborted
from linksyn_assets.llm.shutdown import stop_requested

_FLUSH_EVERY_S = 0.2
_SUMMED = ("http_calls", "retries", "throttled", "repaired", "length_retries", "blank_retries", "format_switches",
           "not_sent")


def _worker_main(spec: ClientSpec, output_name: str, version: str, in_q: Any, out_q: Any) -> None:
    module, _, name = output_name.rpartition(".")
    output = getattr(importlib.import_module(module), name)
    client = LLMClient.from_spec(spec, progress_every_s=1e9)

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
        client.stream(requests(), output, version, sink)
    except (BudgetExceeded, RunAborted) as exc:
        error = client.stopped or ("abort", str(exc))
    finally:
        if buffer:
            out_q.put(("results", buffer))
        out_q.put(("done", {f: getattr(client.stats, f) for f in _SUMMED}, error))


def stream_batch(client: LLMClient, requests: Iterable[Request], output: type[BaseModel], version: str,
                 sink: Callable[[CallResult], None], total: int | None = None, workers: int = 1) -> BatchStats:
    """The caller's choice: the batch in this process, or spread over `workers` processes."""
    if workers <= 1:
        return client.stream(requests, output, version, sink, total)
    stopped = stream_in_workers(client.spec(), workers, iter(requests), output, version, sink, total, client.stats,
                                client.log, client.on_progress, client.progress_every_s)
    client.raise_if_stopped(stopped, total)
    return client.stats


def stream_in_workers(spec: ClientSpec, n: int, requests: Iterator[Request], output: type[BaseModel], version: str,
                      sink: Callable[[CallResult], None], total: int | None, stats: BatchStats,
                      log: Callable[[str], None], on_progress: Callable[[BatchStats, int | None], None] | None,
                      progress_every_s: float) -> tuple[str, str] | None:
    """Run the batch in n processes, each a client built from spec with its share of the concurrency and
    of every budget; results go to sink and into stats here. Returns the first (stop kind, reason), if any."""
    ctx = mp.get_context("spawn")
    in_q, out_q = ctx.Queue(maxsize=4 * n), ctx.Queue()
    # budgets kept in the ledger are shared as they are; a budget of this process alone is split n ways
    share = tuple(b if b.scope else Budget(b.name, None if b.usd_limit is None else (b.usd_limit - b.spent_usd) / n,
                                           None if b.token_limit is None else (b.token_limit - b.spent_tokens) // n)
                  for b in spec.budgets)
    worker_spec = dataclasses.replace(spec, max_concurrency=max(1, spec.max_concurrency // n), budgets=share)
    output_name = f"{output.__module__}.{output.__qualname__}"
    procs = [ctx.Process(target=_worker_main, args=(worker_spec, output_name, version, in_q, out_q), daemon=True)
             for _ in range(n)]
    for proc in procs:
        proc.start()
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            batch = list(itertools.islice(requests, CLAIM_CHUNK))
            if not batch:
                break
            stats.requests += len(batch)
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
    finished, reasons = 0, []
    last_log = time.monotonic()
    while finished < n:
        if not stop.is_set() and stop_requested():  # a stop signal: feed nothing more; workers finish what they hold
            reasons.append(("signal", stop_requested() or "stop requested"))
            stop.set()
        try:
            kind, *payload = out_q.get(timeout=1.0)
        except queue_mod.Empty:
            if not any(p.is_alive() for p in procs) and out_q.empty():
                stop.set()
                raise RuntimeError(f"[{spec.stage}] LLM worker processes exited early "
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
        if on_progress:
            on_progress(stats, total)
        if time.monotonic() - last_log >= progress_every_s:
            last_log = time.monotonic()
            log(stats.progress_line(spec.stage, total))
    feeder.join(timeout=5)
    for proc in procs:
        proc.join(timeout=10)
    log(stats.progress_line(spec.stage, total))
    return reasons[0] if reasons else None
