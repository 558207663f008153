"""Where every file of the data dir lives: one function per entry of the README's data-dir map. No other
module joins a path under the data dir (tests/test_architecture.py greps for it); storage.py says how files
are written, this module says where.
"""

from __future__ import annotations

import os
from pathlib import Path

from linksyn_assets.storage import data_dir, scratch_dir

SKIPPED_SEED_FILES = "_files"  # beside the per-discipline quarantine; no discipline key starts with '_'
RELEASE_REJECTS = "_release"  # the release's own cross-discipline removals, beside each discipline's rejects
DATASET_ASSET = "linkqa_dataset"  # the one asset whose table lives outside assets/


def root() -> Path:
    return data_dir()


def under_root(relative: str) -> Path:
    """A path stored relative to the data dir (storage.data_relative), so a data dir can be moved."""
    return data_dir() / relative


def assets_dir() -> Path:
    """Where the IO manager (resources/parquet_io.py) keeps asset tables by default."""
    return data_dir() / "assets"


def asset_file(asset: str, partition: str) -> Path:
    """A table asset's partition as the IO manager writes it; an asset reads its own previous
    materialization here to carry earlier work over. `linkqa_dataset` is a folder of shards instead
    (dataset_folder)."""
    if asset == DATASET_ASSET:
        raise ValueError("linkqa_dataset is a folder of shards with a manifest: use dataset_folder and "
                         "dataset_store.manifest.live_rows")
    return assets_dir() / asset / f"{partition}.parquet"


def asset_folder(asset: str, partition: str) -> Path:
    """A partition stored as several tables (dict outputs, e.g. kp_graph's corpus reference)."""
    return assets_dir() / asset / partition


def asset_table(asset: str, partition: str, table: str) -> Path:
    """One table of such a partition (kp_graph: `corpus`, the corpus version the partition is a view of)."""
    return asset_folder(asset, partition) / f"{table}.parquet"


def corpus_dir(kind: str) -> Path:
    """Content-addressed tables shared by every discipline partition (the parsed seeds, the corpus KP graph)."""
    return data_dir() / "corpus" / kind


def dataset_dir() -> Path:
    """The rows that passed QC, one folder per discipline (linkqa_dataset's table: immutable shards, their
    rejects and index, tombstones and a manifest; dataset_store/manifest.py)."""
    return data_dir() / "dataset"


def dataset_folder(discipline: str) -> Path:
    return dataset_dir() / discipline


def rejects_file(discipline: str) -> Path:
    """The release's cross-discipline removals (RELEASE_REJECTS), with reasons; a discipline's own rejects are
    shards of its dataset folder."""
    return data_dir() / "rejects" / f"{discipline}.parquet"


def rejects_dir() -> Path:
    return data_dir() / "rejects"


def seed_quarantine_file(discipline: str) -> Path:
    """Input rows that could not become seeds; SKIPPED_SEED_FILES for the files no seed came from."""
    return data_dir() / "quarantine" / "seeds" / f"{discipline}.parquet"


def retired_file(asset: str, partition: str) -> Path:
    """Rows an asset no longer holds, each with the reason it left (kept for ever, appended to)."""
    return data_dir() / "retired" / asset / f"{partition}.parquet"


def release_dir() -> Path:
    """Every release version, and the pointer to the newest."""
    return data_dir() / "release"


def release_version_dir(version: int) -> Path:
    """One release version (never rewritten once published)."""
    return release_dir() / f"v{version}"


def qc_spool_file(run_id: str) -> Path:
    """The rows a dataset update has to check, spooled once (local scratch disk, removed when it ends)."""
    return scratch_dir() / "qc" / f"{run_id}.{os.getpid()}.parquet"


def spool_dir(stage: str, partition: str, run_id: str) -> Path:
    """Results of a running LLM batch (local scratch disk, never the object store)."""
    return scratch_dir() / "spool" / stage / partition / run_id


def settings_file() -> Path:
    """The one settings file every entry point reads (CLI, the code location the UI loads, sensor, schedule):
    LINKSYN_SETTINGS, else <data dir>/settings.json. `linksyn run` writes its flags into it."""
    path = os.environ.get("LINKSYN_SETTINGS")
    return Path(path) if path else data_dir() / "settings.json"


def ledger_location() -> str:
    """LINKSYN_LEDGER_URL (postgresql://... for a ledger shared by many machines), else a SQLite file in the
    scratch dir (one machine)."""
    return os.environ.get("LINKSYN_LEDGER_URL") or str(scratch_dir() / "llm_ledger.sqlite")
