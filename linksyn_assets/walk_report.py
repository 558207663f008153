"""Walk metrics: coverage against the uniform walk at the same number of paths, balance, KL."""

from __future__ import annotations

from typing import Any

import numpy as np

from .records import DIFFICULTY_LEVELS
from .settings import WalkParams
from .walks import WalkGraph, WalkResult, kp_coverage, sample_paths


def kl_divergence(target: np.ndarray, realized: np.ndarray, eps: float = 1e-9) -> float:
    p = target / target.sum()
    q = (realized + eps) / (realized + eps).sum()
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def gini(values: np.ndarray) -> float:
    if values.size == 0 or values.sum() == 0:
        return 0.0
    v = np.sort(values)
    n = v.size
    return float((2 * np.arange(1, n + 1) - n - 1).dot(v) / (n * v.sum()))


def walk_report(graph: WalkGraph, discipline: str, result: WalkResult, params: WalkParams,
                difficulty_hist: np.ndarray) -> dict[str, Any]:
    """Metrics of a walk, and of the uniform walk (alpha = beta = 0) with the same path count."""
    n = len(result.paths)
    uniform = sample_paths(graph, discipline, n, params.model_copy(update={"alpha": 0.0, "beta": 0.0}),
                           difficulty_hist)
    realized = np.bincount([p.target_difficulty for p in result.paths], minlength=DIFFICULTY_LEVELS)
    home = graph.in_discipline
    return {
        "kp_coverage": round(kp_coverage(graph, result.usage), 4),
        "kp_coverage_uniform": round(kp_coverage(graph, uniform.usage), 4),
        "usage_gini": round(gini(result.usage[home]), 4),
        "usage_gini_uniform": round(gini(uniform.usage[home]), 4),
        "cross_discipline_path_share": round(sum(p.cross_steps > 0 for p in result.paths) / n, 4) if n else 0.0,
        "difficulty_kl": round(kl_divergence(difficulty_hist, realized.astype(float)), 4) if n else 0.0,
        "difficulty_realized": [int(x) for x in realized],
    }
