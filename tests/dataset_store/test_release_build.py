"""The release built shard by shard (issue 31): built from datasets that were updated equals one built from
datasets made once from all rows; near-duplicates across disciplines are removed once, the copy in the
discipline first by name kept, in English and Chinese."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from linksyn_assets.dataset_store.update import UpdatePlan, update_dataset
from linksyn_assets.release.build import (
    content_digest,
    cross_discipline_removed,
    live_dataset_shards,
    version_ids,
    write_release,
)
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
