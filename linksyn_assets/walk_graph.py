"""CSR arrays of one partition's KP graph, built from the `kp_graph` tables without a per-row loop:
neighbours with co-occurrence weights, and the kp -> seed index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .kp_graph import GraphTables

UNKNOWN_DIFFICULTY = -1


@dataclass
class WalkGraph:
    kp_ids: pl.Series  # sorted; node i is kp_ids[i]
    names: pl.Series
    popularity: np.ndarray  # float64
    in_discipline: np.ndarray  # bool
    indptr: np.ndarray  # int64, nodes + 1
    indices: np.ndarray  # int64 neighbour per entry, sorted within each row
    weights: np.ndarray  # float64 co-occurrence weight per entry
    seed_ptr: np.ndarray  # int64, nodes + 1: seeds of node i are seed_index[seed_ptr[i]:seed_ptr[i+1]]
    seed_index: np.ndarray  # int32 into seed_ids (half the reads of int64 when seeds are chosen)
    seed_ids: pl.Series  # sorted unique seed ids
    seed_difficulty: np.ndarray  # int8 per seed, UNKNOWN_DIFFICULTY when not annotated

    @property
    def size(self) -> int:
        return int(self.popularity.size)

    def degree(self, node: int) -> int:
        return int(self.indptr[node + 1] - self.indptr[node])

    def position(self, kp_id: str) -> int:
        i = int(self.kp_ids.search_sorted(kp_id))
        if i >= self.size or self.kp_ids[i] != kp_id:
            raise KeyError(kp_id)
        return i

    @classmethod
    def from_tables(cls, tables: GraphTables) -> WalkGraph:
        nodes = tables.nodes.sort("kp_id")
        kp_ids = nodes["kp_id"]
        n = kp_ids.len()
        src = kp_ids.search_sorted(tables.edges["source"]).to_numpy().astype(np.int64)
        dst = kp_ids.search_sorted(tables.edges["target"]).to_numpy().astype(np.int64)
        w = tables.edges["weight"].to_numpy().astype(np.float64)
        a, b, w = np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([w, w])
        order = np.lexsort((b, a))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])

        links = tables.kp_seeds.filter(pl.col("kp_id").is_in(kp_ids.implode()))
        per_seed = links.group_by("seed_id").agg(pl.col("difficulty").drop_nulls().first()).sort("seed_id")
        seed_ids = per_seed["seed_id"]
        links = links.sort("kp_id", "seed_id")
        seed_node = kp_ids.search_sorted(links["kp_id"]).to_numpy().astype(np.int64)
        seed_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(seed_node, minlength=n), out=seed_ptr[1:])
        return cls(
            kp_ids=kp_ids, names=nodes["name"],
            popularity=nodes["popularity"].to_numpy().astype(np.float64),
            in_discipline=nodes["in_discipline"].to_numpy().astype(bool),
            indptr=indptr, indices=b[order], weights=w[order],
            seed_ptr=seed_ptr,
            seed_index=seed_ids.search_sorted(links["seed_id"]).to_numpy().astype(np.int32),
            seed_ids=seed_ids,
            seed_difficulty=per_seed["difficulty"].fill_null(UNKNOWN_DIFFICULTY).to_numpy().astype(np.int8),
        )
