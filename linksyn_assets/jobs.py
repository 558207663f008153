"""Dagster jobs built from the one stage order in stages.py."""

import dagster as dg

from linksyn_assets.stages import INGEST, PARTITIONED_ASSETS, RELEASE

linksyn_pipeline = dg.define_asset_job(
    "linksyn_pipeline", selection=dg.AssetSelection.assets(*PARTITIONED_ASSETS),
    description="Every partitioned asset for one discipline partition (kp_graph reads every discipline's "
                "seed_kps: run ingestion for all disciplines first, as `linksyn run` does).")
linksyn_ingest = dg.define_asset_job(
    "linksyn_ingest", selection=dg.AssetSelection.assets(*INGEST.assets),
    description="Seeds and their KP extraction for one discipline partition (the first stage: recorded LLM "
                "answers are reused, so only new or changed seeds cost calls).")
linksyn_release = dg.define_asset_job(
    "linksyn_release", selection=dg.AssetSelection.assets(*RELEASE.assets),
    description="The release folder and dataset card from every discipline's dataset.")

ALL_JOBS = [linksyn_ingest, linksyn_pipeline, linksyn_release]
