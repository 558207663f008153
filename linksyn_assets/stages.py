"""The stage order, defined once: `linksyn run`, the Dagster jobs (jobs.py) and the tests use it.

A stage is a set of assets that can run together for one discipline partition once the stages before it
have run for every discipline: `kp_graph` reads every discipline's `seed_kps`, so ingestion must finish
everywhere first; the release reads every discipline's dataset and is not partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    name: str
    assets: tuple[str, ...]
    partitioned: bool  # run once per discipline partition (else once, unpartitioned)
    group: str  # the asset group the UI shows, named as the stage's job (jobs.py: linksyn_<group>)


INGEST = Stage("ingest", ("seeds", "seed_kps"), partitioned=True, group="ingest")
PER_DISCIPLINE = Stage("discipline", ("kp_graph", "walk_paths", "synthesized_qa", "hard_qa", "linkqa_dataset"),
                       partitioned=True, group="pipeline")
RELEASE = Stage("release", ("linkqa_release",), partitioned=False, group="release")
STAGES = (INGEST, PER_DISCIPLINE, RELEASE)
STAGE_ORDER = [asset for stage in STAGES for asset in stage.assets]
PARTITIONED_ASSETS = [asset for stage in STAGES if stage.partitioned for asset in stage.assets]


def group_of(asset: str) -> str:
    """The asset group of an asset: its stage's, so the lineage the UI opens on shows the three stage jobs."""
    return next(stage.group for stage in STAGES if asset in stage.assets)
