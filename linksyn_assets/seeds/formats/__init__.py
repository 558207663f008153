"""The seed formats, one module per family, behind one registry: file suffix -> reader.

A reader takes (path, name shown in reasons) and returns (format, rows), where each row is
(row number, raw record, canonical fields or the RowError that keeps it out). It raises EmptyFile,
NotSeeds or any other exception for a file that cannot be read at all; the directory reader turns that
into one quarantine row for the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from linksyn_assets.seeds.formats.csv_tables import read_csv
from linksyn_assets.seeds.formats.json_document import read_json_document
from linksyn_assets.seeds.formats.jsonl import read_jsonl
from linksyn_assets.seeds.formats.parquet import read_parquet

FileRows = tuple[str, Iterator[tuple[int, Any, Any]]]
Reader = Callable[[Path, str], FileRows]

READERS: dict[str, Reader] = {
    ".jsonl": read_jsonl,
    ".json": read_json_document,
    ".csv": read_csv,
    ".parquet": read_parquet,
}
SEED_SUFFIXES = tuple(READERS)


def file_rows(path: Path, name: str) -> FileRows:
    return READERS[path.suffix.casefold()](path, name)
