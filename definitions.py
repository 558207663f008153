"""The Dagster code location: `dagster dev -w workspace.yaml`. It only assembles the definitions."""

import dagster as dg

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.jobs import ALL_JOBS
from linksyn_assets.sensors import seed_source_sensor
from resources import build_resources

defs = dg.Definitions(assets=ALL_ASSETS, jobs=ALL_JOBS, sensors=[seed_source_sensor], resources=build_resources())
