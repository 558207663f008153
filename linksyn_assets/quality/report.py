"""The quality report of a set of released rows (a dataset partition or a release): every measure in one typed
record, and the list of headline measures with the direction that counts as better (for the changelog)."""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import BaseModel, Field

from linksyn_assets.qc.fingerprints import token_hashes
from linksyn_assets.quality.correctness import Correctness, Difficulty, correctness, difficulty
from linksyn_assets.quality.diversity import compression_ratio, distinct_n, repeated_long_gram_share
from linksyn_assets.quality.grams import Grams, gram_sets, grams_up_to
from linksyn_assets.quality.knowledge import KnowledgeSpread, kp_spread
from linksyn_assets.quality.novelty import any_seed_overlap, histogram, own_seed_overlap, seed_index

# diversity is measured on an even sample of at most this many rows: distinct-n and repeated n-grams depend on
# how many rows are counted, so a fixed sample keeps releases of different sizes comparable (and memory flat)
DIVERSITY_SAMPLE = 100_000
NOVELTY_CHUNK = 100_000  # rows whose grams are held at once

# the columns of a dataset row the report reads
QUALITY_COLUMNS = ["record_id", "kind", "discipline", "question", "difficulty", "kp_ids", "seed_ids",
                   "parent_qa_id", "rating_before", "rating_after", "verification"]


class Diversity(BaseModel):
    sample_rows: int = 0  # the rows measured (every k-th row, at most DIVERSITY_SAMPLE)
    distinct_1: float = 0.0
    distinct_2: float = 0.0
    distinct_3: float = 0.0
    compression_ratio: float = 0.0
    repeated_ngram_share: float = 0.0  # rows sharing a 10-word / 20-character run with another question family


class Novelty(BaseModel):
    paraphrase_threshold: float = 0.5
    own_overlap_mean: float = 0.0  # highest overlap with the row's own seeds, mean over rows
    any_overlap_mean: float = 0.0  # highest overlap with any seed, mean over rows
    own_histogram: list[int] = Field(default_factory=list)  # rows per overlap bin of 0.1
    any_histogram: list[int] = Field(default_factory=list)
    own_paraphrase_share: float = 0.0  # rows at or above the threshold with one of their own seeds
    any_paraphrase_share: float = 0.0  # ... with any seed


class QualityReport(BaseModel):
    rows: int = 0
    correctness: Correctness = Field(default_factory=Correctness)
    diversity: Diversity = Field(default_factory=Diversity)
    novelty: Novelty = Field(default_factory=Novelty)
    knowledge: KnowledgeSpread = Field(default_factory=KnowledgeSpread)
    difficulty: Difficulty = Field(default_factory=Difficulty)

    def value(self, path: str) -> float | None:
        group, name = path.split(".")
        v = getattr(getattr(self, group), name)
        return None if v is None else float(v)


# (path, label, +1 when higher is better, -1 when lower is better)
MEASURES: list[tuple[str, str, int]] = [
    ("correctness.agreement", "independent solve agrees", 1),
    ("correctness.flagged_share", "flagged (solve disagrees)", -1),
    ("diversity.distinct_1", "distinct-1", 1),
    ("diversity.distinct_2", "distinct-2", 1),
    ("diversity.distinct_3", "distinct-3", 1),
    ("diversity.compression_ratio", "compression ratio", -1),
    ("diversity.repeated_ngram_share", "rows sharing a long n-gram", -1),
    ("novelty.own_overlap_mean", "overlap with own seeds (mean)", -1),
    ("novelty.any_overlap_mean", "overlap with any seed (mean)", -1),
    ("novelty.own_paraphrase_share", "near-paraphrases of own seeds", -1),
    ("novelty.any_paraphrase_share", "near-paraphrases of any seed", -1),
    ("knowledge.kps_used", "KPs used", 1),
    ("knowledge.kp_evenness", "KP use evenness (entropy)", 1),
    ("knowledge.kp_gini", "KP use Gini", -1),
    ("knowledge.popularity_correlation", "KP use vs seed popularity", -1),
    ("knowledge.coverage", "KP coverage of the graph", 1),
    ("difficulty.kl_labeled", "difficulty KL to target (labels)", -1),
    ("difficulty.kl_judged", "difficulty KL to target (judged)", -1),
    ("difficulty.hard_gain", "hard variants' rated gain", 1),
]


def _texts(frame: pl.DataFrame) -> pl.Series:
    return frame["question"].fill_null("")


def _families(rows: pl.DataFrame) -> np.ndarray:
    """Row index of each row's question family: a hard variant belongs to the question it was made from."""
    index = rows.select("record_id").with_row_index("family")
    parent = rows.select(pl.when(pl.col("kind") == "hard").then(pl.col("parent_qa_id"))
                         .otherwise(pl.col("record_id")).alias("record_id"))
    joined = parent.join(index.unique("record_id", keep="first"), on="record_id", how="left",
                         maintain_order="left")["family"].fill_null(-1).cast(pl.Int64).to_numpy()
    return np.where(joined < 0, np.arange(rows.height, dtype=np.int64), joined)


def _links(rows: pl.DataFrame, seed_rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's seeds as indexes into the seeds (seed_rows: seed_id -> i; -1: not among them), flat with a
    pointer per row."""
    ids = rows.select(pl.col("seed_ids").fill_null([]))["seed_ids"]
    lptr = np.concatenate([[0], np.cumsum(ids.list.len().to_numpy())]).astype(np.int64)
    flat = ids.explode().drop_nulls().to_frame("seed_id")
    found = flat.join(seed_rows, on="seed_id", how="left", maintain_order="left")["i"]
    return found.fill_null(-1).cast(pl.Int64).to_numpy(), lptr


def _gram_sets(texts: pl.Series) -> Grams:
    return gram_sets(grams_up_to(token_hashes(texts), 2))


def novelty(rows: pl.DataFrame, seeds: pl.DataFrame, threshold: float) -> Novelty:
    """rows: question, seed_ids; seeds: seed_id, question. Measured NOVELTY_CHUNK rows at a time."""
    if rows.is_empty():
        return Novelty(paraphrase_threshold=threshold)
    seed_sets = _gram_sets(_texts(seeds))
    index = seed_index(seed_sets) if seeds.height else None
    seed_rows = seeds.select("seed_id").with_row_index("i").unique("seed_id", keep="first")
    own_parts, any_parts = [], []
    for start in range(0, rows.height, NOVELTY_CHUNK):
        chunk = rows.slice(start, NOVELTY_CHUNK)
        sets = _gram_sets(_texts(chunk))
        own = own_seed_overlap(sets, seed_sets, *_links(chunk, seed_rows))
        own_parts.append(own.astype(np.float32))
        any_parts.append((any_seed_overlap(sets, index, own) if index is not None else own).astype(np.float32))
    own, anyone = np.concatenate(own_parts), np.concatenate(any_parts)
    return Novelty(paraphrase_threshold=threshold, own_overlap_mean=round(float(own.mean()), 4),
                   any_overlap_mean=round(float(anyone.mean()), 4), own_histogram=histogram(own),
                   any_histogram=histogram(anyone),
                   own_paraphrase_share=round(float((own >= threshold).mean()), 4),
                   any_paraphrase_share=round(float((anyone >= threshold).mean()), 4))


def diversity(rows: pl.DataFrame) -> Diversity:
    """rows: record_id, kind, parent_qa_id, question; measured on every k-th row, at most DIVERSITY_SAMPLE."""
    sample = rows.gather_every(max(1, -(-rows.height // DIVERSITY_SAMPLE)))
    tokens = token_hashes(_texts(sample))
    return Diversity(
        sample_rows=sample.height, distinct_1=round(distinct_n(tokens, 1), 4),
        distinct_2=round(distinct_n(tokens, 2), 4), distinct_3=round(distinct_n(tokens, 3), 4),
        compression_ratio=round(compression_ratio(_texts(sample)), 4),
        repeated_ngram_share=round(repeated_long_gram_share(tokens, _families(sample)), 4))


def measure_quality(rows: pl.DataFrame, seeds: pl.DataFrame, nodes: pl.DataFrame | None,
                    target: list[float] | None, paraphrase_threshold: float) -> QualityReport:
    """rows: QUALITY_COLUMNS of the released rows; seeds: seed_id and question of every seed they may come from;
    nodes: the graph's KPs (kp_id, popularity) or None; target: the difficulty histogram aimed at, or None."""
    if rows.is_empty():
        return QualityReport(novelty=Novelty(paraphrase_threshold=paraphrase_threshold),
                             difficulty=Difficulty(target=target))
    return QualityReport(rows=rows.height, correctness=correctness(rows), diversity=diversity(rows),
                         novelty=novelty(rows, seeds, paraphrase_threshold),
                         knowledge=kp_spread(rows["kp_ids"], nodes), difficulty=difficulty(rows, target))
