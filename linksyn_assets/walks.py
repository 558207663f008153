"""Value-guided walks on the KP graph (reference implementation, exact and sequential).

V(v) = p(v)^alpha * (1 + n(v))^(-beta), n(v) = paths that already used v.
Start of a path in d: P(v) ~ V(v) over KPs of d that have a neighbour.
Step: P(u -> v) ~ w(u,v)^gamma * V(v) over neighbours not yet on the path. If the share of
mass on KPs outside d exceeds cross_discipline_rate, it is scaled down to exactly that cap
(with no neighbour inside d, the walk leaves with probability cap and otherwise ends).
Usage n(v) is updated after every path, so each path sees all earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from pydantic import BaseModel

from .kp_graph import GraphTables
from .records import DIFFICULTY_LEVELS
from .settings import WalkParams
from .text_normalize import content_hash

UNKNOWN_DIFFICULTY_PENALTY = 2.0


class WalkPath(BaseModel):
    path_id: str
    discipline: str
    path_index: int
    kp_ids: list[str]
    kp_names: list[str]
    seed_ids: list[str]
    target_difficulty: int
    cross_steps: int
    values: list[float]
    rng_seed: int


@dataclass
class WalkGraph:
    """CSR view of one partition's graph."""

    kp_ids: list[str]
    names: list[str]
    popularity: np.ndarray
    in_discipline: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    seeds_of: list[list[tuple[str, int | None]]]  # per KP: (seed_id, difficulty)

    @classmethod
    def from_tables(cls, tables: GraphTables) -> WalkGraph:
        nodes = tables.nodes.sort("kp_id")
        kp_ids = nodes["kp_id"].to_list()
        pos = {k: i for i, k in enumerate(kp_ids)}
        both = pl.concat([
            tables.edges.select(pl.col("source").alias("a"), pl.col("target").alias("b"), "weight"),
            tables.edges.select(pl.col("target").alias("a"), pl.col("source").alias("b"), "weight"),
        ])
        a = np.array([pos[x] for x in both["a"].to_list()], dtype=np.int64)
        b = np.array([pos[x] for x in both["b"].to_list()], dtype=np.int64)
        w = both["weight"].to_numpy().astype(np.float64)
        order = np.lexsort((b, a))
        a, b, w = a[order], b[order], w[order]
        indptr = np.zeros(len(kp_ids) + 1, dtype=np.int64)
        np.add.at(indptr, a + 1, 1)
        seeds_of: list[list[tuple[str, int | None]]] = [[] for _ in kp_ids]
        for kp, seed, diff in tables.kp_seeds.select("kp_id", "seed_id", "difficulty").iter_rows():
            if kp in pos:
                seeds_of[pos[kp]].append((seed, diff))
        return cls(
            kp_ids=kp_ids, names=nodes["name"].to_list(),
            popularity=nodes["popularity"].to_numpy().astype(np.float64),
            in_discipline=nodes["in_discipline"].to_numpy().astype(bool),
            indptr=np.cumsum(indptr), indices=b, weights=w, seeds_of=seeds_of,
        )

    def degree(self, node: int) -> int:
        return int(self.indptr[node + 1] - self.indptr[node])


def value(graph: WalkGraph, usage: np.ndarray, params: WalkParams, nodes: np.ndarray) -> np.ndarray:
    return graph.popularity[nodes] ** params.alpha * (1.0 + usage[nodes]) ** (-params.beta)


def start_distribution(graph: WalkGraph, usage: np.ndarray, params: WalkParams
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(candidate nodes, probabilities); nodes of d with a neighbour, or all of d if none has one."""
    home = np.flatnonzero(graph.in_discipline)
    linked = home[np.diff(graph.indptr)[home] > 0]
    candidates = linked if linked.size else home
    if candidates.size == 0:
        return candidates, np.zeros(0)
    scores = value(graph, usage, params, candidates)
    return candidates, scores / scores.sum()


def step_distribution(graph: WalkGraph, path: list[int], usage: np.ndarray, params: WalkParams
                      ) -> tuple[np.ndarray, np.ndarray, float]:
    """(candidate nodes, probabilities, probability that the path ends here)."""
    u = path[-1]
    lo, hi = graph.indptr[u], graph.indptr[u + 1]
    nb, w = graph.indices[lo:hi], graph.weights[lo:hi]
    fresh = ~np.isin(nb, np.asarray(path))
    nb, w = nb[fresh], w[fresh]
    scores = w ** params.gamma * value(graph, usage, params, nb)
    inside = graph.in_discipline[nb]
    mass_in, mass_out = scores[inside].sum(), scores[~inside].sum()
    total = mass_in + mass_out
    if nb.size == 0 or total <= 0:
        return nb[:0], np.zeros(0), 1.0
    cap = params.cross_discipline_rate
    if mass_out <= cap * total:
        return nb, scores / total, 0.0
    probs = np.where(inside, scores * ((1 - cap) / mass_in if mass_in > 0 else 0.0), scores * cap / mass_out)
    return nb, probs, 0.0 if mass_in > 0 else 1.0 - cap


def choose_seeds(graph: WalkGraph, path: list[int], target: int, k: int, rng: np.random.Generator
                 ) -> list[str]:
    """Up to k distinct seeds, visiting path KPs in turn; prefer seeds that carry several path
    KPs and whose difficulty is close to the target (random tie-break)."""
    carries: dict[str, int] = {}
    difficulty: dict[str, int | None] = {}
    for node in path:
        for seed, diff in graph.seeds_of[node]:
            carries[seed] = carries.get(seed, 0) + 1
            difficulty[seed] = diff
    tiebreak = {s: rng.random() for s in sorted(carries)}

    def rank(seed: str) -> tuple[float, float, float]:
        diff = difficulty[seed]
        gap = UNKNOWN_DIFFICULTY_PENALTY if diff is None else abs(diff - target)
        return (-carries[seed], gap, tiebreak[seed])

    chosen: list[str] = []
    progress = True
    while len(chosen) < k and progress:
        progress = False
        for node in path:
            options = [s for s, _ in graph.seeds_of[node] if s not in chosen]
            if options and len(chosen) < k:
                chosen.append(min(options, key=rank))
                progress = True
    return chosen


def difficulty_target(params: WalkParams, seed_difficulties: list[int | None]) -> np.ndarray:
    """Target histogram over 0..4: configured, or the seeds' own (add-one smoothed)."""
    if params.difficulty_histogram is not None:
        hist = np.asarray(params.difficulty_histogram, dtype=np.float64)
    else:
        hist = np.ones(DIFFICULTY_LEVELS)
        for d in seed_difficulties:
            if d is not None:
                hist[d] += 1
    return hist / hist.sum()


def paths_wanted(discipline: str, stats: pl.DataFrame, params: WalkParams) -> int:
    if params.paths_per_discipline is not None:
        return params.paths_per_discipline
    if params.discipline_mix:
        mix = params.discipline_mix
        return round(params.total_paths * mix.get(discipline, 0.0) / sum(mix.values()))
    total = stats["seeds"].sum()
    mine = stats.filter(pl.col("discipline") == discipline)["seeds"].sum()
    return round(params.total_paths * mine / total) if total else 0


@dataclass
class WalkResult:
    paths: list[WalkPath]
    usage: np.ndarray
    draws: int
    too_few_seeds: int
    coverage_curve: list[tuple[int, float]]  # (paths so far, KP coverage)


def sample_paths(graph: WalkGraph, discipline: str, n_paths: int, params: WalkParams,
                 difficulty_hist: np.ndarray) -> WalkResult:
    """Draw n_paths paths (fewer when the graph cannot give enough seeds after
    max_attempts_factor * n_paths draws). Reproducible from params.rng_seed and discipline."""
    rng_seed = int(content_hash(params.rng_seed, discipline, length=8), 16)
    rng = np.random.default_rng(rng_seed)
    usage = np.zeros(len(graph.kp_ids))
    paths: list[WalkPath] = []
    draws = too_few = 0
    home_total = max(1, int(graph.in_discipline.sum()))
    covered = 0
    curve: list[tuple[int, float]] = [(0, 0.0)]
    every = max(1, n_paths // 50)
    while len(paths) < n_paths and draws < n_paths * params.max_attempts_factor:
        draws += 1
        starts, start_p = start_distribution(graph, usage, params)
        if starts.size == 0:
            break
        length = int(rng.integers(params.min_length, params.max_length + 1))
        path = [int(rng.choice(starts, p=start_p))]
        values = [float(value(graph, usage, params, np.asarray(path))[0])]
        cross = 0
        while len(path) < length:
            nodes, probs, p_stop = step_distribution(graph, path, usage, params)
            if nodes.size == 0 or rng.random() < p_stop:
                break
            nxt = int(rng.choice(nodes, p=probs / probs.sum()))
            cross += int(graph.in_discipline[path[-1]] != graph.in_discipline[nxt])
            values.append(float(value(graph, usage, params, np.asarray([nxt]))[0]))
            path.append(nxt)
        target = int(rng.choice(DIFFICULTY_LEVELS, p=difficulty_hist))
        k = int(rng.integers(params.min_seeds, params.max_seeds + 1))
        seeds = choose_seeds(graph, path, target, k, rng)
        if len(seeds) < params.min_seeds:
            too_few += 1
            continue
        covered += int(sum(1 for i in path if usage[i] == 0 and graph.in_discipline[i]))
        usage[path] += 1
        if (len(paths) + 1) % every == 0:
            curve.append((len(paths) + 1, covered / home_total))
        kp_ids = [graph.kp_ids[i] for i in path]
        paths.append(WalkPath(
            path_id=content_hash(discipline, params.model_dump(mode="json"), len(paths), kp_ids, seeds,
                                 prefix="p_"),
            discipline=discipline, path_index=len(paths), kp_ids=kp_ids,
            kp_names=[graph.names[i] for i in path], seed_ids=seeds, target_difficulty=target,
            cross_steps=cross, values=values, rng_seed=params.rng_seed,
        ))
    return WalkResult(paths=paths, usage=usage, draws=draws, too_few_seeds=too_few, coverage_curve=curve)


def kp_coverage(graph: WalkGraph, usage: np.ndarray) -> float:
    """Share of the discipline's KPs used by at least one path."""
    home = graph.in_discipline
    return float((usage[home] > 0).sum() / home.sum()) if home.any() else 0.0
