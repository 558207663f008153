"""One LLM worker of a deployment, as a process: runs the extraction batch of some disciplines against a shared
ledger and budget, reading its requests from and writing its answers to the data dir (local or s3://), the way
an LLM asset's run does. Used by the multi-worker tests and bench/cluster_sim.py.

    python -m tests.cluster_worker '<json spec>'

Prints one JSON line per finished discipline ({"discipline", "ok", "http_calls", "cost_usd", "stopped"}).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import polars as pl

from linksyn_assets.llm.budget import Budget, BudgetExceeded, Prices
from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.records import CallResult, ModelRoute
from linksyn_assets.records import KPExtraction
from linksyn_assets.storage import as_path, read_parquet, write_parquet_atomic


def extraction_messages(discipline: str, i: int) -> list[dict[str, str]]:
    question = f"{discipline} question {i}: photosynthesis converts sunlight; compute item{i}"
    return [{"role": "system", "content": "Identify the knowledge points (KPs) a question tests."},
            {"role": "user", "content": f"<seed>\nQuestion: {question}\nAnswer: yes\n</seed>"}]


def write_requests(data_dir: str, discipline: str, n: int) -> None:
    frame = pl.DataFrame({"item_id": [f"{discipline}-{i}" for i in range(n)],
                          "messages": [json.dumps(extraction_messages(discipline, i)) for i in range(n)]})
    write_parquet_atomic(frame, as_path(data_dir) / "requests" / f"{discipline}.parquet")


def main(spec: dict) -> None:
    route = ModelRoute(model=spec.get("model", "openai/stub-model"), cache_identity="stub@cluster",
                       api_base=spec["api_base"], api_key="sk-cluster-test")
    prices = Prices(spec.get("price_in", 1e-6), spec.get("price_out", 2e-6), "config")
    budgets = [Budget("shared", usd_limit=spec["budget_usd"], scope=spec.get("budget_scope", "total:cluster"))] \
        if spec.get("budget_usd") is not None else []
    ledger = RequestLedger(spec["ledger"], lease_s=spec.get("lease_s", 120.0))
    root = as_path(spec["data_dir"])
    if spec.get("start_at"):  # workers start together once imported and connected (benchmarks time the work)
        time.sleep(max(0.0, spec["start_at"] - time.time()))
    if spec.get("barrier"):  # or once every worker is ready, however slow its imports were on a loaded machine
        barrier = Path(spec["barrier"])
        (barrier / f"ready.{spec.get('name', 'w')}").touch()
        while not (barrier / "go").exists():
            time.sleep(0.01)
    for discipline in spec["disciplines"]:
        requests = read_parquet(root / "requests" / f"{discipline}.parquet")
        client = LLMClient(route, ledger, stage="extract", max_concurrency=spec.get("concurrency", 8),
                           prices=prices, budgets=budgets, max_tokens=spec.get("max_tokens", 256),
                           timeout_s=spec.get("timeout_s", 600.0))
        got: list[CallResult] = []
        stopped = None
        try:
            client.stream(((r["item_id"], json.loads(r["messages"])) for r in requests.iter_rows(named=True)),
                          KPExtraction, "cluster-v1", got.append, total=requests.height)
        except BudgetExceeded as exc:
            stopped = str(exc)
        answers = pl.DataFrame({"item_id": [r.item_id for r in got],
                                "answer": [json.dumps(r.data, sort_keys=True) if r.ok else None for r in got]},
                               schema={"item_id": pl.String, "answer": pl.String})
        name = spec.get("name", "w")
        write_parquet_atomic(answers.sort("item_id"), root / "answers" / f"{discipline}.{name}.parquet")
        print(json.dumps({"discipline": discipline, "ok": sum(r.ok for r in got),
                          "http_calls": client.stats.http_calls, "cost_usd": client.stats.cost_usd,
                          "stopped": stopped, "finished_at": time.time()}), flush=True)
        if stopped:
            sys.exit(3)
    ledger.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
