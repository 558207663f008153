"""Backfills that work: the asset backfill over every discipline, run by Dagster's own daemon, completes in
dependency order and makes what `linksyn run` makes; the job-level stage 2 refuses a partial or outdated set
of disciplines instead of building a graph that depends on timing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.location import build_definitions
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.storage import as_path, data_dir, read_parquet, write_text_atomic
from resources import build_resources
from tests.dagster_server import ROOT, dagster_server, graphql
from tests.stub_llm_server import Faults, StubServer

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


def _tables(data: str | Path) -> dict[str, pl.DataFrame]:
    """Every asset table and the latest release's shards of a data dir (local or s3://), by relative path."""
    root = as_path(str(data))
    latest = json.loads((root / "release" / "latest.json").read_text(encoding="utf-8"))["path"]
    files = sorted((root / "assets").rglob("*.parquet"), key=str) + \
        sorted((root / "release" / latest).rglob("*.parquet"), key=str)
    prefix = len(str(root).rstrip("/")) + 1
    return {str(f)[prefix:].replace(f"release/{latest}", "release"): read_parquet(f) for f in files}


BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status numCancelable } ... on PythonError { message } } }"""


def _kill_a_run_worker_mid_extraction(home: Path, backfill_id: str, stub: StubServer) -> str:
    """SIGKILL the worker process of the first backfill run that is sending extraction requests."""
    deadline = time.monotonic() + 300
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            for run in instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id},
                                                       statuses=[dg.DagsterRunStatus.STARTED])):
                started = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_START).records
                if started and stub.state.by_stage["extract"] >= 3:
                    os.kill(started[0].event_log_entry.dagster_event.pid, signal.SIGKILL)
                    return run.run_id
            time.sleep(0.2)
    raise AssertionError("no backfill run was sending extraction requests")


@pytest.mark.daemon
def test_a_deployed_backfill_over_every_discipline_completes_in_order_like_linksyn_run(
        stub_env: StubServer, linked_seeds: Path, tmp_path: Path, postgres, s3,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment of deploy/dagster.yaml: the Dagster instance on PostgreSQL, runs queued by the
    QueuedRunCoordinator and started by the daemon in processes of their own, the request ledger on PostgreSQL
    and the data dir on S3. "Materialize all" over every partition makes what a local `linksyn run` makes, even
    when a run worker is SIGKILLed half-way: run monitoring fails that run and run_retries launches it again
    (issue 31), with no person involved."""
    env = {**os.environ, "LINKSYN_SEEDS": str(linked_seeds)}
    cli_data = tmp_path / "cli"
    _linksyn_run(tmp_path / "cli_home", {**env, "LINKSYN_DATA_DIR": str(cli_data)})

    deployed = {**s3.env(),
                "DAGSTER_POSTGRES_URL": postgres.create_database().replace("postgresql://", "postgresql+psycopg2://"),
                "LINKSYN_LEDGER_URL": postgres.create_database(),
                "LINKSYN_DATA_DIR": f"s3://{s3.create_bucket()}/linksyn",
                "LINKSYN_SCRATCH_DIR": str(tmp_path / "scratch")}
    for key, value in deployed.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "ui_home"
    home.mkdir()
    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))
    config["run_monitoring"]["poll_interval_seconds"] = 2  # the shipped 30 s, shortened for the test
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    write_text_atomic(data_dir() / "settings.json", json.dumps({"walk": {"paths_per_discipline": 2}}))
    with dg.DagsterInstance.from_config(str(home)) as instance:  # what the seed sensor does on a fresh instance
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        instance.add_dynamic_partitions(discipline_partitions.name, BOTH)
    ui_env = {**env, **deployed, "DAGSTER_HOME": str(home)}
    stub_env.reset(Faults(latency_s=0.2))  # slow enough to kill a worker mid-extraction
    with dagster_server("dagster dev", ui_env, tmp_path / "dagster_dev.log") as base:
        # what "Materialize all" -> "All partitions" in the UI sends
        launched = graphql(base, BACKFILL, {"params": {"assetSelection": [{"path": [a]} for a in ALL],
                                                       "allPartitions": True}})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        killed = _kill_a_run_worker_mid_extraction(home, launched["backfillId"], stub_env)
        deadline, status = time.monotonic() + 900, ""
        while time.monotonic() < deadline:
            status = graphql(base, STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]["status"]
            if status not in ("REQUESTED", "CANCELING", "FAILING"):
                break
            time.sleep(3)
    assert status == "COMPLETED_SUCCESS", (status, (tmp_path / "dagster_dev.log").read_text()[-4000:])
    # the backfill's runs did the LLM work themselves, each request once, recorded in the shared ledger; the
    # killed worker's calls in flight were sent again, and the ledger counts them
    ledger = RequestLedger(deployed["LINKSYN_LEDGER_URL"])
    assert set(ledger.counts()) == {"DONE"}
    assert stub_env.count <= ledger.sends_total() <= stub_env.count + 8

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
        dead = instance.get_run_by_id(killed)
        assert dead.status == dg.DagsterRunStatus.FAILURE  # marked by run monitoring, not left STARTED
        [retry] = [r for r in runs if r.tags.get("dagster/parent_run_id") == killed]  # launched by run_retries
        assert retry.status == dg.DagsterRunStatus.SUCCESS
        runs = [r for r in runs if r.run_id != killed]
        assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        pids = set()
        for run in runs:  # each run went through the queue and ran in a process of its own
            events = instance.all_logs(run.run_id)
            assert any(e.dagster_event_type == dg.DagsterEventType.RUN_ENQUEUED for e in events), run.run_id
            pids |= {e.dagster_event.pid for e in events if e.dagster_event_type == dg.DagsterEventType.RUN_START}
        assert len(pids) == len(runs) and os.getpid() not in pids

    cli, ui = _tables(cli_data), _tables(deployed["LINKSYN_DATA_DIR"])
    assert set(cli) == set(ui) and any(k.startswith("assets/kp_graph/") for k in cli)
    differ = [name for name in cli if not cli[name].equals(ui[name])]
    assert differ == [], differ


def test_a_broken_discipline_holds_back_only_itself(stub_env: StubServer, linked_seeds: Path, data_dir: Path) -> None:
    """A discipline whose seeds fail their blocking check never gets seed_kps; the others' graphs are built
    without it (named in kp_graph's report and check), reach their datasets and the release; its own kp_graph
    fails saying why."""
    from linksyn_assets.assets import ALL_ASSETS
    from linksyn_assets.assets.metadata import run_reports
    from linksyn_assets.checks import ALL_CHECKS
    from linksyn_assets.reports import GraphReport, ReleaseReport
    from tests.conftest import write_jsonl

    write_jsonl(linked_seeds / "economics.jsonl", [  # one good row, two quarantined: 2/3 > 0.5 blocks it
        {"question": "需求价格弹性如何影响企业的定价策略？", "answer": "弹性大时降价", "discipline": "经济学"},
        {"question": "", "answer": "x", "discipline": "economics"},
        {"question": "What is marginal cost?", "answer": "", "discipline": "economics"}])
    resources = build_resources(seeds_path=str(linked_seeds), settings_overrides={"walk": {"paths_per_discipline": 2}})

    def run(selection: list[str], d: str | None) -> dg.ExecuteInProcessResult:
        return dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=selection, partition_key=d, instance=instance,
                              resources=resources, raise_on_error=False)

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["economics", *BOTH])
        for d in ["economics", *BOTH]:
            run(["seeds", "seed_kps"], d)
        assert not (data_dir / "assets" / "seed_kps" / "economics.parquet").exists()  # blocked by the check
        for d in BOTH:
            result = run(["kp_graph", "walk_paths", "synthesized_qa", "hard_qa", "linkqa_dataset"], d)
            assert result.success, d
            graph = run_reports(result)["kp_graph"]
            assert isinstance(graph, GraphReport) and graph.input_disciplines == BOTH
            assert "last attempt failed" in graph.left_out["economics"]
            checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
            assert checks["kp_graph_has_discipline_kps"].passed
            assert "economics" in str(checks["kp_graph_has_discipline_kps"].metadata["left_out"].value)
        own = run(["kp_graph"], "economics")
        assert not own.success
        assert "economics is held back" in own.get_step_failure_events()[0].step_failure_data.error.message
        release = run_reports(run(["linkqa_release"], None))["linkqa_release"]
        assert isinstance(release, ReleaseReport) and release.rows > 0
        assert release.missing_disciplines == ["economics"] and set(release.by_discipline) == set(BOTH)


def test_automation_goes_on_without_a_discipline_held_back_by_its_check(stub_env: StubServer, linked_seeds: Path,
                                                                        data_dir: Path) -> None:
    """With the automation sensor on, a discipline whose seeds fail their blocking check does not stop the
    graphs of the others: an update to physics reaches its kp_graph and walks."""
    from linksyn_assets.assets import ALL_ASSETS
    from linksyn_assets.checks import ALL_CHECKS
    from tests.conftest import write_jsonl

    write_jsonl(linked_seeds / "economics.jsonl", [
        {"question": "需求价格弹性如何影响企业的定价策略？", "answer": "弹性大时降价", "discipline": "经济学"},
        {"question": "", "answer": "x", "discipline": "economics"},
        {"question": "What is marginal cost?", "answer": "", "discipline": "economics"}])
    resources = build_resources(seeds_path=str(linked_seeds), settings_overrides={"walk": {"paths_per_discipline": 2}})
    defs = dg.Definitions(assets=ALL_ASSETS, asset_checks=ALL_CHECKS, resources=resources)
    everyone = ["economics", *BOTH]

    def requested(tick: dg.EvaluateAutomationConditionsResult) -> dict[str, list[str]]:
        return {a.key.to_user_string(): sorted(tick.get_requested_partitions(a.key))
                for a in ALL_ASSETS if tick.get_requested_partitions(a.key)}

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, everyone)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        for d in everyone:
            dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=["seeds", "seed_kps"], partition_key=d,
                           instance=instance, resources=resources, raise_on_error=False)
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        plan = requested(tick)
        assert set(plan.get("kp_graph", [])) >= set(BOTH), plan
        assert "economics" not in plan.get("seed_kps", []), plan  # its check still blocks its extraction
        release = None
        for _ in range(8):  # what the daemon would launch: each partition's requested assets in one run
            partitions = {d for assets in plan.values() for d in assets if d}
            for d in sorted(partitions):
                selection = [a for a, ds in plan.items() if d in ds]
                dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=selection, partition_key=d, instance=instance,
                               resources=resources, raise_on_error=False)
            if tick.get_num_requested(dg.AssetKey("linkqa_release")):
                release = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=["linkqa_release"],
                                         instance=instance, resources=resources)
                break
            tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
            plan = requested(tick)
        assert release is not None and release.success  # the release went out without economics
        from linksyn_assets.assets.metadata import run_reports

        report = run_reports(release)["linkqa_release"]
        assert report.missing_disciplines == ["economics"] and report.rows > 0
