"""Backfills that work: the asset backfill over every discipline, run by Dagster's own daemon, completes in
dependency order and makes what `linksyn run` makes; the job-level stage 2 refuses a partial or outdated set
of disciplines instead of building a graph that depends on timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from linksyn_assets.cli import INSTANCE_YAML
from linksyn_assets.location import build_definitions
from linksyn_assets.partitions import discipline_partitions
from resources import build_resources
from tests.dagster_server import ROOT, dagster_server, graphql
from tests.stub_llm_server import StubServer

BOTH = ["mathematics", "physics"]
ALL = ["seeds", "seed_kps", "kp_graph", "walk_paths", "synthesized_qa", "hard_qa", "linkqa_dataset", "linkqa_release"]


def _stage_two_error(result: dg.ExecuteInProcessResult) -> str:
    failures = result.get_step_failure_events()
    assert [f.step_key for f in failures] == ["kp_graph"]
    return failures[0].step_failure_data.error.message


def test_stage_two_refuses_a_partial_or_outdated_set_of_disciplines(stub_env: StubServer, linked_seeds: Path,
                                                                    data_dir: Path) -> None:
    defs = build_definitions(build_resources(seeds_path=str(linked_seeds),
                                             settings_overrides={"walk": {"paths_per_discipline": 2}}))
    ingest, stage_two = defs.resolve_job_def("linksyn_ingest"), defs.resolve_job_def("linksyn_pipeline")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, BOTH)
        assert ingest.execute_in_process(partition_key="physics", instance=instance).success
        partial = stage_two.execute_in_process(partition_key="physics", instance=instance, raise_on_error=False)
        assert not partial.success
        assert "mathematics: seed_kps never materialized" in _stage_two_error(partial)
        assert "physics" not in _stage_two_error(partial).split("not ready:", 1)[1]
        assert stub_env.state.by_stage["synthesize"] == 0  # nothing downstream ran
        assert not (data_dir / "assets" / "kp_graph" / "physics").exists()

        assert ingest.execute_in_process(partition_key="mathematics", instance=instance).success
        assert stage_two.execute_in_process(partition_key="physics", instance=instance).success

        # new seeds for mathematics, not yet extracted: the graph would miss them
        assert ingest.execute_in_process(partition_key="mathematics", instance=instance,
                                         asset_selection=[dg.AssetKey("seeds")]).success
        outdated = stage_two.execute_in_process(partition_key="physics", instance=instance, raise_on_error=False)
        assert "mathematics: its seeds changed after its seed_kps" in _stage_two_error(outdated)


def _linksyn_run(home: Path, env: dict[str, str]) -> None:
    out = subprocess.run([sys.executable, "-m", "linksyn_assets.cli", "run", "--paths-per-discipline", "2"],
                         env={**env, "DAGSTER_HOME": str(home)}, cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def _tables(data: Path) -> dict[str, pl.DataFrame]:
    files = sorted((data / "assets").rglob("*.parquet")) + sorted((data / "release" / "latest").rglob("*.parquet"))
    return {str(f.relative_to(data)).replace("release/latest", "release"): pl.read_parquet(f) for f in files}


BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status numCancelable } ... on PythonError { message } } }"""


@pytest.mark.daemon
def test_an_asset_backfill_over_every_discipline_completes_in_order_like_linksyn_run(
        stub_env: StubServer, linked_seeds: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LINKSYN_SEEDS": str(linked_seeds)}
    cli_data, ui_data = tmp_path / "cli", tmp_path / "ui"
    _linksyn_run(tmp_path / "cli_home", {**env, "LINKSYN_DATA_DIR": str(cli_data)})

    home = tmp_path / "ui_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    ui_data.mkdir()
    (ui_data / "settings.json").write_text(json.dumps({"walk": {"paths_per_discipline": 2}}), encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home)) as instance:  # what the seed sensor does on a fresh instance
        instance.add_dynamic_partitions(discipline_partitions.name, BOTH)
    ui_env = {**env, "DAGSTER_HOME": str(home), "LINKSYN_DATA_DIR": str(ui_data)}
    calls_before = stub_env.count
    with dagster_server("dagster dev", ui_env, tmp_path / "dagster_dev.log") as base:
        # what "Materialize all" -> "All partitions" in the UI sends
        launched = graphql(base, BACKFILL, {"params": {"assetSelection": [{"path": [a]} for a in ALL],
                                                       "allPartitions": True}})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        deadline, status = time.monotonic() + 900, ""
        while time.monotonic() < deadline:
            status = graphql(base, STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]["status"]
            if status not in ("REQUESTED", "CANCELING", "FAILING"):
                break
            time.sleep(3)
    assert status == "COMPLETED_SUCCESS", (status, (tmp_path / "dagster_dev.log").read_text()[-4000:])
    assert stub_env.count > calls_before  # the backfill's runs did the LLM work themselves (own ledger)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        def times(asset: str) -> list[float]:
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
            return sorted(r.timestamp for r in records)

        for asset in ALL[:-1]:
            partitions = {r.partition_key for r in instance.fetch_materializations(dg.AssetKey(asset),
                                                                                   limit=100).records}
            assert partitions == set(BOTH), asset
        # in order: no graph before every discipline's KPs, no release before every dataset
        assert max(times("seed_kps")) < min(times("kp_graph"))
        assert max(times("linkqa_dataset")) < min(times("linkqa_release"))
        assert len(times("kp_graph")) == 2 and len(times("linkqa_release")) == 1
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": launched["backfillId"]}))
        assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    cli, ui = _tables(cli_data), _tables(ui_data)
    assert set(cli) == set(ui) and any(k.startswith("assets/kp_graph/") for k in cli)
    differ = [name for name in cli if not cli[name].equals(ui[name])]
    assert differ == [], differ
