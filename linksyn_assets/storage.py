"""Where LinkSyn keeps its files, and how it writes them: whole or not at all, so a crash never leaves half a
table or half a dataset file.

The data dir is a local folder or any fsspec URL (`s3://bucket/prefix`; endpoint and keys from the usual
AWS_* environment variables). It is a universal-pathlib `UPath` either way (a local one is a `pathlib.Path`),
and every read and write of LinkSyn's tables goes through the functions here:
- local: a temporary file beside the target, then an atomic rename;
- object store: the object is streamed up in parts and appears when the last part is in (a failed upload is
  aborted: readers see the old object or the new one); reads stream the object to a local copy first;
  a folder that must appear complete gets its completion marker last, and readers look for the marker.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from upath import UPath

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SEEDS_DIR = PROJECT_ROOT / "linksyn_assets" / "sample_seeds"


def data_dir() -> Path:
    """LINKSYN_DATA_DIR (a folder or an fsspec URL), else <project>/data."""
    return as_path(os.environ.get("LINKSYN_DATA_DIR") or str(PROJECT_ROOT / "data"))


def as_path(raw: str) -> Path:
    """A local folder as a resolved Path; an fsspec URL as a UPath."""
    if "://" not in raw:
        return Path(raw).resolve()
    protocol = raw.split("://", 1)[0]
    # other processes write here too: never answer exists() from a cached listing
    options = {"use_listings_cache": False} if protocol in ("s3", "s3a", "gs", "gcs", "az", "abfs") else {}
    return UPath(raw, **options)  # type: ignore[return-value]


def is_local(path: Path) -> bool:
    return isinstance(path, Path)


def _local_key(path: Path) -> str:
    return hashlib.blake2b(str(path).encode(), digest_size=8).hexdigest()


def scratch_dir() -> Path:
    """Local disk for what only this process needs (result spools, lock files, the default SQLite ledger):
    LINKSYN_SCRATCH_DIR, else the data dir when it is local, else a folder under the system temp dir."""
    if os.environ.get("LINKSYN_SCRATCH_DIR"):
        return Path(os.environ["LINKSYN_SCRATCH_DIR"]).resolve()
    root = data_dir()
    if is_local(root):
        return Path(root)
    return Path(tempfile.gettempdir()) / "linksyn-scratch" / _local_key(root)


class Stored(pl.DataFrame):
    """An asset's output that is already stored where the layout puts it (a materialization that reused it,
    assets/unchanged.py): the IO manager writes nothing. Empty; readers read the stored table."""


UPLOAD_PART_BYTES = 16 * 2**20
_downloads = itertools.count()  # an object-store upload or download moves this much at a time


def _download(path: Path) -> Path:
    """A local copy of an object, streamed to this process's download folder (removed at exit): a large
    table is never one bytes object in memory, and polars reads the copy like any local file."""
    folder = scratch_dir() / "downloads" / str(os.getpid())
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
        atexit.register(shutil.rmtree, folder, True)
    local = folder / f"{_local_key(path)}.{next(_downloads)}{path.suffix}"
    with path.open("rb") as src, local.open("wb") as dst:
        shutil.copyfileobj(src, dst, UPLOAD_PART_BYTES)
    return local


def read_parquet(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    if is_local(path):
        return pl.read_parquet(path, columns=columns)
    local = _download(path)
    try:
        return pl.read_parquet(local, columns=columns)
    finally:
        local.unlink(missing_ok=True)


def data_relative(path: Path) -> str:
    """path as written below the data dir (stored in tables so a data dir can be moved)."""
    root, text = str(data_dir()).rstrip("/"), str(path)
    if not text.startswith(root + "/"):
        raise ValueError(f"{text} is not inside the data dir {root}")
    return text[len(root) + 1:]


def scan_parquet(paths: Path | list[Path]) -> pl.LazyFrame:
    """Lazy: predicates and projections reach the files (an object's local copy, streamed down first and kept
    until the process ends, since the scan reads it later)."""
    paths = paths if isinstance(paths, list) else [paths]
    return pl.scan_parquet([p if is_local(p) else _download(p) for p in paths])


def read_if_present(path: Path) -> pl.DataFrame | None:
    return read_parquet(path) if path.exists() else None




def dagster_home() -> Path:
    """DAGSTER_HOME, else <project>/.dagster_home."""
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """`write(tmp)` fills a temporary local file, which then replaces path in one rename (local) or one
    whole-object upload (object store)."""
    if is_local(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    else:
        tmp = scratch_dir() / "uploads" / f"{_local_key(path)}.{os.getpid()}.tmp"
        tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        write(tmp)
        if is_local(path):
            os.replace(tmp, path)
        else:
            upload(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def upload(local: Path, dest: Path) -> None:
    """Stream a local file to an object, in parts (a multipart upload above one part): the object appears
    only when the last part is in, and a failed upload is aborted, so readers never see part of it."""
    with local.open("rb") as src:
        dst = dest.fs.open(dest.path, "wb", block_size=UPLOAD_PART_BYTES)  # type: ignore[attr-defined]
        try:
            shutil.copyfileobj(src, dst, UPLOAD_PART_BYTES)
        except BaseException:
            dst.discard()  # nothing is published (an S3 multipart upload is aborted) ...
            dst.closed = True  # ... and garbage collection must not try to finish the file
            raise
        dst.close()


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> Path:
    return write_atomic(path, lambda tmp: frame.write_parquet(tmp, compression="zstd"))


def write_text_atomic(path: Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def staging_dir(dest: Path) -> Path:
    """An empty local folder to build `dest` in, then `publish_folder` it (beside dest on a local disk, so the
    publish is a rename; in the scratch dir for an object store)."""
    if is_local(dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    else:
        tmp = scratch_dir() / "staging" / f"{_local_key(dest)}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def publish_folder(staged: Path, dest: Path, last: str) -> Path:
    """Make the staged local folder `dest`: one rename on a local disk (a half-written dest of a crashed writer
    is replaced); on an object store every file uploaded whole, the file `last` (the completion marker readers
    check) after all the others."""
    if is_local(dest):
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(staged, dest)
        return dest
    files = sorted((f for f in staged.rglob("*") if f.is_file()),
                   key=lambda f: f.relative_to(staged).as_posix() == last)
    for file in files:
        upload(file, dest / file.relative_to(staged).as_posix())
    shutil.rmtree(staged, ignore_errors=True)
    return dest


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def file_stamps(files: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """(file, size, mtime_ns) of each file: equal stamps mean the files were not changed since."""
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` across processes on this machine (for an object-store path, on a local file
    named after it: object stores have no locks, so writers there must be safe to race, see publish_once)."""
    if not is_local(path):
        path = scratch_dir() / "locks" / f"{_local_key(path)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish_once(root: Path, name: str, done: str, write: Callable[[Path], object]) -> tuple[Path, bool]:
    """<root>/<name>, filled by `write(folder)` unless it is complete (has the file `done`, which write makes
    last). Concurrent callers on one machine wait on a lock and the later ones reuse the first's folder; the
    folder appears complete at once (rename, or marker uploaded last), so a reader never sees half of it. The
    folders are content-addressed: two machines racing write the same bytes. Returns (folder, written here)."""
    folder = root / name
    if (folder / done).exists():
        return folder, False
    with locked(root / f".{name}.lock"):
        if (folder / done).exists():
            return folder, False
        tmp = staging_dir(folder)
        write(tmp)
        publish_folder(tmp, folder, done)
    return folder, True
