"""A fixed sample of a discipline's seeds, for a first run or a trial of new seeds before paying for all.

The pick is stable: seeds are ranked by their seed_id (itself a content hash, so the order is a fixed
shuffle, the same on every machine and polars version) within each language and the languages take turns,
so a larger sample keeps every seed of a smaller one (an update pays only for the added seeds) and both
English and Chinese seeds are in even a small sample.
"""

from __future__ import annotations

import polars as pl


def sample_seeds(seeds: pl.DataFrame, per_discipline: int | None) -> pl.DataFrame:
    """At most `per_discipline` seeds of each discipline (all of them when None), in the input order."""
    if per_discipline is None or seeds.is_empty():
        return seeds
    ranked = seeds.with_row_index("_order").with_columns(
        pl.col("seed_id").rank("ordinal").over("discipline", "language").alias("_turn"),
        pl.col("language").fill_null("").rank("dense").over("discipline").alias("_lang"))
    picked = ranked.sort("_turn", "_lang").with_columns(
        pl.int_range(pl.len()).over("discipline").alias("_pick"))
    return (picked.filter(pl.col("_pick") < per_discipline).sort("_order")
            .drop("_order", "_turn", "_lang", "_pick"))
