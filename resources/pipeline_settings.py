"""The pipeline settings as a Dagster resource, editable in the launchpad. The fields are the
plain pydantic models of linksyn_assets.settings (mixed into dagster.Config)."""


import dagster as dg
from pydantic import Field, PrivateAttr

from linksyn_assets.qc.benchmarks import Benchmarks
from linksyn_assets.settings import (
    DatasetParams,
    DifficultyParams,
    LinkSynSettings,
    QualityParams,
    SeedParams,
    SynthesisParams,
    WalkParams,
)


class SeedConfig(SeedParams, dg.Config):
    pass


class WalkConfig(WalkParams, dg.Config):
    pass


class SynthesisConfig(SynthesisParams, dg.Config):
    pass


class DatasetConfig(DatasetParams, dg.Config):
    pass


class DifficultyConfig(DifficultyParams, dg.Config):
    pass


class QualityConfig(QualityParams, dg.Config):
    pass


class LinkSynSettingsResource(dg.ConfigurableResource):
    """All knobs: seeds (a sample per discipline), walk (alpha, beta, gamma, lengths, seeds per path, mix,
    difficulty, RNG seed), synthesis (QA per path, hard disciplines), dataset QC bounds, the difficulty preset and
    the quality report's thresholds."""

    seeds: SeedConfig = Field(default_factory=SeedConfig)
    walk: WalkConfig = Field(default_factory=WalkConfig)
    synthesis: SynthesisConfig = Field(default_factory=SynthesisConfig)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    difficulty: DifficultyConfig = Field(default_factory=DifficultyConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    _benchmarks: tuple[tuple, Benchmarks] | None = PrivateAttr(default=None)

    def plain(self) -> LinkSynSettings:
        return LinkSynSettings(seeds=SeedParams.model_validate(self.seeds.model_dump()),
                               walk=WalkParams.model_validate(self.walk.model_dump()),
                               synthesis=SynthesisParams.model_validate(self.synthesis.model_dump()),
                               dataset=DatasetParams.model_validate(self.dataset.model_dump()),
                               difficulty=DifficultyParams.model_validate(self.difficulty.model_dump()),
                               quality=QualityParams.model_validate(self.quality.model_dump()))

    def benchmarks(self) -> Benchmarks:
        """The benchmark files of dataset.benchmark_files as one index, loaded once per run (the dataset step and
        its clean check share it; a changed file, by size and mtime, is read again)."""
        params = self.plain().dataset
        version = Benchmarks.version(params.benchmark_files, params.decontamination_ngram,
                                     params.contamination_containment)
        if self._benchmarks is None or self._benchmarks[0] != version:
            loaded = Benchmarks.load(list(params.benchmark_files), params.decontamination_ngram,
                                     params.contamination_containment)
            self._benchmarks = (version, loaded)
        return self._benchmarks[1]
