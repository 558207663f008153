"""What the quality report is measured against, read from the data dir: the seeds' questions, the KP graph's
nodes with their popularity, and the difficulty target of the walks."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from linksyn_assets.layout import asset_file, asset_table, under_root
from linksyn_assets.quality.report import QUALITY_COLUMNS, QualityReport, measure_quality
from linksyn_assets.records import DIFFICULTY_LEVELS
from linksyn_assets.settings import QualityParams
from linksyn_assets.storage import read_parquet, scan_parquet

SEED_COLUMNS = ["seed_id", "question"]


def seed_questions(disciplines: Sequence[str]) -> pl.DataFrame:
    """Every seed of these disciplines (a row's seeds may come from another discipline over a bridge KP)."""
    frames = [read_parquet(p, columns=SEED_COLUMNS) for p in (asset_file("seeds", d) for d in disciplines)
              if p.exists()]
    return pl.concat(frames) if frames else pl.DataFrame(schema={"seed_id": pl.String, "question": pl.String})


def graph_kps(disciplines: Sequence[str]) -> pl.DataFrame | None:
    """The KPs (kp_id, popularity = seeds tagged) of these disciplines in the corpus graph their kp_graph
    partitions refer to; None when no graph is known."""
    frames = []
    for d in disciplines:
        reference = asset_table("kp_graph", d, "corpus")
        if not reference.exists():
            continue
        ref = read_parquet(reference)
        if ref.height != 1 or "path" not in ref.columns:
            continue
        nodes = scan_parquet(under_root(ref["path"][0]) / "nodes.parquet")
        frames.append(nodes.filter(pl.col("disciplines").list.contains(d)).select("kp_id", "popularity").collect())
    return pl.concat(frames).unique("kp_id") if frames else None


def mixed_target(targets: dict[str, list[float] | None], rows: dict[str, int]) -> list[float] | None:
    """The disciplines' targets weighted by their rows (None when a discipline with rows has no target)."""
    total = sum(rows.get(d, 0) for d in targets)
    if not total or any(t is None for d, t in targets.items() if rows.get(d, 0)):
        return None
    mix = [sum((t or [0.0] * DIFFICULTY_LEVELS)[i] * rows.get(d, 0) / total for d, t in targets.items())
           for i in range(DIFFICULTY_LEVELS)]
    return [round(x, 4) for x in mix]


def quality_of(rows: pl.LazyFrame, disciplines: Sequence[str], seed_disciplines: Sequence[str],
               target: list[float] | None, params: QualityParams) -> QualityReport:
    """The report of these rows: measured against the seeds of `seed_disciplines` and the graph KPs of
    `disciplines`."""
    return measure_quality(rows.select(QUALITY_COLUMNS).collect(), seed_questions(seed_disciplines),
                           graph_kps(disciplines), target, params.paraphrase_overlap)
