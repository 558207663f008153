"""What an update costs: a cold run, then (a) nothing changed, (b) 1% new seeds in one discipline,
(c) 10% new seeds spread over every discipline, (d) the file of (b) removed, (e) a new discipline of 1% of the
seeds plus one new seed in an earlier discipline (whose extraction then re-runs); through Dagster against the
test stub LLM with a fixed latency per request (so LLM time dominates the cold run, as with real models).

Each update runs what the seed-source sensor would request: both stages for the disciplines whose seeds
changed (sensors.discipline_fingerprints), nothing for the others; (a) re-runs every discipline.

Per update: LLM calls made, the minimum for the new work, earlier rows kept byte-identical, wall time against
the cold run. The minimum is new extractions (one per seed written by the update) plus the calls of the paths
that had to be
drawn: per discipline, the paths still missing after the earlier paths were kept (walk_paths'
paths_wanted - paths_kept), each costing one synthesis call plus the measured hardening, judging and
verification calls per new path. A system that redrew earlier paths would draw more paths than that and
show a ratio above 1.

    .venv/bin/python bench/incremental_update.py [--quick] [--latency 0.2]

Last line: key=value.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg  # noqa: E402
import polars as pl  # noqa: E402

from linksyn_assets.assets import ALL_ASSETS  # noqa: E402
from linksyn_assets.assets.metadata import materialized  # noqa: E402
from linksyn_assets.dataset_store.manifest import read_live  # noqa: E402
from linksyn_assets.layout import asset_file, dataset_folder  # noqa: E402
from linksyn_assets.partitions import discipline_partitions  # noqa: E402
from linksyn_assets.sensors import discipline_fingerprints  # noqa: E402
from linksyn_assets.stages import INGEST, PER_DISCIPLINE  # noqa: E402
from resources import build_resources  # noqa: E402
from resources.seed_source import SeedSourceResource  # noqa: E402
from tests.stub_llm_server import Faults, StubServer  # noqa: E402

DISCIPLINES = ["biology", "chemistry", "economics", "mathematics", "physics"]
NEW_DISCIPLINE = "geography"  # added by scenario (e)
TABLES = ("synthesized_qa", "hard_qa", "linkqa_dataset")
DOWNSTREAM = ("harden", "judge", "verify")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(4))  # 8 letters


class SeedWriter:
    """Questions of four 8-letter words (the stub's KPs), drawn Zipf-like from the discipline's vocabulary,
    sometimes one from a shared vocabulary (bridges between disciplines)."""

    def __init__(self, folder: Path, seed: int = 5) -> None:
        self.folder, self.rng = folder, random.Random(seed)
        self.vocab = {d: [_word(self.rng) for _ in range(120)] for d in [*DISCIPLINES, NEW_DISCIPLINE]}
        self.shared = [_word(self.rng) for _ in range(20)]
        self.n = 0

    def rows(self, discipline: str, count: int) -> list[dict]:
        words = self.vocab[discipline]
        weights = [1 / (i + 1) for i in range(len(words))]
        out = []
        for _ in range(count):
            picked = self.rng.choices(words, weights, k=4)
            if self.rng.random() < 0.2:
                picked[3] = self.rng.choice(self.shared)
            self.n += 1
            out.append({"question": f"Case {self.n}: how do {picked[0]} and {picked[1]} link {picked[2]} to "
                                    f"{picked[3]}?", "options": ["one", "two", "three", "four"], "answer": "A",
                        "discipline": discipline, "difficulty": self.rng.randint(0, 4), "language": "en"})
        return out

    def write(self, name: str, rows: list[dict]) -> None:
        with (self.folder / name).open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


def _tables(disciplines: list[str]) -> dict[tuple[str, str], pl.DataFrame]:
    out = {}
    for asset in ("walk_paths", *TABLES):
        for d in disciplines:
            if asset == "linkqa_dataset":  # a folder of shards: its live rows
                if (dataset_folder(d) / "manifest.json").exists():
                    out[(asset, d)] = read_live(dataset_folder(d))
            elif asset_file(asset, d).exists():
                out[(asset, d)] = pl.read_parquet(asset_file(asset, d))
    return out


def _kept_share(before: dict, after: dict) -> tuple[int, float]:
    """Earlier rows of paths that are still in walk_paths, and the share found byte-identical afterwards."""
    total = same = 0
    for (asset, d), old in before.items():
        if asset == "walk_paths":
            continue
        live = after[("walk_paths", d)]["path_id"].implode()
        old = old.filter(pl.col("path_id").is_in(live))
        now = after[(asset, d)]
        total += old.height
        same += old.join(now, on=old.columns, how="semi", nulls_equal=True).height
    return total, (same / total if total else 1.0)


class Runner:
    def __init__(self, instance: dg.DagsterInstance, stub: StubServer, seeds: Path) -> None:
        self.instance, self.stub = instance, stub
        self.source = SeedSourceResource(path=str(seeds))
        self.resources = build_resources(seeds_path=str(seeds), settings_overrides={"walk": {"paths_per_seed": 0.25}})
        self.prints: dict[str, str] = {}

    def update(self, new_seeds: int, every: bool = False) -> dict:
        """Run both stages for the disciplines whose seeds changed (every discipline when `every`, as a
        user re-running `linksyn run` would); return what it cost against the minimum for `new_seeds`."""
        prints = discipline_fingerprints(self.source)
        changed = sorted(d for d, fp in prints.items() if every or self.prints.get(d) != fp)
        self.prints = prints
        known = set(self.instance.get_dynamic_partitions(discipline_partitions.name))
        self.instance.add_dynamic_partitions(discipline_partitions.name, sorted(set(prints) - known))
        before, calls, stages = _tables(sorted(prints)), self.stub.count, dict(self.stub.state.by_stage)
        started = time.perf_counter()
        meta: dict[tuple[str, str], dict] = {}
        for stage in (list(INGEST.assets), list(PER_DISCIPLINE.assets)):
            for d in changed:
                result = dg.materialize(ALL_ASSETS, selection=stage, partition_key=d, instance=self.instance,
                                        resources=self.resources)
                assert result.success, d
                meta.update({(a, d): v for a, v in materialized(result).items()})
        seconds = time.perf_counter() - started
        after = _tables(sorted(prints))
        by_stage = {s: self.stub.state.by_stage[s] - stages.get(s, 0) for s in self.stub.state.by_stage}
        new_paths = sum(meta[("walk_paths", d)]["paths_new"] for d in changed)
        needed = sum(max(0, meta[("walk_paths", d)]["paths_wanted"] - meta[("walk_paths", d)]["paths_kept"])
                     for d in changed)
        per_path = sum(by_stage.get(s, 0) for s in DOWNSTREAM) / new_paths if new_paths else 0.0
        # paths the graph could not give (a discipline too small for a path) are no work to pay for
        minimum = new_seeds + min(needed, new_paths) * (1 + per_path)
        rows_before, share = _kept_share(before, after)
        retired = sum(meta[("walk_paths", d)]["paths_retired"] for d in changed)
        return {"disciplines": changed, "calls": self.stub.count - calls, "minimum": minimum, "by_stage": by_stage,
                "new_paths": new_paths, "needed_paths": needed, "retired_paths": retired,
                "rows_before": rows_before, "rows_kept_share": share, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 seeds over 3 disciplines (under 60 s)")
    parser.add_argument("--latency", type=float, default=0.2, help="stub seconds per request")
    args = parser.parse_args()
    disciplines = DISCIPLINES[:3] if args.quick else DISCIPLINES
    per_discipline = 100 if args.quick else 600
    with tempfile.TemporaryDirectory() as tmp, StubServer() as stub:
        stub.reset(Faults(latency_s=args.latency))
        seeds, data = Path(tmp) / "seeds", Path(tmp) / "data"
        seeds.mkdir()
        os.environ.update({"LINKSYN_DATA_DIR": str(data), "LINKSYN_MODEL": "openai/stub",
                           "LINKSYN_API_BASE": stub.url, "LINKSYN_API_KEY_ENV": "BENCH_KEY", "BENCH_KEY": "sk-bench",
                           "LINKSYN_MAX_CONCURRENCY": "16"})
        writer = SeedWriter(seeds)
        for d in disciplines:
            writer.write(f"{d}.jsonl", writer.rows(d, per_discipline))
        total = per_discipline * len(disciplines)
        one_pct = max(1, total // 100)
        with dg.instance_for_test() as instance:
            run = Runner(instance, stub, seeds)
            cold = run.update(total)
            print(f"cold: {total} seeds, {len(disciplines)} disciplines, {cold['calls']} LLM calls "
                  f"{cold['by_stage']}, {cold['new_paths']} paths, {cold['seconds']:.1f}s "
                  f"(stub latency {args.latency}s, 16 requests in flight)")
            results = {"unchanged": run.update(0, every=True)}
            writer.write("update_1pct.jsonl", writer.rows(disciplines[0], one_pct))
            results["1pct"] = run.update(one_pct)
            for d in disciplines:
                writer.write(f"update_10pct_{d}.jsonl", writer.rows(d, total // 10 // len(disciplines)))
            results["10pct"] = run.update(total // 10 // len(disciplines) * len(disciplines))
            (seeds / "update_1pct.jsonl").unlink()
            results["removed"] = run.update(0)
            writer.write(f"{NEW_DISCIPLINE}.jsonl", writer.rows(NEW_DISCIPLINE, one_pct))
            writer.write("update_new_discipline.jsonl", writer.rows(disciplines[1], 1))
            results["new_discipline"] = run.update(one_pct + 1)
    for name, r in results.items():
        ratio = r["calls"] / r["minimum"] if r["minimum"] else (0.0 if r["calls"] == 0 else float("inf"))
        print(f"{name}: disciplines {r['disciplines']}; {r['calls']} calls {r['by_stage']} vs minimum "
              f"{r['minimum']:.0f} (ratio {ratio:.3f}); paths new {r['new_paths']} (needed {r['needed_paths']}), "
              f"retired {r['retired_paths']}; earlier rows kept byte-identical {r['rows_kept_share']:.4f} of "
              f"{r['rows_before']}; {r['seconds']:.1f}s = {r['seconds'] / cold['seconds']:.3f} of the cold run")

    def over(name: str) -> float:
        r = results[name]
        return round(r["calls"] / r["minimum"], 4) if r["minimum"] else 0.0

    print(f"calls_unchanged={results['unchanged']['calls']} calls_over_minimum_1pct={over('1pct')} "
          f"calls_over_minimum_10pct={over('10pct')} rows_kept_share_1pct={results['1pct']['rows_kept_share']:.4f} "
          f"rows_kept_share_10pct={results['10pct']['rows_kept_share']:.4f} "
          f"update_time_ratio_1pct={results['1pct']['seconds'] / cold['seconds']:.3f} "
          f"calls_over_minimum_new_discipline={over('new_discipline')}")


if __name__ == "__main__":
    main()
