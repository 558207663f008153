"""Launching one stage job of the code location for one partition, and what a failed run says."""

import errno
import re
import shutil
from pathlib import Path
from typing import Any

from linksyn_assets.cli.interrupt import host_tags
from linksyn_assets.stages import Stage

_ERRNO = re.compile(r"\[Errno (\d+)\][^:]*(?::\s*'([^']+)')?")


def _root_cause(error: Any) -> Any:
    while error is not None and error.cause is not None:
        error = error.cause
    return error


def _disk_full(message: str) -> str | None:
    """"disk full: <path> (N MB free)" for an ENOSPC, else None; without a path in the error, the data dir's disk."""
    match = _ERRNO.search(message)
    if not match or int(match.group(1)) != errno.ENOSPC:
        return None
    path = Path(match.group(2)) if match.group(2) else None
    if path is None:
        from linksyn_assets.layout import root

        data = root()
        path = data if isinstance(data, Path) and data.exists() else None
    probe = path
    while probe is not None and not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = f" ({shutil.disk_usage(probe).free / 1e6:.0f} MB free now)" if probe is not None else ""
    where = str(match.group(2)) if match.group(2) else f"a write (data dir {path})" if path else "a write"
    return f"disk full: {where}{free}; free space or point LINKSYN_DATA_DIR elsewhere, then run again"


def _reason(error: Any) -> str:
    """The cause a person can act on: the root of the error chain when Dagster wrapped it ("Error occurred
    while executing op ..."), a full disk said so."""
    if error is None:
        return "unknown error"
    root = _root_cause(error)
    text = (root.message or "").strip()
    full = _disk_full(text) or _disk_full(error.message or "")
    if full:
        return full
    if root is not error and text:
        return f"{root.cls_name}: {text.splitlines()[0]}" if root.cls_name not in text else text.splitlines()[0]
    message = (error.message or "").strip()
    return message.splitlines()[0] if message else "unknown error"


def failure_reasons(result: Any) -> list[str]:
    """The root cause of each failed step's error, one line, for the summary."""
    return [f"{event.step_key}: {_reason(event.step_failure_data.error)[:400]}"
            for event in result.get_step_failure_events()]


def stops_run(result: Any) -> bool:
    """A failure every later run would meet the same way (the ledger, a full disk): stop launching runs."""
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        meta = data.user_failure_data.metadata if data.user_failure_data else {}
        flag = meta.get("stops_run")
        if (flag is not None and getattr(flag, "value", flag)) or _reason(data.error).startswith("disk full"):
            return True
    return False


RUN_TAGS = {"linksyn/launched_by": "linksyn run"}


def launch(defs: Any, stage: Stage, assets: list[str], partition: str | None, instance: Any,
           run_config: dict, tags: dict[str, str] | None = None) -> Any:
    """One run of the stage's job (as the UI launches it), for the chosen assets and their checks."""
    import dagster as dg

    from linksyn_assets.jobs import STAGE_JOBS

    job = defs.resolve_job_def(STAGE_JOBS[stage.name].name)
    selection = None if list(assets) == list(stage.assets) else [dg.AssetKey(a) for a in assets]
    return job.execute_in_process(partition_key=partition, instance=instance, run_config=run_config,
                                  asset_selection=selection, tags={**RUN_TAGS, **host_tags(), **(tags or {})},
                                  raise_on_error=False)


def mark_abandoned_runs(instance: Any) -> list[str]:
    """Runs a killed `linksyn run` (SIGKILL, a lost machine) left STARTED: marked failed, so the UI and the
    automation conditions do not wait for them forever. Returns their ids."""
    import dagster as dg

    from linksyn_assets.cli.interrupt import process_gone

    marked = []
    for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
                                               tags=RUN_TAGS)):
        if process_gone(run.tags):
            instance.report_run_failed(run, f"its linksyn run process ({run.tags.get('linksyn/pid')}) is gone: "
                                            "killed before the run ended; a later linksyn run resumes its work")
            marked.append(run.run_id)
    return marked
