"""QC steps that look at the whole table, as one declared list: each step has a name and gives a reason per
row it rejects (None for a row it lets through); one runner applies them in order, each to the rows the
previous ones kept, and produces the funnel. The dataset asset, the `linkqa_dataset_clean` check and the
release's cross-discipline pass take their steps from here, so a new table-level filter is one step and
one entry in `table_steps`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from linksyn_assets.qc.benchmarks import Benchmarks
from linksyn_assets.qc.dedup import duplicate_clusters
from linksyn_assets.qc.rules import QCResult, QCStep, near_duplicate_reasons, remove_where
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
