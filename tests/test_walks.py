"""Value-guided walks: exact probabilities, uniform baseline, coverage, control, reproducibility."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from linksyn_assets.kp_graph import GraphTables
from linksyn_assets.settings import WalkParams
from linksyn_assets.walk_report import kl_divergence
from linksyn_assets.walks import (
    WalkGraph,
    choose_seeds,
    kp_coverage,
    paths_wanted,
    sample_paths,
    start_distribution,
    step_distribution,
)

UNIFORM_HIST = np.full(5, 0.2)


def _tables(nodes: list[tuple[str, int, bool]], edges: list[tuple[str, str, int]],
            seeds_per_kp: int = 3) -> GraphTables:
    node_df = pl.DataFrame(
        [{"kp_id": k, "name": k.upper(), "popularity": p, "disciplines": ["d"] if home else ["other"],
          "in_discipline": home, "is_bridge": False} for k, p, home in nodes])
    edge_df = pl.DataFrame(edges, schema=["source", "target", "weight"], orient="row")
    kp_seeds = pl.DataFrame(
        [{"kp_id": k, "seed_id": f"{k}-s{i}", "seed_discipline": "d", "difficulty": i % 5}
         for k, _, _ in nodes for i in range(seeds_per_kp)],
        schema_overrides={"difficulty": pl.Int8})
    stats = pl.DataFrame({"discipline": ["d"], "seeds": [len(nodes) * seeds_per_kp]})
    return GraphTables(node_df, edge_df, kp_seeds, stats)


def _star() -> WalkGraph:
    # hub a with neighbours b, c, d (home) and x (foreign); popularity and weights differ.
    return WalkGraph.from_tables(_tables(
        [("a", 4, True), ("b", 1, True), ("c", 2, True), ("d", 8, True), ("x", 4, False)],
        [("a", "b", 1), ("a", "c", 3), ("a", "d", 2), ("a", "x", 2)]))


def _power_law_graph(n: int = 300, seed: int = 7) -> WalkGraph:
    rng = np.random.default_rng(seed)
    pop = np.maximum(1, (rng.pareto(1.2, n) * 3).astype(int))
    nodes = [(f"k{i:04d}", int(pop[i]), True) for i in range(n)]
    edges = set()
    for i in range(n):
        for j in rng.choice(n, size=4, replace=False, p=pop / pop.sum()):
            if i != j:
                edges.add((f"k{min(i, j):04d}", f"k{max(i, j):04d}", int(rng.integers(1, 5))))
    dedup = {(a, b): w for a, b, w in edges}
    return WalkGraph.from_tables(_tables(nodes, [(a, b, w) for (a, b), w in dedup.items()], seeds_per_kp=2))


def test_uniform_walk_when_alpha_beta_gamma_zero() -> None:
    g = _star()
    params = WalkParams(alpha=0, beta=0, gamma=0, cross_discipline_rate=1.0)
    nodes, probs, stop = step_distribution(g, [g.kp_ids.index("a")], np.zeros(5), params)
    assert stop == 0 and np.allclose(probs, 1 / 4) and len(nodes) == 4


def test_step_probabilities_follow_the_formula() -> None:
    g = _star()
    usage = np.array([0, 3, 0, 1, 0], dtype=float)
    params = WalkParams(alpha=0.5, beta=1.0, gamma=2.0, cross_discipline_rate=1.0)
    nodes, probs, _ = step_distribution(g, [g.kp_ids.index("a")], usage, params)
    got = {g.kp_ids[n]: p for n, p in zip(nodes, probs, strict=True)}
    raw = {k: w ** 2 * p ** 0.5 / (1 + u) for k, w, p, u in
           [("b", 1, 1, 3), ("c", 3, 2, 0), ("d", 2, 8, 1), ("x", 2, 4, 0)]}
    total = sum(raw.values())
    for k, v in raw.items():
        assert got[k] == pytest.approx(v / total)


def test_cross_discipline_cap() -> None:
    g = _star()
    a = g.kp_ids.index("a")
    capped = WalkParams(alpha=0, beta=0, gamma=0, cross_discipline_rate=0.1)
    nodes, probs, _ = step_distribution(g, [a], np.zeros(5), capped)
    out = sum(p for n, p in zip(nodes, probs, strict=True) if not g.in_discipline[n])
    assert out == pytest.approx(0.1) and probs.sum() == pytest.approx(1.0)
    closed = WalkParams(cross_discipline_rate=0.0, paths_per_discipline=50, min_length=3, max_length=4)
    result = sample_paths(g, "d", 50, closed, UNIFORM_HIST)
    assert all(p.cross_steps == 0 for p in result.paths)
    assert "x" not in {k for p in result.paths for k in p.kp_ids}


def test_sampled_starts_match_exact_distribution() -> None:
    g = _star()
    params = WalkParams(alpha=1.0, beta=0.0, min_length=1, max_length=1, min_seeds=1, max_seeds=1,
                        rng_seed=3)
    n = 4000
    result = sample_paths(g, "d", n, params, UNIFORM_HIST)
    nodes, expected = start_distribution(g, np.zeros(5), params)
    counts = np.array([sum(p.kp_ids[0] == g.kp_ids[k] for p in result.paths) for k in nodes])
    chi2 = float(((counts - n * expected) ** 2 / (n * expected)).sum())
    assert chi2 < 16.27  # chi-square critical value, 3 degrees of freedom, p = 0.001


def test_beta_raises_coverage_over_uniform_walk() -> None:
    g = _power_law_graph()
    base = dict(paths_per_discipline=150, min_length=3, max_length=3, rng_seed=11)
    uniform = sample_paths(g, "d", 150, WalkParams(alpha=0.0, beta=0.0, **base), UNIFORM_HIST)
    only_beta = sample_paths(g, "d", 150, WalkParams(alpha=0.0, beta=2.0, **base), UNIFORM_HIST)
    default = sample_paths(g, "d", 150, WalkParams(**base), UNIFORM_HIST)
    assert len(uniform.paths) == len(only_beta.paths) == len(default.paths) == 150
    assert kp_coverage(g, only_beta.usage) > 1.2 * kp_coverage(g, uniform.usage)
    assert kp_coverage(g, default.usage) > kp_coverage(g, uniform.usage)


def test_reproducible_from_rng_seed() -> None:
    g = _power_law_graph()

    def draw(seed: int) -> list[tuple[list[str], list[str]]]:
        params = WalkParams(paths_per_discipline=20, rng_seed=seed)
        return [(p.kp_ids, p.seed_ids) for p in sample_paths(g, "d", 20, params, UNIFORM_HIST).paths]

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)


def test_paths_have_distinct_seeds_within_bounds_and_no_revisits() -> None:
    g = _power_law_graph()
    params = WalkParams(min_seeds=2, max_seeds=4, min_length=2, max_length=4)
    result = sample_paths(g, "d", 40, params, UNIFORM_HIST)
    for p in result.paths:
        assert 2 <= len(p.seed_ids) <= 4 and len(set(p.seed_ids)) == len(p.seed_ids)
        assert len(set(p.kp_ids)) == len(p.kp_ids) <= 4
        carried = {s for k in p.kp_ids for s, _ in g.seeds_of[g.kp_ids.index(k)]}
        assert set(p.seed_ids) <= carried


def test_choose_seeds_prefers_multi_kp_and_matching_difficulty() -> None:
    tables = _tables([("a", 1, True), ("b", 1, True)], [("a", "b", 1)], seeds_per_kp=0)
    tables.kp_seeds = pl.DataFrame(
        {"kp_id": ["a", "a", "a", "b", "b"], "seed_id": ["both", "easy", "hard", "both", "b-hard"],
         "seed_discipline": ["d"] * 5, "difficulty": [2, 0, 4, 2, 4]}, schema_overrides={"difficulty": pl.Int8})
    g = WalkGraph.from_tables(tables)
    rng = np.random.default_rng(0)
    picked = choose_seeds(g, [0, 1], target=4, k=3, rng=rng)
    assert picked[0] == "both"            # carries both path KPs
    assert set(picked[1:]) == {"hard", "b-hard"}  # closest to the target difficulty; "easy" is not


def test_paths_wanted_follows_mix() -> None:
    stats = pl.DataFrame({"discipline": ["a", "b"], "seeds": [30, 10]})
    assert paths_wanted("a", stats, WalkParams(total_paths=100)) == 75
    assert paths_wanted("b", stats, WalkParams(total_paths=100, discipline_mix={"a": 1, "b": 1})) == 50
    assert paths_wanted("b", stats, WalkParams(paths_per_discipline=7)) == 7


def test_difficulty_histogram_is_followed() -> None:
    g = _power_law_graph()
    target = np.array([0.1, 0.1, 0.2, 0.3, 0.3])
    params = WalkParams(difficulty_histogram=list(target), paths_per_discipline=400, beta=0.5)
    result = sample_paths(g, "d", 400, params, target / target.sum())
    realized = np.bincount([p.target_difficulty for p in result.paths], minlength=5).astype(float)
    assert kl_divergence(target, realized) < 0.02


def test_invalid_params_are_rejected() -> None:
    with pytest.raises(ValueError, match="min_length"):
        WalkParams(min_length=5, max_length=2)
    with pytest.raises(ValueError, match="difficulty_histogram"):
        WalkParams(difficulty_histogram=[1, 2])


def test_report_compares_with_the_rustworkx_uniform_walk() -> None:
    import base64
    import xml.etree.ElementTree as ET

    from linksyn_assets.walk_report import walk_report

    g = _power_law_graph()
    tables = _tables([(k, int(p), True) for k, p in zip(g.kp_ids, g.popularity, strict=True)],
                     [(g.kp_ids[a], g.kp_ids[b], int(w)) for a in range(len(g.kp_ids))
                      for b, w in zip(g.indices[g.indptr[a]:g.indptr[a + 1]], g.weights[g.indptr[a]:g.indptr[a + 1]],
                                      strict=True) if a < b])
    result = sample_paths(g, "d", 150, WalkParams(paths_per_discipline=150, min_length=3, max_length=3), UNIFORM_HIST)
    report = walk_report(tables, g, result, UNIFORM_HIST, rng_seed=5)
    assert 0 < report["kp_coverage_uniform"] < report["kp_coverage"] <= 1
    assert report["coverage_vs_uniform"] > 1.1
    assert -1 <= report["usage_popularity_spearman"] <= 1
    # Value-guided usage is less concentrated than the uniform walk's, which follows degree.
    assert report["usage_gini"] < report["usage_gini_uniform"]
    assert result.coverage_curve[-1] == (150, pytest.approx(report["kp_coverage"], abs=1e-4))
    svg = base64.b64decode(report["coverage_curve"].split("base64,")[1][:-1])
    assert ET.fromstring(svg).tag.endswith("svg")  # a well-formed image
