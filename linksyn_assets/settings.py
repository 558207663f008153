"""Every pipeline knob, in one pydantic config (formulas in docs/design.md, defaults in the README)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from linksyn_assets.records import DIFFICULTY_LEVELS

QUESTION_TYPES = ("multiple_choice", "short_answer", "calculation")


class WalkParams(BaseModel):
    """Value-guided walk: V(v) = p(v)^alpha * (1 + n(v))^(-beta); P(u->v) ~ w(u,v)^gamma * V(v)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # 1e999 is not a setting

    alpha: float = Field(0.5, ge=0, description="> 0 favours popular KPs")
    beta: float = Field(3.0, ge=0, description="> 0 pushes coverage toward unused KPs")
    gamma: float = Field(1.0, ge=0, description="weight of co-occurrence strength")
    min_length: int = Field(2, ge=1, description="KPs per path, lower bound")
    max_length: int = Field(4, ge=1, description="KPs per path, upper bound")
    min_seeds: int = Field(2, ge=1, description="seeds per path, lower bound")
    max_seeds: int = Field(4, ge=1, description="seeds per path, upper bound")
    cross_discipline_rate: float = Field(0.2, ge=0, le=1, description="cap on leaving d per step")
    paths_per_discipline: int | None = Field(None, ge=0, description="fixed count; overrides total")
    total_paths: int | None = Field(None, ge=0, description="split over disciplines by discipline_mix; "
                                                            "default: paths_per_seed x seeds")
    paths_per_seed: float = Field(1.0, gt=0, description="the default total: this many paths per seed (new seeds "
                                                         "bring paths of their own)")
    redraw: bool = Field(False, description="draw every path anew instead of keeping the earlier ones "
                                            "(earlier paths are retired with the reason)")
    discipline_mix: dict[str, float] | None = Field(
        None, description="target share per discipline; default proportional to seeds")
    difficulty_histogram: list[float] | None = Field(
        None, description="the older spelling of difficulty.histogram (either may be set, not both)")
    rng_seed: int = 20250801
    max_attempts_factor: int = Field(3, ge=1, description="draws per wanted path before giving up")
    batch_paths: int | None = Field(
        None, ge=1, description="paths drawn per batch; usage n(v) is updated between batches. "
                                "1 = fully sequential; None = growing with the history (1/8 of the paths "
                                "drawn so far) up to the discipline's KPs / 16, at most 16384")
    max_rejections: int = Field(8, ge=1, description="rejected proposals before a step scans its row exactly")
    scan_max_degree: int = Field(255, ge=0, description="rows with at most this many neighbours are scanned "
                                                        "exactly instead of sampled by rejection")
    seed_candidates_per_kp: int = Field(16, ge=1, description="seeds considered per path KP when choosing seeds")

    @model_validator(mode="after")
    def _ranges(self) -> WalkParams:
        if self.min_length > self.max_length:
            raise ValueError("min_length must be <= max_length")
        if self.min_seeds > self.max_seeds:
            raise ValueError("min_seeds must be <= max_seeds")
        _check_histogram(self.difficulty_histogram, "difficulty_histogram")
        return self


class SynthesisParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # 1e999 is not a setting

    qa_per_path: int = Field(1, ge=1, le=8, description="new QA written per path")
    hard_disciplines: list[str] | None = Field(None, description="disciplines for hard_qa; None = all")
    hard_difficulty_step: int = Field(1, ge=1, le=4, description="target = source difficulty + step")
    question_types: list[str] = Field(
        default_factory=lambda: ["multiple_choice", "short_answer", "calculation"], min_length=1,
        description="question types; each path gets one (a stable pick by path id)")
    copy_threshold: float = Field(0.6, gt=0, le=1, description="character 5-gram Jaccard with a seed at which a "
                                                                "new question counts as a copy and is rejected")

    @field_validator("question_types")
    @classmethod
    def _types(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - set(QUESTION_TYPES))
        if unknown:
            raise ValueError(f"unknown question type(s) {unknown}; choose from {list(QUESTION_TYPES)}")
        return types


# dataset.release_jsonl: train.jsonl, one jsonl/<file>.jsonl per Parquet file of the release, or none
RELEASE_JSONL = ("single", "sharded", "none")


class DatasetParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # 1e999 is not a setting

    min_question_chars: int = Field(8, ge=1)
    max_question_chars: int = Field(8000, ge=1)
    max_solution_chars: int = Field(20000, ge=1)
    near_duplicate_threshold: float = Field(0.6, gt=0, le=1, description="exact Jaccard of question + options "
                                            "(symbol-trigram shingles) with the kept row, to count as its near-copy; "
                                            "at most 24 shingles may differ and the formula tokens must match "
                                            "(qc/near_duplicates.py; chosen on the pooled exam sets in qc_bench)")
    near_duplicate_threshold_zh: float = Field(0.6, gt=0, le=1, description="the same for mostly-Chinese text")
    benchmark_files: list[str] = Field(default_factory=list, description="benchmark files or folders to "
                                       "decontaminate against (any format the seed readers take: MMLU, CMMLU, "
                                       "C-Eval, GSM8K, AGIEval, ...)")
    decontamination_ngram: int = Field(13, ge=3, description="a shared token n-gram with a benchmark item")
    contamination_containment: float = Field(0.5, gt=0, le=1, description="share of a benchmark item's token "
                                             "trigrams found in a row (catches reworded and short items)")
    verification: str = Field(
        "flag", description="rows whose independent solve disagrees: keep, flag (column verification) or drop")
    tokenizer_json: str = Field("", description="a Hugging Face tokenizer.json for token counts; empty = "
                                                "cl100k_base (bundled with litellm)")
    release_shard_rows: int = Field(100_000, ge=1, description="at most this many rows per Parquet file of the "
                                    "release (one file or more per dataset shard)")
    release_jsonl: str = Field(
        "single", description="JSONL beside the Parquet files: single (train.jsonl, rewritten whole for every "
        "version), sharded (jsonl/<file>.jsonl per Parquet file, shared between versions like them) or none")
    release_keep_versions: int = Field(0, ge=0, description="release versions kept after a new one is published "
                                       "(the newest included); older ones are deleted, and with them the files no "
                                       "kept version links to; 0 keeps every version")
    qc_batch_rows: int = Field(50_000, ge=1, description="new rows QC checks at once, written as one immutable "
                               "shard of the dataset: the step's memory grows with it, not with the dataset")
    keep_reasoning: bool = Field(True, description="ship the model's reasoning (column `reasoning`: R1's thought, "
                                 "from reasoning_content, reasoning or <think> tags) in the dataset files and "
                                 "the release")
    max_quarantine_share: float = Field(0.5, ge=0, le=1, description="the seeds check fails (and blocks "
                                        "extraction) when more of a discipline's input rows were quarantined")
    min_seeds_with_kps_share: float = Field(0.5, ge=0, le=1, description="the seed_kps check fails (and blocks "
                                            "the walks and synthesis) when fewer seeds got a KP")
    min_schema_valid_share: float = Field(0.5, ge=0, le=1, description="the synthesized_qa check fails (and "
                                          "blocks hardening and verification) when fewer rows came back valid")
    max_duplicate_share: float = Field(0.0, ge=0, le=1, description="the dataset check fails when more of its "
                                       "rows are near-duplicates of another row (rechecked on the final table)")
    min_verification_agreement: float = Field(0.5, ge=0, le=1, description="the dataset check fails when fewer "
                                              "verified rows agree with the independent solve (judged from 20 "
                                              "verified rows on)")
    target_rows: int | None = Field(None, ge=1, description="grow the dataset until this many rows pass QC in "
                                    "total (split by the discipline mix): `linksyn run` draws paths in rounds")
    target_tokens: int | None = Field(None, ge=1, description="the same in tokens of the rows' text")
    target_rounds: int = Field(6, ge=1, description="rounds of new paths at most, when a target is set")

    @field_validator("verification", "release_jsonl")
    @classmethod
    def _one_of(cls, value: str, info: ValidationInfo) -> str:
        choices = {"verification": ("keep", "flag", "drop"), "release_jsonl": RELEASE_JSONL}
        allowed = choices[info.field_name]
        if value not in allowed:
            raise ValueError(f"{info.field_name} must be {', '.join(allowed[:-1])} or {allowed[-1]}, not {value!r}")
        return value


# difficulty.preset: the target difficulty histogram of the walks (walks/plan.py difficulty_target)
DIFFICULTY_PRESETS = ("seeds", "uniform", "hard")


def _check_histogram(hist: list[float] | None, name: str) -> None:
    if hist is not None and (len(hist) != DIFFICULTY_LEVELS or min(hist) < 0 or sum(hist) <= 0):
        raise ValueError(f"{name} needs {DIFFICULTY_LEVELS} non-negative weights")


class DifficultyParams(BaseModel):
    """Which difficulty the walks aim at (each path gets a target level, seeds near it are preferred) and
    where hardening aims."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # 1e999 is not a setting

    preset: str = Field("seeds", description="seeds: the seeds' own histogram; uniform: every level alike; hard: "
                        "80% of the mass on levels 3 and 4 (split as the seeds split it), 20% on levels 0-2 (as "
                        "the seeds spread it), and hardening aims at level 3 or above")
    histogram: list[float] | None = Field(None, description="explicit weights of levels 0..4; overrides the "
                                          "preset's histogram")

    @field_validator("preset")
    @classmethod
    def _preset(cls, value: str) -> str:
        if value not in DIFFICULTY_PRESETS:
            raise ValueError(f"preset must be {', '.join(DIFFICULTY_PRESETS[:-1])} or {DIFFICULTY_PRESETS[-1]}, "
                             f"not {value!r}")
        return value

    @model_validator(mode="after")
    def _weights(self) -> DifficultyParams:
        _check_histogram(self.histogram, "difficulty.histogram")
        return self

    def hardening_floor(self) -> int:
        """The lowest level a hard variant aims at (the hard preset lifts it to the top two levels)."""
        return DIFFICULTY_LEVELS - 2 if self.preset == "hard" else 0


class QualityParams(BaseModel):
    """Thresholds of the quality report's check on linkqa_dataset (quality/; a failed check blocks the release
    in the same run)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # 1e999 is not a setting

    paraphrase_overlap: float = Field(0.5, gt=0, le=1, description="Jaccard of the sets of tokens and token pairs "
                                      "(English words, Chinese characters) with a seed at which a row counts as "
                                      "its near-paraphrase")
    max_paraphrase_share: float = Field(0.05, ge=0, le=1, description="the check fails when more rows are "
                                        "near-paraphrases of one of their own seeds")
    max_repeated_ngram_share: float = Field(0.5, ge=0, le=1, description="the check fails when more rows share "
                                            "a long n-gram (10 words, 20 Chinese characters) with a row of another "
                                            "question family")
    min_distinct_2: float = Field(0.0, ge=0, le=1, description="the check fails below this distinct-2 of the "
                                  "questions (measured on an even sample of at most 100k rows; 0 = not checked)")
    max_difficulty_kl: float | None = Field(None, ge=0, description="the check fails when the rows' difficulty "
                                            "labels are further from the target (KL, nats); None = not checked")
    min_rows: int = Field(50, ge=1, description="the check judges from this many rows on (the report is always "
                                                "computed)")


class SeedParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # 1e999 is not a setting

    sample_per_discipline: int | None = Field(
        None, ge=1, description="use only this many seeds of each discipline (a stable pick, English and Chinese "
                                "taking turns; raising it later keeps the earlier picks); None = every seed")


class LinkSynSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # 1e999 is not a setting

    seeds: SeedParams = Field(default_factory=SeedParams)
    walk: WalkParams = Field(default_factory=WalkParams)
    synthesis: SynthesisParams = Field(default_factory=SynthesisParams)
    dataset: DatasetParams = Field(default_factory=DatasetParams)
    difficulty: DifficultyParams = Field(default_factory=DifficultyParams)
    quality: QualityParams = Field(default_factory=QualityParams)

    @model_validator(mode="after")
    def _one_histogram(self) -> LinkSynSettings:
        if self.walk.difficulty_histogram is not None and self.difficulty.histogram is not None:
            raise ValueError("set difficulty.histogram or walk.difficulty_histogram (its older spelling), not both")
        return self
