"""The manifest of a discipline's dataset folder (<data dir>/dataset/<discipline>/manifest.json).

A shard is one update's batch of kept rows (`*.parquet`), beside it the rows' index (`*.index.parquet`: keys
for exact and near-duplicate checks, same rows in the same order) and the batch's rejects
(`*.rejects.parquet`). A tombstone file lists rows that left (retired path, no longer produced). The live
dataset is the shards' rows minus the tombstoned ones. The manifest is written last, in one atomic write, so a
crash leaves the previous manifest and at worst unreferenced files (removed by the next update).

A generation is one QC recipe: when the QC settings, code or benchmarks change, the next update starts a new
generation from scratch and removes the old one's files once the new manifest is in place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from pydantic import BaseModel

from linksyn_assets.storage import read_parquet, scan_parquet, write_text_atomic

FORMAT = 1
MANIFEST = "manifest.json"
BUILDING = "building.json"  # a new generation's manifest while it is built: a crash resumes from it


class Shard(BaseModel):
    rows: str  # file names, relative to the dataset folder
    index: str
    rejects: str
    kept: int
    rejected: int
    tokens: int
    bytes: int
    digest: str  # of the kept rows' content
    run_id: str
    verify_cost_usd: float = 0.0  # the independent solves of the batch (answers reused count at their first cost)


class Tombstones(BaseModel):
    file: str
    rows: int
    tokens: int
    run_id: str


class DatasetManifest(BaseModel):
    format: int = FORMAT
    qc_recipe: str
    generation: int
    shards: list[Shard] = []
    tombstones: list[Tombstones] = []

    @property
    def rows(self) -> int:
        return sum(s.kept for s in self.shards) - sum(t.rows for t in self.tombstones)

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.shards) - sum(t.tokens for t in self.tombstones)

    def files(self) -> list[str]:
        return ([f for s in self.shards for f in (s.rows, s.index, s.rejects)]
                + [t.file for t in self.tombstones] + [MANIFEST])

    def digest(self) -> str:
        """The live rows' version: their shards' contents and the tombstones, in order."""
        parts = [[s.digest for s in self.shards], [(t.file, t.rows) for t in self.tombstones]]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]

    def next_name(self, kind: str) -> str:
        """A file name no manifest of this folder has used: generation, then a sequence number."""
        used = len(self.shards) + len(self.tombstones)
        return f"g{self.generation:03d}-{used:05d}{kind}"


def read_manifest(folder: Path, name: str = MANIFEST) -> DatasetManifest | None:
    path = folder / name
    if not path.exists():
        return None
    try:
        return DatasetManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path} is not a LinkSyn dataset manifest ({str(exc)[:200]}): restore it from a backup, "
                         "or move the folder aside to rebuild the dataset from its inputs") from exc


def write_manifest(folder: Path, manifest: DatasetManifest, name: str = MANIFEST) -> None:
    write_text_atomic(folder / name, manifest.model_dump_json(indent=1))


def _scan(folder: Path, files: list[str]) -> pl.LazyFrame:
    return scan_parquet([folder / f for f in files])


def tombstoned(folder: Path, manifest: DatasetManifest) -> pl.DataFrame:
    if not manifest.tombstones:
        return pl.DataFrame(schema={"record_id": pl.String})
    return _scan(folder, [t.file for t in manifest.tombstones]).select("record_id").collect()


def live_rows(folder: Path, manifest: DatasetManifest | None = None) -> pl.LazyFrame:
    """The dataset's rows: every shard's, minus the tombstoned ones, in the order they were added."""
    manifest = manifest or read_manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"{folder / MANIFEST} does not exist: materialize linkqa_dataset first")
    if not manifest.shards:
        return pl.LazyFrame()
    rows = _scan(folder, [s.rows for s in manifest.shards])
    gone = tombstoned(folder, manifest)
    return rows.join(gone.lazy(), on="record_id", how="anti", maintain_order="left") if gone.height else rows


def all_rejects(folder: Path, manifest: DatasetManifest) -> pl.LazyFrame:
    return _scan(folder, [s.rejects for s in manifest.shards]) if manifest.shards else pl.LazyFrame()


def seen_ids(folder: Path, manifest: DatasetManifest) -> pl.DataFrame:
    """Every record QC has judged in this generation: kept (live or tombstoned) and rejected."""
    if not manifest.shards:
        return pl.DataFrame(schema={"record_id": pl.String})
    kept = _scan(folder, [s.index for s in manifest.shards]).select("record_id")
    rejected = all_rejects(folder, manifest).select("record_id")
    return pl.concat([kept, rejected]).collect()


def live_shards(folder: Path) -> Iterator[pl.DataFrame]:
    """The live rows one shard at a time (what a recheck of the whole dataset reads in bounded memory)."""
    manifest = read_manifest(folder)
    if manifest is None:
        return
    gone = tombstoned(folder, manifest)
    for shard in manifest.shards:
        rows = read_parquet(folder / shard.rows)
        yield rows.join(gone, on="record_id", how="anti", maintain_order="left") if gone.height else rows


def read_live(folder: Path) -> pl.DataFrame:
    """The live rows, collected (a small dataset, a test, a notebook)."""
    return live_rows(folder).collect()
