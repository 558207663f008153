"""The seven partitioned assets and the unpartitioned release, one module per family."""

from ..stages import INGEST, PER_DISCIPLINE, RELEASE
from .dataset import linkqa_dataset
from .extraction import seed_kps
from .graph import kp_graph
from .release import linkqa_release
from .seeds import seeds
from .synthesis import hard_qa, synthesized_qa
from .walk import walk_paths

ALL_ASSETS = [seeds, seed_kps, kp_graph, walk_paths, synthesized_qa, hard_qa, linkqa_dataset, linkqa_release]
# The stage order lives in stages.py; these lists are its selections for dg.materialize.
PER_DISCIPLINE_STAGE = list(INGEST.assets)
CROSS_DISCIPLINE_STAGE = list(PER_DISCIPLINE.assets)
RELEASE_STAGE = list(RELEASE.assets)

__all__ = ["ALL_ASSETS", "CROSS_DISCIPLINE_STAGE", "PER_DISCIPLINE_STAGE", "RELEASE_STAGE"]
