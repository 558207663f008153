"""The parsed seed source, kept once per version of the source: every discipline partition of `seeds` reads
its rows from one Parquet table instead of parsing every seed file again.

A version is the seed files' (path, size, mtime_ns), the reader settings and the reader code itself (the
source of the seeds and text packages), so a change to any of them parses again. Rows are stored sorted by
discipline, so reading one discipline touches only its part of the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from linksyn_assets.seeds.readers import QUARANTINE_SCHEMA, SEED_SCHEMA, SeedLoad
from linksyn_assets.storage import publish_once, scan_parquet

DONE = "meta.json"  # written last
_CODE = [Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "text"]


def _code_digest() -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for folder in _CODE:
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.digest()


def source_version(root: Path, default_discipline: str, max_field_chars: int,
                   stamps: tuple[tuple[str, int, int], ...], outside_links: str = "follow") -> str:
    digest = hashlib.blake2b(_code_digest(), digest_size=16)
    digest.update(json.dumps([str(root), default_discipline, max_field_chars, stamps, outside_links]).encode())
    return digest.hexdigest()


def ensure_parsed(root: Path, version: str, parse: Callable[[Callable[[str, pl.DataFrame], None]], SeedLoad]
                  ) -> tuple[Path, bool]:
    """The folder of this version, parsed by `parse(write)` unless it exists. Returns (folder, parsed here).
    Seeds and quarantined rows arrive in chunks and are written as they come (one Parquet part per chunk,
    sorted by discipline inside it): parsing memory is a chunk, whatever the size of the source."""
    def write(folder: Path) -> None:
        parts = {"seeds": 0, "quarantine": 0}

        def part(kind: str, frame: pl.DataFrame) -> None:
            parts[kind] += 1
            (folder / kind).mkdir(exist_ok=True)
            frame.sort("discipline", maintain_order=True, nulls_last=True).write_parquet(
                folder / kind / f"part-{parts[kind]:06d}.parquet", row_group_size=50_000)

        load = parse(part)
        (folder / DONE).write_text(json.dumps({
            "files": load.files, "skipped_files": load.skipped_files, "outside_links": load.outside_links,
            "rows_read": load.rows_read, "duplicates_collapsed": load.duplicates_collapsed,
            "disciplines": load.disciplines, "seed_disciplines": load.seed_disciplines,
            "seeds": load.seed_count, "parts": parts}, ensure_ascii=False), encoding="utf-8")

    return publish_once(root, version, DONE, write)


def read_meta(folder: Path) -> dict:
    return json.loads((folder / DONE).read_text(encoding="utf-8"))


def read_parsed(folder: Path, discipline: str | None = None) -> SeedLoad:
    """The parsed source, or only one discipline's seeds and quarantined rows (the counts stay corpus-wide)."""
    meta = read_meta(folder)
    schemas = {"seeds": SEED_SCHEMA, "quarantine": QUARANTINE_SCHEMA}

    def table(kind: str) -> pl.DataFrame:
        files = sorted((folder / kind).glob("part-*.parquet")) if (folder / kind).is_dir() else []
        if not files:
            return pl.DataFrame(schema=schemas[kind])
        scan = scan_parquet(files)
        return (scan if discipline is None else scan.filter(pl.col("discipline") == discipline)).collect()

    return SeedLoad(seeds=table("seeds"), quarantine=table("quarantine"), files=meta["files"],
                    skipped_files=meta["skipped_files"], outside_links=meta.get("outside_links", {}),
                    rows_read=meta["rows_read"], duplicates_collapsed=meta["duplicates_collapsed"],
                    disciplines=meta["disciplines"], seed_disciplines=meta["seed_disciplines"],
                    seed_count=meta["seeds"])
