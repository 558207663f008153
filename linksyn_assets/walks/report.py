"""Walk metrics against the uniform walk of rustworkx (generate_random_path) at the same number of
paths and the same path lengths: coverage, balance, popularity bias, distribution control."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import rustworkx as rx

from linksyn_assets.kps.graph_tables import GraphTables, to_rustworkx
from linksyn_assets.records import DIFFICULTY_LEVELS
from linksyn_assets.svg_chart import chart, markdown_image
from linksyn_assets.walks.csr_graph import WalkGraph
from linksyn_assets.walks.engine import WalkResult, kp_coverage
from linksyn_assets.walks.plan import kl_divergence


def gini(values: np.ndarray) -> float:
    if values.size == 0 or values.sum() == 0:
        return 0.0
    v = np.sort(values)
    n = v.size
    return float((2 * np.arange(1, n + 1) - n - 1).dot(v) / (n * v.sum()))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2:
        return 0.0
    ra = pl.Series(a).rank("average").to_numpy()
    rb = pl.Series(b).rank("average").to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def uniform_walk_usage(tables: GraphTables, graph: WalkGraph, lengths: list[int], seed: int
                       ) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """KP usage of rustworkx's uniform random walk from uniform home starts, one walk per length."""
    rx_graph, rx_index = to_rustworkx(tables)
    position = {rx_index[k]: i for i, k in enumerate(graph.kp_ids.to_list())}
    home = np.flatnonzero(graph.in_discipline)
    ids = graph.kp_ids.to_list()
    starts = [rx_index[ids[i]] for i in home if graph.degree(int(i)) > 0] or [rx_index[ids[i]] for i in home]
    usage = np.zeros(len(graph.kp_ids))
    curve: list[tuple[int, float]] = [(0, 0.0)]
    if not starts:
        return usage, curve
    rng = np.random.default_rng(seed)
    every = max(1, len(lengths) // 50)
    for n, length in enumerate(lengths, 1):
        source = starts[int(rng.integers(len(starts)))]
        walk = rx.generate_random_path(rx_graph, source, max(0, length - 1), seed=int(rng.integers(2**31)))
        for node in set(walk):
            usage[position[node]] += 1
        if n % every == 0:
            curve.append((n, kp_coverage(graph, usage)))
    return usage, curve


def walk_report(tables: GraphTables, graph: WalkGraph, result: WalkResult, difficulty_hist: np.ndarray,
                rng_seed: int) -> dict[str, Any]:
    n = result.count
    uniform, uniform_curve = uniform_walk_usage(tables, graph, result.lengths.tolist(), rng_seed)
    home = graph.in_discipline
    pop = graph.popularity[home]
    realized = np.bincount(result.targets, minlength=DIFFICULTY_LEVELS)
    coverage, coverage_uniform = kp_coverage(graph, result.usage), kp_coverage(graph, uniform)
    curve = chart({"value-guided": tuple(zip(*result.coverage_curve, strict=True)),  # type: ignore[dict-item]
                   "uniform (rustworkx)": tuple(zip(*uniform_curve, strict=True))},  # type: ignore[dict-item]
                  "KP coverage vs paths", "paths", "share of KPs used")
    return {
        "kp_coverage": round(coverage, 4),
        "kp_coverage_uniform": round(coverage_uniform, 4),
        "coverage_vs_uniform": round(coverage / coverage_uniform, 3) if coverage_uniform else 0.0,
        "usage_gini": round(gini(result.usage[home]), 4),
        "usage_gini_uniform": round(gini(uniform[home]), 4),
        "usage_popularity_spearman": round(spearman(result.usage[home], pop), 4),
        "usage_popularity_spearman_uniform": round(spearman(uniform[home], pop), 4),
        "cross_discipline_path_share": round(float((result.cross_steps > 0).mean()), 4) if n else 0.0,
        "cross_discipline_step_share": round(float(result.cross_steps.sum() / max(1, (result.lengths - 1).sum())), 4),
        "difficulty_kl": round(kl_divergence(difficulty_hist, realized.astype(float)), 4) if n else 0.0,
        "difficulty_realized": [int(x) for x in realized],
        "coverage_curve": markdown_image(curve, "KP coverage vs paths"),
    }
