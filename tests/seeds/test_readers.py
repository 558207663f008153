"""Seed readers: every format, normalization, stable ids, quarantine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.seeds.disciplines import MMLU_SUBCATEGORY, discipline_key
from linksyn_assets.seeds.readers import read_seed_dir
from tests.conftest import write_jsonl

pytestmark_shared = pytest.mark.shared_seeds


def _accounted(load) -> int:
    """Data rows accounted for (file-level rows, source_row 0, stand for files, not rows)."""
    return load.seeds.height + load.duplicates_collapsed + load.quarantine.filter(pl.col("source_row") > 0).height


def _bad_rows(load) -> pl.DataFrame:
    return load.quarantine.filter(pl.col("source_row") > 0)


def _formats(load) -> set[str]:
    return {fmt for fmt in load.files.values() if fmt != "skipped"}


# ------------------------------------------------------------------ real seed sets


@pytestmark_shared
@pytest.mark.parametrize(("folder", "rows", "quarantined"), [
    ("mmlu/data/mmlu/dev", 285, 0), ("mmlu/data/mmlu/val", 1531, 0),
])
def test_mmlu(shared_seeds: Path, folder: str, rows: int, quarantined: int) -> None:
    load = read_seed_dir(shared_seeds / folder)
    assert load.rows_read == rows
    assert _accounted(load) == rows
    assert _bad_rows(load).height == quarantined
    assert _formats(load) == {"mmlu"}
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
    assert _bad_rows(load).height == 0
    # the upstream README beside the data is reported, not read in silence
    assert load.skipped_files == {"README.md": "not seeds: not a seed file type (.md; seed files end in .jsonl, "
                                                ".json, .csv, .parquet)"}
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
    assert _bad_rows(load).height == 2
    assert set(_bad_rows(load)["reason"]) == {"an option is empty"}
    assert set(_bad_rows(load)["source_file"]) == {"data/v1/gaokao-chemistry.jsonl"}
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
    assert _formats(load) == {"cmmlu-ceval"}
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
    assert load.skipped_files == {
        "mapping.json": "not seeds: top level is an object with no list of records under any key (keys: not)",
        "broken.csv": q[("broken.csv", 0)]["reason"]}
    assert q[("mapping.json", 0)]["reason"] == load.skipped_files["mapping.json"]
    assert load.rows_read == 7


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_seed_dir(tmp_path / "nope")


def test_bundled_sample_seeds_meet_the_brief() -> None:
    from linksyn_assets.storage import SAMPLE_SEEDS_DIR

    load = read_seed_dir(SAMPLE_SEEDS_DIR)
    seeds = load.seeds
    assert load.quarantine.is_empty() and load.duplicates_collapsed == 0
    assert seeds.height >= 120
    assert seeds["discipline"].n_unique() >= 6
    assert set(seeds["language"]) == {"en", "zh"}
    assert set(seeds["difficulty"]) == {0, 1, 2, 3, 4}
    assert discipline_key("Computer Science") == "computer_science"


# ------------------------------------------------------------------ real-world inputs that used to lose rows


def _valid_rows(n: int, discipline: str = "biology") -> list[dict]:
    return [{"question": f"Which organelle is number {i} in this valid list?", "options": ["a", "b"],
             "answer": "A", "discipline": discipline} for i in range(n)]


def test_chinese_discipline_names_get_partitions_not_lost(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "数学题.jsonl", [
        {"question": "1+1等于几？", "answer": "2", "discipline": "数学"},
        {"question": "光速是多少？", "answer": "3e8 m/s", "discipline": "物理"},
        {"question": "中国菜系有几大？", "answer": "八大", "discipline": "烹饪技艺"},
    ])
    (tmp_path / "高中化学.csv").write_text("id,question,A,B,C,D,answer\n0,水的化学式是,H2O,CO2,O2,N2,A\n",
                                          encoding="utf-8")
    load = read_seed_dir(tmp_path)
    assert load.quarantine.is_empty(), load.quarantine.to_dicts()
    by_key = dict(load.seeds.select("discipline", "discipline_name").iter_rows())
    assert by_key["mathematics"] == "数学" and by_key["physics"] == "物理"
    assert by_key["chemistry"] == "高中化学"
    food = [k for k in by_key if k.startswith("peng_ren_ji_yi_")]
    assert len(food) == 1 and by_key[food[0]] == "烹饪技艺"
    assert all(re.fullmatch(r"[a-z0-9_]{1,48}", k) for k in by_key)


def test_overlong_and_hostile_discipline_names_are_safe_keys(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "s.jsonl", [
        {"question": "Long discipline name question?", "answer": "x", "discipline": "Q" * 300},
        {"question": "Path-like discipline name question?", "answer": "x", "discipline": "../../etc"},
        {"question": "Slash discipline question?", "answer": "x", "discipline": "a/b"},
        {"question": "Pipe discipline question?", "answer": "x", "discipline": "a|b"},
    ])
    load = read_seed_dir(tmp_path)
    keys = load.seeds["discipline"].to_list()
    assert len(keys) == 4 and len(set(keys)) == 4
    assert all(re.fullmatch(r"[a-z0-9_]{1,48}", k) for k in keys)


def test_a_huge_csv_field_and_a_stray_quote_never_stop_the_other_files(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "good.jsonl", _valid_rows(3))
    huge = "x" * 5_000_000
    (tmp_path / "huge.csv").write_text(
        "question,answer,discipline\n"
        f"\"{huge}\",A,biology\n"
        "A normal question after the huge one?,yes,biology\n", encoding="utf-8")
    lines = ["id,question,A,B,C,D,answer"]
    lines += [f"{i},Question number {i} about cells?,w,x,y,z,B" for i in range(6)]
    lines.insert(3, '99,"A question whose quote never closes?,w,x,y,z,B')
    (tmp_path / "quote.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    load = read_seed_dir(tmp_path)
    q = {(r["source_file"], r["source_row"]): r["reason"] for r in load.quarantine.to_dicts()}
    assert "over the cap of 20,000" in q[("huge.csv", 1)]
    assert q[("quote.csv", 3)].startswith("unbalanced quote at line 4")
    per_file = load.seeds.group_by("source_file").len()
    assert dict(per_file.iter_rows()) == {"good.jsonl": 3, "huge.csv": 1, "quote.csv": 6}
    assert _accounted(load) == load.rows_read == 3 + 2 + 7


def test_any_error_in_one_file_quarantines_that_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import linksyn_assets.seeds.formats.jsonl as jsonl_format

    write_jsonl(tmp_path / "a.jsonl", _valid_rows(2))
    write_jsonl(tmp_path / "b.jsonl", _valid_rows(2, "physics"))
    real = jsonl_format.from_canonical

    def explode(rec: dict, group: dict | None = None) -> dict:
        if rec.get("discipline") == "physics":
            raise MemoryError("simulated reader crash")
        return real(rec, group)
    monkeypatch.setattr(jsonl_format, "from_canonical", explode)
    load = read_seed_dir(tmp_path)
    assert load.seeds.height == 2 and set(load.seeds["source_file"]) == {"a.jsonl"}
    bad = load.quarantine.row(0, named=True)
    assert (bad["source_file"], bad["source_row"]) == ("b.jsonl", 0)
    assert "MemoryError: simulated reader crash" in bad["reason"]


def test_duplicate_headers_empty_files_and_odd_encodings_are_reported(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("question,answer,answer\nWhat?,a,b\n", encoding="utf-8")
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    text = "question,answer\n光合作用发生在哪里？,叶绿体\n"
    (tmp_path / "utf16.csv").write_bytes(text.encode("utf-16-le"))
    (tmp_path / "utf16bom.csv").write_bytes(text.encode("utf-16"))
    (tmp_path / "latin1.csv").write_bytes("question,answer\nCafé crème?,oui\n".encode("latin-1") + b"\x81\x8d")
    load = read_seed_dir(tmp_path)
    q = {r["source_file"]: r["reason"] for r in load.quarantine.to_dicts()}
    assert "duplicate header column(s) ['answer']" in q["dup.csv"]
    assert q["empty.jsonl"] == q["empty.csv"] == "empty file: no data rows"
    assert "UTF-16-LE without a byte-order mark" in q["utf16.csv"]
    assert "neither UTF-8 nor GB18030" in q["latin1.csv"]
    assert load.seeds["question"].to_list() == ["光合作用发生在哪里?"]  # UTF-16 with a BOM is read (NFKC: ？ -> ?)


def test_ceval_test_split_without_answers_is_quarantined_as_seed_and_indexed_as_benchmark(tmp_path: Path) -> None:
    from linksyn_assets.seeds.readers import read_benchmark_dir

    rows = [f"{i},第{i}题：下列关于细胞的说法正确的是,甲{i},乙,丙,丁" for i in range(12)]
    (tmp_path / "high_school_biology_test.csv").write_text("id,question,A,B,C,D\n" + "\n".join(rows) + "\n",
                                                          encoding="utf-8")
    load = read_seed_dir(tmp_path)
    assert load.seeds.is_empty() and load.quarantine.height == 12
    assert set(load.quarantine["reason"].str.split(":").list.first()) == {"no answer column"}
    assert set(load.quarantine["discipline"]) == {"general"}
    bench = read_benchmark_dir(tmp_path)
    assert bench.items.height == 12 and not bench.items["question"].str.contains("question").any()
    (f,) = bench.files
    assert (f.format, f.data_rows, f.items) == ("cmmlu-ceval", 12, 12)


def test_mmlu_layout_is_not_guessed_from_a_last_header_cell(tmp_path: Path) -> None:
    (tmp_path / "x_test.csv").write_text("id,question,A,B,C,D\n0,What is 2+2?,1,2,3,4\n", encoding="utf-8")
    (tmp_path / "mmlu_dev.csv").write_text("What is 2+2?,1,2,3,4,D\n", encoding="utf-8")
    load = read_seed_dir(tmp_path)
    assert load.files == {"x_test.csv": "cmmlu-ceval", "mmlu_dev.csv": "mmlu"}
    assert load.seeds["source_file"].to_list() == ["mmlu_dev.csv"]


@pytest.mark.parametrize(("options", "expected"), [
    (["(s)he runs", "they run", "it runs", "we run"], ["(s)he runs", "they run", "it runs", "we run"]),
    (["U.S. GDP", "E.U. GDP", "China GDP", "Japan GDP"], ["U.S. GDP", "E.U. GDP", "China GDP", "Japan GDP"]),
    (["I、II", "II、III", "III、IV", "IV、I"], ["I、II", "II、III", "III、IV", "IV、I"]),
    (["C:", "D:", "E:", "F:"], ["C:", "D:", "E:", "F:"]),
    (["A. one", "B. two", "C. three", "D. four"], ["one", "two", "three", "four"]),
    (["（A）甲", "（B）乙", "（C）丙", "（D）丁"], ["甲", "乙", "丙", "丁"]),
    (["(a) one", "(b) two"], ["one", "two"]),
    (["(A)甲", "(B)乙", "(C)丙", "(C)丁"], ["甲", "乙", "丙", "丁"]),  # an upstream typo (AGIEval Gaokao)
    (["B. one", "C. two", "D. three"], ["B. one", "C. two", "D. three"]),
])
def test_option_labels_are_stripped_only_as_a_sequence(tmp_path: Path, options: list[str],
                                                       expected: list[str]) -> None:
    write_jsonl(tmp_path / "s.jsonl", [{"question": "Which option is right here?", "options": options,
                                        "answer": "B", "discipline": "general"}])
    load = read_seed_dir(tmp_path)
    assert load.quarantine.is_empty(), load.quarantine.to_dicts()
    assert load.seeds["options"][0].to_list() == expected


@pytest.mark.parametrize("cut", [0, 1])
def test_a_streamed_file_names_the_same_bad_byte_as_a_whole_read(tmp_path: Path, cut: int) -> None:
    """JSONL is checked block by block (files.file_encoding); a bad byte past the first block, right after a
    Chinese character split across blocks, is named at the offset the whole-file decode names."""
    from linksyn_assets.seeds.files import _BLOCK, RowError, decoded_text, file_encoding

    data = ("牛" * (_BLOCK // 3 + 5)).encode()[: len(("牛" * (_BLOCK // 3 + 5)).encode()) - cut] + b"\xff tail"
    path = tmp_path / "seeds.jsonl"
    path.write_bytes(data)
    messages = []
    for read in (lambda: file_encoding(path, "seeds.jsonl"), lambda: decoded_text(data, "seeds.jsonl")):
        with pytest.raises(RowError) as caught:
            read()
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "offset" in messages[0]
    path.write_bytes(("题目：牛顿第二定律\n" * 200_000).encode("gb18030"))  # a GB18030 file past one block
    assert file_encoding(path, "seeds.jsonl") == "gb18030"
