"""The code location's definitions, built in one place: `definitions.py` (what `dagster dev` and the UI load)
and `linksyn run` (which launches the same jobs on the same instance) both call build_definitions."""

from typing import Any

import dagster as dg

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.checks import ALL_CHECKS
from linksyn_assets.jobs import ALL_JOBS
from linksyn_assets.schedules import ALL_SCHEDULES
from linksyn_assets.sensors import ALL_SENSORS

# Runs launched by the UI, a backfill or automation run each step in its own process. Forked from a server that
# has imported LinkSyn once per run, a step starts in milliseconds instead of re-importing polars, numba and
# Dagster (about 2 s each on 2 cores); each step still has its own memory, released when it ends.
STEP_PROCESSES = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["dagster", "linksyn_assets.location", "resources"]}}})


def build_definitions(resources: dict[str, Any] | None = None) -> dg.Definitions:
    """Everything LinkSyn defines; resources default to the environment and the settings file."""
    if resources is None:
        from resources import build_resources

        resources = build_resources()
    return dg.Definitions(assets=ALL_ASSETS, asset_checks=ALL_CHECKS, jobs=ALL_JOBS, schedules=ALL_SCHEDULES,
                          sensors=ALL_SENSORS, resources=resources, executor=STEP_PROCESSES)
