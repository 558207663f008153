"""The embedded SmolLM2 model end to end (real llama.cpp server, real litellm calls)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.assets.metadata import materialized
from linksyn_assets.checks import ALL_CHECKS
from linksyn_assets.dataset_store.manifest import all_rejects, read_live, read_manifest
from linksyn_assets.llm.embedded.process import gguf_path
from linksyn_assets.llm.embedded.route import EMBEDDED_MODEL_ID
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.stages import INGEST, PER_DISCIPLINE
from resources import build_resources
from tests.conftest import write_jsonl

pytestmark = pytest.mark.local_model


def test_gguf_ships_in_the_package() -> None:
    path = gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_embedded_model_runs_the_whole_pipeline(tmp_path: Path, data_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LINKSYN_MODEL", "LINKSYN_API_BASE", "LINKSYN_API_KEY_ENV", "LINKSYN_EXTRACT_MODEL",
                "LINKSYN_SYNTHESIZE_MODEL", "LINKSYN_HARDEN_MODEL"):
        monkeypatch.delenv(var, raising=False)
    rows = [{"question": q, "answer": a, "discipline": "physics", "difficulty": 1} for q, a in [
        ("A 2 kg mass accelerates at 3 m/s^2. What net force acts on it (Newton's second law)?", "6 N"),
        ("What net force gives a 4 kg cart an acceleration of 2 m/s^2 (Newton's second law)?", "8 N"),
        ("A 5 kg box has a net force of 10 N. What is its acceleration by Newton's second law?", "2 m/s^2"),
    ]]
    write_jsonl(tmp_path / "seeds" / "physics.jsonl", rows)
    resources = build_resources(seeds_path=str(tmp_path / "seeds"),
                                settings_overrides={"walk": {"paths_per_discipline": 1, "min_length": 1,
                                                             "min_seeds": 1}})
    meta: dict[str, dict] = {}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics"])
        for stage in (list(INGEST.assets), list(PER_DISCIPLINE.assets)):
            result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=stage, partition_key="physics",
                                    instance=instance, resources=resources)
            checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
            assert result.success, {k: e.metadata for k, e in checks.items() if not e.passed}
            meta.update(materialized(result))
    extract_meta = meta["seed_kps"]
    assert extract_meta["model"] == EMBEDDED_MODEL_ID
    assert extract_meta["llm_http_calls"] >= 3  # three seeds, real calls to the local server
    kps = pl.read_parquet(data_dir / "assets" / "seed_kps" / "physics.parquet")
    assert kps["seed_id"].n_unique() == 3
    # A 135M model answers poorly, but every seed and row is accounted for.
    synth = pl.read_parquet(data_dir / "assets" / "synthesized_qa" / "physics.parquet")
    hard = pl.read_parquet(data_dir / "assets" / "hard_qa" / "physics.parquet")
    dataset = read_live(data_dir / "dataset" / "physics")
    folder = data_dir / "dataset" / "physics"
    rejects = all_rejects(folder, read_manifest(folder)).collect()
    assert synth.height >= 1
    assert dataset.height + rejects.height == synth.height + hard.height


def _owned_servers(owner: int) -> list[int]:
    """pids of llama.cpp servers started by `owner` (their command line names it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if ("linksyn_assets.llm.owned_process" in argv and str(owner) in argv
                and "linksyn_assets.llm.embedded.server" in argv):
            found.append(int(proc.name))
    return found


def _claimed(ledger: Path) -> bool:
    import sqlite3

    if not ledger.exists():
        return False
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] > 0
    except sqlite3.OperationalError:  # the table is not there yet
        return False


def test_killing_a_run_with_sigkill_leaves_no_llama_server(tmp_path: Path, data_dir: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.llm.test_owned_process import _alive

    rows = [{"question": f"What net force gives a {m} kg cart an acceleration of 2 m/s^2?", "answer": f"{2 * m} N",
             "discipline": "physics"} for m in range(1, 40)]
    write_jsonl(tmp_path / "seeds" / "physics.jsonl", rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKSYN_") or k == "LINKSYN_DATA_DIR"}
    run = subprocess.Popen([sys.executable, "-m", "linksyn_assets.cli", "run", "--seeds", str(tmp_path / "seeds"),
                            "--select", "seeds,seed_kps"], env={**env, "DAGSTER_HOME": str(tmp_path / "home")},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, servers = time.monotonic() + 240, []
        while time.monotonic() < deadline and run.poll() is None:
            servers = _owned_servers(run.pid)
            if servers:
                break
            time.sleep(0.2)
        assert servers, "the run never started its embedded server"
        argv = (Path("/proc") / str(servers[0]) / "cmdline").read_bytes().decode().split("\0")
        url = f"http://127.0.0.1:{argv[argv.index('--port') + 1]}/v1/models"
        # wait until the run has claimed extraction requests in its ledger: it is then sending them to the server
        while time.monotonic() < deadline and run.poll() is None and not _claimed(data_dir / "llm_ledger.sqlite"):
            time.sleep(0.2)
        assert run.poll() is None, "the run ended before it could be killed (too few seeds?)"
        run.send_signal(signal.SIGKILL)  # what a cancelled pod or an OOM kill does: no atexit, no cleanup
        run.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in servers)
        try:
            urllib.request.urlopen(url, timeout=2)
            answered = True
        except OSError:
            answered = False
        assert not answered
    finally:
        run.kill()
        for pid in _owned_servers(run.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_model_server_that_crashes_mid_batch_stops_the_run_and_says_so(tmp_path: Path, data_dir: Path) -> None:
    """The crash a llama.cpp built for another CPU has (SIGSEGV on the first completion): the run stops at that
    discipline with the signal and the server's last log lines, and starts no new server for the next one."""
    import os
    import signal
    import subprocess
    import sys
    import time

    for discipline in ("physics", "chemistry"):
        write_jsonl(tmp_path / "seeds" / f"{discipline}.jsonl", [
            {"question": f"What net force gives a {m} kg cart an acceleration of 2 m/s^2?", "answer": f"{2 * m} N",
             "discipline": discipline} for m in range(1, 40)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKSYN_") or k == "LINKSYN_DATA_DIR"}
    env.update(DAGSTER_HOME=str(tmp_path / "home"), LINKSYN_EMBEDDED_LOG=str(tmp_path / "server.log"))
    run = subprocess.Popen([sys.executable, "-m", "linksyn_assets.cli", "run", "--seeds", str(tmp_path / "seeds"),
                            "--select", "seeds,seed_kps"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        deadline, servers = time.monotonic() + 240, []
        while time.monotonic() < deadline and run.poll() is None and not _claimed(data_dir / "llm_ledger.sqlite"):
            time.sleep(0.2)
        servers = _owned_servers(run.pid)
        assert run.poll() is None and len(servers) == 1, "the run ended before its server could be killed"
        os.kill(servers[0], signal.SIGSEGV)  # what an illegal instruction or a tile fault does to the server
        out, _ = run.communicate(timeout=120)
    finally:
        run.kill()
        for pid in _owned_servers(run.pid):
            os.kill(pid, signal.SIGKILL)
    assert run.returncode == 1, out[-3000:]
    assert "stopping the run: the embedded model server" in out and "killed by SIGSEGV" in out, out[-3000:]
    assert "deploy/install.sh" in out and "last lines of" in out  # the likely cause and the server's own words
    assert "Fatal Python error: Segmentation fault" in out  # faulthandler's headline, kept above the stack lines
    assert "[2/2]" not in out and "Cannot connect" not in out  # chemistry never started; no retry noise
