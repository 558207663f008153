"""The Dagster code location: `dagster dev -w workspace.yaml`."""

import dagster as dg

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.sensors import seed_source_sensor
from resources import build_resources

linksyn_job = dg.define_asset_job("linksyn_pipeline", selection=dg.AssetSelection.assets(*ALL_ASSETS),
                                  description="Every asset for one discipline partition.")

defs = dg.Definitions(assets=ALL_ASSETS, jobs=[linksyn_job], sensors=[seed_source_sensor],
                      resources=build_resources())
