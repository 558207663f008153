"""Where LinkSyn keeps its files, and how it writes them: whole or not at all (a temporary file beside
the target, then an atomic rename), so a crash never leaves half a table or half a dataset file."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SEEDS_DIR = PROJECT_ROOT / "linksyn_assets" / "sample_seeds"


def data_dir() -> Path:
    """LINKSYN_DATA_DIR, else <project>/data."""
    return Path(os.environ.get("LINKSYN_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def assets_dir() -> Path:
    """Where the IO manager (resources/parquet_io.py) keeps asset tables by default."""
    return data_dir() / "assets"


def asset_file(asset: str, partition: str) -> Path:
    """A table asset's partition as the IO manager writes it; an asset reads its own previous
    materialization here to carry earlier work over."""
    return assets_dir() / asset / f"{partition}.parquet"


def corpus_dir(kind: str) -> Path:
    """Content-addressed tables shared by every discipline partition (e.g. the corpus KP graph)."""
    return data_dir() / "corpus" / kind


def retired_file(asset: str, partition: str) -> Path:
    """Rows an asset no longer holds, each with the reason it left (kept for ever, appended to)."""
    return data_dir() / "retired" / asset / f"{partition}.parquet"


def read_if_present(path: Path) -> pl.DataFrame | None:
    return pl.read_parquet(path) if path.exists() else None


def settings_file() -> Path:
    """The one settings file every entry point reads (CLI, the code location the UI loads, sensor, schedule):
    LINKSYN_SETTINGS, else <data dir>/settings.json. `linksyn run` writes its flags into it."""
    path = os.environ.get("LINKSYN_SETTINGS")
    return Path(path) if path else data_dir() / "settings.json"


def dagster_home() -> Path:
    """DAGSTER_HOME, else <project>/.dagster_home."""
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """`write(tmp)` fills a temporary file next to path, which then replaces path in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> Path:
    return write_atomic(path, lambda tmp: frame.write_parquet(tmp, compression="zstd"))


def file_stamps(files: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """(file, size, mtime_ns) of each file: equal stamps mean the files were not changed since."""
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if needed) across processes on this machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish_once(root: Path, name: str, done: str, write: Callable[[Path], object]) -> tuple[Path, bool]:
    """<root>/<name>, filled by `write(folder)` unless it is complete (has the file `done`, which write makes
    last). Concurrent callers wait on a lock and the later ones reuse the first's folder; the folder appears
    by one rename, so a reader never sees half of it. Returns (folder, written here)."""
    folder = root / name
    if (folder / done).exists():
        return folder, False
    with locked(root / f".{name}.lock"):
        if (folder / done).exists():
            return folder, False
        tmp = root / f".{name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        write(tmp)
        shutil.rmtree(folder, ignore_errors=True)  # a half-written folder of a crashed writer
        os.rename(tmp, folder)
    return folder, True
