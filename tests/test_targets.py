"""Datasets that grow to a target (release/targets.py, walk_paths, dataset_target_sensor and
`linksyn run --target-rows`)."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import polars as pl

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.assets.metadata import latest_report, run_reports
from linksyn_assets.checks import ALL_CHECKS
from linksyn_assets.dataset_store.manifest import read_live
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.release.targets import (
    MAX_GROWTH,
    PRIOR_RATE,
    next_round,
    paths_for_round,
    split_target,
    walk_round,
)
from linksyn_assets.reports import DatasetReport, WalkReport
from linksyn_assets.sensors import dataset_target_sensor
from linksyn_assets.stages import INGEST, PER_DISCIPLINE
from resources import build_resources
from tests.stub_llm_server import StubServer
from tests.test_operations import _linksyn


def test_targets_split_by_share_and_rounds_size_from_the_pass_rate() -> None:
    assert split_target(10, {"physics": 2.0, "mathematics": 1.0, "化学": 1.0}) == {
        "mathematics": 3, "physics": 5, "化学": 2}  # largest remainder: 2.5, 2.5 -> the first by name
    assert split_target(10, {"physics": 0.0}) == {}
    assert paths_for_round(have=12, target=12, paths=6) == 6  # met: nothing more
    assert paths_for_round(have=6, target=12, paths=6) == 12  # 1 row per path: 6 more paths
    assert paths_for_round(have=0, target=3, paths=2) == 2 + int(3 / PRIOR_RATE)  # nothing passed yet: the prior
    assert paths_for_round(have=1, target=1000, paths=10) == 10 + int(MAX_GROWTH * 10) + 4  # bounded growth


def _dataset_rows(data_dir: Path) -> dict[str, int]:
    return {p.name: read_live(p).height for p in (data_dir / "dataset").iterdir() if p.is_dir()}


def test_linksyn_run_grows_each_discipline_to_its_share(stub_env: StubServer, linked_seeds: Path, tmp_path: Path,
                                                        data_dir: Path) -> None:
    out = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1", "--target-rows", "24"],
                   tmp_path / "home")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "[target round 1]" in out.stdout
    rows = _dataset_rows(data_dir)
    assert rows["physics"] >= 12 and rows["mathematics"] >= 12  # 24 split by seeds: 12 each
    report = out.stdout.split("Target:", 1)[1]
    assert re.search(r"physics: \d+ of 12 \(reached; \d+ paths\)", report), report
    assert re.search(r"mathematics: \d+ of 12 \(reached; \d+ paths\)", report), report
    release = pl.read_parquet(data_dir / "release" / "latest" / "data" / "*.parquet")
    assert release.height >= 24


def test_a_budget_too_small_stops_the_rounds_and_says_what_is_missing(
        stub_env: StubServer, linked_seeds: Path, tmp_path: Path, data_dir: Path) -> None:
    first = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1"], tmp_path / "home")
    assert first.returncode == 0, first.stdout[-2000:]
    budget = {"LINKSYN_BUDGET_TOKENS": "600"}  # per run: a round's synthesis of many paths cannot fit
    out = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1", "--target-rows", "400"],
                   tmp_path / "home", budget)
    report = out.stdout.split("Target:", 1)[1]
    for discipline in ("physics", "mathematics"):
        match = re.search(rf"{discipline}: (\d+) of 200 \(budget ended, (\d+) missing", report)
        assert match, report
        assert int(match.group(1)) + int(match.group(2)) == 200
        assert int(match.group(1)) == _dataset_rows(data_dir)[discipline]


def _materialize(instance: dg.DagsterInstance, resources: dict, assets: list[str], d: str) -> dict:
    result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=assets, partition_key=d, instance=instance,
                            resources=resources)
    assert result.success
    return run_reports(result)


def _grow_sensor(instance: dg.DagsterInstance, resources: dict, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={
        "settings": resources["settings"], "seed_source": resources["seed_source"]})
    result = dataset_target_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_the_target_is_honoured_through_dagster_without_the_cli(stub_env: StubServer, linked_seeds: Path,
                                                               data_dir: Path) -> None:
    """walk_paths sizes its round from linkqa_dataset's report, and dataset_target_sensor asks for rounds
    until every discipline has its share: the UI / backfill / sensor path, no `linksyn run` involved."""
    disciplines = ["mathematics", "physics"]
    plain = build_resources(seeds_path=str(linked_seeds), settings_overrides={"walk": {"paths_per_discipline": 1}})
    target = build_resources(seeds_path=str(linked_seeds), settings_overrides={
        "walk": {"paths_per_discipline": 1}, "dataset": {"target_rows": 24}})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, disciplines)
        for stage in (INGEST, PER_DISCIPLINE):
            for d in disciplines:
                _materialize(instance, plain, list(stage.assets), d)
        first = latest_report(instance, "linkqa_dataset", "physics")
        assert isinstance(first, DatasetReport) and first.paths == 1 and 0 < first.rows < 12
        # one walk materialized alone, as from the UI: the round reaches physics' 12 at the measured rate
        walk = _materialize(instance, target, ["walk_paths"], "physics")["walk_paths"]
        assert isinstance(walk, WalkReport)
        wanted = walk_round(12, first.rows, first.paths, 1)
        assert walk.paths_for_target == walk.paths_wanted == wanted > 1
        assert walk.rows == wanted and walk.paths_new == wanted - 1
        # the sensor: physics' round is under way (its dataset has not caught up), mathematics can grow
        tick = _grow_sensor(instance, target, None)
        assert [r.partition_key for r in tick.run_requests] == ["mathematics"]
        cursor = tick.cursor
        for d in disciplines:  # the rest of physics' round, and mathematics' requested run
            _materialize(instance, target, list(PER_DISCIPLINE.assets), d)
        for _ in range(6):
            tick = _grow_sensor(instance, target, cursor)
            cursor = tick.cursor
            if not tick.run_requests:
                break
            for request in tick.run_requests:
                _materialize(instance, target, list(PER_DISCIPLINE.assets), request.partition_key)
        assert not tick.run_requests and "mathematics reached" in str(tick.skip_reason), tick.skip_reason
        assert "physics reached" in str(tick.skip_reason)
    assert all(n >= 12 for n in _dataset_rows(data_dir).values()), _dataset_rows(data_dir)


def test_the_growth_decision_says_why_a_discipline_stops() -> None:
    assert next_round(12, None, None, None, None, 0, 6) == "waiting"  # not through the pipeline yet
    assert next_round(12, 12, 5, 5, 2, 1, 6) == "reached"
    assert next_round(12, 4, 5, 9, 4, 1, 6) == "waiting"  # the round's walk ran, its dataset not yet
    assert next_round(12, 4, 5, 5, 0, 1, 6) == "graph exhausted"
    assert next_round(12, 4, 5, 5, 3, 6, 6) == "rounds used up"
    assert next_round(12, 4, 5, 5, 3, 2, 6) == "grow"
    assert next_round(12, 4, 1, 1, 1, 0, 6) == "grow"  # the first pass's new paths do not end growth
    assert walk_round(None, 3, 1, 5) == 5 and walk_round(12, None, 0, 5) == 5  # no target / nothing measured
    assert walk_round(12, 12, 10, 5) == 10  # reached: the paths it has
    assert walk_round(12, 13, 40, 50) == 50  # never below the default
    assert walk_round(12, 1, 40, 50) == 40 + int(MAX_GROWTH * 40) + 4  # a low pass rate: bounded growth
