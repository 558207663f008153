"""Datasets that grow to a target: how many paths each discipline needs next, from the pass rate so far.

A round asks for the paths still missing to reach the target at the rate measured (rows or tokens that
passed QC per path); walks are append-only, so every round only adds paths and reuses all earlier work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from linksyn_assets.walks.plan import quota

PRIOR_RATE = 0.5  # rows per path assumed before any path has been measured
MIN_RATE = 0.05  # a discipline whose paths almost never pass is not asked for unbounded paths
MAX_GROWTH = 4.0  # a round at most multiplies a discipline's paths by this (plus a few)


def split_target(total: int, shares: dict[str, float]) -> dict[str, int]:
    """The total target split over disciplines by their shares (largest remainder)."""
    names = sorted(d for d, s in shares.items() if s > 0)
    if not names:
        return {}
    counts = quota(np.array([shares[d] for d in names]), total)
    return dict(zip(names, (int(c) for c in counts), strict=True))


def paths_for_round(have: float, target: float, paths: int) -> int:
    """The discipline's path count for the next round (its current count when the target is met)."""
    missing = target - have
    if missing <= 0:
        return paths
    rate = have / paths if have > 0 and paths > 0 else PRIOR_RATE
    more = math.ceil(missing / max(rate, MIN_RATE))
    return paths + max(1, min(more, int(MAX_GROWTH * paths) + 4))


def target_share(settings_total: int | None, shares: dict[str, float], discipline: str) -> int | None:
    """The discipline's part of dataset.target_rows/target_tokens, None without a target."""
    return split_target(settings_total, shares).get(discipline, 0) if settings_total else None


def walk_round(target: int | None, have: int | None, paths_behind: int, default: int) -> int:
    """The path count walk_paths aims for. Without a target, or before the dataset has measured a pass rate
    (have is None), the default (paths_per_seed / paths_per_discipline); after, the round that reaches the
    discipline's target at the measured rate (never fewer than the default)."""
    if target is None or have is None or paths_behind == 0:
        return default
    return max(default, paths_for_round(have, target, paths_behind))


def next_round(target: int, have: int | None, dataset_paths: int | None, walk_paths: int | None,
               walk_new: int | None, rounds: int, max_rounds: int) -> str:
    """What a discipline needs next on its way to its target share, from its latest dataset and walk reports:
    `grow` (one more round), or why not (`waiting` for the first pass or for a round under way, `reached`,
    `graph exhausted`, `rounds used up`)."""
    if have is None or dataset_paths is None or walk_paths is None:
        return "waiting"  # the discipline has not been through the pipeline yet
    if have >= target:
        return "reached"
    if dataset_paths != walk_paths:
        return "waiting"  # a round's walk is done and its dataset is not (yet)
    if rounds > 0 and not walk_new:
        return "graph exhausted"  # the last round's walk found no new path
    return "grow" if rounds < max_rounds else "rounds used up"


@dataclass
class TargetStatus:
    discipline: str
    target: int
    have: int
    paths: int
    state: str = "growing"  # growing | reached | graph exhausted | budget ended | rounds used up | failed

    def line(self) -> str:
        missing = max(0, self.target - self.have)
        return (f"{self.discipline}: {self.have} of {self.target} ({self.state}"
                + (f", {missing} missing" if missing else "") + f"; {self.paths} paths)")
