"""Dagster's default run launcher, with a health check run monitoring can use: a run whose worker process is
gone (SIGKILL, OOM killer, a crash) is marked failed by the daemon within one poll, and `run_retries` then
launches it again from the failed steps, so a backfill completes without a person (deploy/dagster.yaml).

The default launcher starts each run worker from the code location's gRPC server; when that server is on
this machine (deploy/dagster.yaml's single-host setup) the worker's pid, which its RUN_START event records,
says whether it still runs. On Kubernetes the K8sRunLauncher checks its pods itself (deploy/helm).
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}


def process_state(pid: int) -> str | None:
    """The process's state letter from /proc (R, S, D, Z, ...), None when there is no such process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("State:"):
            return line.split()[1]
    return None


class WatchedRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher + check_run_worker_health for workers on this machine."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        grpc = json.loads(run.tags.get(GRPC_INFO_TAG, "{}") or "{}")
        if grpc.get("host", "") not in LOCAL_HOSTS:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, f"run worker on {grpc.get('host')}: not checked here")
        records = self._instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_START, limit=1)
        pid = records.records[0].event_log_entry.dagster_event.pid if records.records else None
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "the run worker has not started yet")
        state = process_state(pid)
        if state is None or state in ("Z", "X"):  # a zombie is a dead worker its parent has not reaped yet
            return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker process {pid} is gone (killed or "
                                                             "crashed before the run ended)")
        return CheckRunHealthResult(WorkerStatus.RUNNING)
