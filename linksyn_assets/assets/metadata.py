"""Small helpers that turn tables into Dagster metadata."""


from typing import Any

import dagster as dg
import polars as pl


def counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if frame.is_empty():
        return {}
    table = frame.group_by(column).len().sort(column)
    return {str(k): int(v) for k, v in zip(table[column].to_list(), table["len"].to_list(), strict=True)}


def preview(frame: pl.DataFrame, columns: list[str], rows: int = 10, width: int = 80) -> dg.MetadataValue:
    """A markdown table of the first rows, cells cut to `width` characters."""
    if frame.is_empty():
        return dg.MetadataValue.md("_(empty)_")
    head = frame.select(columns).head(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in head.iter_rows():
        cells = [str(v).replace("|", "\\|").replace("\n", " ")[:width] for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def table_metadata(frame: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    """What the catalog shows for a table: its row count and column schema (from the polars schema)."""
    schema = dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])
    return {"dagster/row_count": dg.MetadataValue.int(frame.height),
            "dagster/column_schema": dg.MetadataValue.table_schema(schema)}


def json_meta(value: Any) -> dg.MetadataValue:
    return dg.MetadataValue.json(value)


DETAILS = "details"


def catalog(table: pl.DataFrame | None, shown: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    """An asset's metadata as the catalog shows it: row count and column schema (for a table), the few numbers,
    previews and plots a reader looks at, and everything else in one JSON block `details` (plain values)."""
    rest = {k: v for k, v in details.items() if k not in shown}
    return {**(table_metadata(table) if table is not None else {}), **shown, DETAILS: json_meta(rest)}


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """asset -> its metadata values, for every materialization of a run result."""
    return {event.event_specific_data.materialization.asset_key.to_user_string(): values(
        event.event_specific_data.materialization) for event in result.get_asset_materialization_events()}


def values(mat: dg.AssetMaterialization) -> dict[str, Any]:
    """A materialization's metadata as plain values, the `details` block merged in."""
    plain = {k: v.value for k, v in mat.metadata.items() if k != DETAILS}
    details = mat.metadata.get(DETAILS)
    return {**(details.value if details is not None else {}), **plain}
