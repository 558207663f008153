"""The seven partitioned assets and the unpartitioned release, one module per family."""

from .dataset import linkqa_dataset
from .extraction import seed_kps
from .graph import kp_graph
from .release import linkqa_release
from .seeds import seeds
from .synthesis import hard_qa, synthesized_qa
from .walk import walk_paths

ALL_ASSETS = [seeds, seed_kps, kp_graph, walk_paths, synthesized_qa, hard_qa, linkqa_dataset, linkqa_release]
# Stage 1 reads one discipline; stage 2 reads every discipline's seed_kps / seeds.
PER_DISCIPLINE_STAGE = ["seeds", "seed_kps"]
CROSS_DISCIPLINE_STAGE = ["kp_graph", "walk_paths", "synthesized_qa", "hard_qa", "linkqa_dataset"]
# Stage 3 runs once, unpartitioned, after every discipline.
RELEASE_STAGE = ["linkqa_release"]

__all__ = ["ALL_ASSETS", "CROSS_DISCIPLINE_STAGE", "PER_DISCIPLINE_STAGE", "RELEASE_STAGE"]
