"""Many workers, one ledger, one budget: the LLM work of several disciplines run by 1, 2 and 4 worker processes
that share a PostgreSQL ledger, an S3 data dir and one budget (real PostgreSQL, moto_server and a load stub with
a fixed latency, all on 127.0.0.1).

Each worker has the same share of work and the same concurrency, so with W workers the machine does W times the
work; scaling_Nw = throughput with N workers / throughput with one (ideal N). Workers start together after
their imports (time.time barrier); throughput counts requests from the barrier to the last worker's finish.

- ledger_ops_per_s_pg / _sqlite: claims + completions per second with 4 workers on PostgreSQL, and on a SQLite
  file (one machine), against a second stub that answers at once (so the workers, the ledger and this
  machine's two cores are the limit, not the latency).
- ledger_bytes_per_request: PostgreSQL's size of the requests table (with indexes) per request recorded.
- double_paid: distinct requests the server answered more than once, over every run (must be 0).
- budget_overrun_usd: a last run of 4 workers on a budget far smaller than the work; what the server answered,
  priced, minus the limit, if positive (must be 0).
- in_flight_peak: most requests the server held at once (4 workers x the per-worker concurrency).

    python bench/cluster_sim.py [--latency 4] [--concurrency 500] [--per-worker 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster_worker import write_requests  # noqa: E402
from tests.load_stub_server import REPLY as _ANSWER  # noqa: E402
from tests.load_stub_server import USAGE  # noqa: E402
from tests.services import free_port, postgres_server, s3_server  # noqa: E402

PRICE_IN, PRICE_OUT = 1e-6, 2e-6
COST_PER_REQUEST = USAGE["prompt_tokens"] * PRICE_IN + USAGE["completion_tokens"] * PRICE_OUT


def _http(url: str, method: str = "GET") -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, method=method, data=b"" if method == "POST" else None),
                                timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def ledger_bytes_per_request(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        size, rows = conn.execute("SELECT pg_total_relation_size('requests'), count(*) FROM requests").fetchone()
    return size / max(1, rows)


def run_workers(n: int, ledger: str, data: str, api: str, per_worker: int, concurrency: int, disciplines: int,
                budget_usd: float | None, env: dict[str, str], tag: str) -> dict:
    """n workers, each with `disciplines` disciplines of per_worker/disciplines requests; returns the numbers."""
    per_discipline = per_worker // disciplines
    names = [[f"{tag}w{w}d{d}" for d in range(disciplines)] for w in range(n)]
    for group in names:
        for name in group:
            write_requests(data, name, per_discipline)
    start_at = time.time() + 12 + 3 * n  # after the imports of every worker
    procs = []
    for w in range(n):
        spec = {"ledger": ledger, "api_base": api, "data_dir": data, "disciplines": names[w], "name": f"w{w}",
                "concurrency": concurrency, "budget_usd": budget_usd, "budget_scope": f"total:{tag}",
                "price_in": PRICE_IN, "price_out": PRICE_OUT, "max_tokens": 64, "start_at": start_at,
                "lease_s": 300.0}
        procs.append(subprocess.Popen([sys.executable, "-m", "tests.cluster_worker", json.dumps(spec)], cwd=ROOT,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    reports, codes = [], []
    for proc in procs:
        out, err = proc.communicate(timeout=1800)
        codes.append(proc.returncode)
        if proc.returncode not in (0, 3):
            raise RuntimeError(f"worker failed ({proc.returncode}): {err[-3000:]}")
        reports += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    finished = max(r["finished_at"] for r in reports)
    done = sum(r["ok"] for r in reports)
    return {"requests": done, "seconds": finished - start_at, "per_s": done / (finished - start_at),
            "budget_stopped": codes.count(3), "paid_usd": sum(r["cost_usd"] for r in reports)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=4.0, help="seconds per answer at the stub")
    parser.add_argument("--concurrency", type=int, default=500, help="requests in flight per worker")
    parser.add_argument("--per-worker", type=int, default=2000, help="requests per worker and run")
    parser.add_argument("--disciplines", type=int, default=2, help="disciplines per worker")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ledger-requests", type=int, default=3000, help="per worker, in the zero-latency runs")
    args = parser.parse_args()

    with postgres_server(max_connections=100) as pg, s3_server() as s3, tempfile.TemporaryDirectory() as tmp:
        port, fast_port = free_port(), free_port()
        stubs = [subprocess.Popen([sys.executable, "-m", "tests.load_stub_server", str(p), str(latency)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for p, latency in ((port, args.latency), (fast_port, 0.0))]
        try:
            api, fast_api = f"http://127.0.0.1:{port}/v1", f"http://127.0.0.1:{fast_port}/v1"
            for p in (port, fast_port):
                for _ in range(100):
                    try:
                        _http(f"http://127.0.0.1:{p}/stats")
                        break
                    except OSError:
                        time.sleep(0.1)
            os.environ.update({**s3.env(), "LINKSYN_SCRATCH_DIR": str(Path(tmp) / "scratch")})
            env = dict(os.environ)
            data = f"s3://{s3.create_bucket()}/linksyn"
            print(f"cluster_sim: latency {args.latency}s, {args.concurrency} in flight per worker, "
                  f"{args.per_worker} requests per worker, {args.repeat} rounds of 1/2/4 workers", flush=True)
            rates: dict[int, list[float]] = {1: [], 2: [], 4: []}
            double = 0
            peak = 0
            for r in range(args.repeat):
                for n in (1, 2, 4):
                    _http(f"http://127.0.0.1:{port}/reset", "POST")
                    got = run_workers(n, pg.create_database(), data, api, args.per_worker, args.concurrency,
                                      args.disciplines, 1e6, env, f"r{r}n{n}")
                    stats = _http(f"http://127.0.0.1:{port}/stats")
                    double += stats["answered_twice"]
                    peak = max(peak, stats["in_flight_peak"])
                    rates[n].append(got["per_s"])
                    print(f"  round {r + 1}: {n} worker(s) on PostgreSQL: {got['requests']} requests in "
                          f"{got['seconds']:.1f} s = {got['per_s']:.0f}/s; stub peak in flight "
                          f"{stats['in_flight_peak']}, answered twice {stats['answered_twice']}", flush=True)
            ops: dict[str, list[float]] = {"PostgreSQL": [], "SQLite": []}
            row_bytes = 0.0
            for r in range(args.repeat):
                for kind in ops:
                    _http(f"http://127.0.0.1:{fast_port}/reset", "POST")
                    ledger = pg.create_database() if kind == "PostgreSQL" else str(Path(tmp) / f"ledger{r}.sqlite")
                    got = run_workers(4, ledger, data, fast_api, args.ledger_requests, 64, args.disciplines, 1e6,
                                      env, f"l{r}{kind[0]}")
                    stats = _http(f"http://127.0.0.1:{fast_port}/stats")
                    double += stats["answered_twice"]
                    ops[kind].append(2 * got["requests"] / got["seconds"])
                    if kind == "PostgreSQL":
                        row_bytes = ledger_bytes_per_request(ledger)
                    print(f"  round {r + 1}: 4 workers at zero latency on {kind}: {got['requests']} requests in "
                          f"{got['seconds']:.1f} s = {ops[kind][-1]:.0f} ledger ops/s", flush=True)
            # one budget far below the work: together the workers must stop at it
            limit = COST_PER_REQUEST * args.per_worker  # a quarter of 4 workers' work
            _http(f"http://127.0.0.1:{port}/reset", "POST")
            got = run_workers(4, pg.create_database(), data, api, args.per_worker, args.concurrency,
                              args.disciplines, limit, env, "budget")
            stats = _http(f"http://127.0.0.1:{port}/stats")
            double += stats["answered_twice"]
            server_cost = stats["answered"] * COST_PER_REQUEST
            overrun = max(0.0, server_cost - limit)
            print(f"  budget ${limit:.4f} shared by 4 workers: {got['budget_stopped']} stopped on it, server "
                  f"answered {stats['answered']} requests = ${server_cost:.4f}", flush=True)
        finally:
            for stub in stubs:
                stub.terminate()
                stub.wait()
    one = statistics.median(rates[1])
    s2, s4 = statistics.median(rates[2]) / one, statistics.median(rates[4]) / one
    print(f"median throughput: 1 worker {one:.0f}/s, 2 workers {statistics.median(rates[2]):.0f}/s, "
          f"4 workers {statistics.median(rates[4]):.0f}/s")
    print(f"ledger_bytes_per_request={row_bytes:.0f} (PostgreSQL, requests table with indexes; stub answers of "
          f"{len(_ANSWER)} bytes)")
    print(f"ledger_ops_per_s_pg={statistics.median(ops['PostgreSQL']):.0f} ledger_ops_per_s_sqlite="
          f"{statistics.median(ops['SQLite']):.0f} scaling_2w={s2:.2f} scaling_4w={s4:.2f} double_paid={double} "
          f"budget_overrun_usd={overrun:.6f} in_flight_peak={peak}")


if __name__ == "__main__":
    main()
