"""How the rows spread over the knowledge points: how many KPs they use, how evenly (entropy, Gini), whether use
follows seed popularity (what the value function's beta exists to break), and coverage of the graph."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from pydantic import BaseModel


class KnowledgeSpread(BaseModel):
    kps_used: int = 0
    kp_evenness: float | None = None  # entropy of KP use / log(KPs in the graph, else KPs used): 1.0 = even
    kp_gini: float | None = None  # Gini of use over the graph's KPs (unused ones count 0); 0 = even
    popularity_correlation: float | None = None  # Spearman of use vs seed popularity over the graph's KPs
    coverage: float | None = None  # graph KPs used / graph KPs


def gini(values: np.ndarray) -> float:
    """0 when every value is equal, towards 1 when one value holds everything."""
    if values.size == 0 or values.sum() == 0:
        return 0.0
    v = np.sort(values.astype(np.float64))
    n = v.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ v / (n * v.sum()))


def kp_spread(kp_ids: pl.Series, nodes: pl.DataFrame | None) -> KnowledgeSpread:
    """kp_ids: each row's KP ids (a list column); nodes: the graph's KPs (kp_id, popularity) to measure
    against, or None when no graph is known (then only the used KPs count)."""
    use = (kp_ids.explode().drop_nulls().value_counts(name="uses").rename({kp_ids.name: "kp_id"})
           if kp_ids.len() else pl.DataFrame(schema={"kp_id": pl.String, "uses": pl.UInt32}))
    if use.is_empty():
        return KnowledgeSpread()
    if nodes is None or nodes.is_empty():
        table = use.with_columns(pl.lit(None, pl.Int64).alias("popularity"))
    else:
        table = nodes.select("kp_id", "popularity").join(use, on="kp_id", how="left").with_columns(
            pl.col("uses").fill_null(0))
    counts = table["uses"].to_numpy().astype(np.float64)
    p = counts[counts > 0] / counts.sum() if counts.sum() else counts[:0]
    entropy = float(-(p * np.log(p)).sum())
    size = table.height
    corr = None
    if nodes is not None and table.height > 2 and table["popularity"].n_unique() > 1 and table["uses"].n_unique() > 1:
        corr = table.select(pl.corr("uses", "popularity", method="spearman")).item()
    return KnowledgeSpread(
        kps_used=use.height,
        kp_evenness=round(entropy / math.log(size), 4) if size > 1 else None,
        kp_gini=round(gini(counts), 4),
        popularity_correlation=round(float(corr), 4) if corr is not None and not math.isnan(corr) else None,
        coverage=round(int((counts > 0).sum()) / size, 4) if nodes is not None and not nodes.is_empty() else None,
    )
