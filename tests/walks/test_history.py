"""Append-only walks (walks/history.py and the engine's history): kept paths, retired paths, and new paths
that depend only on the history, the graph and the RNG seed."""

from __future__ import annotations

import numpy as np
import polars as pl

from linksyn_assets.settings import WalkParams
from linksyn_assets.walks.csr_graph import WalkGraph
from linksyn_assets.walks.engine import WalkEngine, path_table
from linksyn_assets.walks.history import carry_over
from tests.walks.test_walks import UNIFORM_HIST, _power_law_graph

PARAMS = WalkParams(min_seeds=1)


def _draw(graph: WalkGraph, params: WalkParams, n: int, previous: pl.DataFrame | None = None) -> pl.DataFrame:
    history = carry_over(previous, graph, params.max_length)
    result = WalkEngine(graph, params).run("d", n, UNIFORM_HIST, history=history.nodes,
                                           first_index=history.next_index)
    new = path_table(graph, result, "d", params, first_index=history.next_index)
    return pl.concat([history.kept, new]) if history.kept.height else new


def test_kept_paths_stay_as_stored_and_new_ones_continue_the_ordinals() -> None:
    graph = WalkGraph.from_tables(_power_law_graph())
    first = _draw(graph, PARAMS, 40)
    grown = _draw(graph, PARAMS, 30, first)
    assert grown.head(40).equals(first)  # byte for byte: same ids, KPs, seeds, values
    assert grown["path_index"].to_list() == list(range(70))
    assert grown["path_id"].n_unique() == 70
    # same history and graph: the same new paths; another RNG seed: other new paths
    assert _draw(graph, PARAMS, 30, first).equals(grown)
    other = _draw(graph, PARAMS.model_copy(update={"rng_seed": 7}), 30, first)
    assert other.head(40).equals(first) and not other.tail(30)["kp_ids"].equals(grown.tail(30)["kp_ids"])


def test_new_paths_prefer_kps_the_history_did_not_use() -> None:
    graph = WalkGraph.from_tables(_power_law_graph())
    params = PARAMS.model_copy(update={"beta": 3.0})
    first = _draw(graph, params, 60)
    used = set(first["kp_ids"].explode().to_list())
    with_history = _draw(graph, params, 60, first).tail(60)
    # the same 60 paths drawn without knowing the history (a second, independent cold draw on another stream)
    blind = _draw(graph, params.model_copy(update={"rng_seed": 11}), 60)
    fresh_share = with_history["kp_ids"].explode().is_in(list(used)).not_().mean()
    blind_share = blind["kp_ids"].explode().is_in(list(used)).not_().mean()
    assert fresh_share > blind_share + 0.1, (fresh_share, blind_share)


def test_paths_naming_a_removed_seed_or_kp_are_retired_with_the_reason() -> None:
    graph = WalkGraph.from_tables(_power_law_graph())
    first = _draw(graph, PARAMS, 40)
    gone_seed = first["seed_ids"][0][0]
    gone_kp = first["kp_ids"][5][-1]
    smaller = WalkGraph(**{**graph.__dict__, "seed_ids": graph.seed_ids.filter(graph.seed_ids != gone_seed)})
    history = carry_over(first, smaller, PARAMS.max_length)
    uses_seed = first["seed_ids"].list.contains(gone_seed)
    assert history.retired["path_id"].to_list() == first.filter(uses_seed)["path_id"].to_list()
    assert set(history.retired["retired_reason"]) == {f"seed removed: {gone_seed}"}
    assert history.kept.equals(first.filter(~uses_seed)) and history.next_index == 40
    kps = graph.kp_ids.filter(graph.kp_ids != gone_kp)
    history = carry_over(first, WalkGraph(**{**graph.__dict__, "kp_ids": kps}), PARAMS.max_length)
    assert f"KP no longer in the graph: {gone_kp}" in set(history.retired["retired_reason"])
    assert history.retired_reasons.get("KP no longer in the graph", 0) >= 1
    redrawn = carry_over(first, graph, PARAMS.max_length, redraw=True)
    assert redrawn.kept.height == 0 and redrawn.retired.height == 40 and redrawn.next_index == 40
    assert np.array_equal(carry_over(first, graph, PARAMS.max_length).nodes[:, 0],
                          graph.kp_ids.search_sorted(first["kp_ids"].list.first()).to_numpy())
