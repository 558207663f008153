"""Near-duplicate removal and benchmark decontamination on generated QA records, with planted items.

- records: `--records` synthetic QA (questions of 20-45 words drawn from a Zipf vocabulary, four
  options, a solution); 1% are planted near-duplicates of another record (case, punctuation and
  one word changed), 2% carry a lightly reworded MMLU question from ../shared/seeds/mmlu (case,
  punctuation, a "Q:" prefix, and one word replaced in questions of 10+ words).
- benchmark index: every question in ../shared/seeds (MMLU, GSM8K, TAL-SCQ5K, AGIEval), read
  with the seed readers.
- measured in a child process (so peak RSS is the QC's own): tokenizing, decontamination, then
  MinHash/LSH near-duplicates of the clean rows; precision and recall against the planted items.
- per language, on real exam questions (English: MMLU + TAL-SCQ5K en; Chinese: TAL-SCQ5K zh +
  AGIEval Gaokao), split alternately into a benchmark half (indexed) and a clean half (never indexed):
  planted leaks are benchmark-half items under our own perturbations (options shuffled, a prefix such as
  `题目：`/`Question:`, full-/half-width, punctuation, 1-3 characters or words changed, embedded in a longer
  question, stem only); the clean half measures how often a different exam question of the same domain is
  flagged. Near-duplicates: clean-half questions with 1-3 characters (words) changed and options reordered,
  planted beside the clean half.
- pooled near-duplicates, per language: every distinct item of ../shared/seeds (zh: TAL-SCQ5K zh and the
  Chinese Gaokao items; en: MMLU, GSM8K, TAL-SCQ5K en, MATH and the English Gaokao items) with 300 planted
  near-copies (1-3 Han characters, or letters of prose words outside formulas, changed; options reordered).
  Reported: the largest cluster (a kept row and the rows removed for it), the share of removed rows whose
  exact shingle Jaccard with the row they were removed for, recomputed here in plain Python from the
  shingle spec, is below the threshold (target 0), the character-bigram Jaccard of the same pairs (an
  independent measure), and recall on the planted copies (target >= 0.98). The three largest clusters of
  each pool go to a review file (--review-file).
Last line key=value: records_per_s, peak_rss_mb, dup_recall, dup_precision, contam_recall,
contam_precision, then per language {en,zh}_contam_recall, _contam_precision, _false_flag_rate,
_dup_recall, _dup_precision, then {zh,en}_pool_largest_cluster, _pool_below_threshold_share,
_pool_planted_recall, _pool_incremental_agreement (the pool put through the dataset's persistent index in 8
updates: Jaccard of its removed rows with one pass's); also python_records_per_s and speedup_vs_python: the
same checks written as plain Python (regex tokens, set lookups, a per-text MinHash loop, dict LSH buckets) on a
subset, in the same run.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from peak_memory import peak_rss_mb  # noqa: E402

from linksyn_assets.qc.benchmarks import Benchmarks  # noqa: E402
from linksyn_assets.qc.dedup import duplicate_clusters  # noqa: E402
from linksyn_assets.seeds.readers import read_seed_dir  # noqa: E402
from linksyn_assets.text.chinese_script import to_simplified  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
TARGET_RECORDS_PER_S = 5000
DUP_THRESHOLD, DUP_THRESHOLD_ZH, NGRAM, CONTAINMENT = 0.6, 0.6, 13, 0.5


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
    clusters = duplicate_clusters(rows, DUP_THRESHOLD, skip=contaminated, threshold_zh=DUP_THRESHOLD_ZH)
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


# ---------------------------------------------------------------- per-language exam sets

_FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
_ZH_PUNCT = str.maketrans({"，": ",", "。": ".", "？": "?", "：": ":", "、": ",", "（": "(", "）": ")"})
_EN_PUNCT = str.maketrans({",": " ,", ".": "", "?": " ?", ":": " -"})
_ZH_PREFIXES = ["题目：", "【题目】", "问题：", "下面是一道练习题。"]
_EN_PREFIXES = ["Question: ", "Q. ", "Exercise: ", "Here is a practice problem. "]
_HAN = re.compile(r"[\u4e00-\u9fff]")


def exam_sets() -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """language -> (benchmark half, clean half) of real exam questions (question, options)."""
    sources = {"en": [SEEDS / "mmlu", SEEDS / "tal-scq5k" / "en_single_choice_constructed_5K"],
               "zh": [SEEDS / "tal-scq5k" / "ch_single_choice_constructed_5K",
                      *sorted((SEEDS / "agieval" / "data" / "v1").glob("gaokao-*.jsonl"))]}
    out = {}
    for lang, paths in sources.items():
        frames = [read_seed_dir(p).seeds.select("question", "options") for p in paths]
        items = pl.concat(frames).unique("question", keep="first", maintain_order=True)
        if lang == "zh":  # Gaokao English/Chinese-reading items are long passages; keep Chinese stems
            items = items.filter(pl.col("question").str.count_matches(r"[\u4e00-\u9fff]") >= 8)
        items = items.with_row_index("i")
        bench, clean = items.filter(pl.col("i") % 2 == 0).drop("i"), items.filter(pl.col("i") % 2 == 1).drop("i")
        leaked = near_copies(clean["question"].to_list(), bench["question"].to_list())
        twins = near_copies(clean["question"].to_list(), clean["question"].to_list(), same=True)
        print(f"{lang}: {bench.height} benchmark-half items; of {clean.height} clean-half items {len(leaked)} are "
              f"near-copies of a benchmark-half item and {len(twins)} of another clean-half item (difflib ratio >= "
              f"{COPY_RATIO}, 80% contained or {SHARED_CHARS} characters shared): left out of the clean set and of "
              "the near-duplicate base")
        keep = np.ones(clean.height, bool)
        keep[list(leaked | twins)] = False
        out[lang] = (bench, clean.filter(pl.Series(keep)))
    return out


def _change_units(text: str, rng: np.random.Generator, lang: str, k: int) -> str:
    """k characters (zh: Han characters) or words (en) replaced by others."""
    if lang == "zh":
        chars = list(text)
        spots = [i for i, c in enumerate(chars) if _HAN.match(c)]
        for i in rng.choice(spots, min(k, len(spots)), replace=False) if spots else []:
            chars[int(i)] = chr(int(rng.integers(0x4E00, 0x9FA5)))
        return "".join(chars)
    words = text.split(" ")
    for i in rng.choice(len(words), min(k, len(words)), replace=False):
        words[int(i)] = "zorblat"
    return " ".join(words)


def perturb(question: str, options: list[str], rng: np.random.Generator, lang: str, other: str,
            kind: str) -> tuple[str, list[str]]:
    options = list(options)
    if kind == "shuffle":
        options = [options[int(i)] for i in rng.permutation(len(options))]
    elif kind == "prefix":
        question = str(rng.choice(_ZH_PREFIXES if lang == "zh" else _EN_PREFIXES)) + question
    elif kind == "width":
        question = "".join(_FULL_WIDTH.get(c, c) for c in question)
        options = ["".join(_FULL_WIDTH.get(c, c) for c in o) for o in options]
    elif kind == "punct":
        question = question.translate(_ZH_PUNCT if lang == "zh" else _EN_PUNCT)
    elif kind == "change":
        question = _change_units(question, rng, lang, int(rng.integers(1, 4)))
    elif kind == "embed":
        half = len(other) // 2
        question = f"{other[:half]} {question} {other[half:]}"
    elif kind == "stem":
        options = []
    return question, options


PERTURBATIONS = ["shuffle", "prefix", "width", "punct", "change", "embed", "stem"]
COPY_RATIO = 0.6  # difflib ratio at or above which two exam questions are one question from two sources
SHARED_CHARS = 60  # or they share a passage: this many normalized characters in one run


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", to_simplified(text)).casefold())


def near_copies(queries: list[str], corpus: list[str], same: bool = False) -> set[int]:
    """Queries that are, by a measure independent of the QC under test, the same question as a corpus text
    (or share its passage): difflib ratio >= COPY_RATIO on normalized text, the corpus text (20+ characters)
    at least 80% inside the query, or a common run of SHARED_CHARS characters (several Gaokao questions
    ask about one passage). Candidates share a character 4-gram; the 3 best are compared."""
    plain_q, plain_c = [_plain(q) for q in queries], [_plain(c) for c in corpus]
    grams: dict[str, set[int]] = {}
    for j, text in enumerate(plain_c):
        for g in {text[k:k + 4] for k in range(len(text) - 3)}:
            grams.setdefault(g, set()).add(j)
    out = set()
    for i, text in enumerate(plain_q):
        hits: dict[int, int] = {}
        for g in {text[k:k + 4] for k in range(len(text) - 3)}:
            owners = grams.get(g, ())
            if len(owners) > 50:
                continue
            for j in owners:
                if not (same and j == i):
                    hits[j] = hits.get(j, 0) + 1
        for j in sorted(hits, key=lambda j: (-hits[j], j))[:3]:
            matcher = difflib.SequenceMatcher(None, text, plain_c[j], autojunk=False)
            inside = sum(b.size for b in matcher.get_matching_blocks()) / max(1, len(plain_c[j]))
            longest = max(b.size for b in matcher.get_matching_blocks())
            if matcher.ratio() >= COPY_RATIO or (len(plain_c[j]) >= 20 and inside >= 0.8) or longest >= SHARED_CHARS:
                out.add(i)
                break
    return out


def exam_measure(n_planted: int = 300, seed: int = 20251129) -> dict[str, float]:
    """Per-language contamination and near-duplicate numbers on real exam questions."""
    rng = np.random.default_rng(seed)
    sets = exam_sets()
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lang, (bench_half, _) in sets.items():
            bench_half.with_columns(answer=pl.lit("A")).write_ndjson(Path(tmp) / f"{lang}.jsonl")
        bench = Benchmarks.load([tmp], NGRAM, CONTAINMENT)
    for lang, (bench_half, clean) in sets.items():
        picks = rng.choice(bench_half.height, n_planted, replace=False)
        planted = []
        for j, (q, o) in enumerate(bench_half[picks].select("question", "options").iter_rows()):
            other = clean["question"][int(rng.integers(0, clean.height))]
            kinds = [PERTURBATIONS[j % len(PERTURBATIONS)]]
            if rng.random() < 0.5:
                kinds.append(str(rng.choice(["shuffle", "prefix", "width", "punct"])))
            for kind in kinds:
                q, o = perturb(q, o, rng, lang, other, kind)
            planted.append({"question": q, "options": o})
        rows = pl.concat([pl.DataFrame(planted, schema={"question": pl.String, "options": pl.List(pl.String)}),
                          clean.select("question", "options")])
        rows = rows.with_columns(answer=pl.lit("A"), solution=pl.lit(""))
        found = bench.check(rows).item >= 0
        hits, false_flags = int(found[:n_planted].sum()), int(found[n_planted:].sum())
        out[f"{lang}_contam_recall"] = _ratio(hits, n_planted)
        out[f"{lang}_contam_precision"] = _ratio(hits, hits + false_flags)
        out[f"{lang}_false_flag_rate"] = false_flags / max(1, clean.height)
        out[f"{lang}_clean_items"] = clean.height
        # near-duplicates: clean-half questions with 1-3 units changed and options reordered
        base = clean.select("question", "options")
        dup_of = rng.choice(base.height, n_planted, replace=False)
        dups = []
        for q, o in base[dup_of].iter_rows():
            q = _change_units(q, rng, lang, int(rng.integers(1, 4)))
            dups.append({"question": q, "options": [o[int(i)] for i in rng.permutation(len(o))]})
        table = pl.concat([base, pl.DataFrame(dups, schema=base.schema)]).with_row_index("row")
        clusters = duplicate_clusters(table, DUP_THRESHOLD, threshold_zh=DUP_THRESHOLD_ZH)
        removed = np.flatnonzero(clusters.duplicate)
        partner = {base.height + j: int(d) for j, d in enumerate(dup_of)}
        partner.update({v: k for k, v in list(partner.items())})
        true = sum(1 for r in removed.tolist() if partner.get(r) == int(clusters.keep_of[r]))
        out[f"{lang}_dup_recall"] = _ratio(true, n_planted)
        out[f"{lang}_dup_precision"] = _ratio(true, removed.size)
    return out


# ---------------------------------------------------------------- pooled real sets, near-duplicates

_LATEX_SPAN = re.compile(r"\$[^$]*\$|\\[A-Za-z]+")
_SYMBOL_TOKEN = re.compile(r"[a-z]{2,}")
_HAN_TOKEN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]$")


@cache
def _shared_seeds() -> pl.DataFrame:
    return read_seed_dir(SEEDS).seeds  # parsed once for both languages


def pool(lang: str) -> pl.DataFrame:
    """Every distinct item (question + options) of one language in ../shared/seeds."""
    seeds = _shared_seeds().filter(pl.col("language") == lang)
    return seeds.select("question", "options").unique(maintain_order=True)


def python_shingles(normalized: str) -> set[tuple[str, ...]]:
    """The shingle spec of qc/shingles.py written again in plain Python, on the normalized text: symbol
    trigrams, ASCII words of 2+ letters spelled out, a space symbol between tokens but not between Han."""
    symbols: list[str] = []
    prev_han = False
    for token in normalized.split(" ") if normalized else []:
        han = bool(_HAN_TOKEN.match(token))
        if symbols and not (han and prev_han):
            symbols.append(" ")
        symbols.extend(list(token) if _SYMBOL_TOKEN.fullmatch(token) else [f"<{token}>"])
        prev_han = han
    if len(symbols) < 3:
        return {tuple(symbols)} if symbols else set()
    return {tuple(symbols[i:i + 3]) for i in range(len(symbols) - 2)}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _char_bigrams(text: str) -> set[str]:
    plain = _plain(text)
    return {plain[i:i + 2] for i in range(len(plain) - 1)} or {plain}


def _typo(text: str, rng: np.random.Generator, lang: str, k: int) -> str:
    """k characters changed: Han characters (zh) or letters of prose words, outside formulas (en)."""
    chars = list(text)
    if lang == "zh":
        spots = [i for i, c in enumerate(chars) if _HAN.match(c)]
    else:
        shielded = {i for m in _LATEX_SPAN.finditer(text) for i in range(m.start(), m.end())}
        spots = [i for i, c in enumerate(chars) if c.isascii() and c.isalpha() and i not in shielded]
    for i in rng.choice(spots, min(k, len(spots)), replace=False) if spots else []:
        old = chars[int(i)]
        while chars[int(i)] == old:
            chars[int(i)] = (chr(int(rng.integers(0x4E00, 0x9FA5))) if lang == "zh"
                             else chr(int(rng.integers(97, 123))))
    return "".join(chars)


def pool_measure(lang: str, review: list[str], n_planted: int = 300, seed: int = 20261203) -> dict[str, float]:
    """Near-duplicates on every distinct item of one language: the largest cluster, the share of removed rows
    whose exact shingle Jaccard (recomputed in plain Python) with their representative is below the
    threshold, the same with character bigrams (an independent measure), and recall on planted near-copies
    (1-3 characters changed, options reordered)."""
    from linksyn_assets.qc.shingles import normalized_texts

    rng = np.random.default_rng(seed)
    items = pool(lang)
    base = items.height
    picks = rng.choice(base, n_planted, replace=False)
    planted = [{"question": _typo(q, rng, lang, int(rng.integers(1, 4))),
                "options": [o[int(i)] for i in rng.permutation(len(o))]}
               for q, o in items[picks].select("question", "options").iter_rows()]
    table = pl.concat([items, pl.DataFrame(planted, schema=items.schema)])
    threshold = DUP_THRESHOLD_ZH if lang == "zh" else DUP_THRESHOLD
    started = time.perf_counter()
    clusters = duplicate_clusters(table, DUP_THRESHOLD, threshold_zh=DUP_THRESHOLD_ZH)
    seconds = time.perf_counter() - started
    keep_of = clusters.keep_of
    texts = normalized_texts(table.select(pl.concat_str([pl.col("question"), pl.col("options").list.sort()
                                                         .list.join(" ")], separator=" "))["question"])
    shingles = [python_shingles(texts.text(i)) for i in range(texts.count)]
    questions = table.select(pl.concat_str([pl.col("question"), pl.col("options").list.sort().list.join(" ")],
                                           separator=" "))["question"].to_list()
    real = np.arange(base)
    removed = real[clusters.duplicate[:base]]
    exact = [_jaccard(shingles[i], shingles[keep_of[i]]) for i in removed]
    bigram = [_jaccard(_char_bigrams(questions[i]), _char_bigrams(questions[keep_of[i]])) for i in removed]
    below = sum(j < threshold - 1e-9 for j in exact)
    sizes = Counter(int(keep_of[i]) for i in removed)
    found = sum(1 for k, orig in enumerate(picks.tolist())
                if keep_of[base + k] in {orig, int(keep_of[orig])} and keep_of[base + k] != base + k)
    review.append(f"## {lang}: {base:,} distinct items, {removed.size:,} removed as near-duplicates "
                  f"(threshold {threshold}), {len(sizes):,} clusters\n")
    for rep, size in sizes.most_common(3):
        review.append(f"### cluster of {size + 1} (kept row {rep})\n\n- kept: {questions[rep][:400]!r}")
        for i in removed[keep_of[removed] == rep].tolist():
            review.append(f"- J={_jaccard(shingles[i], shingles[rep]):.3f}, {len(shingles[i] ^ shingles[rep])} "
                          f"shingles differ: {questions[i][:400]!r}")
        review.append("")
    incremental, incremental_s = _incremental_removed(table, batches=8)
    one_pass = set(np.flatnonzero(clusters.duplicate).tolist())
    agreement = len(one_pass & incremental) / max(1, len(one_pass | incremental))
    print(f"{lang} pool through the persistent index (dataset_store, 8 updates): {len(incremental):,} removed in "
          f"{incremental_s:.1f}s, agreement with one pass {agreement:.4f} ({len(one_pass - incremental)} only in "
          f"one pass, {len(incremental - one_pass)} only incremental)", flush=True)
    print(f"{lang} pool: {base:,} distinct items in {seconds:.1f}s; {removed.size:,} removed in {len(sizes):,} "
          f"clusters, largest {max(sizes.values(), default=0) + 1}; exact Jaccard to the kept row: min "
          f"{min(exact, default=1):.3f}, below {threshold}: {below}; character-bigram Jaccard: min "
          f"{min(bigram, default=1):.3f}, below 0.5: {sum(b < 0.5 for b in bigram)}; planted near-copies found "
          f"{found}/{n_planted}", flush=True)
    return {f"{lang}_pool_largest_cluster": max(sizes.values(), default=0) + 1,
            f"{lang}_pool_below_threshold_share": below / max(1, removed.size),
            f"{lang}_pool_planted_recall": found / n_planted, f"{lang}_pool_removed": float(removed.size),
            f"{lang}_pool_incremental_agreement": agreement}


def _incremental_removed(table: pl.DataFrame, batches: int) -> tuple[set[int], float]:
    """The rows a dataset updated `batches` times removes as near-duplicates (each update against the kept
    rows' persistent index, dataset_store/kept_index.py), as row numbers of `table`."""
    from linksyn_assets.dataset_store.kept_index import ON_NEAR, KeptIndex, index_rows, near_duplicates_against
    from linksyn_assets.settings import DatasetParams

    params = DatasetParams(near_duplicate_threshold=DUP_THRESHOLD, near_duplicate_threshold_zh=DUP_THRESHOLD_ZH)
    rows = table.with_row_index("n").with_columns(pl.col("n").cast(pl.String).alias("record_id"),
                                                  pl.lit("pool").alias("discipline"), pl.lit("").alias("answer"))
    index, kept_parts, removed = KeptIndex(), [], set()
    size = -(-rows.height // batches)
    started = time.perf_counter()
    for start in range(0, rows.height, size):
        batch = rows.slice(start, size)
        kept_so_far = pl.concat(kept_parts) if kept_parts else batch.clear()
        reasons = near_duplicates_against(batch, index, lambda at, k=kept_so_far: k.select(ON_NEAR)[at.tolist()],
                                          params)
        gone = np.array([r is not None for r in reasons])
        removed |= {start + int(i) for i in np.flatnonzero(gone)}
        kept = batch.filter(pl.Series(~gone))
        index.add(index_rows(kept))
        kept_parts.append(kept)
    return removed, time.perf_counter() - started


def pools(review_file: Path) -> dict[str, float]:
    review = ["# Near-duplicate review: the three largest clusters per language pool (bench/qc_bench.py)\n"]
    out = {**pool_measure("zh", review), **pool_measure("en", review)}
    review_file.write_text("\n".join(review), encoding="utf-8")
    print(f"review file: {review_file}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k records")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--measure-child", help=argparse.SUPPRESS)
    parser.add_argument("--exam-only", action="store_true", help="only the per-language exam-question numbers")
    parser.add_argument("--pools-only", action="store_true", help="only the pooled near-duplicate numbers")
    parser.add_argument("--review-file", type=Path, default=Path(tempfile.gettempdir()) / "linksyn_qc_clusters.md",
                        help="where the three largest near-duplicate clusters of each pool are written")
    args = parser.parse_args()
    if args.measure_child:
        measure(args.measure_child)
        return
    if not (SEEDS / "mmlu").exists():
        raise SystemExit(f"qc_bench needs the shared seed sets at {SEEDS}")
    if args.pools_only:
        numbers = pools(args.review_file)
        print(" ".join(f"{k}={v:.4f}" for k, v in numbers.items()))
        return
    if args.exam_only:
        exam = exam_measure()
        print(" ".join(f"{k}={v:.4f}" for k, v in exam.items()))
        return
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
    exam = exam_measure()
    pooled = pools(args.review_file)
    for lang in ("en", "zh"):
        print(f"{lang} exam questions: contamination recall {exam[f'{lang}_contam_recall']:.3f}, precision "
              f"{exam[f'{lang}_contam_precision']:.3f}, false flags {exam[f'{lang}_false_flag_rate']:.4f} of "
              f"{exam[f'{lang}_clean_items']:.0f} clean items; near-duplicates recall "
              f"{exam[f'{lang}_dup_recall']:.3f}, precision {exam[f'{lang}_dup_precision']:.3f}")
    print(" ".join([
        f"records_per_s={rate:.0f}", f"peak_rss_mb={out['peak_rss_mb']:.0f}",
        f"python_records_per_s={python_rate:.0f}", f"speedup_vs_python={rate / python_rate:.1f}",
        f"dup_recall={_ratio(true_removals, dup_rows.size):.4f}",
        f"dup_precision={_ratio(true_removals, removed.size):.4f}",
        f"contam_recall={_ratio(contam_hits, int(planted_contam.sum())):.4f}",
        f"contam_precision={_ratio(contam_hits, contaminated.size):.4f}",
        *(f"{lang}_{key}={exam[f'{lang}_{key}']:.4f}" for lang in ("en", "zh")
          for key in ("contam_recall", "contam_precision", "false_flag_rate", "dup_recall", "dup_precision")),
        *(f"{lang}_pool_{key}={pooled[f'{lang}_pool_{key}']:.4g}" for lang in ("zh", "en")
          for key in ("largest_cluster", "below_threshold_share", "planted_recall", "incremental_agreement")),
    ]))


if __name__ == "__main__":
    main()
