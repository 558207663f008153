"""Corpus-wide work done once: `seeds` and `kp_graph` for every discipline partition, at 1M seeds over 50
disciplines (and --large: the corpus graph of 10M seeds).

Generates seeds with power-law discipline sizes (rank^-1) in two variants: `clustered` (each discipline has
its own KPs, power-law within it, and 20% of a seed's KPs come from 2,000 shared hub KPs) and `uniform` (the
walk benchmark's generator: KP frequency ~ rank^-0.95 over all KPs, disciplines independent of KPs, so hubs put
almost the whole graph one hop from every discipline). Writes the seed source as JSONL files (one per
discipline) and every discipline's seed_kps Parquet as the ingest stage leaves them, then, in a child process
per variant (its peak RSS is the figure), runs the two assets' work for all 50 partitions exactly as the
pipeline calls it, each partition starting from a cold process state (the in-process caches are cleared, as
in separate runs):

- seeds: SeedSourceResource.load_discipline (the source parsed once per version, then one discipline's rows);
- kp_graph: corpus_partition (the corpus graph built once per content version of every seed_kps, then the
  partition's summary).

Baseline in the same child: one corpus build (`single_full_build_s`: parse the whole source once + build the
corpus graph once, which any design must do), and one partition the way it was done before this change
(`old_partition_s`: parse the whole source + the per-partition string self-join of tests/kps/reference_graph.py)
so the old 50-partition cost is 50 times that.

Last line: key=value pairs (clustered variant unprefixed; uniform prefixed `uniform_`): all_partitions_s,
single_full_build_s, ratio_all_to_single, peak_rss_mb, stored_mb_all_partitions (partition folders plus the
shared corpus folder), stored_mb_corpus_graph, and with --large: large_build_s, large_peak_rss_mb.
Targets: ratio_all_to_single <= 2, stored_mb_all_partitions <= 2 x stored_mb_corpus_graph,
large_peak_rss_mb <= 16000.

Usage: python bench/graph_scale.py [--seeds 1000000] [--large] [--variants clustered,uniform]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from peak_memory import peak_rss_mb  # noqa: E402

DISCIPLINES = 50
HUBS = 2_000


def discipline_sizes(n_seeds: int, n: int = DISCIPLINES) -> np.ndarray:
    weight = 1.0 / np.arange(1, n + 1)
    sizes = np.maximum(1, np.floor(weight / weight.sum() * n_seeds)).astype(np.int64)
    sizes[0] += n_seeds - sizes.sum()
    return sizes


def generate(variant: str, n_seeds: int, seed: int = 20251129) -> pl.DataFrame:
    """seed_kps rows (seed_id, discipline, kp_id, kp_name, difficulty): 4-6 KPs per seed, n_seeds KPs."""
    rng = np.random.default_rng(seed)
    sizes = discipline_sizes(n_seeds)
    discipline_of = np.repeat(np.arange(DISCIPLINES), sizes)
    per_seed = rng.integers(4, 7, n_seeds)
    seed_of = np.repeat(np.arange(n_seeds), per_seed)
    slots = seed_of.size
    n_kps = n_seeds
    if variant == "uniform":
        rank = np.arange(1, n_kps + 1, dtype=np.float64)
        p = (rank + 10.0) ** -0.95
        kp = rng.choice(n_kps, size=slots, p=p / p.sum())
    else:  # each discipline's own KP range, power-law within it, plus shared hubs
        share = np.maximum(1, np.floor(sizes / sizes.sum() * (n_kps - HUBS))).astype(np.int64)
        first = HUBS + np.concatenate(([0], np.cumsum(share)[:-1]))
        d = discipline_of[seed_of]
        u = rng.random(slots)
        local = np.floor(share[d] * u ** 2.5).astype(np.int64)  # denser at the start of each range
        hub = np.floor(HUBS * rng.random(slots) ** 3).astype(np.int64)
        kp = np.where(rng.random(slots) < 0.2, hub, first[d] + np.minimum(local, share[d] - 1))
    frame = pl.DataFrame({"s": seed_of, "k": kp, "d": discipline_of[seed_of]})
    return frame.select(
        pl.format("seed_{}", pl.col("s").cast(pl.String).str.zfill(8)).alias("seed_id"),
        pl.format("discipline_{}", pl.col("d").cast(pl.String).str.zfill(2)).alias("discipline"),
        pl.format("kp_{}", pl.col("k").cast(pl.String).str.zfill(8)).alias("kp_id"),
        pl.format("concept {}", pl.col("k")).alias("kp_name"),
        (pl.col("s") % 5).cast(pl.Int8).alias("difficulty"),
    )


def write_inputs(seed_kps: pl.DataFrame, data: Path, source: Path) -> list[str]:
    """The seed source (JSONL, one file per discipline) and the seed_kps partitions."""
    (data / "assets" / "seed_kps").mkdir(parents=True, exist_ok=True)
    source.mkdir(parents=True, exist_ok=True)
    disciplines = sorted(seed_kps["discipline"].unique().to_list())
    for (discipline,), rows in seed_kps.group_by("discipline"):
        rows.write_parquet(data / "assets" / "seed_kps" / f"{discipline}.parquet")
        seeds = rows.unique("seed_id", keep="first", maintain_order=True).select(
            pl.format("Which concept links {} and its neighbours in {}?", pl.col("kp_name"), pl.col("seed_id"))
            .alias("question"), pl.format("{}", pl.col("kp_name")).alias("answer"), "discipline", "difficulty")
        seeds.write_ndjson(source / f"{discipline}.jsonl")
    return disciplines


def child_partitions(data: str, source: str) -> None:
    """All 50 partitions of seeds and kp_graph as the pipeline runs them, then the baselines."""
    os.environ["LINKSYN_DATA_DIR"] = data
    import resources.seed_source as seed_source_module
    from linksyn_assets.kps.corpus_graph import build_corpus_graph
    from linksyn_assets.kps.corpus_store import corpus_partition
    from linksyn_assets.layout import asset_file, corpus_dir
    from linksyn_assets.seeds.readers import read_seed_dir
    from linksyn_assets.storage import folder_mb
    from resources.seed_source import SeedSourceResource
    from tests.kps.reference_graph import build_graph_tables as old_graph

    data_path = Path(data)
    resource = SeedSourceResource(path=source)
    disciplines = resource.disciplines()
    shutil.rmtree(corpus_dir("seeds"), ignore_errors=True)  # listing them parsed once: start from nothing
    timings: dict[str, float] = {"seeds": 0.0, "kp_graph": 0.0}
    started = time.perf_counter()
    for discipline in disciplines:
        seed_source_module._scans.clear()  # each partition is its own run
        t0 = time.perf_counter()
        load = resource.load_discipline(discipline)
        load.seeds.write_parquet(data_path / "seeds_out.parquet")  # what the asset writes
        timings["seeds"] += time.perf_counter() - t0
    inputs = [(d, asset_file("seed_kps", d)) for d in disciplines]
    partition_mb = 0.0
    for discipline in disciplines:
        t0 = time.perf_counter()
        part = corpus_partition(inputs, discipline, corpus_dir("kp_graph"))
        out = data_path / "assets" / "kp_graph" / discipline
        out.mkdir(parents=True, exist_ok=True)
        part.reference.write_parquet(out / "corpus.parquet")
        timings["kp_graph"] += time.perf_counter() - t0
        partition_mb += folder_mb(out)
    all_s = time.perf_counter() - started
    corpus_mb = folder_mb(part.folder)
    peak = peak_rss_mb()

    t0 = time.perf_counter()  # one corpus build: parse once + build once
    read_seed_dir(Path(source))
    build_corpus_graph(pl.scan_parquet([p for _, p in inputs]))
    single = time.perf_counter() - t0
    t0 = time.perf_counter()  # one partition before this change: parse all + the per-partition self-join
    read_seed_dir(Path(source))
    smallest = disciplines[-1]
    old = old_graph(pl.read_parquet([p for _, p in inputs]), smallest)
    old_s = time.perf_counter() - t0
    print(json.dumps({
        "all_partitions_s": round(all_s, 2), "seeds_partitions_s": round(timings["seeds"], 2),
        "kp_graph_partitions_s": round(timings["kp_graph"], 2), "single_full_build_s": round(single, 2),
        "ratio_all_to_single": round(all_s / single, 3), "old_partition_s": round(old_s, 2),
        "old_smallest_partition_nodes": old.nodes.height, "old_smallest_partition_edges": old.edges.height,
        "peak_rss_mb": round(peak), "stored_mb_partitions_only": round(partition_mb, 3),
        "stored_mb_all_partitions": round(partition_mb + corpus_mb, 2), "stored_mb_corpus_graph": round(corpus_mb, 2),
        "disciplines": len(disciplines)}))


def child_large(files: str) -> None:
    from linksyn_assets.kps.corpus_graph import build_corpus_graph

    t0 = time.perf_counter()
    corpus = build_corpus_graph(pl.scan_parquet(json.loads(files)))
    print(json.dumps({"large_build_s": round(time.perf_counter() - t0, 1), "large_peak_rss_mb": round(peak_rss_mb()),
                      "large_nodes": corpus.nodes.height, "large_edges": corpus.edges.height}))


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=1_000_000)
    parser.add_argument("--large", action="store_true", help="also the corpus graph of 10M seeds")
    parser.add_argument("--variants", default="clustered,uniform")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "partitions":
        return child_partitions(*args.args)
    if args.child == "large":
        return child_large(*args.args)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="graph_scale_") as tmp:
        for variant in [v for v in args.variants.split(",") if v]:
            t0 = time.perf_counter()
            data, source = Path(tmp) / variant / "data", Path(tmp) / variant / "seeds"
            disciplines = write_inputs(generate(variant, args.seeds), data, source)
            print(f"[{variant}] {args.seeds:,} seeds over {len(disciplines)} disciplines written in "
                  f"{time.perf_counter() - t0:.0f}s", flush=True)
            result = run_child("--child", "partitions", "--args", str(data), str(source))
            print(f"[{variant}] {json.dumps(result)}", flush=True)
            prefix = "" if variant == "clustered" else f"{variant}_"
            results.update({f"{prefix}{k}": v for k, v in result.items()})
            shutil.rmtree(Path(tmp) / variant)
        if args.large:
            folder = Path(tmp) / "large"
            folder.mkdir()
            files = []
            t0 = time.perf_counter()
            for part in range(10):  # 10 x 1M seeds, written one at a time to keep the generator small
                frame = generate("uniform", 1_000_000, seed=part).with_columns(
                    pl.concat_str(pl.lit(f"p{part}_"), pl.col("seed_id")).alias("seed_id"),
                    pl.format("kp_{}", pl.when(pl.col("kp_id").str.slice(3).cast(pl.Int64) < 10_000)
                              .then(pl.col("kp_id").str.slice(3).cast(pl.Int64))  # hubs shared by all parts
                              .otherwise(pl.col("kp_id").str.slice(3).cast(pl.Int64) * 10 + part)
                              .cast(pl.String).str.zfill(9)).alias("kp_id"))
                path = folder / f"part{part}.parquet"
                frame.write_parquet(path)
                files.append(str(path))
                del frame
            print(f"[large] 10,000,000 seeds written in {time.perf_counter() - t0:.0f}s", flush=True)
            result = run_child("--child", "large", "--args", json.dumps(files))
            print(f"[large] {json.dumps(result)}", flush=True)
            results.update(result)
    print(" ".join(f"{k}={v}" for k, v in results.items()))


if __name__ == "__main__":
    main()
