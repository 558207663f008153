"""Synthesis ("diffusion" from linked seeds) and hard variants: requests and result tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl

from .kp_extraction import CallResultLike
from .prompts import HARDEN_VERSION, SYNTHESIZE_VERSION, hardening_messages, synthesis_messages
from .records import DIFFICULTY_LEVELS, HardeningAnswer, SynthesisAnswer
from .text_normalize import content_hash, normalize_text

_LLM_COLUMNS: dict[str, pl.DataType] = {
    "model": pl.String(), "prompt_version": pl.String(), "reasoning": pl.String(),
    "prompt_tokens": pl.Int64(), "completion_tokens": pl.Int64(), "cost_usd": pl.Float64(),
    "status": pl.String(), "error": pl.String(),
}
SYNTH_SCHEMA: dict[str, pl.DataType] = {
    "qa_id": pl.String(), "discipline": pl.String(), "path_id": pl.String(), "item_index": pl.Int16(),
    "question": pl.String(), "options": pl.List(pl.String()), "answer": pl.String(),
    "solution": pl.String(), "kp_names_used": pl.List(pl.String()), "kp_ids": pl.List(pl.String()),
    "seed_ids": pl.List(pl.String()), "difficulty": pl.Int8(), "language": pl.String(), **_LLM_COLUMNS,
}
HARD_SCHEMA: dict[str, pl.DataType] = {
    "hard_id": pl.String(), "qa_id": pl.String(), "discipline": pl.String(), "path_id": pl.String(),
    "question": pl.String(), "options": pl.List(pl.String()), "answer": pl.String(),
    "solution": pl.String(), "techniques": pl.List(pl.String()), "kp_ids": pl.List(pl.String()),
    "seed_ids": pl.List(pl.String()), "source_difficulty": pl.Int8(), "target_difficulty": pl.Int8(),
    "language": pl.String(), **_LLM_COLUMNS,
}


def path_language(seeds: list[dict[str, Any]]) -> str:
    counts = Counter(s["language"] for s in seeds)
    return max(counts, key=lambda lang: (counts[lang], lang == seeds[0]["language"])) if seeds else "en"


def _clean_options(options: list[str] | None) -> list[str]:
    return [normalize_text(o) for o in options or [] if o and o.strip()]


def _llm_fields(result: CallResultLike, version: str) -> dict[str, Any]:
    return {"model": result.model, "prompt_version": version,
            "reasoning": getattr(result, "reasoning", None),
            "prompt_tokens": getattr(result, "prompt_tokens", 0),
            "completion_tokens": getattr(result, "completion_tokens", 0),
            "cost_usd": getattr(result, "cost_usd", 0.0),
            "status": "ok" if result.ok else "failed", "error": result.error}


def synthesis_requests(paths: pl.DataFrame, seeds_by_id: dict[str, dict[str, Any]], qa_per_path: int
                       ) -> list[tuple[str, list[dict[str, str]]]]:
    requests = []
    for path in paths.iter_rows(named=True):
        seeds = [seeds_by_id[s] for s in path["seed_ids"]]
        requests.append((path["path_id"], synthesis_messages(
            seeds, path["kp_names"], path["target_difficulty"], qa_per_path, path_language(seeds))))
    return requests


def synthesized_table(paths: pl.DataFrame, results: list[CallResultLike],
                      seeds_by_id: dict[str, dict[str, Any]], qa_per_path: int) -> pl.DataFrame:
    """Rows for the first qa_per_path items of each answer (a model may write more than asked)."""
    by_id = {r.item_id: r for r in results}
    rows: list[dict[str, Any]] = []
    for path in paths.iter_rows(named=True):
        result = by_id[path["path_id"]]
        base = {"discipline": path["discipline"], "path_id": path["path_id"], "kp_ids": path["kp_ids"],
                "seed_ids": path["seed_ids"], "difficulty": path["target_difficulty"],
                "language": path_language([seeds_by_id[s] for s in path["seed_ids"]]),
                **_llm_fields(result, SYNTHESIZE_VERSION)}
        if not result.ok or result.data is None:
            rows.append({**base, "qa_id": content_hash(path["path_id"], "failed", prefix="q_"),
                         "item_index": 0})
            continue
        for index, item in enumerate(SynthesisAnswer.model_validate(result.data).items[:qa_per_path]):
            question = normalize_text(item.question)
            rows.append({**base, "qa_id": content_hash(path["path_id"], index, question, prefix="q_"),
                         "item_index": index, "question": question,
                         "options": _clean_options(item.options), "answer": normalize_text(item.answer),
                         "solution": normalize_text(item.solution),
                         "kp_names_used": [normalize_text(k) for k in item.knowledge_points_used]})
    return pl.DataFrame(rows, schema=SYNTH_SCHEMA) if rows else pl.DataFrame(schema=SYNTH_SCHEMA)


def hardening_targets(synth: pl.DataFrame, step: int) -> pl.DataFrame:
    """Successful synthesized rows with their source and target difficulty."""
    return synth.filter(pl.col("status") == "ok").with_columns(
        pl.col("difficulty").alias("source_difficulty"),
        pl.min_horizontal(pl.col("difficulty") + step, pl.lit(DIFFICULTY_LEVELS - 1))
        .cast(pl.Int8).alias("target_difficulty"),
    )


def hardening_requests(targets: pl.DataFrame) -> list[tuple[str, list[dict[str, str]]]]:
    return [(row["qa_id"], hardening_messages(row, row["source_difficulty"], row["target_difficulty"],
                                              row["language"]))
            for row in targets.iter_rows(named=True)]


def hard_table(targets: pl.DataFrame, results: list[CallResultLike]) -> pl.DataFrame:
    by_id = {r.item_id: r for r in results}
    rows: list[dict[str, Any]] = []
    for row in targets.iter_rows(named=True):
        result = by_id[row["qa_id"]]
        base = {key: row[key] for key in ("qa_id", "discipline", "path_id", "kp_ids", "seed_ids",
                                          "source_difficulty", "target_difficulty", "language")}
        base.update(_llm_fields(result, HARDEN_VERSION))
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
