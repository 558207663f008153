"""The code location: `dagster dev -w workspace.yaml`. It only assembles the definitions."""

import dagster as dg

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.checks import ALL_CHECKS
from linksyn_assets.jobs import ALL_JOBS
from linksyn_assets.schedules import ALL_SCHEDULES
from linksyn_assets.sensors import ALL_SENSORS
from resources import build_resources

defs = dg.Definitions(assets=ALL_ASSETS, asset_checks=ALL_CHECKS, jobs=ALL_JOBS, schedules=ALL_SCHEDULES,
                      sensors=ALL_SENSORS, resources=build_resources())
