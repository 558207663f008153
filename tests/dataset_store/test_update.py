"""A dataset as immutable shards plus a manifest (issue 31): updated twice it equals one built once from all
rows (same kept rows, same rejects, same reasons), in English and Chinese; an update writes only new files;
rows that left become tombstones; a new QC recipe is a new generation; a crash resumes where it stopped."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.dataset_store.manifest import (
    BUILDING,
    MANIFEST,
    all_rejects,
    live_shards,
    read_live,
    read_manifest,
)
from linksyn_assets.dataset_store.update import UpdatePlan, update_dataset
from linksyn_assets.qc.rules import assemble
from linksyn_assets.qc.steps import row_rule_steps
from linksyn_assets.synthesis.tables import HARD_SCHEMA, SYNTH_SCHEMA

EN_TOPICS = ["photosynthesis", "enzyme kinetics", "plate tectonics", "orbital mechanics", "supply and demand",
             "the krebs cycle", "ohm's law", "natural selection", "acid rain", "the doppler effect"]
ZH_TOPICS = ["光合作用", "酶促反应", "板块构造", "轨道力学", "供求关系", "三羧酸循环", "欧姆定律", "自然选择", "酸雨",
             "多普勒效应"]


def _row(i: int, question: str, answer: str, language: str, path: str) -> dict:
    return {"qa_id": f"q{i:03d}", "discipline": "physics", "path_id": path, "item_index": 0, "question": question,
            "options": ["alpha", "beta", "gamma", "delta"], "answer": answer, "solution": f"Because of step {i}.",
            "kp_names_used": [], "kp_ids": [f"kp{i % 7}"], "seed_ids": [f"s{i % 5}"], "difficulty": 3,
            "language": language, "question_type": "multiple_choice", "copy_seed_id": None, "copy_similarity": 0.0,
            "model": "m", "prompt_version": "v1", "reasoning": None, "prompt_tokens": 1, "completion_tokens": 1,
            "cost_usd": 0.0, "status": "ok", "error": None}


def _rows() -> list[dict]:
    rows = []
    for i, (en, zh) in enumerate(zip(EN_TOPICS, ZH_TOPICS, strict=True)):
        rows.append(_row(2 * i, f"Question {i}: which statement about {en} holds when the system is in "
                                f"state number {i * 37 + 11} of the experiment?", "A", "en", f"p{i % 4}"))
        rows.append(_row(2 * i + 1, f"第{i}题：关于{zh}，在实验的第{i * 37 + 11}个状态下哪一种说法成立，为什么？",
                         "B", "zh", f"p{(i + 1) % 4}"))
    # a second batch's worth: copies of first-batch rows, near-copies, a broken row, a contaminated one
    rows.append(_row(40, rows[3]["question"], "B", "zh", "p9"))  # exact duplicate of q003
    rows.append(_row(41, rows[4]["question"].replace("which statement", "which statements"), "A", "en", "p9"))
    rows.append(_row(42, rows[7]["question"].replace("哪一种", "哪一项"), "B", "zh", "p9"))
    rows.append(_row(43, "Question x: what is the boiling point of pure water at sea level in kelvin units?",
                     "A", "en", "p9"))  # in the benchmark below
    rows.append(_row(44, "Too short?", "A", "en", "p9"))
    rows.append(_row(45, "Question 45: how does a catalyst change the activation energy of a reaction "
                         "at constant temperature?", "C", "en", "p9"))
    rows.append(_row(46, "Question 45: how does a catalyst change the activation energy of a reaction "
                         "at constant temperatures?", "C", "en", "p9"))  # a near-copy within the batch
    rows.append(_row(47, "第47题：催化剂如何在恒定温度下改变化学反应的活化能，请说明理由？", "D", "zh", "p9"))
    return rows


def _produced(rows: list[dict]) -> pl.LazyFrame:
    return assemble(pl.DataFrame(rows, schema=SYNTH_SCHEMA).lazy(), pl.DataFrame(schema=HARD_SCHEMA).lazy())


def _rejects(folder: Path) -> pl.DataFrame:
    manifest = read_manifest(folder)
    return all_rejects(folder, manifest).select("record_id", "reason").collect().sort("record_id")


def _same(a: Path, b: Path) -> None:
    assert read_live(a).equals(read_live(b))
    assert _rejects(a).equals(_rejects(b))


def test_updated_twice_equals_built_once_in_english_and_chinese(tmp_path: Path, plan: UpdatePlan) -> None:
    rows = _rows()
    once, twice, small = tmp_path / "once", tmp_path / "twice", tmp_path / "small"
    update_dataset(once, _produced(rows), plan, None)
    first = update_dataset(twice, _produced(rows[:20]), plan, None)
    assert first.rows_new == 20 and first.rebuilt
    plan.verified.clear()
    second = update_dataset(twice, _produced(rows), plan, None)
    assert not second.rebuilt and plan.verified  # only new rows were solved
    assert all(int(record_id[1:]) >= 40 for record_id in plan.verified)
    _same(once, twice)
    plan.batch_rows = 3  # many small batches, each checked against the ones before
    update_dataset(small, _produced(rows), plan, None)
    _same(once, small)
    reasons = dict(_rejects(once).iter_rows())
    assert reasons["q040"] == "exact duplicate"
    assert reasons["q041"].startswith("near-duplicate: of q004")
    assert reasons["q042"].startswith("near-duplicate: of q007")  # Chinese, one word changed
    assert reasons["q046"].startswith("near-duplicate: of q045")
    assert reasons["q043"].startswith("benchmark")
    assert "shorter than 20" in reasons["q044"]
    live = read_live(once)
    assert live.height == 22 and {"q045", "q047"} <= set(live["record_id"])
    assert live["record_id"].to_list()[:20] == [f"q{i:03d}" for i in range(20)]  # earlier rows first
    assert (live["tokens"] > 0).all() and live["text"].str.contains("问题：").any()


def test_an_update_adds_files_and_rewrites_none(tmp_path: Path, plan: UpdatePlan) -> None:
    rows, folder = _rows(), tmp_path / "d"
    update_dataset(folder, _produced(rows[:20]), plan, None)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name != MANIFEST}
    update_dataset(folder, _produced(rows), plan, None)
    after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name != MANIFEST}
    assert {k: after[k] for k in before} == before  # nothing written before was touched
    assert len(after) == len(before) + 3  # one shard: its rows, index and rejects
    unchanged = update_dataset(folder, _produced(rows), plan, None)
    assert unchanged.rows_new == 0 and len(read_manifest(folder).shards) == 2  # nothing new: no shard


def test_rows_that_left_are_tombstoned_with_their_reason(tmp_path: Path, plan: UpdatePlan) -> None:
    rows, folder = _rows(), tmp_path / "d"
    update_dataset(folder, _produced(rows), plan, None)
    shards_before = read_manifest(folder).shards
    kept = [r for r in rows if r["path_id"] != "p1"]
    retired_paths = pl.DataFrame({"path_id": ["p1"], "retired_reason": ["its KPs were merged"]})
    result = update_dataset(folder, _produced(kept), plan, retired_paths)
    manifest = read_manifest(folder)
    assert manifest.shards == shards_before and len(manifest.tombstones) == 1
    gone = set(result.retired["record_id"])
    assert gone == {r["qa_id"] for r in rows if r["path_id"] == "p1"} and len(gone) == 6
    assert set(result.retired["retired_reason"]) == {"path retired: its KPs were merged"}
    live = read_live(folder)
    assert not set(live["record_id"]) & gone and live.height == manifest.rows == 16
    assert manifest.tokens == int(live["tokens"].sum())
    assert sum(s.height for s in live_shards(folder)) == 16


def test_a_new_qc_recipe_is_a_new_generation_and_the_old_files_go(tmp_path: Path, plan: UpdatePlan) -> None:
    rows, folder = _rows(), tmp_path / "d"
    update_dataset(folder, _produced(rows), plan, None)
    old_files = set(read_manifest(folder).files()) - {MANIFEST}
    plan.qc_recipe = "r2"
    plan.params = plan.params.model_copy(update={"min_question_chars": 120})  # removes more rows now
    plan.row_steps = row_rule_steps(plan.params, 1.0)
    result = update_dataset(folder, _produced(rows), plan, None)
    manifest = read_manifest(folder)
    assert result.rebuilt and manifest.generation == 2
    assert not any((folder / f).exists() for f in old_files)
    fresh = tmp_path / "fresh"
    update_dataset(fresh, _produced(rows), plan, None)
    _same(folder, fresh)
    assert result.retired.height > 0  # rows now too short left, each with QC's reason
    assert result.retired["retired_reason"].str.starts_with("removed by QC: question shorter than 120").all()


def test_a_crash_mid_build_resumes_after_the_batches_done(tmp_path: Path, plan: UpdatePlan) -> None:
    rows, folder = _rows(), tmp_path / "d"
    plan.batch_rows = 10
    verify, calls = plan.verify, []

    def crashing(batch: pl.DataFrame) -> tuple[pl.DataFrame, list[str | None], float, set[str]]:
        calls.append(batch.height)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return verify(batch)

    plan.verify = crashing
    with pytest.raises(RuntimeError, match="killed"):
        update_dataset(folder, _produced(rows), plan, None)
    assert read_manifest(folder) is None and len(read_manifest(folder, BUILDING).shards) == 2
    plan.verify = verify
    plan.verified.clear()
    update_dataset(folder, _produced(rows), plan, None)
    assert not (folder / BUILDING).exists()
    assert not {f"q{i:03d}" for i in range(20)} & set(plan.verified)  # the first two batches were not redone
    once = tmp_path / "once"
    update_dataset(once, _produced(rows), plan, None)
    _same(folder, once)


@pytest.mark.cluster
def test_a_dataset_on_object_storage_updates_the_same_way(tmp_path: Path, plan: UpdatePlan, s3,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from linksyn_assets.storage import as_path

    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    remote = as_path(f"s3://{s3.create_bucket()}/linksyn/dataset/physics")
    rows = _rows()
    update_dataset(remote, _produced(rows[:20]), plan, None)
    update_dataset(remote, _produced([r for r in rows if r["path_id"] != "p1"]), plan,
                   pl.DataFrame({"path_id": ["p1"], "retired_reason": ["merged"]}))
    local = tmp_path / "local"
    update_dataset(local, _produced(rows[:20]), plan, None)
    update_dataset(local, _produced([r for r in rows if r["path_id"] != "p1"]), plan,
                   pl.DataFrame({"path_id": ["p1"], "retired_reason": ["merged"]}))
    _same(remote, local)
    assert read_manifest(remote).model_dump(exclude={"shards": {"__all__": {"bytes"}}}) == \
        read_manifest(local).model_dump(exclude={"shards": {"__all__": {"bytes"}}})


def test_rows_whose_solve_got_no_answer_are_held_back_and_judged_next_time(tmp_path: Path, plan: UpdatePlan) -> None:
    """A verifier outage must not leave rows unverified for ever: they are neither kept nor rejected, and the
    next update (answers back) judges them, ending where one clean build ends."""
    rows, folder = _rows(), tmp_path / "d"
    verify = plan.verify
    lost = {"q004", "q005", "q045"}

    def outage(batch: pl.DataFrame) -> tuple[pl.DataFrame, list[str | None], float, set[str]]:
        checked, reasons, cost, _ = verify(batch)
        return checked, reasons, cost, lost & set(batch["record_id"])

    plan.verify = outage
    first = update_dataset(folder, _produced(rows), plan, None)
    assert first.held == 3
    assert not lost & (set(read_live(folder)["record_id"]) | set(_rejects(folder)["record_id"]))
    plan.verify = verify
    plan.verified.clear()
    second = update_dataset(folder, _produced(rows), plan, None)
    assert second.held == 0 and set(plan.verified) == lost  # only the held rows were asked again
    assert lost <= set(read_live(folder)["record_id"])
    once = tmp_path / "once"
    update_dataset(once, _produced(rows), plan, None)
    assert set(read_live(folder)["record_id"]) == set(read_live(once)["record_id"])
    assert _rejects(folder).equals(_rejects(once))
