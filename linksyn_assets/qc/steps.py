"""QC as declared lists of steps: each step has a name and gives a reason per row it rejects (None for a row
it lets through); one runner applies them in order, each to the rows the previous ones kept, and produces the
funnel. `row_steps` judge one row at a time (with the generation fields), `table_steps` the whole table. The
dataset asset runs both lists; the `linkqa_dataset_clean` check and the release's cross-discipline pass take
the table steps from here, so a new filter is one step and one list entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from linksyn_assets.qc.benchmarks import Benchmarks
from linksyn_assets.qc.dedup import duplicate_clusters
from linksyn_assets.qc.rules import (
    QCResult,
    exact_duplicate_reasons,
    near_duplicate_reasons,
    remove_where,
    row_rule_reasons,
    start,
    status_reasons,
    with_dataset_columns,
)
from linksyn_assets.reports import QCStep
from linksyn_assets.settings import DatasetParams


@dataclass(frozen=True)
class Step:
    name: str
    reasons: Callable[[pl.DataFrame], list[str | None]]


def contamination_step(benchmarks: Benchmarks) -> Step:
    return Step("benchmark contamination", lambda rows: benchmarks.describe(benchmarks.check(rows)))


def near_duplicate_step(params: DatasetParams) -> Step:
    def reasons(rows: pl.DataFrame) -> list[str | None]:
        return near_duplicate_reasons(rows, duplicate_clusters(rows, params.near_duplicate_threshold,
                                                               threshold_zh=params.near_duplicate_threshold_zh))
    return Step("near-duplicates", reasons)


def row_rule_steps(params: DatasetParams, copy_threshold: float) -> list[Step]:
    """The steps that judge each row alone: generation status, then the row rules."""
    return [Step("generation", status_reasons),
            Step("row rules", lambda rows: row_rule_reasons(rows, params, copy_threshold))]


def row_steps(params: DatasetParams, copy_threshold: float) -> list[Step]:
    """The row-level steps of linkqa_dataset, in order (on the assembled rows, generation fields included); an
    update of a stored dataset runs the exact-duplicate step against its index too (dataset_store/update.py)."""
    return [*row_rule_steps(params, copy_threshold), Step("exact duplicates", exact_duplicate_reasons)]


def quality_check(rows: pl.DataFrame, params: DatasetParams, copy_threshold: float = 1.0) -> QCResult:
    """The row steps alone, in the dataset's columns (what a test of the row rules looks at)."""
    qc, _ = run_steps(start(rows), row_steps(params, copy_threshold))
    return with_dataset_columns(qc)


def table_steps(params: DatasetParams, benchmarks: Benchmarks) -> list[Step]:
    """The table-level steps of linkqa_dataset, in order (after the row rules, before the independent solve)."""
    return [contamination_step(benchmarks), near_duplicate_step(params)]


def run_steps(qc: QCResult, steps: Sequence[Step]) -> tuple[QCResult, list[QCStep]]:
    """Apply the steps in order; every rejected row moves to the rejects with its reason."""
    funnel = []
    for step in steps:
        entered = qc.kept.height
        qc = remove_where(qc, step.reasons(qc.kept))
        funnel.append(QCStep(step=step.name, entered=entered, passed=qc.kept.height))
    return qc, funnel


def flagged(rows: pl.DataFrame, steps: Sequence[Step], id_column: str = "record_id") -> dict[str, list[str]]:
    """Per step, the ids of the rows it would reject, each step judging all the rows as given (a recheck of a
    finished table)."""
    ids = rows[id_column].to_list()
    return {step.name: [i for i, why in zip(ids, step.reasons(rows), strict=True) if why] for step in steps}
