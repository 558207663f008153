"""`linksyn run` as a user runs it: a subprocess with its own DAGSTER_HOME and data dir."""

from __future__ import annotations

import os
import re
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
    _check_overall_view(first.stdout, ["mathematics", "physics"])
    quality = next(line for line in first.stdout.splitlines() if line.strip().startswith("Quality: solve agrees"))
    assert "distinct-2 0." in quality and "near-paraphrases of own seeds" in quality  # the release's report
    second = _linksyn(args, home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert stub_env.count == calls
    assert "LLM: 0 HTTP calls" in second.stdout
    # nothing changed: every asset partition reused its stored table (2 x 7 per discipline, and the release)
    assert "Unchanged: 15 of 15 asset partitions" in second.stdout
    assert (data_dir / "dataset" / "physics" / "manifest.json").exists()
    assert "sk-test-SECRET-4242" not in first.stdout + first.stderr + second.stdout + second.stderr
    # The runs are in the persistent instance that `dagster dev` reads.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_runs()) == 10  # (2 stages x 2 disciplines + the release), twice
        assert sorted(instance.get_dynamic_partitions("discipline")) == ["mathematics", "physics"]


def _check_overall_view(out: str, disciplines: list[str]) -> None:
    """The run board after each job, the time per step and each QC step's pass rate in the summary."""
    boards = [line for line in out.splitlines() if re.match(r"run \d+/\d+ steps done", line)]
    assert len(boards) == 2 * len(disciplines) + 1  # after every job, the release included
    assert boards[0].startswith(f"run 1/{2 * len(disciplines) + 1} steps done")
    assert boards[-1].startswith(f"run {2 * len(disciplines) + 1}/{2 * len(disciplines) + 1} steps done")
    assert "ETA 0s" in boards[-1]
    last = out[out.rindex(boards[-1]):].splitlines()
    for d in disciplines:
        row = next(line for line in last if line.strip().startswith(d))
        assert len(re.findall(r"ok \d+s \d+ rows", row)) == 2, row
    timing = next(line for line in out.splitlines() if line.startswith("Time per step"))
    for asset in ("seed_kps", "synthesized_qa", "hard_qa", "linkqa_dataset", "linkqa_release"):
        assert re.search(rf"{asset} \d+s", timing), timing
    funnel = next(line for line in out.splitlines() if line.startswith("QC pass rate per step"))
    steps = re.findall(r"([a-z -]+) (\d+)/(\d+)", funnel.split(": ", 1)[1])
    assert [name.strip(", ") for name, _, _ in steps] == [
        "generation", "row rules", "exact duplicates", "benchmark contamination", "near-duplicates",
        "independent solve agrees"]
    for (_, passed, entered), (_, _, next_entered) in zip(steps, steps[1:], strict=False):
        assert int(passed) <= int(entered) and next_entered == passed  # each step gets what the last let through
    assert int(steps[0][2]) > 0
    assert "bundled demo model" not in out  # the stub is a configured model, not the demo one


def test_sample_runs_a_stable_part_of_each_discipline(stub_env: StubServer, linked_seeds: Path, tmp_path: Path,
                                                      data_dir: Path) -> None:
    import polars as pl

    home = tmp_path / "home"
    first = _linksyn(["run", "--seeds", str(linked_seeds), "--sample", "2", "--select", "seeds,seed_kps"], home)
    assert first.returncode == 0, first.stderr[-3000:]
    calls = stub_env.count
    picked = {d: set(pl.read_parquet(data_dir / "assets" / "seeds" / f"{d}.parquet")["seed_id"])
              for d in ("mathematics", "physics")}
    assert all(len(ids) == 2 for ids in picked.values()) and calls == 4
    assert '"sample_per_discipline": 2' in (data_dir / "settings.json").read_text()
    bigger = _linksyn(["run", "--seeds", str(linked_seeds), "--sample", "3", "--select", "seeds,seed_kps"], home)
    assert bigger.returncode == 0, bigger.stderr[-3000:]
    for d, ids in picked.items():
        now = set(pl.read_parquet(data_dir / "assets" / "seeds" / f"{d}.parquet")["seed_id"])
        assert ids < now and len(now) == 3  # the earlier picks stay
    assert stub_env.count == calls + 2  # only the two added seeds were extracted


def test_seeds_only_run_on_shared_mmlu(shared_seeds: Path, tmp_path: Path, data_dir: Path) -> None:
    out = _linksyn(["run", "--seeds", str(shared_seeds / "mmlu/data/mmlu/dev"), "--select", "seeds"],
                   tmp_path / "home")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "17 discipline(s)" in out.stdout
    assert ("Seeds: 285 rows read from 57 file(s) -> 284 seeds in 17 discipline(s), 1 exact duplicate(s) "
            "collapsed, 0 quarantined") in out.stdout
    assert "LLM: 0 HTTP calls" in out.stdout
    health = [line for line in out.stdout.splitlines() if line.strip().startswith("health")][-1]  # the summary's
    assert health.split()[-1] == "40"


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--seeds", "/no/such/dir"], "does not exist"),
    (["run", "--disciplines", "alchemy"], "no seeds for discipline(s) ['alchemy']"),
    (["run", "--select", "everything"], "unknown asset(s) ['everything']"),
])
def test_clear_errors(tmp_path: Path, data_dir: Path, args: list[str], message: str) -> None:
    out = _linksyn(args, tmp_path / "home")
    assert out.returncode != 0 and message in out.stderr
