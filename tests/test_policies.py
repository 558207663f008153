"""LLM steps share the `llm` pool and retry transient step failures; failures a retry cannot fix are not
retried; the instance config that sets the pool limit loads."""

from __future__ import annotations

import socket
from pathlib import Path

import dagster as dg
import pytest
import yaml

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.assets.policies import LLM_POOL
from linksyn_assets.cli.environment import INSTANCE_YAML
from linksyn_assets.partitions import discipline_partitions
from resources import build_resources
from tests.stub_llm_server import StubServer

LLM_ASSETS = {"seed_kps", "synthesized_qa", "hard_qa", "linkqa_dataset"}
ROOT = Path(__file__).resolve().parents[1]


def test_every_llm_asset_is_in_the_pool_with_a_retry_policy() -> None:
    for assets_def in ALL_ASSETS:
        name = assets_def.key.to_user_string()
        node = assets_def.node_def
        assert (node.pool == LLM_POOL) == (name in LLM_ASSETS), name
        assert (node.retry_policy is not None) == (name in LLM_ASSETS), name


def test_the_instance_config_sets_the_pool_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy = yaml.safe_load((ROOT / "deploy" / "dagster.local.yaml").read_text(encoding="utf-8"))
    assert deploy == yaml.safe_load(INSTANCE_YAML)  # what `linksyn run` writes is the documented file
    (tmp_path / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 2


def test_a_failure_a_retry_cannot_fix_is_not_retried(stub_env: StubServer, linked_seeds: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LINKSYN_API_BASE", f"http://127.0.0.1:{port}/v1")  # nothing listens: every call fails
    monkeypatch.setenv("LINKSYN_MAX_RETRIES", "0")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics"])
        result = dg.materialize(ALL_ASSETS, selection=["seeds", "seed_kps"], partition_key="physics",
                                instance=instance, resources=build_resources(seeds_path=str(linked_seeds)),
                                raise_on_error=False)
    assert not result.success
    kinds = [e.event_type_value for e in result.all_events]
    assert "STEP_FAILURE" in kinds and "STEP_UP_FOR_RETRY" not in kinds
    # a route that never answered and refuses connections: stopped at once, not retried (issue 30)
    assert "cannot be reached" in str(result.get_step_failure_events()[0].step_failure_data.error.message)


RUN_ONE_DISCIPLINE = """
import sys
import dagster as dg
from linksyn_assets.location import build_definitions
job = build_definitions().resolve_job_def(sys.argv[1])
with dg.DagsterInstance.get() as instance:
    print("SUCCESS", job.execute_in_process(partition_key=sys.argv[2], instance=instance).success)
"""


def _step_windows(instance: dg.DagsterInstance, steps: set[str]) -> tuple[list[tuple[float, float]],
                                                                            list[tuple[float, float]]]:
    """(windows of the given steps, window of each run): start and end times from the event log."""
    step_windows, run_windows = [], []
    for run in instance.get_runs():
        starts: dict[str, float] = {}
        times = []
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            times.append(entry.timestamp)
            if event.step_key in steps and event.event_type_value == "STEP_START":
                starts[event.step_key] = entry.timestamp
            elif event.step_key in steps and event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                step_windows.append((starts.pop(event.step_key), entry.timestamp))
        run_windows.append((min(times), max(times)))
    return step_windows, run_windows


def _most_at_once(windows: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows],
                   key=lambda edge: (edge[0], edge[1]))  # an end before a start at the same instant
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("limit", [1, 2])
def test_concurrent_runs_together_never_exceed_the_llm_pool_limit(stub_env: StubServer, linked_seeds: Path,
                                                                   tmp_path: Path, limit: int) -> None:
    """Two runs in two processes, as the run launcher starts them, on one instance whose `llm` pool allows
    `limit` steps: the LLM steps of both runs are in flight together at most `limit` at a time."""
    import os
    import subprocess
    import sys

    from tests.stub_llm_server import Faults

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML.replace("default_limit: 2", f"default_limit: {limit}"),
                                       encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "physics"])
        # the pool's slots exist before the runs: two processes that both find the pool new allocate its slots at
        # the same moment, and once in CI (2026-12-04) both got one at limit 1 (steps started 4 ms apart)
        assert instance.event_log_storage.initialize_concurrency_limit_to_default(LLM_POOL)
    stub_env.reset(Faults(latency_s=3.0))  # every extraction step holds its slot for a while
    env = {**os.environ, "DAGSTER_HOME": str(home), "LINKSYN_SEEDS": str(linked_seeds)}
    runs = [subprocess.Popen([sys.executable, "-c", RUN_ONE_DISCIPLINE, "linksyn_ingest", d], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for d in ("mathematics", "physics")]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all("SUCCESS True" in out for out, _ in outputs), [err[-2000:] for _, err in outputs]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        llm_steps, run_windows = _step_windows(instance, {"seed_kps"})
    assert len(llm_steps) == 2 and len(run_windows) == 2
    (a_start, a_end), (b_start, b_end) = run_windows
    assert a_start < b_end and b_start < a_end  # the two runs were in progress at the same time
    assert _most_at_once(llm_steps) == limit  # never more than the pool allows (and with 2, both at once)
