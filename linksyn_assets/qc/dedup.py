"""Near-duplicate clusters over a QA table, and the texts QC compares: question + options for
near-duplicates, the whole record (question, options, answer, solution) for contamination
(benchmarks.py)."""

from __future__ import annotations

import numpy as np
import polars as pl

from linksyn_assets.qc.fingerprints import chunks, token_hashes
from linksyn_assets.qc.near_duplicates import (
    EMPTY_SIGNATURE,
    SIGNATURE_SIZE,
    DuplicateClusters,
    near_duplicates,
    signatures,
)

HAN_DOMINANT = 0.5  # a text whose tokens are at least half Han characters is Chinese for the dedup threshold


def question_text() -> pl.Expr:
    """Question + options in sorted order: reordering the options makes neither a new question nor a
    different benchmark item."""
    return pl.concat_str([pl.col("question").fill_null(""),
                          pl.col("options").list.sort().list.join(" ").fill_null("")], separator=" ")


def record_text() -> pl.Expr:
    return pl.concat_str([question_text(), pl.col("answer").fill_null(""), pl.col("solution").fill_null("")],
                         separator=" ")


def duplicate_clusters(rows: pl.DataFrame, threshold: float, skip: np.ndarray | None = None,
                       threshold_zh: float | None = None) -> DuplicateClusters:
    """Near-duplicate clusters of the rows; rows where `skip` is True take no part (never clustered).
    Rows whose text is mostly Han characters use threshold_zh (a changed character breaks one of few
    shingles: bench/qc_bench.py measured 5% of Chinese near-duplicates with 1-3 characters changed
    below 0.8 and 1.7% below 0.7)."""
    parts, shares = [], []
    for chunk in chunks(rows):
        tokens = token_hashes(chunk.select(question_text())["question"])
        parts.append(signatures(tokens))
        shares.append(tokens.han_share())
    sig = np.concatenate(parts) if parts else np.zeros((0, SIGNATURE_SIZE), np.uint32)
    if skip is not None:
        sig[skip] = EMPTY_SIGNATURE
    thresholds: float | np.ndarray = threshold
    if threshold_zh is not None and parts:
        thresholds = np.where(np.concatenate(shares) >= HAN_DOMINANT, threshold_zh, threshold)
    return near_duplicates(sig, thresholds)
