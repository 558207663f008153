"""linkqa_dataset: assemble synthesized + hard rows, check them, remove duplicates and benchmark
contamination, apply the answer-verification policy, export.

The rules here give a reason per rejected row; qc/steps.py declares them as steps in the order a row meets
them (generation status; length, format, seed-copy and language rules; exact duplicates; benchmark
contamination; near-duplicates) and runs them, each on the rows the previous ones kept; the independent
solve's verdict comes last. Every row that does not make it into the dataset is kept in a rejects table with
its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from linksyn_assets.qc.answer_check import compare
from linksyn_assets.qc.near_duplicates import DuplicateClusters
from linksyn_assets.settings import DatasetParams
from linksyn_assets.text.normalize import CJK_PATTERN, LATEX_PATTERN, LATIN_PATTERN

DATASET_COLUMNS = [
    "record_id", "kind", "discipline", "question_type", "question", "options", "answer", "solution", "difficulty",
    "language", "kp_ids", "seed_ids", "path_id", "parent_qa_id", "model", "prompt_version", "rating_before",
    "rating_after", "verification", "verified_answer", "reasoning",
]


@dataclass
class QCResult:
    kept: pl.DataFrame
    rejects: pl.DataFrame

    def reasons(self) -> dict[str, int]:
        return reason_counts(self.rejects)


def reason_counts(rejects: pl.DataFrame) -> dict[str, int]:
    """Removed rows per kind of reason: the reason's head (before ':'); the rest names the row's particulars."""
    if rejects.is_empty():
        return {}
    kind = rejects.select(pl.col("reason").str.split(":").list.first())
    return dict(kind.group_by("reason").len().sort("reason").iter_rows())


def assemble(synth: pl.DataFrame, hard: pl.DataFrame) -> pl.DataFrame:
    none = pl.lit(None, pl.String)
    a = synth.select(
        pl.col("qa_id").alias("record_id"), pl.lit("synthesized").alias("kind"), "discipline", "question_type",
        "question", "options", "answer", "solution", "difficulty", "language", "kp_ids", "seed_ids", "path_id",
        none.alias("parent_qa_id"), "model", "prompt_version", pl.lit(None, pl.Int8).alias("rating_before"),
        pl.lit(None, pl.Int8).alias("rating_after"), "status", "error", "copy_seed_id", "copy_similarity",
        "reasoning",
    )
    parent_type = synth.select(pl.col("qa_id"), pl.col("question_type").alias("parent_type"))
    b = hard.join(parent_type, on="qa_id", how="left", maintain_order="left").select(
        pl.col("hard_id").alias("record_id"), pl.lit("hard").alias("kind"), "discipline",
        pl.col("parent_type").alias("question_type"), "question", "options", "answer", "solution",
        pl.col("target_difficulty").alias("difficulty"), "language", "kp_ids", "seed_ids", "path_id",
        pl.col("qa_id").alias("parent_qa_id"), "model", "prompt_version", "rating_before", "rating_after",
        "status", "error", none.alias("copy_seed_id"), pl.lit(None, pl.Float64).alias("copy_similarity"),
        "reasoning",
    )
    return pl.concat([a, b], how="vertical_relaxed").with_columns(
        none.alias("verification"), none.alias("verified_answer"))


def _answer_is_option_letter() -> pl.Expr:
    """Answer is one or more letters from A to the last option's letter (per-row pattern)."""
    last = pl.lit("ABCDEFGHIJKLMNOPQRSTUVWXYZ").str.slice(pl.col("options").list.len() - 1, 1)
    pattern = pl.concat_str(pl.lit("^[A-"), last, pl.lit("]+$"))
    return pl.col("answer").str.strip_chars().str.to_uppercase().str.contains(pattern)


def _json_debris(column: str) -> pl.Expr:
    """A field that is a fragment of JSON syntax (`3 }, {`, `"answer": "`), or only brackets and punctuation:
    what a model leaves when its JSON goes wrong. LaTeX (`\\frac{a}{b}`, `\\{1\\}, \\{2\\}`) does not match."""
    text = pl.col(column).fill_null("")
    bare = text.str.replace_all(r"[\s\[\]{}\",:;.]+", "")
    return (bare == "") | text.str.contains(r'\}\s*,\s*\{|"\s*:\s*["\[{]|^\s*[\]}]|[\[{]\s*$|^\s*\{\s*"')


def _status_reason() -> pl.Expr:
    return (pl.when(pl.col("status") == "failed").then(pl.lit("generation failed: ") + pl.col("error").fill_null("?"))
            .when(pl.col("status") == "not_harder").then(pl.lit("hard variant not rated harder: ")
                                                         + pl.col("error").fill_null("?"))
            .otherwise(pl.col("status") + pl.lit(": ") + pl.col("error").fill_null("?")))


def language_of(column: str) -> pl.Expr:
    """detect_language as a polars expression: the same patterns, the same rule (CJK ideographs at least
    a quarter of the Latin letters, formulas and LaTeX commands left out)."""
    prose = pl.col(column).fill_null("").str.replace_all(LATEX_PATTERN, " ")
    cjk, latin = prose.str.count_matches(CJK_PATTERN), prose.str.count_matches(LATIN_PATTERN)
    return pl.when((cjk > 0) & (cjk * 4 >= latin)).then(pl.lit("zh")).otherwise(pl.lit("en"))


def status_reasons(rows: pl.DataFrame) -> list[str | None]:
    """Generation status: a failed generation, a hard variant not rated harder."""
    return rows.select(pl.when(pl.col("status") != "ok").then(_status_reason()).alias("reason"))["reason"].to_list()


def row_rule_reasons(rows: pl.DataFrame, params: DatasetParams, copy_threshold: float = 1.0) -> list[str | None]:
    """The first row rule each row breaks: length bounds, empty or debris fields, option and answer format, a
    copy of a seed, a question in another language than its seeds."""
    q_len = pl.col("question").str.len_chars()
    reason = (
        pl.when(pl.col("question").is_null() | (q_len < params.min_question_chars))
        .then(pl.lit(f"question shorter than {params.min_question_chars} characters"))
        .when(q_len > params.max_question_chars)
        .then(pl.lit(f"question longer than {params.max_question_chars} characters"))
        .when(pl.col("answer").is_null() | (pl.col("answer").str.strip_chars() == ""))
        .then(pl.lit("empty answer"))
        .when(pl.col("solution").is_null() | (pl.col("solution").str.strip_chars() == ""))
        .then(pl.lit("empty solution"))
        .when(pl.col("solution").str.len_chars() > params.max_solution_chars)
        .then(pl.lit(f"solution longer than {params.max_solution_chars} characters"))
        .when(_json_debris("answer")).then(pl.lit("answer is JSON debris, not an answer"))
        .when(_json_debris("solution")).then(pl.lit("solution is JSON debris, not a solution"))
        .when((pl.col("question_type") == "multiple_choice") & (pl.col("options").list.len().fill_null(0) < 2))
        .then(pl.lit("multiple choice with fewer than two options"))
        .when(pl.col("options").list.len() == 1).then(pl.lit("only one option"))
        .when((pl.col("options").list.len() > 1) & ~_answer_is_option_letter())
        .then(pl.lit("answer is not one of the option letters"))
        .when(pl.col("copy_similarity").fill_null(0.0) >= copy_threshold)
        .then(pl.format("copy of a seed: {} (5-gram Jaccard {})", pl.col("copy_seed_id"),
                        pl.col("copy_similarity").round(2)))
        .when(language_of("question") != pl.col("language"))
        .then(pl.format("language mismatch: question is {}, its seeds are {}", language_of("question"),
                        pl.col("language")))
        .otherwise(pl.lit(None, pl.String))
    )
    return rows.select(reason.alias("reason"))["reason"].to_list()


def exact_key() -> pl.Expr:
    """Question and answer, case and spacing aside, hashed (64 bits, fixed seed): what makes two rows one."""
    return (pl.col("question").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
            + pl.lit("\x1f") + pl.col("answer").str.to_lowercase().str.strip_chars()).hash(seed=11)


def exact_duplicate_reasons(rows: pl.DataFrame, seen: np.ndarray | None = None) -> list[str | None]:
    """Rows whose question and answer (case and spacing aside) an earlier row already has: an earlier row of
    this table, or one whose key is in `seen` (sorted keys of rows already in the dataset)."""
    keys = rows.select(exact_key().alias("k"))["k"]
    first = keys.is_first_distinct().to_numpy()
    if seen is not None and seen.size:
        at = np.minimum(np.searchsorted(seen, keys.to_numpy()), seen.size - 1)
        first &= seen[at] != keys.to_numpy()
    return [None if keep else "exact duplicate" for keep in first.tolist()]


def with_dataset_columns(qc: QCResult) -> QCResult:
    """The dataset's columns (and the reason, for rejects), once the steps that read generation fields ran."""
    return QCResult(kept=qc.kept.select(DATASET_COLUMNS), rejects=qc.rejects.select([*DATASET_COLUMNS, "reason"]))


def start(rows: pl.DataFrame) -> QCResult:
    """Every row kept, no rejects yet (with the rows' columns and a reason)."""
    return QCResult(kept=rows, rejects=rows.clear().with_columns(pl.lit(None, pl.String).alias("reason")))


def remove_where(qc: QCResult, reasons: list[str | None]) -> QCResult:
    """Move the kept rows that have a reason to the rejects."""
    marked = qc.kept.with_columns(pl.Series("reason", reasons, dtype=pl.String))
    out = marked.filter(pl.col("reason").is_not_null())
    return QCResult(kept=marked.filter(pl.col("reason").is_null()).drop("reason"),
                    rejects=pl.concat([qc.rejects, out], how="vertical_relaxed"))


def near_duplicate_reasons(rows: pl.DataFrame, clusters: DuplicateClusters) -> list[str | None]:
    ids = rows["record_id"].to_list()
    disc = rows["discipline"].to_list()
    return [None if k == i else f"near-duplicate: of {ids[k]} ({disc[k]}, Jaccard {sim:.2f})"
            for i, (k, sim) in enumerate(zip(clusters.keep_of.tolist(), clusters.similarity.tolist(), strict=True))]


def with_verification(rows: pl.DataFrame, solved: dict[str, str | None], policy: str) -> tuple[pl.DataFrame,
                                                                                               list[str | None]]:
    """verification = agree | disagree | unclear | unverified (no usable solve) per row, the solve's
    answer in verified_answer, and the reasons to drop under policy 'drop'."""
    status, reasons = [], []
    for row in rows.select("record_id", "answer", "options").iter_rows(named=True):
        answer = solved.get(row["record_id"])
        verdict = "unverified" if answer is None else compare(row["answer"], answer, len(row["options"] or []))
        status.append(verdict)
        reasons.append(f"answer disagreement: stated {row['answer']!r}, independent solve {answer!r}"
                       if verdict == "disagree" and policy == "drop" else None)
    out = rows.with_columns(pl.Series("verification", status, dtype=pl.String),
                            pl.Series("verified_answer", [solved.get(i) for i in rows["record_id"].to_list()],
                                      dtype=pl.String))
    return out, reasons


_LABELS = {"en": ("Question: ", "Answer: ", "Solution: "), "zh": ("问题：", "答案：", "解答：")}


def pretraining_texts(rows: pl.DataFrame) -> pl.Series:
    """Question, lettered options, answer and solution as one text (labels in the row's language)."""
    out = []
    for row in rows.select("language", "question", "options", "answer", "solution").iter_rows(named=True):
        q, a, s = _LABELS.get(row["language"], _LABELS["en"])
        options = [f"{chr(ord('A') + i)}. {o}" for i, o in enumerate(row["options"] or [])]
        out.append("\n".join([q + row["question"], *options, a + row["answer"], s + row["solution"]]))
    return pl.Series("text", out, dtype=pl.String)


def shipped_columns(rows: pl.DataFrame, keep_reasoning: bool) -> pl.DataFrame:
    """The columns a user gets: the model's reasoning (`reasoning`, R1's worked thought, itself training data) is
    an optional column, on by default (dataset.keep_reasoning)."""
    return rows if keep_reasoning or "reasoning" not in rows.columns else rows.drop("reasoning")
