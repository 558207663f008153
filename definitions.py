"""The Dagster code location: `dagster dev -w workspace.yaml`."""

import dagster as dg

from linksyn_assets.assets import ALL_ASSETS, RELEASE_STAGE
from linksyn_assets.sensors import seed_source_sensor
from resources import build_resources

linksyn_job = dg.define_asset_job(
    "linksyn_pipeline", selection=dg.AssetSelection.assets(*ALL_ASSETS) - dg.AssetSelection.assets(*RELEASE_STAGE),
    description="Every partitioned asset for one discipline partition.")
release_job = dg.define_asset_job("linksyn_release", selection=dg.AssetSelection.assets(*RELEASE_STAGE),
                                  description="The release folder and dataset card from every discipline's dataset.")

defs = dg.Definitions(assets=ALL_ASSETS, jobs=[linksyn_job, release_job], sensors=[seed_source_sensor],
                      resources=build_resources())
