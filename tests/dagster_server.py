"""Dagster's own processes for tests: `dagster-webserver` or `dagster dev` (webserver + daemon) on a free
127.0.0.1 port over a given DAGSTER_HOME, and its GraphQL API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dagster_server(command: str, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """command: "dagster-webserver" (the UI only) or "dagster dev" (the UI and the daemon). Yields the base URL
    once /server_info answers; stops the whole process group at the end."""
    port = free_port()
    program = Path(sys.executable).with_name(command.split()[0])
    args = [str(program), *command.split()[1:], "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"]
    with log_path.open("w") as log:
        server = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    urllib.request.urlopen(f"{base}/server_info", timeout=2)
                    break
                except OSError:
                    assert server.poll() is None, log_path.read_text()[-3000:]
                    assert time.monotonic() < deadline, "the server did not answer in 180 s"
                    time.sleep(0.5)
            yield base
        finally:
            import os
            import signal

            os.killpg(server.pid, signal.SIGTERM)  # dagster dev: the webserver, daemon and code servers
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query,
                                                                        "variables": variables or {}}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]
