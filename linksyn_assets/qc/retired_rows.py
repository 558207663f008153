"""A discipline's dataset across materializations: earlier rows first, and the rows that left since the
previous materialization, each with the reason: its path was retired (the path's reason), QC removed it this
time (the reject reason), or it was no longer produced."""

from __future__ import annotations

import polars as pl

RETIRED_SCHEMA = {"record_id": pl.String(), "path_id": pl.String(), "discipline": pl.String(),
                  "question": pl.String(), "retired_reason": pl.String()}


def retired_rows(previous: pl.DataFrame | None, current: pl.DataFrame, retired_paths: pl.DataFrame | None,
                 rejects: pl.DataFrame) -> pl.DataFrame:
    if previous is None or previous.is_empty():
        return pl.DataFrame(schema=RETIRED_SCHEMA)
    gone = previous.join(current.select("record_id"), on="record_id", how="anti").select(
        "record_id", "path_id", "discipline", "question")
    paths = (retired_paths.select("path_id", pl.format("path retired: {}", "retired_reason").alias("path_reason"))
             .unique("path_id", keep="last") if retired_paths is not None and retired_paths.height
             else pl.DataFrame(schema={"path_id": pl.String, "path_reason": pl.String}))
    qc = (rejects.select("record_id", pl.format("removed by QC: {}", "reason").alias("qc_reason")).unique("record_id")
          if rejects.height else pl.DataFrame(schema={"record_id": pl.String, "qc_reason": pl.String}))
    return (gone.join(paths, on="path_id", how="left").join(qc, on="record_id", how="left")
            .select(*[c for c in RETIRED_SCHEMA if c != "retired_reason"],
                    pl.coalesce("path_reason", "qc_reason", pl.lit("no longer produced by the pipeline"))
                    .alias("retired_reason"))
            .cast(RETIRED_SCHEMA))


def earlier_rows_first(rows: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Rows that were in the previous table keep their order and come first; new rows follow in their own
    order, so a dataset file only grows at its end."""
    if previous is None or previous.is_empty():
        return rows
    order = previous.select("record_id").with_row_index("_previous_position")
    return (rows.join(order, on="record_id", how="left", maintain_order="left")
            .sort("_previous_position", nulls_last=True, maintain_order=True).drop("_previous_position"))
