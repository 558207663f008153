"""Parquet files in the canonical layout (one record per row)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from linksyn_assets.seeds.files import EmptyFile
from linksyn_assets.seeds.formats.canonical import from_canonical, guarded


def read_parquet(path: Path, name: str) -> tuple[str, Iterator[tuple[int, Any, Any]]]:
    frame = pl.read_parquet(path)
    if frame.is_empty():
        raise EmptyFile
    return "canonical", ((i, r, guarded(from_canonical, r)) for i, r in enumerate(frame.to_dicts(), 1))
