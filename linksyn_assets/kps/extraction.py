"""KP extraction: seed -> prompt, and validated answers -> the long seed_kps table."""

from __future__ import annotations

from typing import Any, Protocol

import polars as pl

from linksyn_assets.kps.canonical import canonical_kp_key, kp_id_for
from linksyn_assets.prompts.messages import EXTRACT_VERSION, extraction_messages
from linksyn_assets.records import KPExtraction
from linksyn_assets.seeds.disciplines import TAXONOMY

SEED_KPS_SCHEMA: dict[str, pl.DataType] = {
    "seed_id": pl.String(), "discipline": pl.String(), "kp_id": pl.String(), "kp_name": pl.String(),
    "kp_canonical_en": pl.String(), "kp_key": pl.String(), "kp_rank": pl.Int16(), "difficulty": pl.Int8(),
    "difficulty_source": pl.String(), "annotated_discipline": pl.String(), "language": pl.String(),
    "model": pl.String(), "prompt_version": pl.String(), "error": pl.String(),
}


class CallResultLike(Protocol):
    item_id: str
    ok: bool
    data: dict[str, Any] | None
    error: str | None
    model: str


def extraction_requests(seeds: pl.DataFrame) -> list[tuple[str, list[dict[str, str]]]]:
    return [(row["seed_id"], extraction_messages(row)) for row in seeds.iter_rows(named=True)]


def seed_kps_table(seeds: pl.DataFrame, results: list[CallResultLike], default_discipline: str) -> pl.DataFrame:
    """One row per (seed, KP); a seed whose extraction failed keeps one row with the error. A seed without a
    discipline of its own (the default) records the taxonomy discipline the model named."""
    by_id = {r.item_id: r for r in results}
    rows: list[dict[str, Any]] = []
    for seed in seeds.iter_rows(named=True):
        result = by_id[seed["seed_id"]]
        base = {"seed_id": seed["seed_id"], "discipline": seed["discipline"], "language": seed["language"],
                "model": result.model, "prompt_version": EXTRACT_VERSION}
        if not result.ok or result.data is None:
            rows.append({**base, "difficulty": seed["difficulty"],
                         "difficulty_source": "source" if seed["difficulty"] is not None else "none",
                         "error": result.error or "unknown error"})
            continue
        answer = KPExtraction.model_validate(result.data)
        difficulty, source = seed["difficulty"], "source"
        if difficulty is None:
            difficulty, source = answer.difficulty, ("llm" if answer.difficulty is not None else "none")
        annotated = None
        if seed["discipline"] == default_discipline and answer.discipline in TAXONOMY:
            annotated = answer.discipline
        seen: set[str] = set()
        for rank, kp in enumerate(answer.knowledge_points):
            kp_id = kp_id_for(kp.name, kp.canonical_en)
            if kp_id is None or kp_id in seen:
                continue
            seen.add(kp_id)
            rows.append({**base, "kp_id": kp_id, "kp_name": kp.name, "kp_canonical_en": kp.canonical_en,
                         "kp_key": canonical_kp_key(kp.canonical_en or kp.name),
                         "kp_rank": rank, "difficulty": difficulty, "difficulty_source": source,
                         "annotated_discipline": annotated})
        if not seen:
            rows.append({**base, "difficulty": difficulty, "difficulty_source": source,
                         "error": "no usable knowledge point after canonicalization"})
    return pl.DataFrame(rows, schema=SEED_KPS_SCHEMA) if rows else pl.DataFrame(schema=SEED_KPS_SCHEMA)
