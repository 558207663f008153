"""The KP co-occurrence graph: tables built with polars, structure answered by rustworkx.

Node v = a canonical KP; popularity p(v) = number of seeds tagged with v;
edge weight w(u, v) = number of seeds tagged with both u and v.
A partition (discipline d) holds the KPs of d, every edge touching them, the KPs of other
disciplines at the far end of those edges, and the kp -> seed index for all of them: a view of the
corpus graph (corpus_graph.py), which is built once for all disciplines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
import rustworkx as rx

NODE_SCHEMA: dict[str, pl.DataType] = {
    "kp_id": pl.String(), "name": pl.String(), "popularity": pl.Int64(),
    "disciplines": pl.List(pl.String()), "in_discipline": pl.Boolean(), "is_bridge": pl.Boolean(),
}
EDGE_SCHEMA: dict[str, pl.DataType] = {"source": pl.String(), "target": pl.String(), "weight": pl.Int64()}
KP_SEED_SCHEMA: dict[str, pl.DataType] = {
    "kp_id": pl.String(), "seed_id": pl.String(), "seed_discipline": pl.String(),
    "difficulty": pl.Int8(),
}
STATS_SCHEMA: dict[str, pl.DataType] = {"discipline": pl.String(), "seeds": pl.Int64()}
ALIAS_SCHEMA: dict[str, pl.DataType] = {"kp_id": pl.String(), "surface": pl.String(), "count": pl.Int64()}


@dataclass
class GraphTables:
    nodes: pl.DataFrame
    edges: pl.DataFrame
    kp_seeds: pl.DataFrame
    discipline_stats: pl.DataFrame
    aliases: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ALIAS_SCHEMA))

    def as_dict(self) -> dict[str, pl.DataFrame]:
        return {"nodes": self.nodes, "edges": self.edges, "kp_seeds": self.kp_seeds,
                "discipline_stats": self.discipline_stats, "aliases": self.aliases}

    @classmethod
    def from_dict(cls, tables: dict[str, pl.DataFrame]) -> GraphTables:
        aliases = tables.get("aliases", pl.DataFrame(schema=ALIAS_SCHEMA))
        return cls(tables["nodes"], tables["edges"], tables["kp_seeds"], tables["discipline_stats"], aliases)


def to_rustworkx(tables: GraphTables) -> tuple[rx.PyGraph, dict[str, int]]:
    """An undirected weighted graph; node payload = kp_id, edge payload = weight."""
    # edges are unique already; multigraph=False would check every insertion against the
    # endpoint's adjacency, which is quadratic on hub KPs (70 s instead of 5 s at 10M edges)
    graph = rx.PyGraph(multigraph=True)
    ids = tables.nodes["kp_id"].sort()
    index = dict(zip(ids.to_list(), graph.add_nodes_from(ids.to_list()), strict=True))
    # positions by binary search over the sorted ids: no per-edge dict lookups at 10M edges
    first = graph.node_indices()[0] if graph.num_nodes() else 0
    source = (ids.search_sorted(tables.edges["source"]) + first).to_list()
    target = (ids.search_sorted(tables.edges["target"]) + first).to_list()
    graph.add_edges_from(list(zip(source, target, tables.edges["weight"].to_list(), strict=True)))
    return graph, index
