"""What a backfill with nothing to do costs: `linksyn run` on the bundled sample seeds (7 disciplines) against the
stub LLM, then "Materialize all -> all partitions" through `dagster dev` (webserver + daemon, the local instance
`linksyn run` made) on the same data, where every answer is already in the ledger. The backfill's wall time is
compared with the cold run's; LLM calls are counted at the stub (0 expected), and the backfill's materializations
are counted by whether they reused the stored table (assets/unchanged.py) or recomputed it.

    .venv/bin/python bench/noop_backfill.py [--paths 2]

Last line: key=value (noop_backfill_s, noop_over_cold_ratio, ...).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402

from linksyn_assets.assets.metadata import values  # noqa: E402
from linksyn_assets.stages import STAGE_ORDER  # noqa: E402
from tests.dagster_server import dagster_server, graphql  # noqa: E402
from tests.stub_llm_server import StubServer  # noqa: E402

BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status } ... on PythonError { message } } }"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=2, help="walk paths per discipline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, StubServer() as stub:
        home = Path(tmp) / "home"
        env = {**os.environ, "DAGSTER_HOME": str(home), "LINKSYN_DATA_DIR": str(Path(tmp) / "data"),
               "LINKSYN_MODEL": "openai/stub-model", "LINKSYN_API_BASE": stub.url,
               "LINKSYN_API_KEY_ENV": "NOOP_BENCH_KEY", "NOOP_BENCH_KEY": "sk-noop-bench"}
        env.pop("LINKSYN_SETTINGS", None)
        env.pop("LINKSYN_SEEDS", None)
        started = time.perf_counter()
        cold = subprocess.run([sys.executable, "-m", "linksyn_assets.cli", "run", "--paths-per-discipline",
                               str(args.paths)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        cold_s = time.perf_counter() - started
        if cold.returncode != 0:
            raise SystemExit(f"linksyn run failed:\n{cold.stdout[-3000:]}\n{cold.stderr[-3000:]}")
        cold_calls = stub.count
        with dagster_server("dagster dev", env, Path(tmp) / "dagster_dev.log") as base:
            started = time.perf_counter()
            launched = graphql(base, BACKFILL, {"params": {"assetSelection": [{"path": [a]} for a in STAGE_ORDER],
                                                           "allPartitions": True}})["launchPartitionBackfill"]
            if launched["__typename"] != "LaunchBackfillSuccess":
                raise SystemExit(f"backfill not launched: {launched}")
            status = ""
            while time.perf_counter() - started < 3600:
                status = graphql(base, STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]["status"]
                if status not in ("REQUESTED", "CANCELING", "FAILING"):
                    break
                time.sleep(2)
            noop_s = time.perf_counter() - started
        noop_calls = stub.count - cold_calls
        runs, reused, recomputed = _backfill_work(home, launched["backfillId"])
    print(f"cold linksyn run: {cold_s:.1f}s, {cold_calls} LLM calls; no-op backfill of {len(STAGE_ORDER)} assets "
          f"over every partition: {noop_s:.1f}s ({status}), {runs} runs, {noop_calls} LLM calls, "
          f"{reused} materializations reused their stored table, {recomputed} recomputed")
    print(f"cold_s={cold_s:.1f} noop_backfill_s={noop_s:.1f} noop_over_cold_ratio={noop_s / cold_s:.3f} "
          f"noop_llm_calls={noop_calls} noop_runs={runs} noop_reused={reused} noop_recomputed={recomputed} "
          f"backfill_status={status}")


def _backfill_work(home: Path, backfill_id: str) -> tuple[int, int, int]:
    """(runs, materializations that reused their table, materializations that recomputed) of the backfill."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = {r.run_id for r in instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))}
        reused = recomputed = 0
        for asset in STAGE_ORDER:
            for record in instance.fetch_materializations(dg.AssetKey(asset), limit=10_000).records:
                mat = record.asset_materialization
                if record.run_id in runs and mat is not None:
                    if values(mat).get("unchanged_since_run"):
                        reused += 1
                    else:
                        recomputed += 1
    return len(runs), reused, recomputed


if __name__ == "__main__":
    main()
