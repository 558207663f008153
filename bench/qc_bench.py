"""Near-duplicate removal and benchmark decontamination on generated QA records, with planted items.

- records: `--records` synthetic QA (questions of 20-45 words drawn from a Zipf vocabulary, four
  options, a solution); 1% are planted near-duplicates of another record (case, punctuation and
  one word changed), 2% carry a lightly reworded MMLU question from ../shared/seeds/mmlu (case,
  punctuation, a "Q:" prefix, and one word replaced in questions of 10+ words).
- benchmark index: every question in ../shared/seeds (MMLU, GSM8K, TAL-SCQ5K, AGIEval), read
  with the seed readers.
- measured in a child process (so peak RSS is the QC's own): tokenizing, decontamination, then
  MinHash/LSH near-duplicates of the clean rows; precision and recall against the planted items.
Last line key=value: records_per_s, peak_rss_mb, dup_recall, dup_precision, contam_recall,
contam_precision; also python_records_per_s and speedup_vs_python: the same checks written as
plain Python (regex tokens, set lookups, a per-text MinHash loop, dict LSH buckets) on a subset, in the
same run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from peak_memory import peak_rss_mb  # noqa: E402

from linksyn_assets.seed_readers import read_seed_dir  # noqa: E402
from linksyn_assets.text_dedup import Benchmarks, duplicate_clusters  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
TARGET_RECORDS_PER_S = 5000
DUP_THRESHOLD, NGRAM, CONTAINMENT = 0.8, 13, 0.5


def _vocabulary(rng: np.random.Generator, size: int = 20000) -> np.ndarray:
    syllables = np.array(["ka", "lo", "mi", "ne", "tru", "vo", "shi", "pa", "re", "dun", "qua", "zel", "or",
                          "ix", "bel", "tor", "sen", "fa", "gu", "hy"])
    parts = rng.integers(0, syllables.size, (size, 4))
    lengths = rng.integers(2, 5, size)
    words = ["".join(syllables[parts[i, :lengths[i]]]) for i in range(size)]
    return np.array(sorted(set(words)))


def _sentences(rng: np.random.Generator, vocab: np.ndarray, count: int, low: int, high: int) -> list[str]:
    zipf = 1.0 / np.arange(1, vocab.size + 1) ** 0.9
    lengths = rng.integers(low, high + 1, count)
    words = vocab[rng.choice(vocab.size, int(lengths.sum()), p=zipf / zipf.sum())]
    cuts = np.cumsum(lengths)[:-1]
    return [" ".join(w) for w in np.split(words, cuts)]


def _reword(text: str, rng: np.random.Generator, vocab: np.ndarray, prefix: str = "") -> str:
    words = text.split(" ")
    if len(words) >= 10:
        words[int(rng.integers(1, len(words)))] = str(vocab[rng.integers(0, vocab.size)])
    out = " ".join(words)
    out = out[0].swapcase() + out[1:] if out else out
    return prefix + (out.replace("?", ".") if "?" in out else out + "?")


def generate(n: int, seed: int = 20250801) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    n_dup, n_contam = n // 100, n // 50
    n_base = n - n_dup - n_contam
    questions = _sentences(rng, vocab, n_base, 20, 45)
    options = np.array(_sentences(rng, vocab, n_base * 4, 1, 4), dtype=object).reshape(n_base, 4).tolist()
    solutions = _sentences(rng, vocab, n, 20, 60)
    kind = ["synthetic"] * n_base
    partner = [-1] * n_base
    originals = rng.choice(n_base, n_dup, replace=False)
    for i in originals.tolist():
        questions.append(_reword(questions[i], rng, vocab))
        options.append(list(options[i]))
        kind.append("planted_dup")
        partner.append(i)
    mmlu = read_seed_dir(SEEDS / "mmlu").seeds
    picks = rng.integers(0, mmlu.height, n_contam)
    for row in mmlu[picks].select("question", "options").iter_rows():
        questions.append(_reword(row[0], rng, vocab, prefix="Q: "))
        options.append(list(row[1]))
        kind.append("planted_contamination")
        partner.append(-1)
    order = rng.permutation(n)  # planted rows land anywhere, before or after their originals
    inverse = np.argsort(order)
    frame = pl.DataFrame({
        "question": questions, "options": options, "answer": ["B"] * n, "solution": solutions,
        "kind": kind, "partner": [int(inverse[p]) if p >= 0 else -1 for p in partner],
    })
    return frame[order].with_row_index("row")


def measure(records_path: str) -> None:
    """Runs in a fresh process: its peak RSS is the QC's."""
    rows = pl.read_parquet(records_path)
    started = time.perf_counter()
    bench = Benchmarks.load([SEEDS], NGRAM, CONTAINMENT)
    index_s = time.perf_counter() - started
    found = bench.check(rows)
    contaminated = found.item >= 0
    clusters = duplicate_clusters(rows, DUP_THRESHOLD, skip=contaminated)
    seconds = time.perf_counter() - started
    row_ids = rows["row"].to_numpy()
    removed_dup = row_ids[clusters.duplicate]
    print(json.dumps({
        "seconds": seconds, "index_s": index_s, "benchmark_items": bench.items.height,
        "peak_rss_mb": peak_rss_mb(),
        "contaminated_rows": row_ids[contaminated].tolist(),
        "duplicate_rows": removed_dup.tolist(),
        "kept_of_duplicates": row_ids[clusters.keep_of[clusters.duplicate]].tolist(),
        "pairs_checked": clusters.pairs_checked,
    }))


_TOKEN = re.compile(r"[\u4e00-\u9fff]|[^\W_]+")
_A = [(2 * i + 1) * 0x9E3779B97F4A7C15 % 2**64 for i in range(128)]


def python_baseline(rows: pl.DataFrame, benchmark: list[str]) -> float:
    """Records/s of a straightforward Python implementation of the same two checks."""
    def tokens(text: str) -> list[str]:
        return _TOKEN.findall(text.lower())

    exact: set[tuple[str, ...]] = set()
    trigram_items: dict[tuple[str, ...], set[int]] = {}
    sizes = []
    for i, text in enumerate(benchmark):
        toks = tokens(text)
        exact.update(tuple(toks[j:j + NGRAM]) for j in range(len(toks) - NGRAM + 1))
        grams = {tuple(toks[j:j + 3]) for j in range(len(toks) - 2)}
        sizes.append(len(grams))
        for g in grams:
            trigram_items.setdefault(g, set()).add(i)
    started = time.perf_counter()
    buckets: dict[tuple[int, tuple[int, ...]], int] = {}
    for row in rows.iter_rows(named=True):
        record = tokens(" ".join([row["question"], *row["options"], row["answer"], row["solution"]]))
        if any(tuple(record[j:j + NGRAM]) in exact for j in range(len(record) - NGRAM + 1)):
            continue
        hits: dict[int, int] = {}
        for g in {tuple(record[j:j + 3]) for j in range(len(record) - 2)}:
            for item in trigram_items.get(g, ()):
                hits[item] = hits.get(item, 0) + 1
        if any(n >= CONTAINMENT * sizes[i] for i, n in hits.items()):
            continue
        question = tokens(" ".join([row["question"], *row["options"]]))
        shingles = [hash((a, b)) % 2**64 for a, b in zip(question, question[1:], strict=False)] or [0]
        sig = [min((x * a) % 2**64 >> 32 for x in shingles) for a in _A]
        for band in range(16):
            buckets.setdefault((band, tuple(sig[band * 8:(band + 1) * 8])), row["row"])
    return rows.height / (time.perf_counter() - started)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k records")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--measure-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_child:
        measure(args.measure_child)
        return
    if not (SEEDS / "mmlu").exists():
        raise SystemExit(f"qc_bench needs the shared seed sets at {SEEDS}")
    n = args.records or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rows = generate(n)
        path = str(Path(tmp) / "records.parquet")
        rows.write_parquet(path)
        print(f"generated {n:,} records ({(rows['kind'] == 'planted_dup').sum():,} planted near-duplicates, "
              f"{(rows['kind'] == 'planted_contamination').sum():,} planted MMLU questions) in "
              f"{time.perf_counter() - t0:.1f}s", flush=True)
        child = subprocess.run([sys.executable, __file__, "--measure-child", path], capture_output=True, text=True)
        if child.returncode != 0:
            raise SystemExit(child.stderr[-3000:])
        out = json.loads(child.stdout.strip().splitlines()[-1])
    kind = rows.sort("row")["kind"].to_numpy()
    partner = rows.sort("row")["partner"].to_numpy()
    contaminated = np.array(out["contaminated_rows"], dtype=np.int64)
    planted_contam = kind == "planted_contamination"
    contam_hits = int(planted_contam[contaminated].sum())
    # a planted pair is found when exactly one of its two rows was removed as a duplicate of the other
    removed = np.array(out["duplicate_rows"], dtype=np.int64)
    kept_of = np.array(out["kept_of_duplicates"], dtype=np.int64)
    dup_rows = np.flatnonzero(kind == "planted_dup")
    pair_of = {int(r): int(partner[r]) for r in dup_rows}
    pair_of.update({p: r for r, p in list(pair_of.items())})
    true_removals = sum(1 for r, k in zip(removed.tolist(), kept_of.tolist(), strict=True) if pair_of.get(r) == k)
    rate = n / out["seconds"]
    benchmark = [" ".join([q, *o]) for q, o in read_seed_dir(SEEDS).seeds.select("question", "options").iter_rows()]
    python_rate = python_baseline(rows.sort("row").head(2000), benchmark)
    print(f"QC: {n:,} records in {out['seconds']:.1f}s (benchmark index of {out['benchmark_items']:,} items in "
          f"{out['index_s']:.1f}s), peak RSS {out['peak_rss_mb']:.0f} MB; {contaminated.size:,} contaminated, "
          f"{removed.size:,} near-duplicates ({out['pairs_checked']:,} LSH pairs checked); "
          f"speed_vs_target={rate / TARGET_RECORDS_PER_S:.1f}; plain Python on 2,000 records: {python_rate:.0f}/s")
    print(" ".join([
        f"records_per_s={rate:.0f}", f"peak_rss_mb={out['peak_rss_mb']:.0f}",
        f"python_records_per_s={python_rate:.0f}", f"speedup_vs_python={rate / python_rate:.1f}",
        f"dup_recall={_ratio(true_removals, dup_rows.size):.4f}",
        f"dup_precision={_ratio(true_removals, removed.size):.4f}",
        f"contam_recall={_ratio(contam_hits, int(planted_contam.sum())):.4f}",
        f"contam_precision={_ratio(contam_hits, contaminated.size):.4f}",
    ]))


if __name__ == "__main__":
    main()
