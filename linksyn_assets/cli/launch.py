"""Launching one stage job of the code location for one partition, and what a failed run says."""

from typing import Any

from linksyn_assets.stages import Stage


def failure_reasons(result: Any) -> list[str]:
    """The first line of each failed step's error, for the summary."""
    reasons = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        message = (error.message if error else "unknown error").strip()
        cause = error.cause.message.strip() if error and error.cause else ""
        text = message.splitlines()[0] if message else cause.splitlines()[0] if cause else "unknown error"
        reasons.append(f"{event.step_key}: {text[:400]}")
    return reasons


RUN_TAGS = {"linksyn/launched_by": "linksyn run"}


def launch(defs: Any, stage: Stage, assets: list[str], partition: str | None, instance: Any,
            run_config: dict) -> Any:
    """One run of the stage's job (as the UI launches it), for the chosen assets and their checks."""
    import dagster as dg

    from linksyn_assets.jobs import STAGE_JOBS

    job = defs.resolve_job_def(STAGE_JOBS[stage.name].name)
    selection = None if list(assets) == list(stage.assets) else [dg.AssetKey(a) for a in assets]
    return job.execute_in_process(partition_key=partition, instance=instance, run_config=run_config,
                                  asset_selection=selection, tags=RUN_TAGS, raise_on_error=False)
