"""The quality report (issue 32): what it costs next to QC on the same rows, and whether its novelty measure reads
real exam questions correctly.

Cost: `bench/backhalf_scale.py`'s synthetic rows (62.5% English, 37.5% Chinese, shaped like real output) go
through `linkqa_dataset`'s QC (`update_dataset`, every step, token counts, shard writes; the independent solve is
not sent) in a child process, then the report (`quality.report.measure_quality`, every measure) is computed on
the dataset's live rows in another child process (after a call on 200 rows, so numba's compile, which an install
does once, is not counted), against 20,000 seeds (each row names one) and a graph of 5,000
KPs. Printed per phase: wall seconds, rows/s and peak RSS (VmHWM of the child); the ratio quality / QC wall is
the measure's share of the QC time (target: under 0.10).

Sanity on real data, per language, on every distinct item of ../shared/seeds (the pool of bench/qc_bench.py):
- seeds against themselves (each its own seed): the overlap must be 1.0 for every row;
- seeds against a shuffled pool: the pool split in two halves, each row of one half given a random item of the
  other half as its "own seed": the own overlap is that of unrelated questions (near 0), the any-seed overlap
  finds the pool's real near-duplicates across the halves;
- qc_bench's planted near-copies (1-3 characters changed, as `qc_bench.py --pools-only` plants them), each with
  its original as its own seed: the share read as near-paraphrases (overlap >= quality.paraphrase_overlap).

    python bench/quality_report.py            # 1M rows, then the real-data sanity
    python bench/quality_report.py --quick    # 100k rows

Last line key=value: rows, qc_s, quality_s, quality_rows_per_s, quality_rss_mb, qc_rss_mb, quality_over_qc_ratio
and per language self_overlap_mean, shuffled_own_paraphrase_share, shuffled_any_paraphrase_share,
planted_paraphrase_recall.
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

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
import backhalf_scale  # noqa: E402
from peak_memory import peak_rss_mb  # noqa: E402

SEEDS, KPS = 20_000, 5_000


def quality_worker(spec: dict) -> None:
    """The report on the dataset folder's live rows; prints wall, peak RSS and a few measures."""
    from linksyn_assets.dataset_store.manifest import live_rows
    from linksyn_assets.quality.report import QUALITY_COLUMNS, measure_quality
    from linksyn_assets.settings import QualityParams

    seeds = pl.read_parquet(spec["seeds"])
    nodes = pl.DataFrame({"kp_id": [f"kp{i}" for i in range(KPS)],
                          "popularity": np.random.default_rng(5).zipf(1.6, KPS).clip(1, 10_000)})
    rows = live_rows(Path(spec["folder"])).select(QUALITY_COLUMNS)
    measure_quality(rows.head(200).collect(), seeds.head(200), nodes, [0.2] * 5, 0.5)  # compiled code: as installed
    started = time.monotonic()
    rows = rows.collect()
    report = measure_quality(rows, seeds, nodes, [0.2] * 5, QualityParams().paraphrase_overlap)
    wall = time.monotonic() - started
    print(json.dumps({"wall_s": round(wall, 1), "peak_rss_mb": round(peak_rss_mb()), "rows": report.rows,
                      "distinct_2": report.diversity.distinct_2, "own_overlap_mean": report.novelty.own_overlap_mean,
                      "kp_evenness": report.knowledge.kp_evenness}))


def _child(kind: str, spec: dict) -> dict:
    script = backhalf_scale.__file__ if kind == "qc" else __file__
    out = subprocess.run([sys.executable, script, "--worker", json.dumps(spec)], capture_output=True, text=True,
                         check=False)
    if out.returncode:
        raise SystemExit(f"{kind} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _seed_table(path: Path) -> None:
    """SEEDS seed questions drawn like the rows (their own words and characters)."""
    backhalf_scale.write_rows(path.with_name("seedsrc.parquet"), SEEDS, seed=77)
    src = pl.concat([pl.read_parquet(p) for p in sorted(path.parent.glob("seedsrc.*.parquet"))])
    src.select(pl.format("s{}", pl.int_range(pl.len())).alias("seed_id"), "question").write_parquet(path)


def cost(rows: int, work: Path) -> dict[str, float | int]:
    synth = work / "synth.parquet"
    backhalf_scale.write_rows(synth, rows)
    seeds = work / "seeds.parquet"
    _seed_table(seeds)
    folder = work / "dataset"
    qc = _child("qc", {"folder": str(folder), "input": str(work / "synth.*.parquet"), "rows": rows,
                       "batch_rows": 50_000})
    print(f"QC of {rows:,} rows: {qc['wall_s']} s, peak {qc['peak_rss_mb']} MB, {qc['rows']:,} rows kept", flush=True)
    quality = _child("quality", {"folder": str(folder), "seeds": str(seeds)})
    print(f"quality report of {quality['rows']:,} rows: {quality['wall_s']} s, peak {quality['peak_rss_mb']} MB "
          f"(distinct-2 {quality['distinct_2']}, own-seed overlap {quality['own_overlap_mean']}, KP evenness "
          f"{quality['kp_evenness']})", flush=True)
    return {"rows": rows, "qc_s": qc["wall_s"], "quality_s": quality["wall_s"],
            "quality_rows_per_s": round(quality["rows"] / max(quality["wall_s"], 1e-9)),
            "quality_rss_mb": quality["peak_rss_mb"], "qc_rss_mb": qc["peak_rss_mb"],
            "quality_over_qc_ratio": round(quality["wall_s"] / max(qc["wall_s"], 1e-9), 4)}


def _rows(questions: list[str], own: list[str]) -> pl.DataFrame:
    n = len(questions)
    return pl.DataFrame({"record_id": [f"r{i}" for i in range(n)], "kind": "synthesized", "discipline": "pool",
                         "question": questions, "difficulty": 2, "kp_ids": [["k"]] * n,
                         "seed_ids": [[s] for s in own], "parent_qa_id": None, "rating_before": None,
                         "rating_after": None, "verification": "agree"},
                        schema_overrides={"parent_qa_id": pl.String, "rating_before": pl.Int8,
                                          "rating_after": pl.Int8, "difficulty": pl.Int8})


def _novelty(rows: pl.DataFrame, seeds: pl.DataFrame) -> object:
    from linksyn_assets.quality.report import novelty
    from linksyn_assets.settings import QualityParams

    return novelty(rows, seeds, QualityParams().paraphrase_overlap)


def sanity(lang: str) -> dict[str, float]:
    import qc_bench

    rng = np.random.default_rng(20261204)
    items = qc_bench.pool(lang).select("question").with_row_index("i")
    seeds = items.select(pl.format("s{}", "i").alias("seed_id"), "question")
    ids, questions = seeds["seed_id"].to_list(), seeds["question"].to_list()
    own = _novelty(_rows(questions, ids), seeds)
    half = len(ids) // 2
    order = rng.permutation(len(ids))
    a, b = order[:half], order[half:]
    other = seeds[b.tolist()]
    shuffled = _novelty(_rows([questions[i] for i in a], [ids[int(j)] for j in rng.choice(b, a.size)]), other)
    picks = rng.choice(len(ids), 300, replace=False)
    planted = _novelty(_rows([qc_bench._typo(questions[i], rng, lang, int(rng.integers(1, 4))) for i in picks],
                             [ids[i] for i in picks]), seeds)
    print(f"{lang}: {len(ids):,} distinct items; against themselves: {own.own_histogram[-1]:,} of {len(ids):,} rows "
          f"have overlap 1.0 (mean {own.own_overlap_mean}); against a shuffled half: own-seed overlap mean "
          f"{shuffled.own_overlap_mean}, near-paraphrases of the random own seed {shuffled.own_paraphrase_share}, of "
          f"any item of the other half {shuffled.any_paraphrase_share} (histogram {shuffled.any_histogram}); planted "
          f"near-copies read as paraphrases: {planted.own_paraphrase_share} (histogram {planted.own_histogram})",
          flush=True)
    return {f"{lang}_self_overlap_mean": own.own_overlap_mean,
            f"{lang}_shuffled_own_paraphrase_share": shuffled.own_paraphrase_share,
            f"{lang}_shuffled_any_paraphrase_share": shuffled.any_paraphrase_share,
            f"{lang}_planted_paraphrase_recall": planted.own_paraphrase_share}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k rows")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--sanity-only", action="store_true", help="only the real-data sanity")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        quality_worker(json.loads(args.worker))
        return
    out: dict[str, float | int] = {}
    if not args.sanity_only:
        with tempfile.TemporaryDirectory(prefix="quality-bench-") as tmp:
            out.update(cost(args.rows or (100_000 if args.quick else 1_000_000), Path(tmp)))
    for lang in ("zh", "en"):
        out.update(sanity(lang))
    print(" ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
