"""Value-guided walks: the batched engine samples exactly the distribution walks.py writes out;
control of mix, difficulty and cross-discipline steps; coverage against the uniform walk;
reproducibility; seed choice."""

from __future__ import annotations

import base64
import itertools
import xml.etree.ElementTree as ET

import numba
import numpy as np
import polars as pl
import pytest

from linksyn_assets.kps.graph_tables import GraphTables
from linksyn_assets.settings import WalkParams
from linksyn_assets.walks import engine as walk_engine
from linksyn_assets.walks.csr_graph import WalkGraph
from linksyn_assets.walks.engine import PATH_SCHEMA, WalkEngine, WalkResult, batch_size, kp_coverage, path_table
from linksyn_assets.walks.kernel import AliasRows, rebuild_rows
from linksyn_assets.walks.plan import TargetQueue, discipline_targets, kl_divergence, mix_report, paths_wanted
from linksyn_assets.walks.reference import reference_walks, start_distribution, step_distribution
from linksyn_assets.walks.report import walk_report
from linksyn_assets.walks.seed_choice import choose_seeds
from linksyn_assets.walks.sum_tree import SumTree

UNIFORM_HIST = np.full(5, 0.2)


def sample_paths(graph: WalkGraph, discipline: str, n_paths: int, params: WalkParams,
                 difficulty_hist: np.ndarray, batch: int | None = None) -> WalkResult:
    return WalkEngine(graph, params).run(discipline, n_paths, difficulty_hist, batch)


def chi2_critical(df: int, z: float = 3.09) -> float:
    """Upper critical value of chi-square at p = 0.001 (Wilson-Hilferty)."""
    h = 2.0 / (9.0 * df)
    return df * (1.0 - h + z * np.sqrt(h)) ** 3


def chi2(counts: np.ndarray, probs: np.ndarray) -> tuple[float, int]:
    n = counts.sum()
    expected = n * probs
    keep = expected > 0
    assert counts[~keep].sum() == 0, "drew an outcome of probability 0"
    return float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()), int(keep.sum()) - 1


def _tables(nodes: list[tuple[str, int, bool]], edges: list[tuple[str, str, int]],
            seeds_per_kp: int = 3) -> GraphTables:
    node_df = pl.DataFrame(
        [{"kp_id": k, "name": k.upper(), "popularity": p, "disciplines": ["d"] if home else ["other"],
          "in_discipline": home, "is_bridge": False} for k, p, home in nodes])
    edge_df = pl.DataFrame(edges, schema=["source", "target", "weight"], orient="row")
    kp_seeds = pl.DataFrame(
        [{"kp_id": k, "seed_id": f"{k}-s{i}", "seed_discipline": "d", "difficulty": i % 5}
         for k, _, _ in nodes for i in range(seeds_per_kp)],
        schema={"kp_id": pl.String, "seed_id": pl.String, "seed_discipline": pl.String, "difficulty": pl.Int8})
    stats = pl.DataFrame({"discipline": ["d"], "seeds": [len(nodes) * seeds_per_kp]})
    return GraphTables(node_df, edge_df, kp_seeds, stats)


def _mixed() -> WalkGraph:
    """a hub with home and foreign neighbours, a triangle, unequal popularity and weights."""
    return WalkGraph.from_tables(_tables(
        [("a", 4, True), ("b", 1, True), ("c", 2, True), ("d", 8, True), ("x", 4, False), ("y", 3, False)],
        [("a", "b", 1), ("a", "c", 3), ("a", "d", 2), ("a", "x", 2), ("c", "d", 1), ("d", "x", 4),
         ("x", "y", 2), ("b", "c", 2)]))


def test_csr_rows_are_sorted_neighbours_with_weights_and_a_missing_kp_is_an_error() -> None:
    g = _mixed()
    a, d = g.position("a"), g.position("d")
    row = g.indices[g.indptr[a]:g.indptr[a + 1]]
    assert [g.kp_ids[int(v)] for v in row] == ["b", "c", "d", "x"]
    assert g.weights[g.indptr[a]:g.indptr[a + 1]].tolist() == [1.0, 3.0, 2.0, 2.0]
    assert [g.kp_ids[int(v)] for v in g.indices[g.indptr[d]:g.indptr[d + 1]]] == ["a", "c", "x"]
    assert g.indptr[-1] == 2 * 8  # both directions of every edge
    seeds = g.seed_ids.gather(g.seed_index[g.seed_ptr[a]:g.seed_ptr[a + 1]]).to_list()
    assert seeds == ["a-s0", "a-s1", "a-s2"]
    with pytest.raises(ValueError, match="1 edges name a KP missing"):
        WalkGraph.from_tables(_tables([("a", 1, True), ("b", 1, True)], [("a", "b", 1), ("a", "zz", 1)]))


def _power_law_graph(n: int = 300, seed: int = 7) -> GraphTables:
    rng = np.random.default_rng(seed)
    pop = np.maximum(1, (rng.pareto(1.2, n) * 3).astype(int))
    nodes = [(f"k{i:04d}", int(pop[i]), True) for i in range(n)]
    edges: dict[tuple[str, str], int] = {}
    for i in range(n):
        for j in rng.choice(n, size=4, replace=False, p=pop / pop.sum()):
            if i != j:
                edges[(f"k{min(i, j):04d}", f"k{max(i, j):04d}")] = int(rng.integers(1, 5))
    return _tables(nodes, [(a, b, w) for (a, b), w in edges.items()], seeds_per_kp=2)


def _pair_probabilities(g: WalkGraph, start: int, usage: np.ndarray, params: WalkParams
                        ) -> dict[tuple[int, int], float]:
    """Exact P(second node, third node | start) from walks.py, -1 meaning the path ended."""
    out: dict[tuple[int, int], float] = {}
    nodes, probs, stop = step_distribution(g, [start], usage, params)
    if stop:
        out[(-1, -1)] = stop
    for v, p in zip(nodes, probs, strict=True):
        nodes2, probs2, stop2 = step_distribution(g, [start, int(v)], usage, params)
        if stop2:
            out[(int(v), -1)] = p * stop2
        for v2, p2 in zip(nodes2, probs2, strict=True):
            out[(int(v), int(v2))] = p * p2
    return out


# -- building blocks --------------------------------------------------------------------------

def test_alias_tables_encode_each_rows_distribution_exactly() -> None:
    rng = np.random.default_rng(0)
    deg = np.concatenate([rng.integers(0, 12, 400), [300, 1, 2]])
    indptr = np.concatenate([[0], np.cumsum(deg)])
    n = int(indptr[-1])
    nodes = rng.integers(0, 50, n)
    static = rng.pareto(1.1, n) + 0.01
    static[:3] = 1.0  # a row of equal weights
    accept = (1.0 + rng.integers(0, 6, 50)) ** -2.0
    then, prob, alias = np.ones(n), np.ones(n), np.arange(n)
    rebuild_rows(AliasRows(indptr, nodes, static, then, prob, alias), np.flatnonzero(deg), accept, 3)
    row = np.repeat(np.arange(deg.size), deg)
    implied = prob.copy()
    np.add.at(implied, alias, 1.0 - prob)
    want = static * accept[nodes]
    sums = np.bincount(row, weights=want, minlength=deg.size)
    assert np.allclose(implied / deg[row], want / sums[row], atol=1e-9)
    assert (row[alias] == row).all()  # an alias never leaves its row
    assert ((prob >= 0) & (prob <= 1)).all()
    assert np.array_equal(then, accept[nodes])


def test_sum_tree_draws_in_proportion_and_follows_updates() -> None:
    rng = np.random.default_rng(1)
    weights = rng.random(75)  # three levels of 8-wide blocks, the last one partly padding
    weights[[3, 40]] = 0.0
    weights[64:72] = 0.0  # a whole empty block
    tree = SumTree(weights)
    depth = tree.offsets.size - 1  # levels above the leaves
    assert depth == 4
    tree.update(np.array([1, 5, 5]), np.array([2.0, 0.0, 0.0]))
    weights[1], weights[5] = 2.0, 0.0
    assert tree.total == pytest.approx(weights.sum())
    counts = np.bincount(tree.draw(200000, rng), minlength=75)
    assert counts.size == 75
    stat, df = chi2(counts, weights / weights.sum())  # fails on any draw of a zero weight
    assert stat < chi2_critical(df)
    for _ in range(20):  # many updates sharing ancestors: every parent stays the exact sum of its children
        tree.update(rng.integers(0, 75, 6), rng.random(6))
        for k in range(1, depth):
            children = tree.level(k - 1).reshape(-1, 8)
            assert np.array_equal(tree.level(k)[:children.shape[0]], np.cumsum(children, axis=1)[:, -1])


# -- exactness of the engine ------------------------------------------------------------------

def _two_step_chi2(engine: WalkEngine, start: int, usage: np.ndarray, seed: int, n: int = 40000
                   ) -> tuple[float, int]:
    """Chi-square of n engine walks of 3 KPs from `start` against the exact (v1, v2) probabilities."""
    exact = _pair_probabilities(engine.graph, start, usage, engine.params)
    paths = np.full((n, 3), -1, dtype=np.int64)
    paths[:, 0] = start
    engine.walk(paths, np.full(n, 3), np.random.default_rng(seed))
    outcomes = sorted(exact)
    index = {o: i for i, o in enumerate(outcomes)}
    counts = np.zeros(len(outcomes))
    for pair in map(tuple, paths[:, 1:].tolist()):
        counts[index[pair]] += 1  # a KeyError here is an outcome the formula forbids (e.g. a revisit)
    return chi2(counts, np.array([exact[o] for o in outcomes]))


@pytest.mark.parametrize(("alpha", "beta", "gamma", "cross", "scan_max_degree"), [
    (0.0, 0.0, 0.0, 1.0, 0), (0.5, 2.0, 1.0, 0.2, 0), (1.0, 0.5, 2.0, 0.0, 0), (0.0, 3.0, 0.5, 0.6, 0),
    (0.5, 2.0, 1.0, 0.2, 16)])  # scan_max_degree 0: every row by rejection; 16: this small graph by scans
def test_engine_two_steps_match_the_exact_distribution(alpha: float, beta: float, gamma: float, cross: float,
                                                       scan_max_degree: int) -> None:
    g = _mixed()
    params = WalkParams(alpha=alpha, beta=beta, gamma=gamma, cross_discipline_rate=cross, max_rejections=3,
                        scan_max_degree=scan_max_degree)
    usage = np.array([2.0, 0.0, 5.0, 1.0, 0.0, 3.0])
    engine = WalkEngine(g, params)
    engine.usage[:] = usage
    engine.accept[:] = (1.0 + usage) ** -beta
    stat, df = _two_step_chi2(engine, g.position("a"), usage, seed=7)
    assert stat < chi2_critical(df), (stat, df)
    assert engine.stats.exact_scans > 0 or beta == 0  # the scan fallback took part
    assert (engine.stats.proposals > 0) == (scan_max_degree == 0)


def test_engine_stays_exact_after_tables_are_rebased_on_older_counts() -> None:
    g = _mixed()
    params = WalkParams(alpha=0.5, beta=2.0, gamma=1.0, cross_discipline_rate=1.0, scan_max_degree=0)
    engine = WalkEngine(g, params)
    older = np.array([1.0, 0.0, 1.0, 0.0, 2.0, 0.0])
    engine.accept[:] = (1.0 + older) ** -2.0
    walk_engine.rebuild(engine.all, np.arange(g.size), engine.accept)
    usage = older + np.array([3.0, 1.0, 0.0, 4.0, 0.0, 2.0])  # counts only grow
    engine.accept[:] = (1.0 + usage) ** -2.0
    stat, df = _two_step_chi2(engine, g.position("d"), usage, seed=3)
    assert stat < chi2_critical(df), (stat, df)


def test_engine_starts_match_the_exact_distribution() -> None:
    g = _mixed()
    params = WalkParams(alpha=1.0, beta=1.0)
    engine = WalkEngine(g, params)
    used = np.array([0, 0, 0, 3, 0, 0])
    engine._record(np.array([[g.position("d"), -1]] * 3))  # three paths through d
    assert np.array_equal(engine.usage, used)
    nodes, probs = start_distribution(g, used.astype(float), params)
    drawn = engine._start(30000, np.random.default_rng(2))
    counts = np.array([(drawn == v).sum() for v in nodes], dtype=float)
    assert np.isin(drawn, nodes).all()  # only KPs of d start a path
    stat, df = chi2(counts, probs)
    assert stat < chi2_critical(df)


def test_engine_matches_the_sequential_reference_on_coverage() -> None:
    # batch = 1 is the sequential process; the reference computes each step's distribution outright
    g = WalkGraph.from_tables(_power_law_graph())
    params = WalkParams(min_length=3, max_length=3, min_seeds=1, batch_paths=1)
    engine = sample_paths(g, "d", 120, params, UNIFORM_HIST)
    reference = reference_walks(g, 120, np.full(120, 3), params, np.random.default_rng(4))
    usage = np.zeros(g.size)
    for path in reference:
        usage[path] += 1
    assert engine.count == 120
    assert abs(kp_coverage(g, engine.usage) - kp_coverage(g, usage)) < 0.05


# -- control -----------------------------------------------------------------------------------

def test_cross_discipline_rate_zero_never_leaves_and_positive_rate_is_a_cap() -> None:
    g = _mixed()
    closed = sample_paths(g, "d", 300, WalkParams(cross_discipline_rate=0.0, min_length=3, max_length=4,
                                                  min_seeds=1), UNIFORM_HIST)
    assert closed.count == 300 and (closed.cross_steps == 0).all()
    assert g.in_discipline[closed.nodes[closed.nodes >= 0]].all()
    capped = sample_paths(g, "d", 2000, WalkParams(cross_discipline_rate=0.3, min_length=2, max_length=2,
                                                   min_seeds=1, beta=0), UNIFORM_HIST)
    share = capped.cross_steps.sum() / (capped.lengths - 1).sum()
    assert 0 < share <= 0.3 + 0.03


def test_difficulty_histogram_is_followed_within_stated_kl() -> None:
    g = WalkGraph.from_tables(_power_law_graph())
    target = np.array([0.1, 0.1, 0.2, 0.3, 0.3])
    result = sample_paths(g, "d", 400, WalkParams(difficulty_histogram=list(target)), target)
    realized = np.bincount(result.targets, minlength=5).astype(float)
    assert result.count == 400
    assert kl_divergence(target, realized) < 1e-3  # quotas: only rounding separates them


def test_discipline_mix_follows_targets_within_stated_kl() -> None:
    stats = pl.DataFrame({"discipline": ["a", "b", "c"], "seeds": [30, 10, 7]})
    params = WalkParams(total_paths=1000)
    targets = discipline_targets(stats, params)
    realized = {d: paths_wanted(d, stats, params) for d in targets}
    assert sum(realized.values()) == 1000
    assert mix_report(targets, realized)["discipline_mix_kl"] < 1e-4
    mixed = WalkParams(total_paths=90, discipline_mix={"a": 1, "b": 2})
    assert {d: paths_wanted(d, stats, mixed) for d in "abc"} == {"a": 30, "b": 60, "c": 0}
    assert paths_wanted("b", stats, WalkParams(paths_per_discipline=7)) == 7
    assert mix_report({"a": 0.5, "b": 0.5}, {"a": 90, "b": 10})["discipline_mix_kl"] > 0.3


# -- coverage, reproducibility, seeds ----------------------------------------------------------

def test_value_guided_walk_covers_more_than_the_uniform_walk() -> None:
    g = WalkGraph.from_tables(_power_law_graph())
    base = dict(min_length=3, max_length=3, rng_seed=11)
    uniform = sample_paths(g, "d", 150, WalkParams(alpha=0.0, beta=0.0, **base), UNIFORM_HIST)
    only_beta = sample_paths(g, "d", 150, WalkParams(alpha=0.0, beta=2.0, **base), UNIFORM_HIST)
    default = sample_paths(g, "d", 150, WalkParams(**base), UNIFORM_HIST)
    assert uniform.count == only_beta.count == default.count == 150
    assert kp_coverage(g, only_beta.usage) > 1.2 * kp_coverage(g, uniform.usage)
    assert kp_coverage(g, default.usage) > kp_coverage(g, uniform.usage)


def test_reproducible_from_rng_seed() -> None:
    g = WalkGraph.from_tables(_power_law_graph())

    def draw(seed: int) -> tuple[list[list[int]], list[list[int]]]:
        result = sample_paths(g, "d", 50, WalkParams(rng_seed=seed, batch_paths=8), UNIFORM_HIST)
        return result.nodes.tolist(), result.seeds.tolist()

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)


def test_paths_have_distinct_seeds_within_bounds_and_no_revisits() -> None:
    tables = _power_law_graph()
    g = WalkGraph.from_tables(tables)
    params = WalkParams(min_seeds=2, max_seeds=4, min_length=2, max_length=4)
    result = sample_paths(g, "d", 60, params, UNIFORM_HIST)
    table = path_table(g, result, "d", params)
    assert table.schema == pl.Schema(PATH_SCHEMA) and table.height == 60
    assert table["path_id"].n_unique() == 60
    carriers = tables.kp_seeds.group_by("kp_id").agg("seed_id")
    carried = dict(zip(carriers["kp_id"].to_list(), carriers["seed_id"].to_list(), strict=True))
    for kps, seeds in zip(table["kp_ids"].to_list(), table["seed_ids"].to_list(), strict=True):
        assert 2 <= len(seeds) <= 4 and len(set(seeds)) == len(seeds)
        assert 2 <= len(kps) <= 4 and len(set(kps)) == len(kps)
        assert set(seeds) <= {s for k in kps for s in carried[k]}
        assert all(b in set(g.indices[g.indptr[a]:g.indptr[a + 1]].tolist())
                   for a, b in itertools.pairwise([g.position(k) for k in kps]))  # consecutive KPs are linked


def test_choose_seeds_prefers_multi_kp_and_matching_difficulty() -> None:
    tables = _tables([("a", 1, True), ("b", 1, True)], [("a", "b", 1)], seeds_per_kp=0)
    tables.kp_seeds = pl.DataFrame(
        {"kp_id": ["a", "a", "a", "b", "b"], "seed_id": ["both", "easy", "hard", "both", "b-hard"],
         "seed_discipline": ["d"] * 5, "difficulty": [2, 0, 4, 2, 4]}, schema_overrides={"difficulty": pl.Int8})
    g = WalkGraph.from_tables(tables)
    picked = choose_seeds(g, np.array([[0, 1]]), np.array([2]), np.array([4]), np.array([3]),
                          np.random.default_rng(0))
    names = [g.seed_ids[int(i)] for i in picked[0]]
    assert names[0] == "both"  # carries both path KPs
    assert set(names[1:]) == {"hard", "b-hard"}  # closest to the target difficulty; "easy" is not


def test_invalid_params_are_rejected() -> None:
    with pytest.raises(ValueError, match="min_length"):
        WalkParams(min_length=5, max_length=2)
    with pytest.raises(ValueError, match="difficulty_histogram"):
        WalkParams(difficulty_histogram=[1, 2])


def test_report_compares_with_the_rustworkx_uniform_walk() -> None:
    tables = _power_law_graph()
    g = WalkGraph.from_tables(tables)
    result = sample_paths(g, "d", 150, WalkParams(min_length=3, max_length=3), UNIFORM_HIST)
    report = walk_report(tables, g, result, UNIFORM_HIST, rng_seed=5)
    assert 0 < report["kp_coverage_uniform"] < report["kp_coverage"] <= 1
    assert report["coverage_vs_uniform"] > 1.1
    assert -1 <= report["usage_popularity_spearman"] <= 1
    # value-guided usage is less concentrated than the uniform walk's, which follows degree
    assert report["usage_gini"] < report["usage_gini_uniform"]
    assert result.coverage_curve[-1] == (150, pytest.approx(report["kp_coverage"], abs=1e-4))
    svg = base64.b64decode(report["coverage_curve"].split("base64,")[1][:-1])
    assert ET.fromstring(svg).tag.endswith("svg")  # a well-formed image


def test_automatic_batches_grow_with_the_history_and_stop_at_the_cap() -> None:
    # every path sees at least 8/9 of the paths drawn before it: the first ones are drawn one by one
    assert [batch_size(drawn, 100, fixed=False) for drawn in (0, 7, 8, 16, 80, 799, 800, 10**6)] == \
        [1, 1, 1, 2, 10, 99, 100, 100]
    assert batch_size(0, 64, fixed=True) == 64  # a configured batch is used as given
    sizes, drawn = [], 0
    while drawn < 5000:
        sizes.append(batch_size(drawn, 256, fixed=False))
        drawn += sizes[-1]
    assert all(size * 8 <= max(8, start) for size, start in zip(sizes, np.cumsum([0] + sizes[:-1]), strict=True))
    assert max(sizes) == 256


def test_target_queue_serves_given_back_targets_first_and_loses_none() -> None:
    queue = TargetQueue(np.arange(10))
    assert queue.take(4).tolist() == [0, 1, 2, 3]
    queue.give_back(np.array([1, 3]))
    assert queue.take(3).tolist() == [1, 3, 4]
    queue.give_back(np.array([9, 8, 7, 6]))  # more than the next batch takes
    assert queue.take(2).tolist() == [9, 8]
    assert queue.take(10).tolist() == [7, 6, 5, 6, 7, 8, 9]


def test_paths_do_not_depend_on_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # walkers, tally lanes and rebuild lanes split work by thread; each walker has its own random stream
    monkeypatch.setattr(walk_engine, "REBUILD_MIN_DEGREE", 1)  # this graph's rows are short
    g = WalkGraph.from_tables(_power_law_graph())
    params = WalkParams(scan_max_degree=0, max_rejections=2)  # proposals, rejections and re-based rows
    runs = []
    before = numba.get_num_threads()
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            runs.append(sample_paths(g, "d", 400, params, UNIFORM_HIST))
    finally:
        numba.set_num_threads(before)
    assert runs[0].stats.rows_rebuilt > 0
    assert np.array_equal(runs[0].nodes, runs[1].nodes) and np.array_equal(runs[0].seeds, runs[1].seeds)
    assert np.array_equal(runs[0].usage, runs[1].usage)
