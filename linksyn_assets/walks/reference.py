"""The walk's distribution, written out exactly, and a straightforward sequential sampler of it.

V(v) = p(v)^alpha * (1 + n(v))^(-beta), n(v) = paths that already used v.
Start of a path in d: P(v) ~ V(v) over KPs of d that have a neighbour (all KPs of d if none has).
Step from u, with path so far P and c = cross_discipline_rate:
    all(v)    ~ w(u,v)^gamma * V(v) over neighbours of u not on P
    inside(v) ~ the same, restricted to neighbours in d
    P(u -> v) = c * all(v) + (1 - c) * inside(v)
so a step may leave d only in the c branch, and the share of steps leaving d is at most c
(c = 1 is the plain formula of docs/design.md; c = 0 never leaves d). A branch with no candidate
ends the path. This module is the reference the batched engine (engine.py) is tested
against and the per-step baseline of bench/walk_bench.py.
"""

from __future__ import annotations

import numpy as np

from linksyn_assets.settings import WalkParams
from linksyn_assets.walks.csr_graph import WalkGraph


def value(graph: WalkGraph, usage: np.ndarray, params: WalkParams, nodes: np.ndarray) -> np.ndarray:
    return graph.popularity[nodes] ** params.alpha * (1.0 + usage[nodes]) ** (-params.beta)


def start_candidates(graph: WalkGraph) -> np.ndarray:
    home = np.flatnonzero(graph.in_discipline)
    linked = home[np.diff(graph.indptr)[home] > 0]
    return linked if linked.size else home


def start_distribution(graph: WalkGraph, usage: np.ndarray, params: WalkParams
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(candidate nodes, probabilities)."""
    candidates = start_candidates(graph)
    if candidates.size == 0:
        return candidates, np.zeros(0)
    scores = value(graph, usage, params, candidates)
    return candidates, scores / scores.sum()


def step_distribution(graph: WalkGraph, path: list[int], usage: np.ndarray, params: WalkParams
                      ) -> tuple[np.ndarray, np.ndarray, float]:
    """(candidate nodes, probabilities, probability that the path ends here); sums to 1."""
    u = path[-1]
    lo, hi = graph.indptr[u], graph.indptr[u + 1]
    nb, w = graph.indices[lo:hi], graph.weights[lo:hi]
    fresh = ~np.isin(nb, np.asarray(path))
    nb, w = nb[fresh], w[fresh]
    scores = w ** params.gamma * value(graph, usage, params, nb)
    inside = graph.in_discipline[nb]
    cap = params.cross_discipline_rate
    total, total_in = scores.sum(), scores[inside].sum()
    probs = np.zeros(nb.size)
    stop = 0.0
    for share, mask, mass in ((cap, np.ones(nb.size, dtype=bool), total), (1.0 - cap, inside, total_in)):
        if share == 0:
            continue
        if mass > 0:
            probs += np.where(mask, share * scores / mass, 0.0)
        else:
            stop += share
    return nb, probs, stop


def reference_walks(graph: WalkGraph, n_paths: int, lengths: np.ndarray, params: WalkParams,
                    rng: np.random.Generator, usage: np.ndarray | None = None) -> list[list[int]]:
    """n_paths walks, one exact distribution computed per step, usage updated after every path."""
    usage = np.zeros(graph.size) if usage is None else usage
    paths: list[list[int]] = []
    for length in lengths[:n_paths]:
        starts, start_p = start_distribution(graph, usage, params)
        if starts.size == 0:
            break
        path = [int(rng.choice(starts, p=start_p))]
        while len(path) < length:
            nodes, probs, p_stop = step_distribution(graph, path, usage, params)
            if nodes.size == 0 or rng.random() < p_stop:
                break
            path.append(int(rng.choice(nodes, p=probs / probs.sum())))
        usage[path] += 1
        paths.append(path)
    return paths
