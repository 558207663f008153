"""CSR arrays of one partition's KP graph, built from the `kp_graph` tables without a per-row loop:
neighbours with co-occurrence weights, and the kp -> seed index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from linksyn_assets.kps.graph_tables import GraphTables

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
        # ids become row numbers by hash joins and the CSR order by a (parallel) polars sort: binary
        # searches over millions of strings and a numpy lexsort were most of this build's time
        nodes = tables.nodes.sort("kp_id")
        kp_ids = nodes["kp_id"]
        n = kp_ids.len()
        index = pl.DataFrame({"kp_id": kp_ids, "i": pl.int_range(n, eager=True, dtype=pl.Int64)})
        edges = (tables.edges.select("source", "target", pl.col("weight").cast(pl.Float64))
                 .join(index.rename({"kp_id": "source", "i": "a"}), on="source")
                 .join(index.rename({"kp_id": "target", "i": "b"}), on="target"))
        if edges.height != tables.edges.height:
            raise ValueError(f"kp_graph edges: {tables.edges.height - edges.height} edges name a KP missing "
                             "from the nodes table")
        both = pl.concat([edges.select("a", "b", "weight"),
                          edges.select(pl.col("b").alias("a"), pl.col("a").alias("b"), "weight")]).sort("a", "b")
        a = both["a"].to_numpy()
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])

        links = tables.kp_seeds.join(index, on="kp_id")  # KPs of other partitions drop out
        per_seed = links.group_by("seed_id").agg(pl.col("difficulty").drop_nulls().first()).sort("seed_id")
        seed_ids = per_seed["seed_id"]
        seed_rows = pl.DataFrame({"seed_id": seed_ids, "s": pl.int_range(seed_ids.len(), eager=True, dtype=pl.Int32)})
        links = links.join(seed_rows, on="seed_id").sort("i", "s")
        seed_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(links["i"].to_numpy(), minlength=n), out=seed_ptr[1:])
        return cls(
            kp_ids=kp_ids, names=nodes["name"],
            popularity=nodes["popularity"].to_numpy().astype(np.float64),
            in_discipline=nodes["in_discipline"].to_numpy().astype(bool),
            indptr=indptr, indices=both["b"].to_numpy(), weights=both["weight"].to_numpy(),
            seed_ptr=seed_ptr, seed_index=links["s"].to_numpy(), seed_ids=seed_ids,
            seed_difficulty=per_seed["difficulty"].fill_null(UNKNOWN_DIFFICULTY).to_numpy().astype(np.int8),
        )
