"""Synthesis ("diffusion" from linked seeds) and hard variants: requests and result tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl

from linksyn_assets.kps.extraction import CallResultLike
from linksyn_assets.prompts.files import prompt_file
from linksyn_assets.prompts.messages import hardening_messages, judge_messages, synthesis_messages
from linksyn_assets.records import DIFFICULTY_LEVELS, DifficultyRating, HardeningAnswer, SynthesisAnswer
from linksyn_assets.synthesis.copy_check import closest_seed, qa_text
from linksyn_assets.text.normalize import content_hash, normalize_text

_LLM_COLUMNS: dict[str, pl.DataType] = {
    "model": pl.String(), "prompt_version": pl.String(), "reasoning": pl.String(),
    "prompt_tokens": pl.Int64(), "completion_tokens": pl.Int64(), "cost_usd": pl.Float64(),
    "status": pl.String(), "error": pl.String(),
}
SYNTH_SCHEMA: dict[str, pl.DataType] = {
    "qa_id": pl.String(), "discipline": pl.String(), "path_id": pl.String(), "item_index": pl.Int16(),
    "question": pl.String(), "options": pl.List(pl.String()), "answer": pl.String(),
    "solution": pl.String(), "kp_names_used": pl.List(pl.String()), "kp_ids": pl.List(pl.String()),
    "seed_ids": pl.List(pl.String()), "difficulty": pl.Int8(), "language": pl.String(),
    "question_type": pl.String(), "copy_seed_id": pl.String(), "copy_similarity": pl.Float64(), **_LLM_COLUMNS,
}
HARD_SCHEMA: dict[str, pl.DataType] = {
    "hard_id": pl.String(), "qa_id": pl.String(), "discipline": pl.String(), "path_id": pl.String(),
    "question": pl.String(), "options": pl.List(pl.String()), "answer": pl.String(),
    "solution": pl.String(), "techniques": pl.List(pl.String()), "kp_ids": pl.List(pl.String()),
    "seed_ids": pl.List(pl.String()), "source_difficulty": pl.Int8(), "target_difficulty": pl.Int8(),
    "language": pl.String(), "rating_before": pl.Int8(), "rating_after": pl.Int8(), "judge_model": pl.String(),
    **_LLM_COLUMNS,
}


def path_language(seeds: list[dict[str, Any]]) -> str:
    counts = Counter(s["language"] for s in seeds)
    return max(counts, key=lambda lang: (counts[lang], lang == seeds[0]["language"])) if seeds else "en"


def _clean_options(options: list[str] | None) -> list[str]:
    return [normalize_text(o) for o in options or [] if o and o.strip()]


def question_type(path_id: str, types: list[str]) -> str:
    """Each path's question type: a stable pick from the configured types."""
    return types[int(content_hash(path_id, length=8), 16) % len(types)]


def _llm_fields(result: CallResultLike, version: str) -> dict[str, Any]:
    return {"model": result.model, "prompt_version": version,
            "reasoning": getattr(result, "reasoning", None),
            "prompt_tokens": getattr(result, "prompt_tokens", 0),
            "completion_tokens": getattr(result, "completion_tokens", 0),
            "cost_usd": getattr(result, "cost_usd", 0.0),
            "status": "ok" if result.ok else "failed", "error": result.error}


def synthesis_requests(paths: pl.DataFrame, seeds_by_id: dict[str, dict[str, Any]], qa_per_path: int,
                       types: list[str]) -> list[tuple[str, list[dict[str, str]]]]:
    requests = []
    for path in paths.iter_rows(named=True):
        seeds = [seeds_by_id[s] for s in path["seed_ids"]]
        requests.append((path["path_id"], synthesis_messages(
            seeds, path["kp_names"], path["target_difficulty"], qa_per_path, path_language(seeds),
            question_type(path["path_id"], types))))
    return requests


def synthesized_table(paths: pl.DataFrame, results: list[CallResultLike],
                      seeds_by_id: dict[str, dict[str, Any]], qa_per_path: int, types: list[str]) -> pl.DataFrame:
    """Rows for the first qa_per_path items of each answer (a model may write more than asked), each
    with its closest seed (copy_seed_id, copy_similarity) for the anti-copy check."""
    by_id = {r.item_id: r for r in results}
    rows: list[dict[str, Any]] = []
    for path in paths.iter_rows(named=True):
        result = by_id[path["path_id"]]
        seeds = [seeds_by_id[s] for s in path["seed_ids"]]
        language = path_language(seeds)
        base = {"discipline": path["discipline"], "path_id": path["path_id"], "kp_ids": path["kp_ids"],
                "seed_ids": path["seed_ids"], "difficulty": path["target_difficulty"], "language": language,
                "question_type": question_type(path["path_id"], types),
                **_llm_fields(result, prompt_file("synthesize", language).version)}
        seed_texts = {s["seed_id"]: qa_text(s["question"], s.get("options")) for s in seeds}
        if not result.ok or result.data is None:
            rows.append({**base, "qa_id": content_hash(path["path_id"], "failed", prefix="q_"),
                         "item_index": 0})
            continue
        for index, item in enumerate(SynthesisAnswer.model_validate(result.data).items[:qa_per_path]):
            question = normalize_text(item.question)
            copy_of, similarity = closest_seed(qa_text(question, item.options), seed_texts)
            rows.append({**base, "qa_id": content_hash(path["path_id"], index, question, prefix="q_"),
                         "copy_seed_id": copy_of, "copy_similarity": similarity,
                         "item_index": index, "question": question,
                         "options": _clean_options(item.options), "answer": normalize_text(item.answer),
                         "solution": normalize_text(item.solution),
                         "kp_names_used": [normalize_text(k) for k in item.knowledge_points_used]})
    return pl.DataFrame(rows, schema=SYNTH_SCHEMA) if rows else pl.DataFrame(schema=SYNTH_SCHEMA)


def hardening_targets(synth: pl.DataFrame, step: int, copy_threshold: float, floor: int = 0) -> pl.DataFrame:
    """Successful synthesized rows that do not copy a seed, with their source and target difficulty (the source
    plus `step`, at least `floor`, at most the top level)."""
    return synth.filter((pl.col("status") == "ok")
                        & (pl.col("copy_similarity").fill_null(0.0) < copy_threshold)).with_columns(
        pl.col("difficulty").alias("source_difficulty"),
        pl.min_horizontal(pl.max_horizontal(pl.col("difficulty") + step, pl.lit(floor)),
                          pl.lit(DIFFICULTY_LEVELS - 1))
        .cast(pl.Int8).alias("target_difficulty"),
    )


def hardening_requests(targets: pl.DataFrame) -> list[tuple[str, list[dict[str, str]]]]:
    return [(row["qa_id"], hardening_messages(row, row["source_difficulty"], row["target_difficulty"],
                                              row["language"]))
            for row in targets.iter_rows(named=True)]


def judge_requests(targets: pl.DataFrame, hard: pl.DataFrame) -> list[tuple[str, list[dict[str, str]]]]:
    """One rating per distinct question (the original and each variant), keyed by its text."""
    requests: dict[str, list[dict[str, str]]] = {}
    for frame in (targets, hard.filter(pl.col("status") == "ok")):
        for row in frame.iter_rows(named=True):
            requests.setdefault(rating_key(row), judge_messages(row, row["language"]))
    return list(requests.items())


def rating_key(row: dict[str, Any]) -> str:
    return content_hash(row["question"], row.get("options") or [], prefix="r_")


def judged(hard: pl.DataFrame, targets: pl.DataFrame, ratings: list[CallResultLike], judge_model: str
           ) -> pl.DataFrame:
    """Ratings before (the original) and after (the variant); a variant not rated harder gets status
    'not_harder', one without both ratings 'unjudged'. Both stay in the table with their ratings."""
    score = {r.item_id: DifficultyRating.model_validate(r.data).rating for r in ratings if r.ok and r.data}
    before = {row["qa_id"]: score.get(rating_key(row)) for row in targets.iter_rows(named=True)}
    rows = []
    for row in hard.iter_rows(named=True):
        b = before.get(row["qa_id"])
        a = score.get(rating_key(row)) if row["status"] == "ok" else None
        row.update(rating_before=b, rating_after=a, judge_model=judge_model)
        if row["status"] == "ok" and (a is None or b is None):
            row.update(status="unjudged", error="the difficulty judge gave no rating")
        elif row["status"] == "ok" and a <= b:
            row.update(status="not_harder", error=f"judge rated {b} -> {a}")
        rows.append(row)
    return pl.DataFrame(rows, schema=HARD_SCHEMA) if rows else pl.DataFrame(schema=HARD_SCHEMA)


def hard_table(targets: pl.DataFrame, results: list[CallResultLike]) -> pl.DataFrame:
    by_id = {r.item_id: r for r in results}
    rows: list[dict[str, Any]] = []
    for row in targets.iter_rows(named=True):
        result = by_id[row["qa_id"]]
        base = {key: row[key] for key in ("qa_id", "discipline", "path_id", "kp_ids", "seed_ids",
                                          "source_difficulty", "target_difficulty", "language")}
        base.update(_llm_fields(result, prompt_file("harden", row["language"]).version))
        if not result.ok or result.data is None:
            rows.append({**base, "hard_id": content_hash(row["qa_id"], "failed", prefix="h_")})
            continue
        answer = HardeningAnswer.model_validate(result.data)
        question = normalize_text(answer.question)
        rows.append({**base, "hard_id": content_hash(row["qa_id"], question, prefix="h_"),
                     "question": question, "options": _clean_options(answer.options),
                     "answer": normalize_text(answer.answer), "solution": normalize_text(answer.solution),
                     "techniques": [normalize_text(t) for t in answer.techniques]})
    return pl.DataFrame(rows, schema=HARD_SCHEMA) if rows else pl.DataFrame(schema=HARD_SCHEMA)
