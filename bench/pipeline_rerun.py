"""Cold run vs re-run on unchanged seeds, through Dagster, against the local stub LLM server.

The claim measured: re-materializing unchanged inputs makes no LLM call (every answer comes from
the response cache), so a re-run costs only the non-LLM work. The stub adds a fixed latency per
request to stand in for a real model. Last line: key=value pairs.

    .venv/bin/python bench/pipeline_rerun.py [--latency 0.2] [--paths 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg  # noqa: E402

from linksyn_assets.assets import ALL_ASSETS  # noqa: E402
from linksyn_assets.partitions import discipline_partitions  # noqa: E402
from linksyn_assets.stages import INGEST, PER_DISCIPLINE  # noqa: E402
from resources import build_resources  # noqa: E402
from resources.seed_source import SeedSourceResource  # noqa: E402
from tests.stub_llm_server import Faults, StubServer  # noqa: E402


def run_once(instance: dg.DagsterInstance, resources: dict, disciplines: list[str]) -> float:
    started = time.perf_counter()
    for stage in (list(INGEST.assets), list(PER_DISCIPLINE.assets)):
        for d in disciplines:
            result = dg.materialize(ALL_ASSETS, selection=stage, partition_key=d, instance=instance,
                                    resources=resources, raise_on_error=True)
            assert result.success
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.2, help="stub seconds per request")
    parser.add_argument("--paths", type=int, default=8, help="walk paths per discipline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, StubServer() as stub:
        stub.reset(Faults(latency_s=args.latency))
        os.environ.update({"LINKSYN_DATA_DIR": str(Path(tmp) / "data"), "LINKSYN_MODEL": "openai/stub",
                           "LINKSYN_API_BASE": stub.url, "LINKSYN_API_KEY_ENV": "BENCH_KEY",
                           "BENCH_KEY": "sk-bench"})
        resources = build_resources(settings_overrides={"walk": {"paths_per_discipline": args.paths}})
        disciplines = SeedSourceResource().disciplines()
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(discipline_partitions.name, disciplines)
            cold = run_once(instance, resources, disciplines)
            cold_calls = stub.count
            warm = run_once(instance, resources, disciplines)
            warm_calls = stub.count - cold_calls
    print(f"sample seeds, {len(disciplines)} disciplines, {args.paths} paths each, stub latency {args.latency}s")
    print(f"cold_s={cold:.2f} warm_s={warm:.2f} speedup={cold / warm:.2f} "
          f"llm_calls_cold={cold_calls} llm_calls_warm={warm_calls}")


if __name__ == "__main__":
    main()
