"""How many paths each discipline gets and which difficulty each path aims at: targets, quotas and
the KL divergence of what was realized against them."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from linksyn_assets.records import DIFFICULTY_LEVELS
from linksyn_assets.settings import DifficultyParams, WalkParams

HARD_TOP_SHARE = 0.8  # the hard preset's mass on the top two levels


def kl_divergence(target: np.ndarray, realized: np.ndarray, eps: float = 1e-9) -> float:
    """KL(target || realized) in nats; both are counts or weights, normalized here."""
    p = target / target.sum()
    q = (realized + eps) / (realized + eps).sum()
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def difficulty_target(params: WalkParams, seed_difficulties: list[int | None],
                      difficulty: DifficultyParams | None = None) -> np.ndarray:
    """Target histogram over 0..4: an explicit histogram, else the preset: the seeds' own (add-one smoothed),
    uniform, or hard (HARD_TOP_SHARE on levels 3-4 and the rest on 0-2, each part shaped like the seeds')."""
    difficulty = difficulty or DifficultyParams()
    explicit = difficulty.histogram or params.difficulty_histogram
    if explicit is not None:
        hist = np.asarray(explicit, dtype=np.float64)
        return hist / hist.sum()
    seeds = np.ones(DIFFICULTY_LEVELS)
    for d in seed_difficulties:
        if d is not None:
            seeds[d] += 1
    if difficulty.preset == "uniform":
        return np.full(DIFFICULTY_LEVELS, 1 / DIFFICULTY_LEVELS)
    if difficulty.preset == "hard":
        low, top = seeds[:-2], seeds[-2:]
        return np.concatenate([low / low.sum() * (1 - HARD_TOP_SHARE), top / top.sum() * HARD_TOP_SHARE])
    return seeds / seeds.sum()


def quota(weights: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to n, proportional to weights (largest remainder)."""
    share = weights / weights.sum() * n
    counts = np.floor(share).astype(np.int64)
    short = n - int(counts.sum())
    if short > 0:
        counts[np.argsort(-(share - counts), kind="stable")[:short]] += 1
    return counts


def difficulty_sequence(hist: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n target difficulties whose histogram is the quota of hist, in random order: the realized
    histogram matches the target up to rounding instead of up to sampling noise."""
    levels = np.repeat(np.arange(hist.size), quota(hist, n))
    return rng.permutation(levels)


class TargetQueue:
    """Target difficulties handed out in order; the targets of paths that were not kept go back to
    the front, so every target of the sequence is eventually served."""

    def __init__(self, targets: np.ndarray) -> None:
        self._targets, self._next = targets, 0
        self._again = targets[:0]

    def take(self, count: int) -> np.ndarray:
        again, self._again = self._again[:count], self._again[count:]
        fresh = self._targets[self._next:self._next + count - again.size]
        self._next += fresh.size
        return np.concatenate([again, fresh])

    def give_back(self, targets: np.ndarray) -> None:
        self._again = np.concatenate([targets, self._again])


def discipline_targets(stats: pl.DataFrame, params: WalkParams) -> dict[str, float]:
    """Target share of paths per discipline: the configured mix, else proportional to seeds."""
    if params.discipline_mix:
        mix = {d: params.discipline_mix.get(d, 0.0) for d in stats["discipline"].to_list()}
    else:
        mix = dict(zip(stats["discipline"].to_list(), stats["seeds"].cast(pl.Float64).to_list(), strict=True))
    total = sum(mix.values())
    return {d: (v / total if total else 0.0) for d, v in mix.items()}


def paths_wanted(discipline: str, stats: pl.DataFrame, params: WalkParams) -> int:
    """This discipline's path count: fixed per discipline, or its quota of the total (total_paths, or
    paths_per_seed x all seeds, so the target grows with the seeds)."""
    if params.paths_per_discipline is not None:
        return params.paths_per_discipline
    targets = discipline_targets(stats, params)
    if discipline not in targets or not any(targets.values()):
        return 0
    names = sorted(targets)
    total = params.total_paths if params.total_paths is not None else math.ceil(
        params.paths_per_seed * int(stats["seeds"].sum()))
    counts = quota(np.array([targets[d] for d in names]), total)
    return int(counts[names.index(discipline)])


def mix_report(targets: dict[str, float], realized: dict[str, int]) -> dict[str, float]:
    """KL(target || realized) of the discipline mix, and the largest share gap."""
    names = sorted(set(targets) | set(realized))
    t = np.array([targets.get(d, 0.0) for d in names])
    r = np.array([float(realized.get(d, 0)) for d in names])
    if t.sum() == 0 or r.sum() == 0:
        return {"discipline_mix_kl": 0.0, "discipline_mix_max_gap": 0.0}
    gap = np.abs(t / t.sum() - r / r.sum()).max()
    return {"discipline_mix_kl": round(kl_divergence(t, r), 6), "discipline_mix_max_gap": round(float(gap), 6)}
