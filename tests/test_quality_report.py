"""The quality report through Dagster against the stub LLM: on every linkqa_dataset partition (report, plots and
the blocking check) and on the release (quality.json, the card's Quality section, the changelog's comparison
with the previous version); the hard difficulty preset moves the walks' target and hardening upward."""

from __future__ import annotations

import base64
from pathlib import Path

import dagster as dg
import polars as pl

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.checks import ALL_CHECKS, linkqa_dataset_quality
from linksyn_assets.layout import asset_file, release_version_dir
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.quality.report import MEASURES, QualityReport
from resources import build_resources
from tests.stub_llm_server import StubServer
from tests.test_incremental import _release
from tests.test_pipeline import _run_all

DISCIPLINES = ["mathematics", "physics"]


def _stored(version: int) -> QualityReport:
    return QualityReport.model_validate_json((release_version_dir(version) / "quality.json").read_text("utf-8"))


def _svg(markdown: str) -> str:
    return base64.b64decode(markdown.split("base64,", 1)[1].rstrip(")")).decode("utf-8")


def test_a_release_made_twice_with_different_settings_compares_its_quality(
        stub_env: StubServer, linked_seeds: Path, data_dir: Path) -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, DISCIPLINES)
        first = build_resources(seeds_path=str(linked_seeds), settings_overrides={"walk": {"paths_per_discipline": 2}})
        meta = _run_all(instance, first, DISCIPLINES)
        for d in DISCIPLINES:
            values = meta[("linkqa_dataset", d)]
            report = QualityReport.model_validate(values["quality"])
            assert report.rows == values["rows"] > 0
            assert sum(report.novelty.own_histogram) == report.rows and report.correctness.verified_rows > 0
            assert report.difficulty.target is not None and abs(sum(report.difficulty.target) - 1) < 1e-3
            assert "solve agrees" in _svg(values["quality_difficulty_plot"])
            assert "own seeds" in _svg(values["quality_overlap_plot"])
        v1 = _release(instance, first)
        folder = release_version_dir(1)
        stored = _stored(1)
        assert stored == QualityReport.model_validate(v1["quality"])
        assert stored.rows == v1["rows"] and stored.knowledge.coverage is not None
        card = (folder / "README.md").read_text(encoding="utf-8")
        quality = card.split("## Quality", 1)[1].split("\n## ", 1)[0]
        assert "| distinct-2 |" in quality and "near-paraphrase" in quality and "Quality since" not in card
        for d in DISCIPLINES:  # a line per discipline, from its partition's report
            line = next(x for x in quality.splitlines() if x.startswith(f"| {d} |"))
            assert line.split("|")[2].strip() == f"{meta[('linkqa_dataset', d)]['rows']:,}"
        assert {"quality_difficulty_plot", "quality_overlap_plot"} <= set(v1)
        assert v1["quality_since_previous"] == {}

        # more paths, drawn for the hard preset: a new version whose changelog compares every measure
        second = build_resources(seeds_path=str(linked_seeds), settings_overrides={
            "walk": {"paths_per_discipline": 4}, "difficulty": {"preset": "hard"}})
        meta = _run_all(instance, second, DISCIPLINES)
        target = meta[("walk_paths", "physics")]["difficulty_target"]
        assert abs(sum(target[3:]) - 0.8) < 1e-3  # the hard preset: 80% on the top two levels
        hard = pl.read_parquet(asset_file("hard_qa", "physics"))
        assert hard.height and (hard["target_difficulty"] >= 3).all()  # hardening aims at 3 or above
        v2 = _release(instance, second)
        assert v2["version"] == 2
        changes = (release_version_dir(2) / "README.md").read_text(encoding="utf-8").split("## Changes", 1)[1]
        changes = changes.split("\n## ", 1)[0]
        assert "Since v1:" in changes and "Quality since v1:" in changes
        after = QualityReport.model_validate(v2["quality"])
        verdicts = v2["quality_since_previous"]
        assert list(verdicts) == [label for _, label, _ in MEASURES]
        for path, label, direction in MEASURES:
            a, b = stored.value(path), after.value(path)
            line = next(x for x in changes.splitlines() if x.startswith(f"| {label} |"))
            assert line.endswith(f"| {verdicts[label]} |")
            if a is not None and b is not None and abs(a - b) >= 1e-4:
                assert verdicts[label] == ("better" if (b - a) * direction > 0 else "worse"), label
        assert after.knowledge.kps_used > stored.knowledge.kps_used  # twice the paths reach more KPs
        assert verdicts["KPs used"] == "better"
        assert _stored(2) == after  # v2 stored its own report for the next changelog


def test_the_quality_check_blocks_below_its_thresholds(stub_env: StubServer, linked_seeds: Path,
                                                      data_dir: Path) -> None:
    """The check passes on the defaults; asking for a distinct-2 of 1.0 (every set of questions is below it) fails
    it, naming the measure, and as a blocking check it fails the step, so nothing downstream runs on it."""
    assert linkqa_dataset_quality.blocking
    resources = build_resources(seeds_path=str(linked_seeds), settings_overrides={"walk": {"paths_per_discipline": 2}})
    strict = build_resources(seeds_path=str(linked_seeds), settings_overrides={
        "walk": {"paths_per_discipline": 2}, "quality": {"min_distinct_2": 1.0, "min_rows": 1}})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, DISCIPLINES)
        _run_all(instance, resources, DISCIPLINES)  # every check passes, this one included
        result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=["linkqa_dataset"], partition_key="physics",
                                instance=instance, resources=strict, raise_on_error=False)
        evaluation = next(e for e in result.get_asset_check_evaluations()
                          if e.asset_check_key == linkqa_dataset_quality.key)
        assert not evaluation.passed
        problems = evaluation.metadata["problems"].value
        assert any("distinct-2" in p and "expected at least 1.000" in p for p in problems)
        assert "linkqa_dataset_quality" in result.get_step_failure_events()[0].step_failure_data.error.message
