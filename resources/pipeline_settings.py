"""The pipeline settings as a Dagster resource, editable in the launchpad. The fields are the
plain pydantic models of linksyn_assets.settings (mixed into dagster.Config)."""


import dagster as dg
from pydantic import Field

from linksyn_assets.settings import DatasetParams, LinkSynSettings, SeedParams, SynthesisParams, WalkParams


class SeedConfig(SeedParams, dg.Config):
    pass


class WalkConfig(WalkParams, dg.Config):
    pass


class SynthesisConfig(SynthesisParams, dg.Config):
    pass


class DatasetConfig(DatasetParams, dg.Config):
    pass


class LinkSynSettingsResource(dg.ConfigurableResource):
    """All knobs: seeds (a sample per discipline), walk (alpha, beta, gamma, lengths, seeds per path, mix,
    difficulty, RNG seed), synthesis (QA per path, hard disciplines) and dataset QC bounds."""

    seeds: SeedConfig = Field(default_factory=SeedConfig)
    walk: WalkConfig = Field(default_factory=WalkConfig)
    synthesis: SynthesisConfig = Field(default_factory=SynthesisConfig)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)

    def plain(self) -> LinkSynSettings:
        return LinkSynSettings(seeds=SeedParams.model_validate(self.seeds.model_dump()),
                               walk=WalkParams.model_validate(self.walk.model_dump()),
                               synthesis=SynthesisParams.model_validate(self.synthesis.model_dump()),
                               dataset=DatasetParams.model_validate(self.dataset.model_dump()))
