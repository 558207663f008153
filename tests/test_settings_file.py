"""One source of settings: `linksyn run` flags go into the settings file, and a run of the code location's
job (as the UI launches it) uses them and reproduces the CLI's outputs from the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl

from tests.stub_llm_server import StubServer
from tests.test_operations import _linksyn


def test_a_ui_run_after_linksyn_run_uses_its_flags_and_pays_nothing(stub_env: StubServer, linked_seeds: Path,
                                                                     tmp_path: Path, data_dir: Path) -> None:
    home = tmp_path / "home"
    out = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "2"], home,
                   {"LINKSYN_SEEDS": str(linked_seeds)})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"walk.paths_per_discipline=2 written to {data_dir / 'settings.json'}" in out.stdout
    assert json.loads((data_dir / "settings.json").read_text(encoding="utf-8")) == {"walk": {"paths_per_discipline": 2}}
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
    """)
    env = {**os.environ, "DAGSTER_HOME": str(home), "LINKSYN_SEEDS": str(linked_seeds)}
    run = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], env=env,
                         capture_output=True, text=True, timeout=600)
    assert "SUCCESS True" in run.stdout, run.stdout[-2000:] + run.stderr[-3000:]
    assert "SETTINGS [2]" in run.stdout
    assert stub_env.count == calls  # every answer came from the ledger
    assert pl.read_parquet(data_dir / "assets" / "walk_paths" / "physics.parquet").equals(paths)
