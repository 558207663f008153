"""One source of settings: `linksyn run` flags go into the settings file, and a run of the code location's
job (as the UI launches it) uses them and reproduces the CLI's outputs from the ledger."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from tests.stub_llm_server import StubServer
from tests.test_operations import _linksyn


def test_a_ui_run_after_linksyn_run_uses_its_flags_and_pays_nothing(stub_env: StubServer, linked_seeds: Path,
                                                                     tmp_path: Path, data_dir: Path) -> None:
    home = tmp_path / "home"
    out = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "2"], home)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"walk.paths_per_discipline=2, source.path={linked_seeds} written to {data_dir / 'settings.json'}" \
        in out.stdout
    assert json.loads((data_dir / "settings.json").read_text(encoding="utf-8")) == {
        "walk": {"paths_per_discipline": 2}, "source": {"path": str(linked_seeds)}}
    shown = _linksyn(["settings"], home, {"LINKSYN_MAX_CONCURRENCY": "3"}).stdout
    origin = f"(settings file {data_dir / 'settings.json'})"
    assert re.search(rf"^walk\.paths_per_discipline +2  {re.escape(origin)}$", shown, re.M), shown
    assert re.search(rf"^source\.path +{re.escape(str(linked_seeds))}  {re.escape(origin)}$", shown, re.M), shown
    assert re.search(r"^llm\.max_concurrency +3  \(env LINKSYN_MAX_CONCURRENCY\)$", shown, re.M), shown
    assert re.search(r"^walk\.alpha +0\.5  \(default\)$", shown, re.M), shown
    paths = pl.read_parquet(data_dir / "assets" / "walk_paths" / "physics.parquet")
    assert paths.height == 2
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:  # the CLI launched the UI's own jobs
        runs = sorted((r.job_name, r.tags.get("dagster/partition", "-")) for r in instance.get_runs())
        assert all(r.tags.get("linksyn/launched_by") == "linksyn run" for r in instance.get_runs())
    assert runs == [("linksyn_ingest", "mathematics"), ("linksyn_ingest", "physics"),
                    ("linksyn_pipeline", "mathematics"), ("linksyn_pipeline", "physics"), ("linksyn_release", "-")]
    calls = stub_env.count
    # the code location as `dagster dev` loads it, its job launched on the same instance for one discipline
    script = textwrap.dedent("""
        import dagster as dg
        from definitions import defs
        job = defs.resolve_job_def("linksyn_pipeline")
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(partition_key="physics", instance=instance)
        print("SUCCESS", result.success)
        from linksyn_assets.assets.metadata import values
        print("SETTINGS", [values(m)["settings"]["walk"]["paths_per_discipline"]
                           for m in result.asset_materializations_for_node("walk_paths")])
        print("SEEDS", defs.resources["seed_source"].root())
    """)
    env = {k: v for k, v in os.environ.items() if k != "LINKSYN_SEEDS"}  # the settings file names the seeds
    env["DAGSTER_HOME"] = str(home)
    run = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], env=env,
                         capture_output=True, text=True, timeout=600)
    assert "SUCCESS True" in run.stdout, run.stdout[-2000:] + run.stderr[-3000:]
    assert "SETTINGS [2]" in run.stdout and f"SEEDS {linked_seeds}" in run.stdout
    assert stub_env.count == calls  # every answer came from the ledger
    assert pl.read_parquet(data_dir / "assets" / "walk_paths" / "physics.parquet").equals(paths)


def test_the_schedule_takes_its_cron_from_the_settings_file_unless_the_environment_says_otherwise(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import linksyn_assets.schedules as schedules

    monkeypatch.delenv("LINKSYN_INGEST_CRON", raising=False)
    monkeypatch.delenv("LINKSYN_SETTINGS", raising=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(json.dumps({"schedule": {"ingest_cron": "30 1 * * 0"}}), encoding="utf-8")
    try:
        assert importlib.reload(schedules).daily_ingest_schedule.cron_schedule == "30 1 * * 0"
        monkeypatch.setenv("LINKSYN_INGEST_CRON", "0 5 * * *")
        assert importlib.reload(schedules).daily_ingest_schedule.cron_schedule == "0 5 * * *"
    finally:
        monkeypatch.delenv("LINKSYN_INGEST_CRON", raising=False)
        (data_dir / "settings.json").unlink()
        importlib.reload(schedules)
