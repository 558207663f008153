"""KP graph build and value-guided walk engine at LinkQA scale, against baselines measured in the same run.

A deterministic power-law KP graph is generated from synthetic seeds (about 5 KPs each; KP
frequency ~ rank^-0.95, every KP used at least once; 90% of seeds in "physics", 10% in
"chemistry", so the physics partition has bridges and foreign KPs). Then:

- build: seed_kps Parquet -> kp_graph tables (polars) -> rustworkx graph, in a child process whose
  peak RSS is the memory figure;
- engine: 1M paths (100k with --quick) of length 4 with the default walk config (alpha .5, beta 3,
  gamma 1, cross rate .2, 2-4 seeds per path), seeds included; steps = transitions (3 per path).
  Three runs, each on a fresh engine; they must draw the same paths, and the median rate counts
  (this VM's speed drifts by +-15% between runs);
- python: the per-step reference of walks.py (each step's exact distribution computed with numpy)
  on a subset of paths;
- rustworkx: generate_random_path (uniform walk) from uniform home starts, same lengths;
- coverage: share of physics KPs used, value-guided vs the rustworkx uniform walk at equal paths,
  after a tenth of the paths (coverage_valueguided, coverage_uniform, coverage_paths) and after all
  of them (..._all_paths). The target is read at the tenth: with as many paths as KPs the uniform
  walk already covers ~0.89 of them, so no walk can reach 1.3x there.

Usage: python bench/walk_bench.py [--quick]      (quick: 100k KPs and 100k paths)
Last line: key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peak_memory import peak_rss_mb  # noqa: E402

from linksyn_assets.kps.corpus_graph import build_graph_tables  # noqa: E402
from linksyn_assets.kps.graph_tables import GraphTables, to_rustworkx  # noqa: E402
from linksyn_assets.settings import WalkParams  # noqa: E402
from linksyn_assets.walks.csr_graph import WalkGraph  # noqa: E402
from linksyn_assets.walks.engine import WalkEngine, kp_coverage  # noqa: E402
from linksyn_assets.walks.reference import reference_walks  # noqa: E402

DISCIPLINE = "physics"
PATH_LENGTH = 4
ENGINE_RUNS = 3


def synthetic_seed_kps(n_kps: int, n_seeds: int, seed: int = 20250801) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    per_seed = rng.integers(4, 7, n_seeds)  # 4-6 KPs, mean 5
    slots = int(per_seed.sum())
    rank = np.arange(1, n_kps + 1, dtype=np.float64)
    p = (rank + 10.0) ** -0.95
    kp = np.concatenate([rng.permutation(n_kps), rng.choice(n_kps, size=slots - n_kps, p=p / p.sum())])
    rng.shuffle(kp)
    seed_of = np.repeat(np.arange(n_seeds), per_seed)
    chemistry = rng.random(n_seeds) < 0.1
    frame = pl.DataFrame({"s": seed_of, "k": kp})
    return frame.select(
        pl.format("seed_{}", pl.col("s")).alias("seed_id"),
        pl.Series("discipline", np.where(chemistry[seed_of], "chemistry", DISCIPLINE)),
        pl.format("kp_{}", pl.col("k").cast(pl.String).str.zfill(7)).alias("kp_id"),
        pl.format("concept {}", pl.col("k")).alias("kp_name"),
        pl.Series("difficulty", (seed_of % 5).astype(np.int8)),
    )


def build_child(seed_kps_path: str, out_dir: str) -> None:
    """Runs in a fresh process: its peak RSS is the build's."""
    started = time.perf_counter()
    tables = build_graph_tables(pl.read_parquet(seed_kps_path), DISCIPLINE)
    graph, _ = to_rustworkx(tables)
    seconds = time.perf_counter() - started
    for name, frame in tables.as_dict().items():
        frame.write_parquet(Path(out_dir) / f"{name}.parquet")
    print(json.dumps({"build_s": seconds, "peak_rss_mb": peak_rss_mb(),
                      "nodes": graph.num_nodes(), "edges": graph.num_edges()}))


def uniform_coverage(tables: GraphTables, graph: WalkGraph, n_paths: int, seed: int, checkpoint: int
                     ) -> tuple[float, float, float]:
    """(coverage, coverage after `checkpoint` paths, steps/s) of rustworkx generate_random_path from
    uniform home starts."""
    import rustworkx as rx

    rx_graph, rx_index = to_rustworkx(tables)
    position = np.empty(rx_graph.num_nodes(), dtype=np.int64)
    for i, kp in enumerate(graph.kp_ids.to_list()):
        position[rx_index[kp]] = i
    home = np.flatnonzero(graph.in_discipline & (np.diff(graph.indptr) > 0))
    rx_home = np.array([rx_index[k] for k in graph.kp_ids.gather(home).to_list()])
    rng = np.random.default_rng(seed)
    starts = rx_home[rng.integers(0, rx_home.size, n_paths)]
    seeds = rng.integers(0, 2**31, n_paths)
    used = np.zeros(graph.size, dtype=bool)
    steps = 0
    home_all = graph.in_discipline
    early = 0.0
    started = time.perf_counter()
    for i, (source, s) in enumerate(zip(starts.tolist(), seeds.tolist(), strict=True), 1):
        walk = rx.generate_random_path(rx_graph, source, PATH_LENGTH - 1, seed=s)
        steps += len(walk) - 1
        used[position[walk]] = True
        if i == checkpoint:
            early = float(used[home_all].sum() / home_all.sum())
    seconds = time.perf_counter() - started
    return float(used[home_all].sum() / home_all.sum()), early, steps / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k KPs, 100k seeds and paths")
    parser.add_argument("--build-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_child:
        build_child(*args.build_child)
        return
    n = 100_000 if args.quick else 1_000_000
    n_paths = n
    python_paths = 100 if args.quick else 40
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        seed_kps = synthetic_seed_kps(n, n)
        seed_kps.write_parquet(Path(tmp) / "seed_kps.parquet")
        print(f"generated {seed_kps.height:,} seed-KP rows from {n:,} seeds in {time.perf_counter() - t0:.1f}s",
              flush=True)
        del seed_kps
        child = subprocess.run([sys.executable, __file__, "--build-child", str(Path(tmp) / "seed_kps.parquet"), tmp],
                               capture_output=True, text=True, check=True)
        build = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"build: {build['nodes']:,} KPs, {build['edges']:,} edges in {build['build_s']:.1f}s, "
              f"peak RSS {build['peak_rss_mb']:.0f} MB", flush=True)
        tables = GraphTables.from_dict({name: pl.read_parquet(Path(tmp) / f"{name}.parquet") for name in
                                        ("nodes", "edges", "kp_seeds", "discipline_stats", "aliases")})

    t0 = time.perf_counter()
    graph = WalkGraph.from_tables(tables)
    csr_s = time.perf_counter() - t0
    params = WalkParams(min_length=PATH_LENGTH, max_length=PATH_LENGTH)
    WalkEngine(graph, params).run("warm-up", 10, np.full(5, 0.2))  # compiles (or loads) the kernels
    rates, result = [], None
    for run in range(ENGINE_RUNS):  # a fresh engine each time (usage starts at 0); the median run counts
        t0 = time.perf_counter()
        engine = WalkEngine(graph, params)
        init_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = engine.run(DISCIPLINE, n_paths, np.full(5, 0.2))
        engine_s = time.perf_counter() - t0
        if result is not None and not (np.array_equal(again.nodes, result.nodes)
                                       and np.array_equal(again.seeds, result.seeds)):
            raise SystemExit("engine runs with the same seed drew different paths")
        result = again
        engine_steps = int((result.lengths - 1).sum())
        rates.append(engine_steps / engine_s)
        print(f"engine run {run + 1}: CSR {csr_s:.1f}s, tables {init_s:.1f}s; {result.count:,} paths, "
              f"{engine_steps:,} steps in {engine_s:.2f}s = {rates[-1]:,.0f} steps/s ({result.stats.batches} "
              f"batches of at most {result.batch}, acceptance {result.stats.acceptance:.3f}, "
              f"{result.stats.exact_scans:,} exact scans, {result.stats.rows_rebuilt:,} rows re-based)", flush=True)
    assert result is not None
    engine_rate = float(np.median(rates))

    t0 = time.perf_counter()
    reference = reference_walks(graph, python_paths, np.full(python_paths, PATH_LENGTH), params,
                                np.random.default_rng(1))
    python_rate = sum(len(p) - 1 for p in reference) / (time.perf_counter() - t0)
    print(f"python reference: {python_paths} paths, {python_rate:,.0f} steps/s", flush=True)

    # Coverage is compared after a tenth of the paths (the curve point nearest to it): at 1M paths on 1M
    # KPs the uniform walk itself covers ~0.89, so no walk could be more than ~1.12x of it there.
    checkpoint, coverage = max(result.coverage_curve[1:], key=lambda point: -abs(point[0] - result.count // 10))
    full_uniform, coverage_uniform, rx_rate = uniform_coverage(tables, graph, result.count, 2, checkpoint)
    full = kp_coverage(graph, result.usage)
    ratio = coverage / coverage_uniform
    print(f"rustworkx uniform: {result.count:,} paths, {rx_rate:,.0f} steps/s", flush=True)
    print(f"coverage after {checkpoint:,} paths: value-guided {coverage:.4f} vs uniform {coverage_uniform:.4f} "
          f"({ratio:.2f}x); after all {result.count:,}: {full:.4f} vs {full_uniform:.4f} "
          f"({full / full_uniform:.2f}x, at most {1 / full_uniform:.2f}x possible)", flush=True)
    checks = {"build_s <= 60": build["build_s"] <= 60, "build_peak_rss_mb <= 4096": build["peak_rss_mb"] <= 4096,
              "engine_steps_per_s >= 1000000": engine_rate >= 1_000_000,
              "speedup_vs_python >= 20": engine_rate / python_rate >= 20,
              "coverage_valueguided >= 1.3 x coverage_uniform": ratio >= 1.3}
    label = "targets (set for the full run; --quick only shows the shape)" if args.quick else "targets"
    print(f"{label}: " + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in checks.items()))
    print(" ".join([
        f"build_s={build['build_s']:.1f}", f"build_peak_rss_mb={build['peak_rss_mb']:.0f}",
        f"engine_steps_per_s={engine_rate:.0f}", f"python_steps_per_s={python_rate:.0f}",
        f"speedup_vs_python={engine_rate / python_rate:.1f}", f"rustworkx_uniform_steps_per_s={rx_rate:.0f}",
        f"coverage_valueguided={coverage:.4f}", f"coverage_uniform={coverage_uniform:.4f}",
        f"coverage_paths={checkpoint}", f"coverage_valueguided_all_paths={full:.4f}",
        f"coverage_uniform_all_paths={full_uniform:.4f}",
    ]))


if __name__ == "__main__":
    main()
