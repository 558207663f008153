"""pydantic models for every record that crosses a boundary (files, LLM, tables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

DIFFICULTY_LEVELS = 5  # difficulty is an integer 0 (easiest) .. 4 (hardest)


class SeedRecord(BaseModel):
    """One normalized seed question: a row of the `seeds` asset."""

    model_config = ConfigDict(frozen=True)

    seed_id: str
    question: str = Field(min_length=1)
    options: list[str] = Field(default_factory=list)
    answer: str = Field(min_length=1)
    explanation: str | None = None
    discipline: str
    subject: str | None = None
    difficulty: int | None = Field(default=None, ge=0, le=DIFFICULTY_LEVELS - 1)
    language: str
    source: str
    source_file: str
    source_row: int
    kp_routes: list[str] = Field(default_factory=list)
    discipline_name: str | None = None  # the name as the source wrote it; `discipline` is its key
    provenance: dict[str, str] = Field(default_factory=dict)  # year, score, exam, the record's place, ...


class BenchmarkItem(BaseModel):
    """One question of a benchmark file, indexed for decontamination (an answer is not needed)."""

    question: str = Field(min_length=1)
    options: list[str] = Field(default_factory=list)
    source_file: str
    source_row: int


class QuarantineRow(BaseModel):
    """An input row that could not become a seed, with where it came from and why."""

    source_file: str
    source_row: int  # 1-based line or data row; 0 means the whole file
    reason: str
    raw: str
    discipline: str | None = None


# ---- LLM answers (validated JSON) ----


class KPName(BaseModel):
    """A knowledge point as the question words it, and its standard English name."""

    name: str
    canonical_en: str | None = None


class KPExtraction(BaseModel):
    """What the extraction prompt asks the model for, per seed."""

    knowledge_points: list[KPName] = Field(min_length=1, max_length=8)
    discipline: str | None = None
    difficulty: int | None = Field(default=None, ge=0, le=DIFFICULTY_LEVELS - 1)

    @field_validator("knowledge_points", mode="before")
    @classmethod
    def _names(cls, kps: object) -> object:
        # A bare string is accepted as a name without an English twin.
        return [{"name": kp} if isinstance(kp, str) else kp for kp in kps] if isinstance(kps, list) else kps

    @field_validator("knowledge_points")
    @classmethod
    def _non_blank(cls, kps: list[KPName]) -> list[KPName]:
        kept = [KPName(name=kp.name.strip(), canonical_en=(kp.canonical_en or "").strip() or None)
                for kp in kps if kp.name and kp.name.strip()]
        if not kept:
            raise ValueError("knowledge_points has no non-blank entry")
        return kept


class QAFields(BaseModel):
    """What every written question carries."""

    question: str = Field(min_length=1)
    options: list[str] | None = None
    answer: str = Field(min_length=1)
    solution: str = Field(min_length=1)


class GeneratedQA(QAFields):
    """One new question written by the model."""

    knowledge_points_used: list[str] = Field(default_factory=list)


class SynthesisAnswer(BaseModel):
    items: list[GeneratedQA] = Field(min_length=1)


class HardeningAnswer(QAFields):
    techniques: list[str] = Field(default_factory=list)


class DifficultyRating(BaseModel):
    """The judge's rating of one question on the written rubric."""

    rating: int = Field(ge=0, le=DIFFICULTY_LEVELS - 1)
    reason: str = ""


class IndependentSolve(BaseModel):
    """A fresh solve of a question, without its stated answer."""

    answer: str = Field(min_length=1)
    solution: str = ""
