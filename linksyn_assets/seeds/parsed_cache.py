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

from linksyn_assets.seeds.readers import SeedLoad
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


def ensure_parsed(root: Path, version: str, parse: Callable[[], SeedLoad]) -> tuple[Path, bool]:
    """The folder of this version, parsed by `parse` unless it exists. Returns (folder, parsed here)."""
    def write(folder: Path) -> None:
        load = parse()
        load.seeds.sort("discipline", maintain_order=True).write_parquet(folder / "seeds.parquet",
                                                                         row_group_size=50_000)
        load.quarantine.sort("discipline", maintain_order=True).write_parquet(folder / "quarantine.parquet")
        disciplines = sorted(set(load.seeds["discipline"].drop_nulls().to_list())
                             | set(load.quarantine["discipline"].drop_nulls().to_list()))
        (folder / DONE).write_text(json.dumps({
            "files": load.files, "skipped_files": load.skipped_files, "outside_links": load.outside_links,
            "rows_read": load.rows_read,
            "duplicates_collapsed": load.duplicates_collapsed, "disciplines": disciplines,
            "seed_disciplines": sorted(set(load.seeds["discipline"].drop_nulls().to_list())),
            "seeds": load.seeds.height, "quarantined": load.quarantine.height}, ensure_ascii=False), encoding="utf-8")

    return publish_once(root, version, DONE, write)


def read_meta(folder: Path) -> dict:
    return json.loads((folder / DONE).read_text(encoding="utf-8"))


def read_parsed(folder: Path, discipline: str | None = None) -> SeedLoad:
    """The parsed source, or only one discipline's seeds and quarantined rows (the counts stay corpus-wide)."""
    meta = read_meta(folder)

    def table(name: str) -> pl.DataFrame:
        scan = scan_parquet(folder / f"{name}.parquet")
        return (scan if discipline is None else scan.filter(pl.col("discipline") == discipline)).collect()

    return SeedLoad(seeds=table("seeds"), quarantine=table("quarantine"), files=meta["files"],
                    skipped_files=meta["skipped_files"], outside_links=meta.get("outside_links", {}),
                    rows_read=meta["rows_read"],
                    duplicates_collapsed=meta["duplicates_collapsed"])
