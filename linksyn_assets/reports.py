"""What each asset reports about its materialization, as typed records.

An asset builds its report, the wiring turns it into Dagster metadata in one place (`assets/metadata.py`), and
everything that reads an asset's numbers back (the CLI summary, the release, the growth toward a target) goes
through one reader that validates them into the same model. A renamed field is then one edit and a type error,
not three layers reading a key that no longer exists. Fields hold what a reader needs; the rest of an asset's
metadata (plots, previews, settings) is for the UI only and is not part of the report.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from linksyn_assets.quality.report import QualityReport


class QCStep(BaseModel):
    """One QC step's funnel: rows that reached it and rows it let through."""

    step: str
    entered: int
    passed: int


class Report(BaseModel):
    """The part every asset reports; `SHOWN` fields are shown at the top of the catalog, the rest in details."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())
    SHOWN: ClassVar[tuple[str, ...]] = ("rows",)
    # what was new in the materialization (zero when it reused the stored table) and what counts as kept then
    NEW: ClassVar[tuple[str, ...]] = ()
    KEPT: ClassVar[str | None] = None

    rows: int = 0
    unchanged_since_run: str | None = None  # set when the stored table was reused: the run that made it

    def _batches(self) -> list[LLMBatchReport]:
        own = [self] if isinstance(self, LLMBatchReport) else []
        return own + [v for v in self.__dict__.values() if isinstance(v, LLMBatchReport)]

    @property
    def complete(self) -> bool:
        """Every LLM request behind it was answered: a rerun would not add anything (recipes.py)."""
        return all(b.llm_failed == 0 and b.llm_not_sent == 0 for b in self._batches())

    def reused(self, made_by: str) -> Report:
        """The same report for a materialization that reused the stored table made by run `made_by`: the data's
        numbers stay; what this run sent, paid and added is zero."""
        update: dict[str, Any] = {k: v.without_run_counts() for k, v in self.__dict__.items()
                                  if isinstance(v, LLMBatchReport)}
        update.update(dict.fromkeys(self.NEW, 0), unchanged_since_run=self.unchanged_since_run or made_by)
        if self.KEPT:
            update[self.KEPT] = self.rows
        copy = self.model_copy(update=update)
        return copy.without_run_counts() if isinstance(copy, LLMBatchReport) else copy


class LLMBatchReport(BaseModel):
    """One LLM batch: the route, what it cost and how the replies came back (llm/records.py BatchStats)."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    model: str | None = None
    prompt_version: str | None = None
    llm_stage: str = ""
    llm_requests: int = 0
    llm_cache_hits: int = 0
    llm_http_calls: int = 0
    llm_retries: int = 0
    llm_throttled: int = 0
    llm_repaired: int = 0
    llm_length_retries: int = 0
    llm_blank_retries: int = 0
    llm_format_switches: int = 0
    llm_ok: int = 0
    llm_failed: int = 0
    llm_failed_by_reason: dict[str, int] = Field(default_factory=dict)
    llm_not_sent: int = 0
    llm_price_source: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    data_cost_usd: float = 0.0  # the data's cost: answers reused from the ledger count at their first cost

    @property
    def priced(self) -> bool:
        return self.llm_price_source != "none" or self.llm_http_calls == 0

    def plus(self, other: LLMBatchReport) -> LLMBatchReport:
        """Two batches of one stage as one (a step that sends its requests in several batches)."""
        mine, theirs = self.model_dump(), other.model_dump()
        out = {k: (v + theirs[k] if isinstance(v, int | float) and not isinstance(v, bool) else v)
               for k, v in mine.items()}
        reasons = dict(self.llm_failed_by_reason)
        for reason, n in other.llm_failed_by_reason.items():
            reasons[reason] = reasons.get(reason, 0) + n
        return LLMBatchReport.model_validate({**out, "llm_failed_by_reason": reasons,
                                             "cost_usd": round(out["cost_usd"], 6),
                                             "data_cost_usd": round(out["data_cost_usd"], 6)})

    def without_run_counts(self) -> Any:
        return self.model_copy(update=dict.fromkeys(RUN_COUNTS, 0))


# What one run did (as opposed to what the data is): zero when a run reused the stored table.
RUN_COUNTS = ("llm_requests", "llm_cache_hits", "llm_http_calls", "llm_retries", "llm_throttled",
              "llm_length_retries", "llm_blank_retries", "llm_format_switches", "llm_not_sent", "prompt_tokens",
              "completion_tokens", "reasoning_tokens", "cost_usd")


class SeedsReport(Report):
    SHOWN = ("rows", "seeds_in_source", "quarantined")

    seeds_in_source: int = 0
    quarantined: int = 0
    source_files: int = 0
    files_skipped: int = 0
    files_skipped_reasons: str = "none"
    rows_read_all_disciplines: int = 0
    duplicates_collapsed_all_disciplines: int = 0
    fingerprint: str = ""  # of the discipline's seeds in the source (seeds/fingerprint.py), before any sample
    links_outside_source: dict[str, str] = Field(default_factory=dict)  # file -> target, all disciplines


class LLMAssetReport(Report, LLMBatchReport):
    """An asset made by one LLM batch (seed_kps, synthesized_qa, hard_qa)."""

    SHOWN = ("rows", "llm_http_calls", "cost_usd")


class ExtractionReport(LLMAssetReport):
    SHOWN = ("rows", "seeds_with_kps", "llm_http_calls", "cost_usd")

    seeds_with_kps: int = 0


class GraphReport(Report):
    """A discipline's view of the corpus KP graph; rows = its nodes."""

    home_kps: int = 0
    isolated_home_kps: int = 0
    nodes: int = 0
    input_disciplines: list[str] = Field(default_factory=list)
    left_out: dict[str, str] = Field(default_factory=dict)  # discipline -> why its seed_kps are not in the graph
    corpus_version: str = ""


class WalkReport(Report):
    SHOWN = ("rows", "paths_new", "kp_coverage", "kp_coverage_uniform")
    NEW = ("paths_new", "paths_retired")
    KEPT = "paths_kept"

    paths_new: int = 0
    paths_kept: int = 0
    paths_retired: int = 0
    paths_wanted: int = 0
    paths_for_target: int | None = None  # the round's size when dataset.target_rows/target_tokens is set
    kp_coverage: float = 0.0
    kp_coverage_uniform: float = 0.0
    difficulty_kl: float = 0.0
    discipline_target_share: float = 0.0
    difficulty_target: list[float] | None = None  # the histogram the paths aimed at (levels 0..4)


class HardReport(LLMAssetReport):
    SHOWN = ("rows", "failed_rows", "llm_http_calls", "cost_usd", "kept_harder")

    failed_rows: int = 0
    kept_harder: int = 0
    judge: LLMBatchReport | None = None


class SynthesisReport(LLMAssetReport):
    SHOWN = ("rows", "failed_rows", "llm_http_calls", "cost_usd")

    failed_rows: int = 0
    paths: int = 0


class DatasetReport(Report):
    SHOWN = ("rows", "rows_new", "tokens", "removed")
    NEW = ("rows_new", "rows_retired")
    KEPT = "rows_kept"

    rows_new: int = 0
    rows_kept: int = 0
    rows_retired: int = 0
    tokens: int = 0
    removed: int = 0
    paths: int = 0  # the walk paths behind these rows (synthesized_qa's paths): the pass rate per path
    qc_steps: list[QCStep] = Field(default_factory=list)
    removed_by_reason: dict[str, int] = Field(default_factory=dict)
    verification: dict[str, int] = Field(default_factory=dict)
    benchmark_files: dict[str, dict] = Field(default_factory=dict)
    benchmark_files_skipped: str = "none"
    verifier: LLMBatchReport | None = None
    quality: QualityReport | None = None

    def measure(self, name: str) -> int:
        """The amount grown toward a target: rows or tokens."""
        return self.tokens if name == "tokens" else self.rows


class ReleaseReport(Report):
    SHOWN = ("version", "rows", "tokens", "rows_added", "rows_retired", "empty_release")
    NEW = ("rows_added", "rows_retired")

    version: int = 0
    tokens: int = 0
    rows_added: int = 0
    rows_retired: int = 0
    empty_release: str | None = None
    release: str = ""  # the version's folder
    cross_discipline_duplicates: int = 0
    removed_by_reason: dict[str, int] = Field(default_factory=dict)
    by_discipline: dict[str, int] = Field(default_factory=dict)
    kp_coverage: dict[str, float] = Field(default_factory=dict)
    cost_usd_by_stage: dict[str, float] = Field(default_factory=dict)
    models_by_stage: dict[str, list[str]] = Field(default_factory=dict)
    missing_disciplines: list[str] = Field(default_factory=list)
    stale_disciplines_excluded: list[str] = Field(default_factory=list)
    quality: QualityReport | None = None
    quality_since_previous: dict[str, str] = Field(default_factory=dict)  # measure -> better / worse / same


REPORTS: dict[str, type[Report]] = {
    "seeds": SeedsReport, "seed_kps": ExtractionReport, "kp_graph": GraphReport, "walk_paths": WalkReport,
    "synthesized_qa": SynthesisReport, "hard_qa": HardReport, "linkqa_dataset": DatasetReport,
    "linkqa_release": ReleaseReport,
}


def llm_batches(report: Report) -> list[LLMBatchReport]:
    """Every LLM batch a report holds: its own, and nested ones (hard_qa's judge, linkqa_dataset's verifier)."""
    own = [report] if isinstance(report, LLMBatchReport) else []
    nested = [getattr(report, name) for name in ("judge", "verifier") if getattr(report, name, None) is not None]
    return [*own, *nested]
