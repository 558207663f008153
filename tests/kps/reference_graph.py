"""The KP graph of one discipline as LinkSyn built it before the corpus graph existed: a string self-join of
every seed's KPs per partition. Kept as the reference that corpus_graph.partition_tables must equal."""

from __future__ import annotations

import polars as pl

from linksyn_assets.kps.graph_tables import (
    ALIAS_SCHEMA,
    EDGE_SCHEMA,
    KP_SEED_SCHEMA,
    NODE_SCHEMA,
    STATS_SCHEMA,
    GraphTables,
)


def build_graph_tables(seed_kps: pl.DataFrame, discipline: str) -> GraphTables:
    """seed_kps: rows (seed_id, discipline, kp_id, kp_name, difficulty) of every discipline."""
    pairs = (
        seed_kps.filter(pl.col("kp_id").is_not_null())
        .select("seed_id", "discipline", "kp_id", "kp_name", "difficulty")
        .unique(subset=["seed_id", "kp_id"], keep="first", maintain_order=True)
    )
    all_nodes = pairs.group_by("kp_id").agg(
        pl.col("kp_name").mode().sort().first().alias("name"),
        pl.col("seed_id").n_unique().cast(pl.Int64).alias("popularity"),
        pl.col("discipline").unique().sort().alias("disciplines"),
    )
    left = pairs.select("seed_id", pl.col("kp_id").alias("source"))
    right = pairs.select("seed_id", pl.col("kp_id").alias("target"))
    all_edges = (
        left.join(right, on="seed_id")
        .filter(pl.col("source") < pl.col("target"))
        .group_by("source", "target")
        .agg(pl.len().cast(pl.Int64).alias("weight"))
    )
    home = all_nodes.filter(pl.col("disciplines").list.contains(discipline)).select("kp_id")
    edges = (
        all_edges.filter(pl.col("source").is_in(home["kp_id"].implode())
                         | pl.col("target").is_in(home["kp_id"].implode()))
        .sort("source", "target")
    )
    keep = pl.concat([home["kp_id"], edges["source"], edges["target"]]).unique()
    nodes = (
        all_nodes.filter(pl.col("kp_id").is_in(keep.implode()))
        .with_columns(
            pl.col("disciplines").list.contains(discipline).alias("in_discipline"),
            (pl.col("disciplines").list.len() > 1).alias("is_bridge"),
        )
        .sort("kp_id")
        .select(list(NODE_SCHEMA))
    )
    kp_seeds = (
        pairs.filter(pl.col("kp_id").is_in(nodes["kp_id"].implode()))
        .select("kp_id", "seed_id", pl.col("discipline").alias("seed_discipline"),
                pl.col("difficulty").cast(pl.Int8))
        .sort("kp_id", "seed_id")
    )
    aliases = (
        seed_kps.filter(pl.col("kp_id").is_in(nodes["kp_id"].implode()))
        .group_by("kp_id", pl.col("kp_name").alias("surface")).agg(pl.len().cast(pl.Int64).alias("count"))
        .sort("kp_id", "count", "surface", descending=[False, True, False])
    )
    stats = (
        seed_kps.group_by("discipline").agg(pl.col("seed_id").n_unique().cast(pl.Int64).alias("seeds"))
        .sort("discipline")
    )
    return GraphTables(nodes.cast(NODE_SCHEMA), edges.cast(EDGE_SCHEMA), kp_seeds.cast(KP_SEED_SCHEMA),
                       stats.cast(STATS_SCHEMA), aliases.cast(ALIAS_SCHEMA))
