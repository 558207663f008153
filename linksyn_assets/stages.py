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


INGEST = Stage("ingest", ("seeds", "seed_kps"), partitioned=True)
PER_DISCIPLINE = Stage("discipline", ("kp_graph", "walk_paths", "synthesized_qa", "hard_qa", "linkqa_dataset"),
                       partitioned=True)
RELEASE = Stage("release", ("linkqa_release",), partitioned=False)
STAGES = (INGEST, PER_DISCIPLINE, RELEASE)
STAGE_ORDER = [asset for stage in STAGES for asset in stage.assets]
PARTITIONED_ASSETS = [asset for stage in STAGES if stage.partitioned for asset in stage.assets]
