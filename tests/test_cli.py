"""`linksyn run` as a user runs it: a subprocess with its own DAGSTER_HOME and data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tests.stub_llm_server import StubServer


def _linksyn(args: list[str], home: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "linksyn_assets.cli", *args], capture_output=True, text=True,
                          env=env, timeout=600, check=False)


def test_run_twice_second_makes_no_llm_call(stub_env: StubServer, linked_seeds: Path, tmp_path: Path,
                                            data_dir: Path) -> None:
    home = tmp_path / "home"
    args = ["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "2"]
    first = _linksyn(args, home)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "2 discipline(s)" in first.stdout and "mathematics" in first.stdout
    assert "LLM: 0 HTTP calls" not in first.stdout
    calls = stub_env.count
    assert calls > 0 and stub_env.state.by_stage["judge"] > 0 and stub_env.state.by_stage["verify"] > 0
    assert f"LLM: {calls} HTTP calls" in first.stdout  # every stage counted, judge and verify included
    second = _linksyn(args, home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert stub_env.count == calls
    assert "LLM: 0 HTTP calls" in second.stdout and "no new LLM call" in second.stdout
    assert (data_dir / "dataset" / "physics.parquet").exists()
    assert "sk-test-SECRET-4242" not in first.stdout + first.stderr + second.stdout + second.stderr
    # The runs are in the persistent instance that `dagster dev` reads.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_runs()) == 10  # (2 stages x 2 disciplines + the release), twice
        assert sorted(instance.get_dynamic_partitions("discipline")) == ["mathematics", "physics"]


def test_seeds_only_run_on_shared_mmlu(shared_seeds: Path, tmp_path: Path, data_dir: Path) -> None:
    out = _linksyn(["run", "--seeds", str(shared_seeds / "mmlu/data/mmlu/dev"), "--select", "seeds"],
                   tmp_path / "home")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "17 discipline(s)" in out.stdout
    assert ("Seeds: 285 rows read from 57 file(s) -> 284 seeds in 17 discipline(s), 1 exact duplicate(s) "
            "collapsed, 0 quarantined") in out.stdout
    assert "LLM: 0 HTTP calls" in out.stdout
    health = next(line for line in out.stdout.splitlines() if line.strip().startswith("health"))
    assert health.split()[-1] == "40"


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--seeds", "/no/such/dir"], "does not exist"),
    (["run", "--disciplines", "alchemy"], "no seeds for discipline(s) ['alchemy']"),
    (["run", "--select", "everything"], "unknown asset(s) ['everything']"),
])
def test_clear_errors(tmp_path: Path, data_dir: Path, args: list[str], message: str) -> None:
    out = _linksyn(args, tmp_path / "home")
    assert out.returncode != 0 and message in out.stderr
