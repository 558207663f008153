"""A discipline's seeds as one fingerprint: it changes when a seed of the discipline is added, changed or
removed, or when its quarantined rows change. The seeds sensor compares it with the fingerprint the `seeds`
asset recorded when it last ingested the discipline, so its first tick after a `linksyn run` (or any other
materialization) asks only for what changed since."""

from __future__ import annotations

import polars as pl

from linksyn_assets.text.normalize import content_hash


def discipline_fingerprint(seeds: pl.DataFrame, quarantine: pl.DataFrame, discipline: str) -> str:
    """The fingerprint of one discipline's rows of a parsed source (seed ids are content hashes)."""
    ids = seeds.filter(pl.col("discipline") == discipline)["seed_id"].sort().to_list()
    bad = quarantine.filter(pl.col("discipline") == discipline).select("source_file", "source_row")
    return content_hash(ids, bad.rows())
