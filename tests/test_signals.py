"""A supervisor's stop reaches `linksyn run` (issue 30): SIGTERM and SIGINT to a real run against a slow stub stop
it within seconds, with no request after the signal beyond those in flight, the release skipped and the exit code
of the signal; a run killed outright is marked failed by the next `linksyn run`, which resumes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from linksyn_assets.cli.interrupt import host_tags, process_gone
from tests.stub_llm_server import Faults, StubServer

IN_FLIGHT = 4  # LINKSYN_MAX_CONCURRENCY below: requests that may already be on their way when the signal lands


def _start(home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DAGSTER_HOME": str(home), "LINKSYN_MAX_CONCURRENCY": str(IN_FLIGHT)}
    return subprocess.Popen([sys.executable, "-m", "linksyn_assets.cli", "run", "--paths-per-discipline", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _wait_for_requests(stub: StubServer, proc: subprocess.Popen[str], n: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while stub.count < n:
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the run sent no request"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_the_whole_run_within_seconds(sig: signal.Signals, stub_env: StubServer,
                                                          tmp_path: Path, data_dir: Path) -> None:
    stub_env.reset(Faults(latency_s=0.4))
    proc = _start(tmp_path / "home")
    _wait_for_requests(stub_env, proc, 3)
    at_signal = stub_env.count
    sent = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert took < 10, f"{sig.name}: still running {took:.1f}s after the signal"
    assert proc.returncode == 128 + sig, out[-3000:]
    assert stub_env.count - at_signal <= IN_FLIGHT, "requests were sent after the signal"
    assert f"Interrupted by {sig.name}" in out and "[release]" not in out
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        running = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert running == []  # the interrupted run ended as failed, not STARTED


def test_a_killed_run_is_marked_failed_by_the_next_run_which_resumes(stub_env: StubServer, tmp_path: Path,
                                                                     data_dir: Path) -> None:
    stub_env.reset(Faults(latency_s=0.2))
    home = tmp_path / "home"
    proc = _start(home)
    _wait_for_requests(stub_env, proc, 3)
    proc.kill()
    proc.communicate(timeout=30)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        left = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert left and all(process_gone(run.tags) for run in left)  # what SIGKILL leaves behind
    stub_env.reset(Faults())
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    again = subprocess.run([sys.executable, "-m", "linksyn_assets.cli", "run", "--select", "seeds"], env=env,
                           capture_output=True, text=True, timeout=600, check=False)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out[-3000:]
    assert "left STARTED by a killed linksyn run marked failed" in out
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])) == []
        for run in left:
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_only_a_dead_process_on_this_host_counts_as_gone() -> None:
    assert not process_gone(host_tags())  # this process
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert process_gone({**host_tags(), "linksyn/pid": str(dead.pid)})
    assert not process_gone({"linksyn/host": "another-host", "linksyn/pid": str(dead.pid)})
    assert not process_gone({})  # a run launched elsewhere (the UI, a daemon): not ours to judge
