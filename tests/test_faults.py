"""Faults a long-running job meets, said by their cause (issue 30): a corrupt ledger fails the whole run at once
naming the file, a full disk says "disk full" with the path, and neither is repeated per discipline."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from linksyn_assets.cli.launch import failure_reasons, stops_run
from linksyn_assets.llm.ledger import LedgerUnusable, RequestLedger
from tests.stub_llm_server import StubServer


def _linksyn(args: list[str], home: Path) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "linksyn_assets.cli", *args], capture_output=True, text=True,
                         env={**os.environ, "DAGSTER_HOME": str(home)}, timeout=600, check=False)
    return out, time.monotonic() - started


def test_a_corrupt_ledger_fails_the_run_once_naming_the_file(stub_env: StubServer, linked_seeds: Path,
                                                               tmp_path: Path, data_dir: Path) -> None:
    content = b"this is not a database\n" * 64 + "损坏的账本".encode() * 500
    data_dir.mkdir(parents=True, exist_ok=True)
    ledger = data_dir / "llm_ledger.sqlite"
    ledger.write_bytes(content)
    out, seconds = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1"], tmp_path / "home")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text[-3000:]
    assert seconds < 30, f"took {seconds:.0f}s"
    assert f"request ledger {ledger} is not usable" in text and "Move it aside" in text
    assert "stopping the run" in text
    assert text.count("FAILED in") == 1  # the first discipline's extraction only: not retried, not repeated
    assert "Exceeded max_retries" not in text
    assert stub_env.count == 0
    assert ledger.read_bytes() == content  # left as it was for the person to look at


def test_the_ledger_names_its_file_and_a_locked_one_is_not_called_corrupt(tmp_path: Path) -> None:
    bad = tmp_path / "ledger.sqlite"
    bad.write_bytes(b"\x00" * 4096 + b"junk")
    with pytest.raises(LedgerUnusable, match=str(bad)):
        RequestLedger(bad)
    ledger = RequestLedger(tmp_path / "good.sqlite")
    ledger._db._db.execute("PRAGMA busy_timeout=100")
    holder = sqlite3.connect(tmp_path / "good.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing: a wait, not a corrupt file
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            ledger._db.tx(lambda db: db.execute("SELECT 1"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        ledger.close()


_OPEN_AT_ONCE = """
import sys, time
from pathlib import Path
from linksyn_assets.llm.ledger import RequestLedger
path, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
ledger = RequestLedger(path)
ledger.claim([(name, "extract", "m", "v1")])
ledger.record([(name, "DONE", {"by": name}, None, True, 1)])
"""


def test_processes_opening_a_fresh_sqlite_ledger_at_once_all_succeed(tmp_path: Path) -> None:
    """Issue 31: WAL setup on a fresh file meets SQLITE_BUSY when several processes open it at once."""
    # each round a fresh file, 12 processes released together (without the retry: "database is locked")
    for round_ in range(8):
        path, go = tmp_path / f"r{round_}" / "ledger.sqlite", tmp_path / f"go{round_}"
        workers = [subprocess.Popen([sys.executable, "-c", _OPEN_AT_ONCE, str(path), f"w{i}", str(go)],
                                    stderr=subprocess.PIPE, text=True) for i in range(12)]
        time.sleep(1.0)  # every worker imported and waiting
        go.touch()
        errors = [w.communicate(timeout=120)[1] for w in workers]
        assert [w.returncode for w in workers] == [0] * 12, "\n".join(e[-800:] for e in errors if e)
        assert RequestLedger(path).counts() == {"DONE": 12}


def test_a_full_disk_is_said_as_such_with_the_path(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    @dg.asset
    def writes_a_table() -> None:
        with open("/dev/full", "wb") as handle:  # every write: ENOSPC, as on a full disk
            handle.write(b"x" * 1024)
            handle.flush()

    result = dg.materialize([writes_a_table], raise_on_error=False)
    assert not result.success
    (reason,) = failure_reasons(result)
    assert reason.startswith("writes_a_table: disk full: ") and "MB free now" in reason
    assert "Error occurred while executing" not in reason
    assert stops_run(result)


def test_the_root_cause_replaces_dagsters_wrapper() -> None:
    @dg.asset
    def reads_a_missing_file() -> None:
        Path("/no/such/dir/文件.parquet").read_bytes()

    result = dg.materialize([reads_a_missing_file], raise_on_error=False)
    (reason,) = failure_reasons(result)
    assert "No such file or directory" in reason and "文件.parquet" in reason
    assert "Error occurred while executing" not in reason
    assert not stops_run(result)


def test_chosen_disciplines_on_a_fresh_instance_build_their_graph_and_say_what_was_left_out(
        stub_env: StubServer, linked_seeds: Path, tmp_path: Path, data_dir: Path) -> None:
    from linksyn_assets.assets.metadata import latest_report
    from linksyn_assets.reports import GraphReport

    home = tmp_path / "home"
    out, _ = _linksyn(["run", "--seeds", str(linked_seeds), "--disciplines", "physics", "--paths-per-discipline", "1"],
                      home)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert "release: " in out.stdout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        graph = latest_report(instance, "kp_graph", "physics")
        assert isinstance(graph, GraphReport)
        assert graph.input_disciplines == ["physics"]
        assert "mathematics" in graph.left_out and "--disciplines" in graph.left_out["mathematics"]
    assert stub_env.state.by_stage["extract"] == 6  # physics' seeds only: mathematics was not extracted


def test_a_refused_key_stops_the_whole_run_at_the_first_discipline(stub_env: StubServer, linked_seeds: Path,
                                                                   tmp_path: Path, data_dir: Path) -> None:
    from tests.stub_llm_server import Faults

    stub_env.reset(Faults(reject_auth=True))
    out, seconds = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1"], tmp_path / "home")
    text = out.stdout + out.stderr
    assert out.returncode == 1 and "HTTP 401" in text and "stopping the run" in text
    assert text.count("FAILED in") == 1  # mathematics only: physics would meet the same key
    assert stub_env.state.by_stage["extract"] == 6
