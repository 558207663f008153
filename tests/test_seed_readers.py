"""Seed readers: every format, normalization, stable ids, quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.disciplines import MMLU_SUBCATEGORY, canonical_discipline
from linksyn_assets.seed_readers import read_seed_dir
from tests.conftest import write_jsonl

pytestmark_shared = pytest.mark.shared_seeds


def _accounted(load) -> int:
    return load.seeds.height + load.duplicates_collapsed + load.quarantine.height


# ------------------------------------------------------------------ real seed sets


@pytestmark_shared
@pytest.mark.parametrize(("folder", "rows", "quarantined"), [
    ("mmlu/data/mmlu/dev", 285, 0), ("mmlu/data/mmlu/val", 1531, 0),
])
def test_mmlu(shared_seeds: Path, folder: str, rows: int, quarantined: int) -> None:
    load = read_seed_dir(shared_seeds / folder)
    assert load.rows_read == rows
    assert _accounted(load) == rows
    assert load.quarantine.height == quarantined
    assert set(load.files.values()) == {"mmlu"}
    seeds = load.seeds
    assert seeds["answer"].is_in(["A", "B", "C", "D"]).all()
    assert (seeds["options"].list.len() == 4).all()
    anatomy = seeds.filter(pl.col("subject") == "anatomy")
    assert set(anatomy["discipline"]) == {"health"}
    assert set(seeds.filter(pl.col("subject") == "college_physics")["difficulty"]) == {3}
    assert set(seeds.filter(pl.col("subject") == "high_school_biology")["difficulty"]) == {2}


@pytestmark_shared
def test_mmlu_map_matches_upstream_categories(shared_seeds: Path) -> None:
    upstream = json.loads((shared_seeds / "mmlu" / "categories.json").read_text())["subcategories"]
    assert {k: v[0] for k, v in upstream.items()} == MMLU_SUBCATEGORY


@pytestmark_shared
def test_gsm8k(shared_seeds: Path) -> None:
    load = read_seed_dir(shared_seeds / "gsm8k")
    assert load.rows_read == 1319 and _accounted(load) == 1319
    assert load.seeds.height == 1319
    first = load.seeds.row(0, named=True)
    assert first["answer"] == "18" and "####" not in first["explanation"]
    assert set(load.seeds["discipline"]) == {"mathematics"}


@pytestmark_shared
def test_tal_scq5k(shared_seeds: Path) -> None:
    load = read_seed_dir(shared_seeds / "tal-scq5k")
    assert load.rows_read == 4000 and _accounted(load) == 4000
    assert load.quarantine.height == 0
    seeds = load.seeds
    assert seeds["difficulty"].is_between(0, 4).all()
    # 41 upstream rows carry an empty knowledge_point_routes list; every other route is kept.
    assert (seeds["kp_routes"].list.len() > 0).sum() >= seeds.height - 41
    assert seeds["kp_routes"].explode().drop_nulls().str.contains("->").all()
    by_file = seeds.group_by("language").agg(pl.col("source_file").str.contains("ch_").all().alias("zh_file"))
    assert dict(by_file.iter_rows()) == {"zh": True, "en": False}


@pytestmark_shared
def test_agieval(shared_seeds: Path) -> None:
    load = read_seed_dir(shared_seeds / "agieval")
    assert load.rows_read == 3072 and _accounted(load) == 3072
    # Two gaokao-chemistry rows have an option with no text: quarantined, with file and row.
    assert load.quarantine.height == 2
    assert set(load.quarantine["reason"]) == {"an option is empty"}
    assert set(load.quarantine["source_file"]) == {"data/v1/gaokao-chemistry.jsonl"}
    seeds = load.seeds
    math = seeds.filter(pl.col("source_file") == "data/v1/math.jsonl")
    assert math["difficulty"].is_between(0, 4).all() and math["difficulty"].null_count() == 0
    assert {"physics", "history", "chinese_language", "english_language"} <= set(seeds["discipline"])
    multi = seeds.filter(pl.col("answer").str.len_chars() > 1, pl.col("options").list.len() > 0)
    assert multi.height > 0  # list labels became sorted multi-letter answers
    assert seeds.filter(pl.col("question").str.contains("(A)", literal=True)).height < seeds.height
    assert not seeds["options"].explode().drop_nulls().str.starts_with("(A)").any()


# ------------------------------------------------------------------ layouts made here


def test_cmmlu_and_ceval_layouts(tmp_path: Path) -> None:
    (tmp_path / "high_school_physics_val.csv").write_text(
        "id,question,A,B,C,D,answer,explanation\n"
        "0,物体的加速度与合外力成正比，这是哪条定律？,牛顿第一定律,牛顿第二定律,牛顿第三定律,万有引力定律,B,由 F=ma\n"
        "1,\"多行\n题目\",甲,乙,丙,丁,C,\n", encoding="utf-8")
    (tmp_path / "agronomy.csv").write_text(
        ",Question,A,B,C,D,Answer\n0,下列作物中属于豆科的是,水稻,大豆,小麦,玉米,B\n", encoding="utf-8")
    load = read_seed_dir(tmp_path)
    assert set(load.files.values()) == {"cmmlu-ceval"}
    seeds = load.seeds.sort("source_file", "source_row")
    assert seeds.height == 3
    physics = seeds.filter(pl.col("source_file") == "high_school_physics_val.csv")
    assert set(physics["discipline"]) == {"physics"} and set(physics["difficulty"]) == {2}
    assert physics["question"][1] == "多行\n题目"
    assert set(seeds["language"]) == {"zh"}
    assert seeds.filter(pl.col("source_file") == "agronomy.csv")["answer"][0] == "B"


def test_canonical_formats_agree(tmp_path: Path) -> None:
    row = {"question": "What is 2 + 3?", "options": ["4", "5", "6"], "answer": "5", "explanation": "add",
           "discipline": "Mathematics", "subject": "arithmetic", "difficulty": 0, "language": "en",
           "source": "unit"}
    write_jsonl(tmp_path / "a" / "s.jsonl", [row])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "s.json").write_text(json.dumps([row]))
    (tmp_path / "c").mkdir()
    pl.DataFrame([{**row, "options": json.dumps(row["options"])}]).write_csv(tmp_path / "c" / "s.csv")
    (tmp_path / "d").mkdir()
    pl.DataFrame([row]).write_parquet(tmp_path / "d" / "s.parquet")
    ids = []
    for sub in "abcd":
        load = read_seed_dir(tmp_path / sub)
        assert load.quarantine.is_empty(), load.quarantine.to_dicts()
        seed = load.seeds.row(0, named=True)
        assert seed["answer"] == "B"  # option text mapped to its letter
        assert seed["discipline"] == "mathematics"
        ids.append(seed["seed_id"])
    assert len(set(ids)) == 1  # the id depends on content only


def test_normalization_and_duplicates(tmp_path: Path) -> None:
    # U+2F94 is the Kangxi radical lookalike of 言; fullwidth digits and stray spaces fold too.
    rows = [
        {"question": "\u2f94语   表达：１+１=？\x00", "answer": "２", "discipline": "chinese"},
        {"question": "言语 表达:1+1=?", "answer": "2", "discipline": "chinese"},
        {"question": "言语 表达:1+1=?", "answer": "2", "discipline": "chinese"},
    ]
    load = read_seed_dir(write_jsonl(tmp_path / "s.jsonl", rows).parent)
    assert load.seeds.height == 1 and load.duplicates_collapsed == 2
    seed = load.seeds.row(0, named=True)
    assert seed["question"] == "言语 表达:1+1=?" and seed["answer"] == "2"
    assert seed["discipline"] == "chinese_language" and seed["language"] == "zh"


def test_quarantine_names_file_row_and_reason(tmp_path: Path) -> None:
    good = {"question": "Name the powerhouse of the cell.", "answer": "mitochondrion", "discipline": "biology"}
    write_jsonl(tmp_path / "bio.jsonl", [
        good,
        "{not json",
        {"answer": "x", "discipline": "biology"},
        {"question": "No answer here?", "discipline": "biology"},
        {"question": "Bad level?", "answer": "y", "difficulty": 9, "discipline": "biology"},
        {"question": "Which?", "options": ["a", "b"], "answer": "E", "discipline": "biology"},
        [1, 2, 3],
    ])
    (tmp_path / "broken.csv").write_bytes(b"\xff\xfe\x00garbage\x81\x82")
    (tmp_path / "mapping.json").write_text('{"not": "seeds"}')
    load = read_seed_dir(tmp_path, default_discipline="general")
    assert load.seeds.height == 1
    q = {(r["source_file"], r["source_row"]): r for r in load.quarantine.to_dicts()}
    assert q[("bio.jsonl", 2)]["reason"].startswith("invalid JSON")
    assert q[("bio.jsonl", 3)]["reason"] == "missing question"
    assert q[("bio.jsonl", 4)]["reason"] == "missing answer"
    assert "difficulty 9" in q[("bio.jsonl", 5)]["reason"]
    assert "not one of the 2 options" in q[("bio.jsonl", 6)]["reason"]
    assert "not an object" in q[("bio.jsonl", 7)]["reason"]
    assert q[("broken.csv", 0)]["reason"].startswith("file unreadable")
    # Bad rows of bio.jsonl are filed under the file's discipline so that partition shows them.
    assert {q[("bio.jsonl", n)]["discipline"] for n in range(2, 8)} == {"biology"}
    assert load.skipped_files == {"mapping.json": "top level is not a list of records"}
    assert load.rows_read == 7


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_seed_dir(tmp_path / "nope")


def test_bundled_sample_seeds_meet_the_brief() -> None:
    from resources.project_paths import SAMPLE_SEEDS_DIR

    load = read_seed_dir(SAMPLE_SEEDS_DIR)
    seeds = load.seeds
    assert load.quarantine.is_empty() and load.duplicates_collapsed == 0
    assert seeds.height >= 120
    assert seeds["discipline"].n_unique() >= 6
    assert set(seeds["language"]) == {"en", "zh"}
    assert set(seeds["difficulty"]) == {0, 1, 2, 3, 4}
    assert canonical_discipline("Computer Science") == "computer_science"
