"""Small helpers that turn tables into Dagster metadata."""


from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

from linksyn_assets.quality.card import quality_plots
from linksyn_assets.quality.report import QualityReport
from linksyn_assets.reports import REPORTS, Report
from linksyn_assets.svg_chart import markdown_image


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


def table_metadata(frame: pl.DataFrame, rows: int | None = None) -> dict[str, dg.MetadataValue]:
    """What the catalog shows for a table: its row count and column schema (from the polars schema); `rows`
    when the frame is a sample of a stored table."""
    schema = dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])
    return {"dagster/row_count": dg.MetadataValue.int(frame.height if rows is None else rows),
            "dagster/column_schema": dg.MetadataValue.table_schema(schema)}


def quality_plot_metadata(report: QualityReport | None) -> dict[str, dg.MetadataValue]:
    """The quality report's plots (quality/card.py) as markdown images, under their keys."""
    if report is None:
        return {}
    return {key: dg.MetadataValue.md(markdown_image(svg, key.removesuffix("_plot").replace("_", " ")))
            for key, svg in quality_plots(report).items()}


def json_meta(value: Any) -> dg.MetadataValue:
    return dg.MetadataValue.json(value)


DETAILS = "details"


def catalog(report: Report, table: pl.DataFrame | None, display: dict[str, Any] | None = None,
            details: dict[str, Any] | None = None, rows: int | None = None) -> dict[str, Any]:
    """An asset's metadata as the catalog shows it: row count and column schema (for a table), the report's
    SHOWN numbers and the previews and plots in `display`, and everything else (the rest of the report, then
    `details`, plain values for the UI only) in one JSON block `details`. `read_report` reads it back."""
    display = display or {}
    plain = report.model_dump(mode="json", exclude_none=True)
    shown = {k: plain[k] for k in (*report.SHOWN, "unchanged_since_run") if k in plain and k not in display}
    rest = {k: v for k, v in {**(details or {}), **plain}.items() if k not in shown and k not in display}
    return {**(table_metadata(table, rows) if table is not None else {}), **shown, **display,
            DETAILS: json_meta(rest)}


# The one place that reads an asset's metadata back: everything else asks for a typed report.

def values(mat: dg.AssetMaterialization) -> dict[str, Any]:
    """A materialization's metadata as plain values, the `details` block merged in."""
    plain = {k: v.value for k, v in mat.metadata.items() if k != DETAILS}
    details = mat.metadata.get(DETAILS)
    return {**(details.value if details is not None else {}), **plain}


def read_report(asset: str, mat: dg.AssetMaterialization) -> Report:
    return REPORTS[asset].model_validate(values(mat))


def latest_report(instance: dg.DagsterInstance, asset: str, partition: str | None) -> Report | None:
    """The report of the asset's (partition's) latest materialization, None when it has none."""
    record = _latest(instance, asset, partition)
    mat = record.asset_materialization if record is not None else None
    return read_report(asset, mat) if mat is not None else None


RECIPE = "recipe"  # what a materialization was made from (recipes.py), in its details
DATA_VERSION_TAG = "dagster/data_version"  # where Dagster records a materialization's data version


@dataclass(frozen=True)
class Previous:
    """An asset partition's latest materialization, as a later one that changed nothing reuses it."""

    run_id: str
    recipe: str | None
    data_version: str | None
    metadata: dict[str, dg.MetadataValue]
    report: Report


def _latest(instance: dg.DagsterInstance, asset: str, partition: str | None) -> dg.EventLogRecord | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(dg.AssetKey(asset), [partition] if partition is not None else None), limit=1).records
    return records[0] if records else None


def previous(instance: dg.DagsterInstance, asset: str, partition: str | None) -> Previous | None:
    record = _latest(instance, asset, partition)
    mat = record.asset_materialization if record is not None else None
    if record is None or mat is None:
        return None
    recipe = values(mat).get(RECIPE)
    return Previous(run_id=record.run_id, recipe=str(recipe) if recipe is not None else None,
                    data_version=(mat.tags or {}).get(DATA_VERSION_TAG), metadata=dict(mat.metadata),
                    report=read_report(asset, mat))


def data_versions(instance: dg.DagsterInstance, asset: str, partitions: list[str] | None) -> dict[str, str | None]:
    """partition -> data version of its latest materialization (None: never materialized)."""
    out = {}
    for partition in partitions if partitions is not None else [None]:
        record = _latest(instance, asset, partition)
        mat = record.asset_materialization if record is not None else None
        out[partition or ""] = (mat.tags or {}).get(DATA_VERSION_TAG) if mat is not None else None
    return out


def reused_metadata(prior: Previous) -> dict[str, Any]:
    """The previous materialization's metadata (previews, plots, schema) with its report as reused: this run's
    LLM counts and new rows zero, and the run that made the table."""
    details = prior.metadata.get(DETAILS)
    fresh = catalog(prior.report.reused(prior.run_id), None, None,
                    dict(details.value) if details is not None else None)
    return {**prior.metadata, **fresh}


def run_reports(result: dg.ExecuteInProcessResult) -> dict[str, Report]:
    """asset -> its report, for every materialization of a run result."""
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        out[mat.asset_key.to_user_string()] = read_report(mat.asset_key.to_user_string(), mat)
    return out


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """asset -> its metadata as plain values, for every materialization of a run result (tests and benches
    look at UI-only values too)."""
    return {event.event_specific_data.materialization.asset_key.to_user_string(): values(
        event.event_specific_data.materialization) for event in result.get_asset_materialization_events()}


def check_problems(evaluation: dg.AssetCheckEvaluation) -> str:
    problems = evaluation.metadata.get("problems")
    return str(problems.value) if problems is not None else ""
