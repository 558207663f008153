"""Corpus graphs on disk, addressed by the content of their inputs: <root>/<version>/ holds the tables of
corpus_graph.py and every discipline's summary. A version is built once: concurrent builders of the same
version wait on a lock and the later ones read what the first wrote; a folder is published by one rename,
so a reader never sees half of it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from linksyn_assets.kps.corpus_graph import (
    TABLES,
    CorpusGraph,
    build_corpus_graph,
    partition_summaries,
    partition_tables,
)
from linksyn_assets.kps.graph_tables import GraphTables
from linksyn_assets.layout import under_root
from linksyn_assets.storage import data_relative, publish_once, read_parquet, scan_parquet

FORMAT = "corpus-graph-v1"  # bump when the tables or their meaning change: older folders are then not reused
DONE = "summaries.json"  # written last


def content_version(files: Sequence[tuple[str, Path]]) -> str:
    """A digest of the inputs: each (name, file) pair's name and bytes, in the given order."""
    digest = hashlib.blake2b(FORMAT.encode(), digest_size=16)
    for name, path in files:
        digest.update(b"\0" + name.encode("utf-8") + b"\0")
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def ensure_corpus(root: Path, version: str, build: Callable[[], CorpusGraph]) -> tuple[Path, bool]:
    """The folder of this version, built by `build` unless it exists. Returns (folder, built here)."""
    def write(folder: Path) -> None:
        corpus = build()
        for name, frame in corpus.as_dict().items():
            frame.write_parquet(folder / f"{name}.parquet", compression="zstd")
        (folder / DONE).write_text(json.dumps(partition_summaries(corpus), ensure_ascii=False), encoding="utf-8")

    return publish_once(root, version, DONE, write)


def read_corpus(folder: Path) -> CorpusGraph:
    if not (folder / DONE).exists():
        raise FileNotFoundError(f"corpus graph {folder} is missing or incomplete: re-materialize kp_graph")
    return CorpusGraph(**{name: read_parquet(folder / f"{name}.parquet") for name in TABLES})


def read_summaries(folder: Path) -> dict[str, dict[str, object]]:
    """Every discipline's partition summary, keyed by the disciplines whose seed_kps went into this version."""
    return json.loads((folder / DONE).read_text(encoding="utf-8"))


def reference(version: str, folder: Path) -> pl.DataFrame:
    """What a discipline partition of kp_graph stores: which corpus version it is a view of, and where that
    lives relative to the data dir (so a data dir can be moved)."""
    return pl.DataFrame({"version": [version], "path": [data_relative(folder)]})


def read_partition(ref: pl.DataFrame, discipline: str) -> GraphTables:
    """The discipline's tables from the corpus version its partition refers to."""
    if ref.height != 1 or "path" not in ref.columns:
        raise ValueError("kp_graph partition: expected one corpus reference row; re-materialize kp_graph")
    return partition_tables(read_corpus(under_root(ref["path"][0])), discipline)


def home_kp_count(ref: pl.DataFrame, discipline: str) -> int | None:
    """The discipline's own KPs in the corpus version its kp_graph partition refers to (stored summaries)."""
    if ref.height != 1 or "path" not in ref.columns:
        return None
    summary = read_summaries(under_root(ref["path"][0])).get(discipline)
    return int(summary["home_kps"]) if summary else None  # type: ignore[call-overload]


@dataclass
class CorpusPartition:
    reference: pl.DataFrame  # what the discipline's kp_graph partition stores
    summary: dict[str, object]  # partition_summary of the discipline, as JSON values
    version: str
    folder: Path
    built: bool  # this call built the corpus (else an earlier or concurrent one had)
    disciplines: list[str]  # whose seed_kps went into the corpus


def corpus_partition(inputs: Sequence[tuple[str, Path]], discipline: str, root: Path) -> CorpusPartition:
    """A discipline's kp_graph partition: the corpus graph of `inputs` ((discipline, seed_kps file) pairs),
    built unless this content version exists, and the discipline's summary; the work of every partition
    but the first is hashing the inputs and reading one summary."""
    version = content_version(inputs)
    folder, built = ensure_corpus(root, version, lambda: build_corpus_graph(scan_parquet([p for _, p in inputs])))
    summaries = read_summaries(folder)
    return CorpusPartition(reference(version, folder), summaries.get(discipline) or {}, version, folder, built,
                           sorted(summaries))
