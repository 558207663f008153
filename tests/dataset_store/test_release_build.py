"""The release built shard by shard (issue 31): built from datasets that were updated equals one built from
datasets made once from all rows; near-duplicates across disciplines are removed once, the copy in the
discipline first by name kept, in English and Chinese."""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.dataset_store.update import UpdatePlan, update_dataset
from linksyn_assets.release.build import (
    LiveShard,
    content_digest,
    cross_discipline_removed,
    live_dataset_shards,
    version_ids,
    write_release,
)
from linksyn_assets.release.versions import MANIFEST, STORE, prune_versions, stored_digest, versions
from tests.dataset_store.test_update import _produced, _rows


def _chemistry(physics: list[dict]) -> list[dict]:
    """Chemistry rows of its own, plus near-copies of three physics questions (one Chinese)."""
    rows = []
    for i, row in enumerate(physics[:12]):
        question = row["question"].replace("Question", "Problem").replace("题", "问") + f" ({i})"
        rows.append({**row, "qa_id": f"c{i:03d}", "discipline": "chemistry", "question": question})
    for i, source in enumerate((physics[2], physics[3], physics[8])):
        copy = source["question"].replace("?", " ?").replace("？", "?")
        rows.append({**source, "qa_id": f"c1{i:02d}", "discipline": "chemistry", "question": copy})
    return rows


def _release(root: Path, plan: UpdatePlan, tmp: Path) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    folders = {d: root / d for d in ("physics", "chemistry")}
    shards = live_dataset_shards(folders)
    removed = cross_discipline_removed(shards, plan.params)
    # the datasets' persisted index files give what computing every row's MinHash again gives
    computed = cross_discipline_removed([replace(s, index=None) for s in shards], plan.params)
    assert all(s.index is not None for s in shards) and removed.equals(computed)
    written = write_release(shards, removed, tmp, shard_rows=7, keep_reasoning=True)
    ids, columns = version_ids(tmp)
    assert content_digest(ids, columns) == written.digest()  # the digest read back equals the one written
    rows = pl.read_parquet(tmp / "data" / "*.parquet")
    assert pl.read_ndjson(tmp / "train.jsonl").height == rows.height == written.rows
    return rows.sort("record_id"), removed.select("record_id", "reason").sort("record_id"), written.digest()


def test_a_release_of_updated_datasets_equals_one_from_scratch(tmp_path: Path, plan: UpdatePlan) -> None:
    physics = _rows()
    chemistry = _chemistry(physics)
    updated, scratch = tmp_path / "updated", tmp_path / "scratch"
    update_dataset(updated / "physics", _produced(physics[:20]), plan, None)
    update_dataset(updated / "chemistry", _produced(chemistry[:6]), plan, None)
    first, _, first_digest = _release(updated, plan, tmp_path / "v1")
    update_dataset(updated / "physics", _produced(physics), plan, None)
    update_dataset(updated / "chemistry", _produced(chemistry), plan, None)
    rows, removed, digest = _release(updated, plan, tmp_path / "v2")
    update_dataset(scratch / "physics", _produced(physics), plan, None)
    update_dataset(scratch / "chemistry", _produced(chemistry), plan, None)
    rows_once, removed_once, digest_once = _release(scratch, plan, tmp_path / "once")
    assert rows.equals(rows_once) and removed.equals(removed_once) and digest == digest_once
    assert first.height < rows.height and first_digest != digest
    # chemistry sorts first: its copies stay, the physics originals leave the release, each with its reason
    assert set(removed["record_id"]) == {"q002", "q003", "q008"}
    assert removed["reason"].str.starts_with("near-duplicate: of c1").all()
    assert {"c100", "c101", "c102"} <= set(rows["record_id"]) and rows["record_id"].is_unique().all()


def _version(root: Path, plan: UpdatePlan, releases: Path, version: int, jsonl: str = "single") -> Path:
    """A release version staged beside the others and linked from their shared store, as the asset does."""
    shards = live_dataset_shards({d: root / d for d in ("physics", "chemistry")})
    tmp = releases / f".v{version}.tmp"
    written = write_release(shards, cross_discipline_removed(shards, plan.params), tmp, shard_rows=7,
                            keep_reasoning=True, jsonl=jsonl, store=releases / STORE)
    tmp.rename(releases / f"v{version}")
    (releases / f"v{version}" / MANIFEST).write_text(json.dumps({"content_digest": written.digest()}),
                                                     encoding="utf-8")
    return releases / f"v{version}"


def _inodes(folder: Path) -> dict[str, int]:
    return {f.name: f.stat().st_ino for f in (folder / "data").glob("*.parquet")}


def test_a_new_version_writes_only_the_files_whose_rows_changed(tmp_path: Path, plan: UpdatePlan) -> None:
    """Versions are folders of hard links into one store of content-named files: the second version, after new
    physics rows, writes physics' new files and links every other file of the first."""
    physics, root, releases = _rows(), tmp_path / "datasets", tmp_path / "release"
    chemistry = _chemistry(physics)
    update_dataset(root / "physics", _produced(physics[:20]), plan, None)
    update_dataset(root / "chemistry", _produced(chemistry), plan, None)
    v1 = _version(root, plan, releases, 1, jsonl="sharded")
    update_dataset(root / "physics", _produced(physics), plan, None)  # a new physics shard
    v2 = _version(root, plan, releases, 2, jsonl="sharded")
    first, second = _inodes(v1), _inodes(v2)
    shared = set(first) & set(second)
    assert shared and all(first[name] == second[name] for name in shared)  # the same file, not a copy
    assert {name.split("-")[1] for name in set(second) - set(first)} == {"physics"}
    assert {name.split("-")[1] for name in shared} >= {"chemistry"}
    # each version reads as a plain folder, whole: by a Parquet reader and as sharded JSONL of the same rows
    rows = pl.read_parquet(v2 / "data" / "*.parquet")
    assert rows.height == pl.read_ndjson(list((v2 / "jsonl").glob("*.jsonl"))).height
    assert not (v2 / "train.jsonl").exists()
    ids, columns = version_ids(v2)
    assert content_digest(ids, columns) == stored_digest(v2)
    # what a third version with nothing new costs: no file written
    shards = live_dataset_shards({d: root / d for d in ("physics", "chemistry")})
    again = write_release(shards, cross_discipline_removed(shards, plan.params), tmp_path / "v3", shard_rows=7,
                          keep_reasoning=True, jsonl="none", store=releases / STORE)
    assert again.files_written == 0 and again.digest() == stored_digest(v2)


def test_old_versions_are_deleted_with_the_files_only_they_used(tmp_path: Path, plan: UpdatePlan) -> None:
    physics, root, releases = _rows(), tmp_path / "datasets", tmp_path / "release"
    update_dataset(root / "physics", _produced(physics[:10]), plan, None)
    _version(root, plan, releases, 1)
    update_dataset(root / "physics", _produced(physics[5:]), plan, None)  # rows 0-4 leave: their shard changes
    v2 = _version(root, plan, releases, 2)
    store_before = {f.name for f in (releases / STORE).iterdir()}
    rows_before = pl.read_parquet(v2 / "data" / "*.parquet")
    assert prune_versions(releases, 0) == [] and versions(releases) == [1, 2]  # 0: keep every version
    assert prune_versions(releases, 1) == [1]
    assert versions(releases) == [2] and not (releases / "v1").exists()
    left = {f.name for f in (releases / STORE).iterdir()}
    assert left == set(_inodes(v2)) and left < store_before  # v1's own files went, v2's stay
    assert pl.read_parquet(v2 / "data" / "*.parquet").equals(rows_before)  # the kept version reads whole
    assert not set(rows_before["record_id"]) & {r["qa_id"] for r in physics[:5]}


def test_disciplines_that_share_nothing_have_no_question_read_for_deduplication(
        tmp_path: Path, plan: UpdatePlan, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only rows sharing a band key with an earlier discipline's row are read back and verified."""
    physics, root = _rows(), tmp_path / "datasets"
    update_dataset(root / "physics", _produced(physics[:10]), plan, None)
    own = [{**r, "qa_id": f"m{i}", "discipline": "mathematics", "question": f"Integral number {i}: evaluate "
            f"the sum of the first {i + 3} odd squares, then divide by {i + 7}?"} for i, r in enumerate(physics[:10])]
    update_dataset(root / "mathematics", _produced(own), plan, None)
    shards = live_dataset_shards({d: root / d for d in ("mathematics", "physics")})
    reads: list[list[str] | None] = []
    original = LiveShard.rows
    monkeypatch.setattr(LiveShard, "rows", lambda self, columns=None: reads.append(columns) or original(self, columns))
    assert cross_discipline_removed(shards, plan.params).is_empty()
    assert reads == []


@pytest.mark.cluster
def test_old_versions_on_object_storage_are_deleted_too(s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """An S3 data dir has no links: each version is its own folder of objects, and retention deletes whole ones."""
    from linksyn_assets.storage import as_path, publish_folder

    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    root = as_path(f"s3://{s3.create_bucket()}/linksyn/release")
    for version in (1, 2, 3):
        staged = Path(tempfile.mkdtemp())
        (staged / "data").mkdir()
        pl.DataFrame({"record_id": [f"r{version}"], "question": ["题目 / question"]}).write_parquet(
            staged / "data" / "train-a.parquet")
        (staged / MANIFEST).write_text(json.dumps({"content_digest": f"d{version}"}), encoding="utf-8")
        publish_folder(staged, root / f"v{version}", MANIFEST)
    assert versions(root) == [1, 2, 3]
    assert prune_versions(root, 2) == [1]
    assert versions(root) == [2, 3] and not (root / "v1" / MANIFEST).exists()
    assert stored_digest(root / "v3") == "d3"
    kept = pl.read_parquet(io.BytesIO((root / "v2" / "data" / "train-a.parquet").read_bytes()))
    assert kept["record_id"].to_list() == ["r2"]
