"""Dagster jobs, one per stage of stages.py; `linksyn run` launches these same jobs in stage order.

There is no job over every partitioned asset on purpose: a job runs one partition, and kp_graph reads every
discipline's seed_kps, so such a job (or a job-level backfill of it, which runs partitions in parallel) could
only build a graph from whatever disciplines happened to be done. Run ingestion for every discipline first;
kp_graph refuses to run on a partial or outdated set. For everything at once, use the asset backfill
(Materialize all -> all partitions) or the automation sensor: both order the stages by dependency.
"""

import dagster as dg

from linksyn_assets.stages import INGEST, PER_DISCIPLINE, RELEASE

linksyn_ingest = dg.define_asset_job(
    f"linksyn_{INGEST.group}", selection=dg.AssetSelection.assets(*INGEST.assets),
    description="Stage 1, per discipline: seeds and their KP extraction (recorded LLM answers are reused, so "
                "only new or changed seeds cost calls). Safe to backfill over every discipline at once.")
linksyn_pipeline = dg.define_asset_job(
    f"linksyn_{PER_DISCIPLINE.group}", selection=dg.AssetSelection.assets(*PER_DISCIPLINE.assets),
    description="Stage 2, per discipline: KP graph, walks, synthesis, hard variants and the dataset. Needs "
                "stage 1 done for every discipline (kp_graph reads all of them and fails, naming the missing "
                "ones, otherwise); then safe to backfill over every discipline at once.")
linksyn_release = dg.define_asset_job(
    f"linksyn_{RELEASE.group}", selection=dg.AssetSelection.assets(*RELEASE.assets),
    description="Stage 3: the release folder and dataset card from every discipline's dataset.")

STAGE_JOBS = {INGEST.name: linksyn_ingest, PER_DISCIPLINE.name: linksyn_pipeline, RELEASE.name: linksyn_release}
ALL_JOBS = list(STAGE_JOBS.values())
