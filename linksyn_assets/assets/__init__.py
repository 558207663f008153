"""The seven partitioned assets and the unpartitioned release, one module per family."""

from linksyn_assets.assets.dataset import linkqa_dataset
from linksyn_assets.assets.extraction import seed_kps
from linksyn_assets.assets.graph import kp_graph
from linksyn_assets.assets.release import linkqa_release
from linksyn_assets.assets.seeds import seeds
from linksyn_assets.assets.synthesis import hard_qa, synthesized_qa
from linksyn_assets.assets.walk import walk_paths

ALL_ASSETS = [seeds, seed_kps, kp_graph, walk_paths, synthesized_qa, hard_qa, linkqa_dataset, linkqa_release]

__all__ = ["ALL_ASSETS"]
