"""What an update needs to know of the rows already in a dataset, without their text: per kept row its exact
key (question + answer) and its LSH band keys (qc/near_duplicates.py), stored beside each shard as
`*.index.parquet`. In memory: 8 bytes per row for exact keys and 8 per row and band for the band lookup
(key + position), about 260 bytes per row whatever the row's length.

A new row's near-duplicate candidates among the kept rows are the rows sharing one of its band keys (at most
CANDIDATES_PER_KEY per band, the earliest: the same bound a run of equal keys has within one table); the
caller verifies them on their text (read back from the shards by position).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from linksyn_assets.dataset_store.manifest import DatasetManifest, tombstoned
from linksyn_assets.qc.dedup import duplicate_clusters, question_text
from linksyn_assets.qc.near_duplicates import BANDS, WINDOW, band_keys
from linksyn_assets.qc.rules import exact_key, near_duplicate_reasons
from linksyn_assets.qc.shingles import normalized_texts
from linksyn_assets.settings import DatasetParams
from linksyn_assets.storage import scan_parquet

CANDIDATES_PER_KEY = WINDOW + 1
BAND_COLUMNS = [f"b{band:02d}" for band in range(BANDS)]
ON_NEAR = ["record_id", "discipline", "question", "options"]  # what near-duplicate verification reads of a row
EMPTY_NEAR = {**dict.fromkeys(ON_NEAR, pl.String), "options": pl.List(pl.String)}


def index_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The index of some rows (dataset columns), in their order."""
    texts = normalized_texts(rows.select(question_text())["question"] if rows.height
                             else pl.Series([], dtype=pl.String))
    keys = band_keys(texts)
    keys[texts.lengths() == 0] = 0  # an empty text has no near-duplicates: its keys are never looked up
    return pl.DataFrame({"record_id": rows["record_id"], "exact": rows.select(exact_key())["question"],
                         **{name: keys[:, band] for band, name in enumerate(BAND_COLUMNS)}},
                        schema={"record_id": pl.String, "exact": pl.UInt64,
                                **dict.fromkeys(BAND_COLUMNS, pl.UInt32)})


class KeptIndex:
    """The kept rows of a dataset folder (in shard order: position p is row p of the shards concatenated)."""

    def __init__(self) -> None:
        self.size = 0
        self.exact = np.zeros(0, np.uint64)  # sorted
        self._keys = [np.zeros(0, np.uint32) for _ in range(BANDS)]  # per band, sorted
        self._positions = [np.zeros(0, np.uint32) for _ in range(BANDS)]  # per band, in the keys' order
        self._gone = np.zeros(0, np.bool_)  # tombstoned positions: never a candidate
        self.shard_starts: list[int] = []

    @classmethod
    def load(cls, folder: Path, manifest: DatasetManifest) -> KeptIndex:
        """The index of a folder's shards, sorted once per band (not shard by shard)."""
        index = cls()
        if not manifest.shards:
            return index
        files = [folder / s.index for s in manifest.shards]
        sizes = [s.kept for s in manifest.shards]
        index.shard_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64).tolist()
        index.size = int(sum(sizes))
        index.exact = np.sort(scan_parquet(files).select("exact").collect()["exact"].to_numpy())
        for band, name in enumerate(BAND_COLUMNS):  # one band in memory at a time while sorting
            keys = scan_parquet(files).select(name).collect()[name].to_numpy()
            order = np.argsort(keys, kind="stable").astype(np.uint32)
            index._keys[band], index._positions[band] = keys[order], order
        index._gone = np.zeros(index.size, np.bool_)
        if manifest.tombstones:
            ids = scan_parquet(files).select("record_id").collect()
            gone = ids.with_row_index("position").join(tombstoned(folder, manifest), on="record_id", how="semi")
            index._gone[gone["position"].to_numpy()] = True
        return index

    def add(self, shard_index: pl.DataFrame) -> None:
        """A new shard's index, after the shards so far."""
        positions = np.arange(self.size, self.size + shard_index.height, dtype=np.uint32)
        self.shard_starts.append(self.size)
        self.exact = np.sort(np.concatenate([self.exact, shard_index["exact"].to_numpy()]))
        for band, name in enumerate(BAND_COLUMNS):
            keys = shard_index[name].to_numpy()
            order = np.argsort(keys, kind="stable")
            at = np.searchsorted(self._keys[band], keys[order], side="right")  # later rows after equal keys
            self._keys[band] = np.insert(self._keys[band], at, keys[order])
            self._positions[band] = np.insert(self._positions[band], at, positions[order])
        self._gone = np.concatenate([self._gone, np.zeros(shard_index.height, np.bool_)])
        self.size += shard_index.height

    def candidates(self, keys: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Sorted distinct positions of kept rows sharing a band key with an active row of `keys`
        ((rows, BANDS), as index_rows makes them)."""
        found = []
        for band in range(BANDS):
            wanted = keys[active, band]
            lo = np.searchsorted(self._keys[band], wanted, side="left")
            hi = np.minimum(np.searchsorted(self._keys[band], wanted, side="right"), lo + CANDIDATES_PER_KEY)
            counts = hi - lo
            if not counts.sum():
                continue
            starts = np.repeat(lo, counts)
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            found.append(self._positions[band][starts + offsets])
        if not found:
            return np.zeros(0, np.int64)
        positions = np.unique(np.concatenate(found)).astype(np.int64)
        return positions[~self._gone[positions]]

    def has_candidates(self, keys: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Per row of `keys`: whether some live kept row shares one of its band keys (what is worth verifying)."""
        found = np.zeros(keys.shape[0], np.bool_)
        if not self.size:
            return found
        for band in range(BANDS):
            lo = np.searchsorted(self._keys[band], keys[:, band], side="left")
            hi = np.searchsorted(self._keys[band], keys[:, band], side="right")
            found |= hi > lo
        return found & active

    def retire(self, record_positions: np.ndarray) -> None:
        self._gone[record_positions] = True

    def locate(self, positions: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """(shard number, row offsets within it) for sorted positions."""
        starts = np.asarray(self.shard_starts, np.int64)
        shard_of = np.searchsorted(starts, positions, side="right") - 1
        return [(int(s), positions[shard_of == s] - starts[s]) for s in np.unique(shard_of)]


def near_duplicates_against(rows: pl.DataFrame, index: KeptIndex, fetch: Callable[[np.ndarray], pl.DataFrame],
                            params: DatasetParams) -> list[str | None]:
    """The near-duplicate reason of each row (or None): its candidates are the rows of this table and the kept
    rows of the index sharing a band key; `fetch(positions)` reads those kept rows' ON_NEAR columns. Kept rows
    are fixed (never removed), and come before the table's rows."""
    keys = index_rows(rows.select(*ON_NEAR, "answer"))
    active = keys.select(pl.any_horizontal(pl.col(BAND_COLUMNS) != 0).alias("active"))["active"].to_numpy()
    earlier = fetch(index.candidates(keys.select(BAND_COLUMNS).to_numpy(), active))
    both = pl.concat([earlier, rows.select(ON_NEAR)], how="vertical_relaxed")
    clusters = duplicate_clusters(both, params.near_duplicate_threshold, fixed=np.arange(both.height) < earlier.height,
                                  threshold_zh=params.near_duplicate_threshold_zh)
    return near_duplicate_reasons(both, clusters)[earlier.height:]
