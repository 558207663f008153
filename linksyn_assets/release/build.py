"""The release built from the disciplines' dataset shards one shard at a time: memory is a function of the shard
size and of the cross-discipline index (a few hundred bytes per row), not of the release's size.

Pass 1 removes near-duplicates across disciplines: shards are taken in discipline order (then shard order), each
checked against the index of every row kept in an earlier discipline (dataset_store/kept_index.py, built from the
datasets' persisted index files), so the copy in the discipline that comes first by name is kept, as in one pass
over all rows sorted by discipline. Pass 2 writes the
kept rows of each dataset shard as `data/train-<discipline>-<shard>-p<k>-<content>.parquet` (at most `shard_rows`
each) and optionally JSONL, and keeps only the columns the dataset card counts and a hash per row (the release's
content digest).

A release file is named by its content, so on a local disk it is written once into the release's shared store
(`release/shards/`) and every version that has it holds a hard link: a new version writes only the files whose
rows changed (new dataset shards, shards that lost rows), and any Parquet reader or `datasets` sees a plain
`data/` folder. On an object store each version holds its own copy (no links there).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from linksyn_assets.dataset_store.kept_index import (
    BAND_COLUMNS,
    EMPTY_NEAR,
    ON_NEAR,
    KeptIndex,
    index_rows,
    near_duplicates_against,
)
from linksyn_assets.dataset_store.manifest import read_manifest, tombstoned
from linksyn_assets.qc.rules import shipped_columns
from linksyn_assets.settings import RELEASE_JSONL, DatasetParams
from linksyn_assets.storage import read_parquet

# what the dataset card counts, per row (reasoning: true where the row has one, else null)
CARD_COLUMNS = ["discipline", "tokens", "difficulty", "kind", "verification", "kp_ids", "prompt_version"]
ID_SCHEMA = {"record_id": pl.String, "discipline": pl.String, "hash": pl.UInt64}


@dataclass
class LiveShard:
    """One shard of a discipline's dataset, the ids its folder has tombstoned, and the shard's persisted index
    (dataset_store/kept_index.py: the kept rows' keys, in row order), when it has one."""

    discipline: str
    file: Path
    gone: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"record_id": pl.String}))
    index: Path | None = None

    def rows(self, columns: list[str] | None = None) -> pl.DataFrame:
        rows = read_parquet(self.file, columns=columns)
        return rows.join(self.gone, on="record_id", how="anti", maintain_order="left") if self.gone.height else rows

    def keys(self) -> pl.DataFrame:
        """The live rows' index keys, in row order: read from the dataset's index (no MinHash), else computed."""
        if self.index is None:
            return index_rows(self.rows([*ON_NEAR, "answer"]))
        keys = read_parquet(self.index)
        return keys.join(self.gone, on="record_id", how="anti", maintain_order="left") if self.gone.height else keys


def live_dataset_shards(folders: dict[str, Path]) -> list[LiveShard]:
    """Every live shard of these disciplines' datasets, in discipline order, then shard order."""
    out = []
    for discipline in sorted(folders):
        manifest = read_manifest(folders[discipline])
        if manifest is None:
            continue
        gone = tombstoned(folders[discipline], manifest)
        out += [LiveShard(discipline, folders[discipline] / s.rows, gone, folders[discipline] / s.index)
                for s in manifest.shards]
    return out


def cross_discipline_removed(shards: list[LiveShard], params: DatasetParams) -> pl.DataFrame:
    """The rows removed as near-duplicates of a row of an earlier discipline (full rows, with the reason).

    Rows of one discipline were already checked against each other by its dataset's QC (same settings), so a
    discipline's rows join the index only when the next discipline starts, and only the rows that share a band
    key with an earlier discipline's row are read and verified: a release whose disciplines share nothing reads
    no question text here."""
    index = KeptIndex()
    sources: list[tuple[int, np.ndarray]] = []  # per index shard: (shard number, offsets of its rows kept)
    pending: list[tuple[int, pl.DataFrame, np.ndarray]] = []  # this discipline's shards, not in the index yet
    removed = []

    def fetch(positions: np.ndarray) -> pl.DataFrame:
        parts = [shards[sources[a][0]].rows(ON_NEAR)[sources[a][1][at].tolist()] for a, at in index.locate(positions)]
        return pl.concat(parts) if parts else pl.DataFrame(schema=EMPTY_NEAR)

    for number, shard in enumerate(shards):
        if pending and shards[pending[0][0]].discipline != shard.discipline:
            for source, kept_keys, offsets in pending:
                index.add(kept_keys)
                sources.append((source, offsets))
            pending = []
        keys = shard.keys()
        bands = keys.select(BAND_COLUMNS).to_numpy()
        suspect = np.flatnonzero(index.has_candidates(bands, (bands != 0).any(axis=1)))
        reasons = np.full(keys.height, None, dtype=object)
        if suspect.size:
            rows = shard.rows([*ON_NEAR, "answer"])[suspect.tolist()]
            reasons[suspect] = near_duplicates_against(rows, index, fetch, params)
        out = keys.select("record_id").with_columns(pl.Series("reason", reasons.tolist(), dtype=pl.String))
        kept = out["reason"].is_null().to_numpy()
        pending.append((number, keys.filter(pl.Series(kept)), np.flatnonzero(kept)))
        out = out.filter(pl.col("reason").is_not_null())
        if out.height:
            removed.append(shard.rows().join(out, on="record_id", how="inner", maintain_order="left"))
    if removed:
        return pl.concat(removed, how="diagonal_relaxed")
    return pl.DataFrame(schema={"record_id": pl.String, "discipline": pl.String, "reason": pl.String})


@dataclass
class Written:
    shards: list[str]  # file names in the release folder
    card_rows: pl.DataFrame  # CARD_COLUMNS (and reasoning: true or null) per row
    ids: pl.DataFrame  # record_id, discipline, row hash
    columns: list[str]
    files_written: int = 0  # files written now (the rest were linked from the store)

    @property
    def rows(self) -> int:
        return self.ids.height

    def digest(self) -> str:
        return content_digest(self.ids, self.columns)


def content_digest(ids: pl.DataFrame, columns: list[str]) -> str:
    """A release's content, independent of row order: equal digests mean nothing new to publish."""
    if ids.is_empty():
        return "empty"
    hashes = ids.sort("record_id")["hash"].to_numpy()
    return f"{hashlib.sha256(hashes.tobytes()).hexdigest()}:{ids.height}:{','.join(columns)}"


def _card_view(rows: pl.DataFrame) -> pl.DataFrame:
    extra = ([pl.when(pl.col("reasoning").is_not_null()).then(True).otherwise(None).alias("reasoning")]
             if "reasoning" in rows.columns else [])
    return rows.select(*[c for c in CARD_COLUMNS if c in rows.columns], *extra)


def _place(frame: pl.DataFrame, name: str, tmp: Path, store: Path | None,
           write: str = "parquet") -> bool:
    """Put `name` into tmp: a hard link to the store's copy (written there first when new), or a file of its own.
    True when it was written now."""
    target = tmp / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if store is None:
        _write(frame, target, write)
        return True
    shared = store / Path(name).name
    fresh = not shared.exists()
    if fresh:
        store.mkdir(parents=True, exist_ok=True)
        part = shared.with_name(f".{shared.name}.{os.getpid()}.tmp")
        _write(frame, part, write)
        os.replace(part, shared)  # a crash leaves no half file under the final name
    os.link(shared, target)
    return fresh


def _write(frame: pl.DataFrame, path: Path, kind: str) -> None:
    if kind == "parquet":
        frame.write_parquet(path, compression="zstd")
    else:
        frame.write_ndjson(path)


def write_release(shards: list[LiveShard], removed: pl.DataFrame, tmp: Path, shard_rows: int,
                  keep_reasoning: bool, jsonl: str = "single", store: Path | None = None) -> Written:
    """The release files in tmp, one dataset shard in memory at a time. `store`: the shared folder of content-named
    files to link from (local disks), or None to write every file into tmp."""
    if jsonl not in RELEASE_JSONL:
        raise ValueError(f"release JSONL export {jsonl!r}: one of {', '.join(RELEASE_JSONL)}")
    (tmp / "data").mkdir(parents=True, exist_ok=True)
    names, views, ids, columns, written = [], [], [], [], 0
    schema = pl.DataFrame()  # the released columns, for an empty release
    single = (tmp / "train.jsonl").open("wb") if jsonl == "single" else None
    try:
        for shard in shards:
            rows = shipped_columns(shard.rows().join(removed.select("record_id"), on="record_id", how="anti",
                                                     maintain_order="left"), keep_reasoning)
            columns, schema = columns or rows.columns, rows.clear()
            for k, start in enumerate(range(0, rows.height, shard_rows)):
                part = rows.slice(start, shard_rows)
                hashes = part.hash_rows(seed=0)
                content = hashlib.sha256(hashes.to_numpy().tobytes() + ",".join(part.columns).encode()).hexdigest()
                stem = f"train-{shard.discipline}-{shard.file.stem}-p{k:03d}-{content[:16]}"
                written += _place(part, f"data/{stem}.parquet", tmp, store)
                names.append(f"data/{stem}.parquet")
                if jsonl == "sharded":
                    written += _place(part, f"jsonl/{stem}.jsonl", tmp, None if store is None else store / "jsonl",
                                      "ndjson")
                elif single is not None:
                    part.write_ndjson(single)
                views.append(_card_view(part))
                ids.append(part.select("record_id", "discipline", pl.Series("hash", hashes)))
    finally:
        if single is not None:
            single.close()
    if not names:  # nothing kept: one empty file with the columns, so loaders still find the split and schema
        schema.write_parquet(tmp / "data" / "train-empty.parquet")
        names.append("data/train-empty.parquet")
        views.append(_card_view(schema))
    return Written(names, pl.concat(views) if views else pl.DataFrame(),
                   pl.concat(ids) if ids else pl.DataFrame(schema=ID_SCHEMA), columns, written)


def version_ids(folder: Path) -> tuple[pl.DataFrame, list[str]] | None:
    """record_id, discipline and row hash of a published version (read a file at a time), and its columns."""
    files = sorted((folder / "data").glob("*.parquet"))
    parts, columns = [], []
    for file in files:
        rows = read_parquet(file)
        columns = columns or rows.columns
        if rows.width:
            parts.append(rows.select("record_id", "discipline", pl.Series("hash", rows.hash_rows(seed=0))))
    if not files:
        return None
    return (pl.concat(parts) if parts else pl.DataFrame(schema=ID_SCHEMA)), columns
