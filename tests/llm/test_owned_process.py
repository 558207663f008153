"""A child started with owned_command exits when its owner is killed with SIGKILL (no atexit runs then),
and lives as long as the owner does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")  # a zombie is gone


def test_an_owned_child_dies_with_its_killed_owner(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    owner = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import subprocess, time
        from linksyn_assets.llm.owned_process import owned_command
        # a long-running module standing in for the llama.cpp server
        child = subprocess.Popen(owned_command("http.server", ["0", "--bind", "127.0.0.1"]),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(600)
    """)])
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        child = int(pid_file.read_text())
        time.sleep(1.5)  # several watchdog polls while the owner lives
        assert _alive(child)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        owner.kill()
