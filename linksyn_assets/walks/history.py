"""Append-only walks: which earlier paths of a discipline carry over to the current graph.

An earlier path is kept as it was stored (same path_id, same row) while every KP and seed it names is still
in the graph; otherwise it is retired with the reason. The kept paths' KPs, as node positions of the current
graph, start the usage counts n(v) of the next draw, so new paths go where the old ones did not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from linksyn_assets.walks.csr_graph import WalkGraph

RETIRED_COLUMNS = {"retired_reason": pl.String()}


@dataclass
class PathHistory:
    kept: pl.DataFrame  # earlier paths still valid, rows as stored
    retired: pl.DataFrame  # earlier paths no longer valid: the stored row plus retired_reason
    nodes: np.ndarray  # (kept, width) node positions of the kept paths in the current graph, -1 padded
    next_index: int  # path_index of the first new path: ordinals are never reused

    @property
    def retired_reasons(self) -> dict[str, int]:
        if self.retired.is_empty():
            return {}
        counts = self.retired.group_by(pl.col("retired_reason").str.split(":").list.first()).len()
        return dict(sorted(counts.iter_rows()))


def _missing(values: pl.Series, known: pl.Series) -> pl.Series:
    """Per row of a list column: the first value not in `known` (None when all are known)."""
    rows = pl.DataFrame({"values": values}).with_row_index("row").explode("values")
    absent = rows.filter(pl.col("values").is_not_null() & ~pl.col("values").is_in(known.implode()))
    first = absent.group_by("row").agg(pl.col("values").first())
    every = pl.DataFrame({"row": pl.int_range(values.len(), eager=True, dtype=pl.UInt32)})
    return every.join(first, on="row", how="left", maintain_order="left")["values"]


def carry_over(previous: pl.DataFrame | None, graph: WalkGraph, width: int, redraw: bool = False,
               earlier_retired: pl.DataFrame | None = None) -> PathHistory:
    """Split the previous walk_paths table into kept and retired paths for the current graph."""
    seen_indices = [t["path_index"].max() for t in (previous, earlier_retired)
                    if t is not None and t.height and t["path_index"].max() is not None]
    next_index = int(max(seen_indices)) + 1 if seen_indices else 0
    if previous is None or previous.is_empty():
        empty = previous.clear() if previous is not None else pl.DataFrame()
        return PathHistory(empty, empty.with_columns(retired_reason=pl.lit(None, pl.String)),
                           np.zeros((0, width), np.int64), next_index)
    missing_kp = _missing(previous["kp_ids"], graph.kp_ids)
    missing_seed = _missing(previous["seed_ids"], graph.seed_ids)
    reasons = (pl.DataFrame({"kp": missing_kp, "seed": missing_seed})
               .select(pl.when(pl.lit(redraw)).then(pl.lit("redraw: walk.redraw was set"))
                       .when(pl.col("seed").is_not_null()).then(pl.format("seed removed: {}", "seed"))
                       .when(pl.col("kp").is_not_null()).then(pl.format("KP no longer in the graph: {}", "kp"))
                       .alias("retired_reason"))["retired_reason"])
    keep = reasons.is_null()
    kept = previous.filter(keep)
    retired = previous.filter(~keep).with_columns(retired_reason=reasons.filter(~keep))
    longest = max(width, int(kept["kp_ids"].list.len().max() or 0))
    nodes = np.full((kept.height, longest), -1, dtype=np.int64)
    if kept.height:
        flat = kept.select(pl.int_range(pl.len()).alias("row"), "kp_ids").explode("kp_ids")
        at = flat.with_columns(col=pl.int_range(pl.len()).over("row"))
        positions = graph.kp_ids.search_sorted(at["kp_ids"]).to_numpy()
        nodes[at["row"].to_numpy(), at["col"].to_numpy()] = positions
    return PathHistory(kept, retired, nodes, next_index)
