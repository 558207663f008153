"""linkqa_dataset: assemble synthesized + hard rows, check them, drop exact duplicates, export.

Every row that does not make it into the dataset is kept in a rejects table with its reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .settings import DatasetParams

DATASET_COLUMNS = [
    "record_id", "kind", "discipline", "question", "options", "answer", "solution", "difficulty",
    "language", "kp_ids", "seed_ids", "path_id", "parent_qa_id", "model", "prompt_version",
]


@dataclass
class QCResult:
    kept: pl.DataFrame
    rejects: pl.DataFrame

    def reasons(self) -> dict[str, int]:
        if self.rejects.is_empty():
            return {}
        counts = self.rejects.group_by("reason").len().sort("reason")
        return dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))


def assemble(synth: pl.DataFrame, hard: pl.DataFrame) -> pl.DataFrame:
    a = synth.select(
        pl.col("qa_id").alias("record_id"), pl.lit("synthesized").alias("kind"), "discipline", "question",
        "options", "answer", "solution", "difficulty", "language", "kp_ids", "seed_ids", "path_id",
        pl.lit(None, pl.String).alias("parent_qa_id"), "model", "prompt_version", "status", "error",
    )
    b = hard.select(
        pl.col("hard_id").alias("record_id"), pl.lit("hard").alias("kind"), "discipline", "question",
        "options", "answer", "solution", pl.col("target_difficulty").alias("difficulty"), "language",
        "kp_ids", "seed_ids", "path_id", pl.col("qa_id").alias("parent_qa_id"), "model", "prompt_version",
        "status", "error",
    )
    return pl.concat([a, b], how="vertical_relaxed")


def _answer_is_option_letter() -> pl.Expr:
    """Answer is one or more letters from A to the last option's letter (per-row pattern)."""
    last = pl.lit("ABCDEFGHIJKLMNOPQRSTUVWXYZ").str.slice(pl.col("options").list.len() - 1, 1)
    pattern = pl.concat_str(pl.lit("^[A-"), last, pl.lit("]+$"))
    return pl.col("answer").str.strip_chars().str.to_uppercase().str.contains(pattern)


def quality_check(rows: pl.DataFrame, params: DatasetParams) -> QCResult:
    q_len = pl.col("question").str.len_chars()
    reason = (
        pl.when(pl.col("status") != "ok").then(pl.lit("generation failed: ") + pl.col("error").fill_null("?"))
        .when(pl.col("question").is_null() | (q_len < params.min_question_chars))
        .then(pl.lit(f"question shorter than {params.min_question_chars} characters"))
        .when(q_len > params.max_question_chars)
        .then(pl.lit(f"question longer than {params.max_question_chars} characters"))
        .when(pl.col("answer").is_null() | (pl.col("answer").str.strip_chars() == ""))
        .then(pl.lit("empty answer"))
        .when(pl.col("solution").is_null() | (pl.col("solution").str.strip_chars() == ""))
        .then(pl.lit("empty solution"))
        .when(pl.col("solution").str.len_chars() > params.max_solution_chars)
        .then(pl.lit(f"solution longer than {params.max_solution_chars} characters"))
        .when(pl.col("options").list.len() == 1).then(pl.lit("only one option"))
        .when((pl.col("options").list.len() > 1) & ~_answer_is_option_letter())
        .then(pl.lit("answer is not one of the option letters"))
        .otherwise(pl.lit(None, pl.String))
    )
    checked = rows.with_columns(reason.alias("reason"))
    valid = checked.filter(pl.col("reason").is_null())
    dedup_key = (pl.col("question").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
                 + pl.lit("\x1f") + pl.col("answer").str.to_lowercase().str.strip_chars())
    valid = valid.with_columns(dedup_key.alias("_key"))
    first = valid.unique(subset="_key", keep="first", maintain_order=True)
    dups = valid.join(first.select("record_id"), on="record_id", how="anti").with_columns(
        pl.lit("exact duplicate").alias("reason"))
    rejects = pl.concat([checked.filter(pl.col("reason").is_not_null()), dups.drop("_key")],
                        how="vertical_relaxed")
    return QCResult(kept=first.select(DATASET_COLUMNS),
                    rejects=rejects.select([*DATASET_COLUMNS, "reason"]))


def export(kept: pl.DataFrame, out_dir: Path, discipline: str) -> dict[str, Path]:
    """Parquet and JSONL for one discipline, each written to a temp file and renamed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"parquet": out_dir / f"{discipline}.parquet", "jsonl": out_dir / f"{discipline}.jsonl"}
    for fmt, path in paths.items():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        if fmt == "parquet":
            kept.write_parquet(tmp, compression="zstd")
        else:
            kept.write_ndjson(tmp)
        os.replace(tmp, path)
    return paths
