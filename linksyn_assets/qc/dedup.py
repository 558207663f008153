"""Near-duplicate clusters over a QA table, and the texts QC compares: question + options for
near-duplicates, the whole record (question, options, answer, solution) for contamination
(benchmarks.py)."""

from __future__ import annotations

import numpy as np
import polars as pl

from linksyn_assets.qc.near_duplicates import DuplicateClusters, near_duplicates
from linksyn_assets.qc.shingles import normalized_texts

HAN_DOMINANT = 0.5  # a text whose words are at least half Han characters is Chinese for the dedup threshold


def question_text() -> pl.Expr:
    """Question + options in sorted order: reordering the options makes neither a new question nor a
    different benchmark item."""
    return pl.concat_str([pl.col("question").fill_null(""),
                          pl.col("options").list.sort().list.join(" ").fill_null("")], separator=" ")


def record_text() -> pl.Expr:
    return pl.concat_str([question_text(), pl.col("answer").fill_null(""), pl.col("solution").fill_null("")],
                         separator=" ")


def duplicate_clusters(rows: pl.DataFrame, threshold: float, skip: np.ndarray | None = None,
                       threshold_zh: float | None = None, fixed: np.ndarray | None = None) -> DuplicateClusters:
    """Near-duplicates of the rows' question + options (qc/near_duplicates.py); rows where `skip` is True take
    no part, rows where `fixed` is True are kept. Rows whose text is mostly Han characters use threshold_zh when
    given."""
    texts = normalized_texts(rows.select(question_text())["question"] if rows.height
                             else pl.Series([], dtype=pl.String))
    thresholds: float | np.ndarray = threshold
    if threshold_zh is not None and texts.count:
        thresholds = np.where(texts.han_share >= HAN_DOMINANT, threshold_zh, threshold)
    return near_duplicates(texts, thresholds, skip, fixed=fixed)
