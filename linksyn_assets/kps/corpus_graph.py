"""The corpus-wide KP graph, built once per content version of every discipline's seed_kps and shared by
every discipline partition.

Nodes are stored sorted by kp_id, so a KP's row number is its index; edges are (a, b) row numbers with a < b
(the same order as kp_id strings) and the co-occurrence weight, sorted by (a, b). The co-occurrence comes
from a compiled pass over each seed's KPs that writes one code a * n + b per pair, then a sort and a count:
no string self-join, so 10M seeds x 5 KPs fit in a few GB.

A discipline partition is a view (partition_tables): its KPs, every edge touching them, the KPs at the far
ends, and the kp -> seed index of all of them; the same tables the partition held when it was built on its
own, so the walk sees bridges and cross-discipline steps exactly as before. Per-discipline summaries for
every discipline are computed in the same pass (partition_summaries), so a partition's own work is reading
one row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import polars as pl

from linksyn_assets.kps.graph_tables import (
    ALIAS_SCHEMA,
    EDGE_SCHEMA,
    KP_SEED_SCHEMA,
    NODE_SCHEMA,
    STATS_SCHEMA,
    GraphTables,
)

CORPUS_NODE_SCHEMA: dict[str, pl.DataType] = {
    "kp_id": pl.String(), "name": pl.String(), "popularity": pl.Int64(), "disciplines": pl.List(pl.String()),
    "degree": pl.Int64(), "component": pl.Int64(),
}
CORPUS_EDGE_SCHEMA: dict[str, pl.DataType] = {"a": pl.Int32(), "b": pl.Int32(), "weight": pl.Int64()}
CORPUS_KP_SEED_SCHEMA: dict[str, pl.DataType] = {
    "kp": pl.Int32(), "seed_id": pl.String(), "seed_discipline": pl.String(), "difficulty": pl.Int8()}
CORPUS_ALIAS_SCHEMA: dict[str, pl.DataType] = {"kp": pl.Int32(), "surface": pl.String(), "count": pl.Int64()}
TABLES = ("nodes", "edges", "kp_seeds", "aliases", "discipline_stats")
TOP_KPS = 15


@dataclass
class CorpusGraph:
    nodes: pl.DataFrame
    edges: pl.DataFrame
    kp_seeds: pl.DataFrame
    aliases: pl.DataFrame
    discipline_stats: pl.DataFrame

    def as_dict(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


@numba.njit(cache=True)
def _pair_codes(kps: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """kps: each seed's KP indices, ascending within a seed; starts: where each seed begins (and the end).
    One code a * n + b per pair a < b of a seed's KPs."""
    total = 0
    for s in range(starts.size - 1):
        k = starts[s + 1] - starts[s]
        total += k * (k - 1) // 2
    out = np.empty(total, dtype=np.int64)
    at = 0
    for s in range(starts.size - 1):
        for i in range(starts[s], starts[s + 1]):
            for j in range(i + 1, starts[s + 1]):
                out[at] = np.int64(kps[i]) * n + kps[j]
                at += 1
    return out


def _cooccurrence(kps: np.ndarray, starts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, weight) of every KP pair sharing a seed, sorted by (a, b)."""
    codes = _pair_codes(kps, starts, n)
    codes.sort()
    if codes.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty.astype(np.int32), empty.astype(np.int32), empty
    first = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    weight = np.diff(np.append(first, codes.size)).astype(np.int64)
    unique = codes[first]
    del codes
    return (unique // n).astype(np.int32), (unique % n).astype(np.int32), weight


def build_corpus_graph(seed_kps: pl.DataFrame | pl.LazyFrame) -> CorpusGraph:
    """seed_kps: rows (seed_id, discipline, kp_id, kp_name, difficulty) of every discipline."""
    rows = seed_kps.lazy()
    pairs = (rows.filter(pl.col("kp_id").is_not_null())
             .select("seed_id", "discipline", "kp_id", "kp_name", pl.col("difficulty").cast(pl.Int8))
             .unique(subset=["seed_id", "kp_id"], keep="first", maintain_order=True)
             .collect())
    nodes = (pairs.group_by("kp_id").agg(
        pl.col("kp_name").mode().sort().first().alias("name"),
        pl.len().cast(pl.Int64).alias("popularity"),
        pl.col("discipline").unique().sort().alias("disciplines"),
    ).sort("kp_id"))
    n = nodes.height
    index = pl.DataFrame({"kp_id": nodes["kp_id"], "kp": pl.int_range(n, eager=True, dtype=pl.Int32)})
    pairs = pairs.join(index, on="kp_id").drop("kp_id", "kp_name")
    by_seed = pairs.select("seed_id", "kp").sort("seed_id", "kp")
    new_seed = (by_seed["seed_id"] != by_seed["seed_id"].shift(1)).fill_null(True).to_numpy()
    starts = np.append(np.flatnonzero(new_seed), by_seed.height).astype(np.int64)
    a, b, weight = _cooccurrence(by_seed["kp"].to_numpy().astype(np.int32), starts, max(n, 1))
    del by_seed, new_seed, starts
    degree = (np.bincount(a, minlength=n) + np.bincount(b, minlength=n)).astype(np.int64)
    nodes = nodes.with_columns(pl.Series("degree", degree), pl.Series("component", _components(n, a, b)))
    edges = pl.DataFrame({"a": a, "b": b, "weight": weight}, schema=CORPUS_EDGE_SCHEMA)
    kp_seeds = (pairs.select("kp", "seed_id", pl.col("discipline").alias("seed_discipline"), "difficulty")
                .sort("kp", "seed_id"))
    aliases = (rows.filter(pl.col("kp_id").is_not_null())
               .group_by("kp_id", pl.col("kp_name").alias("surface")).agg(pl.len().cast(pl.Int64).alias("count"))
               .join(index.lazy(), on="kp_id").select("kp", "surface", "count")
               .sort("kp", "count", "surface", descending=[False, True, False]).collect())
    stats = (rows.group_by("discipline").agg(pl.col("seed_id").n_unique().cast(pl.Int64).alias("seeds"))
             .sort("discipline").collect())
    return CorpusGraph(nodes.cast(CORPUS_NODE_SCHEMA), edges, kp_seeds.cast(CORPUS_KP_SEED_SCHEMA),
                       aliases.cast(CORPUS_ALIAS_SCHEMA), stats.cast(STATS_SCHEMA))


@numba.njit(cache=True)
def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected component of every KP, numbered by first appearance: a union-find over the edge arrays
    (rustworkx would need one Python tuple per edge, about 5 GB at 50M edges)."""
    parent = np.arange(n)
    for e in range(a.size):
        x, y = a[e], b[e]
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if x != y:
            parent[max(x, y)] = min(x, y)
    label = np.full(n, -1, dtype=np.int64)
    count = 0
    for v in range(n):
        root = v
        while parent[root] != root:
            root = parent[root]
        if label[root] < 0:
            label[root] = count
            count += 1
        label[v] = label[root]
    return label


def home_mask(corpus: CorpusGraph, discipline: str) -> np.ndarray:
    return corpus.nodes["disciplines"].list.contains(discipline).to_numpy()


def partition_tables(corpus: CorpusGraph, discipline: str) -> GraphTables:
    """The discipline's view of the corpus graph: the tables its partition held when built on its own."""
    home = home_mask(corpus, discipline)
    a, b = corpus.edges["a"].to_numpy(), corpus.edges["b"].to_numpy()
    touching = home[a] | home[b]
    keep = home.copy()
    keep[a[touching]] = True
    keep[b[touching]] = True
    kp_ids = corpus.nodes["kp_id"]
    edges = pl.DataFrame({"source": kp_ids.gather(a[touching]), "target": kp_ids.gather(b[touching]),
                          "weight": corpus.edges["weight"].filter(pl.Series(touching))})
    nodes = (corpus.nodes.filter(pl.Series(keep))
             .with_columns(pl.col("disciplines").list.contains(discipline).alias("in_discipline"),
                           (pl.col("disciplines").list.len() > 1).alias("is_bridge"))
             .select(list(NODE_SCHEMA)))
    kept = pl.Series(keep)

    def with_ids(frame: pl.DataFrame) -> pl.DataFrame:
        rows = frame.filter(kept.gather(frame["kp"]))
        return rows.with_columns(kp_ids.gather(rows["kp"]).alias("kp_id"))

    kp_seeds = with_ids(corpus.kp_seeds).select(list(KP_SEED_SCHEMA))
    aliases = with_ids(corpus.aliases).select(list(ALIAS_SCHEMA))
    return GraphTables(nodes.cast(NODE_SCHEMA), edges.cast(EDGE_SCHEMA), kp_seeds.cast(KP_SEED_SCHEMA),
                       corpus.discipline_stats, aliases.cast(ALIAS_SCHEMA))


def build_graph_tables(seed_kps: pl.DataFrame | pl.LazyFrame, discipline: str) -> GraphTables:
    """One discipline's tables straight from seed_kps (tests and benchmarks; the pipeline shares the corpus)."""
    return partition_tables(build_corpus_graph(seed_kps), discipline)


def partition_summary(corpus: CorpusGraph, discipline: str) -> dict[str, object]:
    """What the discipline's partition shows, from arrays only: sizes, bridges, degrees of its view (every
    edge touching a home KP), its degree histogram and its most popular KPs."""
    home = home_mask(corpus, discipline)
    a, b = corpus.edges["a"].to_numpy(), corpus.edges["b"].to_numpy()
    touching = home[a] | home[b]
    n = home.size
    view_degree = (np.bincount(a[touching], minlength=n) + np.bincount(b[touching], minlength=n)) if n else home
    keep = home.copy()
    keep[a[touching]] = True
    keep[b[touching]] = True
    degrees = view_degree[keep]
    bridges = home & (corpus.nodes["disciplines"].list.len().to_numpy() > 1)
    components = corpus.nodes["component"].to_numpy()[keep]
    histogram = np.bincount(degrees) if degrees.size else np.zeros(0, dtype=np.int64)
    top = (corpus.nodes.filter(pl.Series(home))
           .with_columns((pl.col("disciplines").list.len() > 1).alias("is_bridge"))
           .sort("popularity", "kp_id", descending=[True, False]).head(TOP_KPS)
           .select("name", "popularity", "disciplines", "is_bridge"))
    return {
        "nodes": int(keep.sum()), "edges": int(touching.sum()), "home_kps": int(home.sum()),
        "bridge_kps": int(bridges.sum()), "foreign_kps": int(keep.sum() - home.sum()),
        "corpus_components_touched": int(np.unique(components).size),
        "isolated_kps": int((degrees == 0).sum()),
        "isolated_home_kps": int((home & (view_degree == 0)).sum()),
        "mean_degree": round(float(degrees.mean()), 3) if degrees.size else 0.0,
        "max_degree": int(degrees.max()) if degrees.size else 0,
        "degree_histogram": {int(d): int(c) for d, c in enumerate(histogram) if c},
        "top_kps": top,
    }


def partition_summaries(corpus: CorpusGraph) -> dict[str, dict[str, object]]:
    """partition_summary of every discipline with seeds, as plain JSON values (computed with the corpus)."""
    out = {}
    for discipline in corpus.discipline_stats["discipline"].drop_nulls().to_list():
        summary = partition_summary(corpus, discipline)
        summary["top_kps"] = summary["top_kps"].to_dicts()  # type: ignore[union-attr]
        out[discipline] = summary
    return out
