"""The sensor and the schedule, evaluated as Dagster evaluates them (build_sensor_context /
build_schedule_context against a temp instance)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import polars as pl

from linksyn_assets.assets.seeds import seeds
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.schedules import daily_ingest_schedule
from linksyn_assets.seeds.disciplines import discipline_key
from linksyn_assets.sensors import seed_source_sensor
from resources.pipeline_settings import LinkSynSettingsResource
from resources.seed_source import SeedSourceResource
from tests.conftest import write_jsonl
from tests.stub_llm_server import StubServer


def _seed(question: str, answer: str, discipline: str, language: str) -> dict:
    return {"question": question, "answer": answer, "discipline": discipline, "language": language}


def _evaluate(instance: dg.DagsterInstance, folder: Path, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"seed_source": SeedSourceResource(path=str(folder))})
    return seed_source_sensor(context)


def test_sensor_registers_new_disciplines_and_requests_only_changed_ones(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    write_jsonl(folder / "physics.jsonl", [_seed("What is the unit of force?", "newton", "physics", "en")])
    write_jsonl(folder / "cooking.jsonl", [_seed("炒菜时为什么要先热锅？", "防止粘锅", "烹饪技艺", "zh")])
    cooking = discipline_key("烹饪技艺")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, folder, None)
        assert sorted(r.partition_key for r in first.run_requests) == sorted(["physics", cooking])
        assert first.dynamic_partitions_requests[0].partition_keys == sorted(["physics", cooking])
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics", cooking])

        again = _evaluate(instance, folder, first.cursor)
        assert again.run_requests == [] and again.dynamic_partitions_requests == []

        write_jsonl(folder / "cooking.jsonl", [_seed("炒菜时为什么要先热锅？", "防止粘锅", "烹饪技艺", "zh"),
                                              _seed("面团为什么要醒？", "让面筋松弛", "烹饪技艺", "zh")])
        changed = _evaluate(instance, folder, again.cursor)
        assert [r.partition_key for r in changed.run_requests] == [cooking]
        assert json.loads(changed.cursor)[cooking] != json.loads(again.cursor)[cooking]
        # the same content twice gives the same run key: Dagster launches it once
        assert changed.run_requests[0].run_key == _evaluate(instance, folder, again.cursor).run_requests[0].run_key

        # a removed seed file touches only its discipline
        write_jsonl(folder / "physics_more.jsonl", [_seed("What is inertia?", "resistance to change", "physics", "en")])
        grown = _evaluate(instance, folder, changed.cursor)
        assert [r.partition_key for r in grown.run_requests] == ["physics"]
        (folder / "physics_more.jsonl").unlink()
        shrunk = _evaluate(instance, folder, grown.cursor)
        assert [r.partition_key for r in shrunk.run_requests] == ["physics"]
        assert json.loads(shrunk.cursor) == json.loads(changed.cursor)


def test_the_sensors_first_tick_starts_from_what_was_already_ingested(tmp_path: Path, data_dir: Path) -> None:
    """After a run ingested every discipline (as `linksyn run` does), the sensor's first tick (empty cursor)
    compares with the fingerprints the `seeds` asset recorded: it asks only for the discipline that changed
    since, not for everything."""
    folder = tmp_path / "seeds"
    write_jsonl(folder / "physics.jsonl", [_seed("What is the unit of force?", "newton", "physics", "en")])
    write_jsonl(folder / "cooking.jsonl", [_seed("炒菜时为什么要先热锅？", "防止粘锅", "烹饪技艺", "zh")])
    cooking = discipline_key("烹饪技艺")
    source = SeedSourceResource(path=str(folder))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics", cooking])
        for d in ("physics", cooking):
            assert dg.materialize([seeds], partition_key=d, instance=instance,
                                  resources={"seed_source": source, "settings": LinkSynSettingsResource()}).success
        first = _evaluate(instance, folder, None)
        assert first.run_requests == []  # nothing changed since the run
        write_jsonl(folder / "cooking.jsonl", [_seed("炒菜时为什么要先热锅？", "防止粘锅", "烹饪技艺", "zh"),
                                              _seed("面团为什么要醒？", "让面筋松弛", "烹饪技艺", "zh")])
        later = _evaluate(instance, folder, None)
        assert [r.partition_key for r in later.run_requests] == [cooking]


def test_schedule_skips_without_partitions_then_ingests_every_discipline_once_a_day() -> None:
    when = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        skipped = daily_ingest_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
        assert isinstance(skipped, dg.SkipReason) and "no discipline partitions" in skipped.skip_message
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics", "mathematics"])
        requests = daily_ingest_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
        assert [(r.partition_key, r.run_key) for r in requests] == [
            ("mathematics", "ingest:mathematics:2026-11-29"), ("physics", "ingest:physics:2026-11-29")]
    assert daily_ingest_schedule.job_name == "linksyn_ingest"


def test_automation_runs_cross_discipline_assets_only_on_a_complete_set(stub_env: StubServer, linked_seeds: Path,
                                                                         data_dir: Path) -> None:
    from linksyn_assets.assets import ALL_ASSETS
    from resources import build_resources

    resources = build_resources(seeds_path=str(linked_seeds))
    defs = dg.Definitions(assets=ALL_ASSETS, resources=resources)

    def requested(result: dg.EvaluateAutomationConditionsResult) -> dict[str, list[str]]:
        return {a.key.to_user_string(): sorted(result.get_requested_partitions(a.key))
                for a in ALL_ASSETS if result.get_requested_partitions(a.key)}

    def materialize(asset: str, discipline: str | None) -> None:
        assert dg.materialize(ALL_ASSETS, selection=[asset], partition_key=discipline, instance=instance,
                              resources=resources).success

    both = ["mathematics", "physics"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, both)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # the sensor is on
        assert tick.total_requested == 0
        for d in both:  # the seed sensor's runs
            materialize("seeds", d)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert requested(tick) == {"seed_kps": both}
        materialize("seed_kps", "mathematics")  # one discipline done, the other still running
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert "kp_graph" not in requested(tick)  # never a graph from a partial set of disciplines
        materialize("seed_kps", "physics")
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        plan = requested(tick)
        assert plan == {a: both for a in ("kp_graph", "walk_paths", "synthesized_qa", "hard_qa", "linkqa_dataset")}
        for asset in plan:  # what the daemon launches, in dependency order
            for d in both:
                materialize(asset, d)
        graphs = {f.relative_to(data_dir): pl.read_parquet(f)
                  for f in (data_dir / "assets" / "kp_graph").rglob("*.parquet")}
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        # then the release, once (it is unpartitioned), and nothing else
        assert tick.total_requested == tick.get_num_requested(dg.AssetKey("linkqa_release")) == 1
        materialize("linkqa_release", None)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert tick.total_requested == 0  # everything up to date

        # the sensor is switched off; meanwhile physics' seeds are re-read (e.g. by the schedule's run) and
        # mathematics' KPs are re-extracted by hand
        materialize("seeds", "physics")
        materialize("seed_kps", "mathematics")
        # switched on again: its cursor is where it stopped, so the first tick sees both changes
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert requested(tick) == {"seed_kps": ["physics"]}  # the graph waits: physics' KPs are out of date
        materialize("seed_kps", "physics")
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert requested(tick)["kp_graph"] == both

    # the graphs automation built equal the ones `linksyn run` builds from the same seeds
    import os
    import subprocess
    import sys

    cli_data = data_dir.parent / "cli_data"
    out = subprocess.run([sys.executable, "-m", "linksyn_assets.cli", "run", "--seeds", str(linked_seeds), "--select",
                          "seeds,seed_kps,kp_graph"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "DAGSTER_HOME": str(data_dir.parent / "cli_home"),
                              "LINKSYN_DATA_DIR": str(cli_data)})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert sorted(graphs) and sorted(graphs) == sorted(f.relative_to(cli_data) for f in
                                                     (cli_data / "assets" / "kp_graph").rglob("*.parquet"))
    for name, table in graphs.items():
        assert table.equals(pl.read_parquet(cli_data / name)), name


def test_automation_does_not_request_past_a_failed_blocking_check(stub_env: StubServer, tmp_path: Path,
                                                                  data_dir: Path) -> None:
    from linksyn_assets.assets import ALL_ASSETS
    from linksyn_assets.checks import ALL_CHECKS
    from resources import build_resources

    folder = tmp_path / "seeds"
    write_jsonl(folder / "physics.jsonl", [_seed("What is the unit of force?", "newton", "physics", "en")])
    # chemistry: three of four rows without an answer, over the 50% quarantine limit of seeds_well_formed
    write_jsonl(folder / "chemistry.jsonl", [_seed("水的化学式是什么？", "H2O", "chemistry", "zh"),
                                             *({"question": f"化学问题{i}？", "discipline": "chemistry"}
                                               for i in range(3))])
    resources = build_resources(seeds_path=str(folder))
    defs = dg.Definitions(assets=ALL_ASSETS, asset_checks=ALL_CHECKS, resources=resources)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["chemistry", "physics"])
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        for d in ("chemistry", "physics"):  # the sensor's runs: seeds and their checks
            dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=["seeds"], partition_key=d, instance=instance,
                           resources=resources, raise_on_error=False)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert sorted(tick.get_requested_partitions(dg.AssetKey("seed_kps"))) == ["physics"]
    assert stub_env.count == 0
