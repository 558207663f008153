"""Versioned releases: `release/v<N>/` folders that are never rewritten, a manifest per version (rows added
since the previous version, rows retired with their reasons), and a `latest` pointer (a relative symlink and
`latest.json`), so a training team can take only the delta and still read every earlier version."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from linksyn_assets.storage import is_local, publish_folder, write_text_atomic

STORE = "shards"  # the content-named files versions link to (release/build.py)

_VERSION = re.compile(r"^v(\d+)$")
LATEST = "latest"
MANIFEST = "manifest.json"


def versions(root: Path) -> list[int]:
    if not root.exists():
        return []
    # a version counts once its manifest is there (written last: an interrupted upload is not a version)
    return sorted(int(m.group(1)) for p in root.iterdir()
                  if (m := _VERSION.match(p.name)) and (p / MANIFEST).exists())


@dataclass
class Changes:
    previous: int | None  # the version compared against
    added: pl.DataFrame  # record_id, discipline
    retired: pl.DataFrame  # record_id, discipline, reason

    def retired_by_reason(self) -> dict[str, int]:
        if self.retired.is_empty():
            return {}
        return dict(sorted(self.retired.group_by(pl.col("reason").str.split(":").list.first()).len().iter_rows()))

    def manifest(self, version: int, rows: int, shards: list[str], digest: str) -> dict:
        return {"version": version, "previous_version": self.previous, "rows": rows, "shards": shards,
                "content_digest": digest,
                "added": self.added.height, "retired": self.retired.height,
                "retired_by_reason": self.retired_by_reason(),
                "added_file": "changes/added.parquet", "retired_file": "changes/retired.parquet"}


def no_changes(version: int) -> Changes:
    return Changes(version, pl.DataFrame(schema={"record_id": pl.String, "discipline": pl.String}),
                   pl.DataFrame(schema={"record_id": pl.String, "discipline": pl.String, "reason": pl.String}))


def changes(previous_version: int | None, previous: pl.DataFrame | None, current: pl.DataFrame,
            reasons: pl.DataFrame) -> Changes:
    """previous, current: record_id and discipline of each version's rows (other columns are ignored)."""
    """Rows added since the previous version and rows retired from it; `reasons` (record_id, reason) says why a
    row left (its path was retired, QC removed it, a duplicate in another discipline); otherwise the reason
    is that the pipeline no longer produced it."""
    ids = current.select("record_id", "discipline")
    if previous is None or previous.is_empty():
        return Changes(previous_version, ids, no_changes(0).retired)
    before = previous.select("record_id", "discipline")
    added = ids.join(before, on="record_id", how="anti")
    gone = before.join(ids, on="record_id", how="anti")
    retired = (gone.join(reasons.unique("record_id", keep="last"), on="record_id", how="left")
               .with_columns(pl.col("reason").fill_null("no longer produced by the pipeline")))
    return Changes(previous_version, added, retired.select("record_id", "discipline", "reason"))


def changelog(change: Changes) -> str:
    if change.previous is None:
        return "First version."
    lines = [f"Since v{change.previous}: {change.added.height:,} rows added, {change.retired.height:,} retired "
             "(lists in `changes/added.parquet` and `changes/retired.parquet`)."]
    for reason, n in change.retired_by_reason().items():
        lines.append(f"- retired, {reason}: {n:,}")
    return "\n".join(lines)


def write_changes(change: Changes, folder: Path) -> None:
    (folder / "changes").mkdir(parents=True, exist_ok=True)
    change.added.write_parquet(folder / "changes" / "added.parquet")
    change.retired.write_parquet(folder / "changes" / "retired.parquet")


def publish_version(staged: Path, root: Path, version: int) -> Path:
    """Move a staged folder to root/v<N> and point `latest` at it (symlink swapped by rename, then
    latest.json); a crash leaves either the previous pointer or the new one, never a half version. On an object
    store the manifest is uploaded last and there is no symlink: latest.json is the pointer."""
    final = publish_folder(staged, root / f"v{version}", MANIFEST)
    if is_local(root):
        link = root / f".{LATEST}.{os.getpid()}.tmp"
        link.unlink(missing_ok=True)
        link.symlink_to(final.name, target_is_directory=True)
        os.replace(link, root / LATEST)
    write_text_atomic(root / "latest.json", json.dumps({"version": version, "path": final.name}))
    return final


def stored_digest(folder: Path) -> str | None:
    """The content digest a version's manifest records (None for versions made before it was recorded)."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("content_digest")
    except (OSError, ValueError):
        return None


def prune_versions(root: Path, keep: int) -> list[int]:
    """Delete all but the newest `keep` versions (0: keep all), then the store's files no kept version links to
    (a file with one link left is only the store's). Returns the versions deleted."""
    if keep <= 0:
        return []
    gone = versions(root)[:-keep]
    for version in gone:
        folder = root / f"v{version}"
        if is_local(root):
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.fs.rm(folder.path, recursive=True)
    store = root / STORE
    if gone and is_local(root) and store.exists():
        for file in store.rglob("*"):
            if file.is_file() and file.stat().st_nlink == 1:
                file.unlink(missing_ok=True)
    return gone
