"""Dagster jobs built from the one stage order in stages.py."""

import dagster as dg

from linksyn_assets.stages import PARTITIONED_ASSETS, RELEASE

linksyn_pipeline = dg.define_asset_job(
    "linksyn_pipeline", selection=dg.AssetSelection.assets(*PARTITIONED_ASSETS),
    description="Every partitioned asset for one discipline partition (kp_graph reads every discipline's "
                "seed_kps: run ingestion for all disciplines first, as `linksyn run` does).")
linksyn_release = dg.define_asset_job(
    "linksyn_release", selection=dg.AssetSelection.assets(*RELEASE.assets),
    description="The release folder and dataset card from every discipline's dataset.")

ALL_JOBS = [linksyn_pipeline, linksyn_release]
