"""difficulty.preset (seeds, uniform, hard) and difficulty.histogram: the walks' target and where hardening aims."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from linksyn_assets.settings import DifficultyParams, LinkSynSettings, WalkParams
from linksyn_assets.synthesis.tables import hardening_targets
from linksyn_assets.walks.plan import HARD_TOP_SHARE, difficulty_target

SEEDS = [0, 0, 1, 2, 2, 2, 3, 4, 4, 4, None]


def test_each_preset_gives_its_histogram() -> None:
    own = (np.bincount([d for d in SEEDS if d is not None], minlength=5) + 1) / 15  # add-one smoothed
    assert np.allclose(difficulty_target(WalkParams(), SEEDS), own)  # the default: the seeds' own
    assert np.allclose(difficulty_target(WalkParams(), SEEDS, DifficultyParams(preset="uniform")), 0.2)
    hard = difficulty_target(WalkParams(), SEEDS, DifficultyParams(preset="hard"))
    assert hard.sum() == pytest.approx(1) and hard[3:].sum() == pytest.approx(HARD_TOP_SHARE)
    assert hard[3] / hard[4] == pytest.approx(own[3] / own[4])  # split as the seeds split it
    assert np.allclose(hard[:3] / hard[:3].sum(), own[:3] / own[:3].sum())  # the rest shaped like the seeds'
    explicit = DifficultyParams(preset="hard", histogram=[0, 0, 0, 1, 3])
    assert np.allclose(difficulty_target(WalkParams(), SEEDS, explicit), [0, 0, 0, 0.25, 0.75])  # wins over preset
    older = WalkParams(difficulty_histogram=[1, 1, 0, 0, 0])
    assert np.allclose(difficulty_target(older, SEEDS), [0.5, 0.5, 0, 0, 0])  # the older spelling still works


def test_bad_presets_and_two_histograms_are_refused() -> None:
    with pytest.raises(ValidationError, match="preset must be seeds, uniform or hard"):
        DifficultyParams(preset="extreme")
    with pytest.raises(ValidationError, match="difficulty.histogram needs 5"):
        DifficultyParams(histogram=[1, 2])
    with pytest.raises(ValidationError, match="not both"):
        LinkSynSettings.model_validate({"walk": {"difficulty_histogram": [1] * 5},
                                        "difficulty": {"histogram": [1] * 5}})


def test_the_hard_preset_makes_hardening_aim_at_the_top_two_levels() -> None:
    synth = pl.DataFrame({"qa_id": ["a", "b", "c"], "status": ["ok"] * 3, "copy_similarity": [0.0] * 3,
                          "difficulty": pl.Series([0, 2, 4], dtype=pl.Int8)})
    plain = hardening_targets(synth, 1, 0.6, DifficultyParams().hardening_floor())
    hard = hardening_targets(synth, 1, 0.6, DifficultyParams(preset="hard").hardening_floor())
    assert plain["target_difficulty"].to_list() == [1, 3, 4]
    assert hard["target_difficulty"].to_list() == [3, 3, 4]
