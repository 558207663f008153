"""Whether the answers hold and whether the difficulty is what was asked for: independent-solve agreement by
discipline and level, the judged difficulty against the target histogram, and what hardening gained."""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import BaseModel, Field

from linksyn_assets.records import DIFFICULTY_LEVELS
from linksyn_assets.walks.plan import kl_divergence

VERIFIED = ("agree", "disagree", "unclear")  # the solve gave an answer (unverified: none came back)


class Correctness(BaseModel):
    verified_rows: int = 0
    agreement: float | None = None  # agree / verified
    flagged_share: float = 0.0  # disagree / rows
    by_discipline: dict[str, float | None] = Field(default_factory=dict)
    by_difficulty: dict[str, float | None] = Field(default_factory=dict)


class Difficulty(BaseModel):
    target: list[float] | None = None  # the histogram the walks aimed at (shares of levels 0..4)
    labeled: list[float] = Field(default_factory=list)  # shares of the rows' difficulty labels
    judged: list[float] = Field(default_factory=list)  # shares of the judge's ratings, rows that have one
    judged_rows: int = 0
    kl_labeled: float | None = None  # KL(target || labeled), nats, labels add-one smoothed
    kl_judged: float | None = None  # KL(target || judged), nats, ratings add-one smoothed
    hard_rated: int = 0  # hard variants with both ratings
    hard_gain: float | None = None  # mean rating_after - rating_before of hard variants


def _agreement(rows: pl.DataFrame, by: str) -> dict[str, float | None]:
    table = rows.group_by(by).agg(
        agree=(pl.col("verification") == "agree").sum(),
        verified=pl.col("verification").is_in(VERIFIED).sum()).sort(by)
    return {str(k): (round(a / v, 4) if v else None) for k, a, v in table.iter_rows()}


def correctness(rows: pl.DataFrame) -> Correctness:
    """rows: discipline, difficulty, verification."""
    if rows.is_empty():
        return Correctness()
    verified = int(rows["verification"].is_in(VERIFIED).sum())
    agree = int((rows["verification"] == "agree").sum())
    return Correctness(verified_rows=verified, agreement=round(agree / verified, 4) if verified else None,
                       flagged_share=round(int((rows["verification"] == "disagree").sum()) / rows.height, 4),
                       by_discipline=_agreement(rows, "discipline"), by_difficulty=_agreement(rows, "difficulty"))


def _counts(levels: pl.Series) -> np.ndarray:
    return np.bincount(levels.drop_nulls().cast(pl.Int64).clip(0, DIFFICULTY_LEVELS - 1).to_numpy(),
                       minlength=DIFFICULTY_LEVELS).astype(np.float64)


def _shares(counts: np.ndarray) -> list[float]:
    return [round(float(x), 4) for x in counts / counts.sum()] if counts.sum() else []


def _kl(target: list[float] | None, counts: np.ndarray) -> float | None:
    """KL(target || realized), the realized counts add-one smoothed (a level no row has is far, not infinitely
    far, from a target that wants it)."""
    if not target or not counts.sum():
        return None
    return round(kl_divergence(np.asarray(target, dtype=np.float64), counts + 1), 4)


def judged_levels(rows: pl.DataFrame) -> pl.Series:
    """Per row, the judge's rating when it has one: a hard variant's rating_after; a question that was hardened
    has the rating_before its variants carry."""
    before = (rows.filter(pl.col("kind") == "hard").drop_nulls("rating_before")
              .group_by("parent_qa_id").agg(pl.col("rating_before").first().alias("judged_before")))
    joined = rows.select("record_id", "kind", "rating_after").join(
        before, left_on="record_id", right_on="parent_qa_id", how="left", maintain_order="left")
    return joined.select(pl.when(pl.col("kind") == "hard").then(pl.col("rating_after"))
                         .otherwise(pl.col("judged_before")).alias("judged"))["judged"]


def difficulty(rows: pl.DataFrame, target: list[float] | None) -> Difficulty:
    """rows: record_id, kind, difficulty, parent_qa_id, rating_before, rating_after."""
    if rows.is_empty():
        return Difficulty(target=target)
    labeled, judged = _counts(rows["difficulty"]), judged_levels(rows)
    judged_counts = _counts(judged)
    hard = rows.filter((pl.col("kind") == "hard") & pl.col("rating_before").is_not_null()
                       & pl.col("rating_after").is_not_null())
    return Difficulty(
        target=target, labeled=_shares(labeled), judged=_shares(judged_counts),
        judged_rows=int(judged.is_not_null().sum()), kl_labeled=_kl(target, labeled),
        kl_judged=_kl(target, judged_counts),
        hard_rated=hard.height,
        hard_gain=round(float((hard["rating_after"].cast(pl.Float64) - hard["rating_before"].cast(pl.Float64))
                              .mean()), 4) if hard.height else None)
