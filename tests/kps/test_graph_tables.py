"""KP graph tables: popularity, co-occurrence weights, bridges, partition scope, rustworkx view."""

from __future__ import annotations

import polars as pl

from linksyn_assets.kps.corpus_graph import build_corpus_graph, build_graph_tables, partition_summary
from linksyn_assets.kps.graph_tables import to_rustworkx


def _seed_kps() -> pl.DataFrame:
    rows = [
        # physics seeds
        ("s1", "physics", "kp_decay", 2), ("s1", "physics", "kp_halflife", 2),
        ("s2", "physics", "kp_decay", 3), ("s2", "physics", "kp_halflife", 3), ("s2", "physics", "kp_energy", 3),
        ("s3", "physics", "kp_momentum", 1),
        # mathematics seeds: kp_decay is shared (a bridge)
        ("m1", "mathematics", "kp_decay", 1), ("m1", "mathematics", "kp_log", 1),
        ("m2", "mathematics", "kp_log", 2), ("m2", "mathematics", "kp_series", 2),
    ]
    frame = pl.DataFrame(rows, schema=["seed_id", "discipline", "kp_id", "difficulty"], orient="row")
    return frame.with_columns(pl.col("kp_id").str.replace("kp_", "").alias("kp_name"))


def test_nodes_edges_and_bridges() -> None:
    tables = build_graph_tables(_seed_kps(), "physics")
    nodes = {r["kp_id"]: r for r in tables.nodes.to_dicts()}
    # Home KPs plus kp_log, reached through the bridge kp_decay.
    assert set(nodes) == {"kp_decay", "kp_halflife", "kp_energy", "kp_momentum", "kp_log"}
    assert nodes["kp_decay"]["popularity"] == 3 and nodes["kp_decay"]["is_bridge"]
    assert nodes["kp_decay"]["disciplines"] == ["mathematics", "physics"]
    assert not nodes["kp_log"]["in_discipline"] and nodes["kp_momentum"]["in_discipline"]
    edges = {(r["source"], r["target"]): r["weight"] for r in tables.edges.to_dicts()}
    assert edges[("kp_decay", "kp_halflife")] == 2
    assert edges[("kp_decay", "kp_log")] == 1
    assert ("kp_log", "kp_series") not in edges  # no home endpoint: not in this partition
    assert set(tables.kp_seeds.filter(pl.col("kp_id") == "kp_log")["seed_id"]) == {"m1", "m2"}
    assert dict(tables.discipline_stats.iter_rows()) == {"mathematics": 2, "physics": 3}
    aliases = tables.aliases.filter(pl.col("kp_id") == "kp_decay")
    assert aliases.rows() == [("kp_decay", "decay", 3)]  # surface forms with counts


def test_rustworkx_structure() -> None:
    tables = build_graph_tables(_seed_kps(), "physics")
    graph, index = to_rustworkx(tables)
    assert graph.num_nodes() == 5 and graph.num_edges() == tables.edges.height
    assert graph.get_edge_data(index["kp_decay"], index["kp_halflife"]) == 2
    summary = partition_summary(build_corpus_graph(_seed_kps()), "physics")  # what the partition shows
    assert summary["isolated_kps"] == 1          # kp_momentum
    assert summary["corpus_components_touched"] == 2
    assert summary["bridge_kps"] == 1 and summary["foreign_kps"] == 1
    assert summary["nodes"] == tables.nodes.height and summary["edges"] == tables.edges.height


def test_failed_extractions_are_ignored() -> None:
    frame = pl.concat([_seed_kps(), pl.DataFrame(
        {"seed_id": ["s9"], "discipline": ["physics"], "kp_id": [None], "difficulty": [1], "kp_name": [None]},
        schema_overrides={"kp_id": pl.String, "kp_name": pl.String})], how="diagonal_relaxed")
    tables = build_graph_tables(frame, "physics")
    assert tables.nodes.height == 5
    assert dict(tables.discipline_stats.iter_rows())["physics"] == 4  # the seed still counts
