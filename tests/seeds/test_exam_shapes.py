"""Exam files the way benchmarks ship them: records under a key, answers as letters / indexes / text / lists,
options as lists / dicts / separate fields / lines inside the question, passages with several questions;
and every file the reader does not use is reported, for seed and benchmark folders alike."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.qc.benchmarks import Benchmarks
from linksyn_assets.seeds.readers import read_benchmark_dir, read_seed_dir, skip_summary

# The shape of a widely used Chinese exam benchmark: one object per file, the records in a list under a key,
# options written inside the question, answers as lists of letters, the worked solution in `analysis`.
ZH_MATH = {
    "keywords": "2010-2022_Math_II_MCQs",
    "example": [
        {"year": "2010", "category": "（新课标）", "index": 0, "score": 5,
         "question": "1．（5分）已知集合A={x||x|≤2，x∈R}，B={x|x≤4，x∈Z}，则A∩B=（　　）\n"
                     "A．（0，2）\nB．[0，2]\nC．{0，2}\nD．{0，1，2}\n",
         "answer": ["D"], "analysis": "解：A={x|-2≤x≤2}，故选：D．"},
        {"year": "2012", "category": "（全国卷）", "index": 1, "score": 5,
         "question": "2．下列函数中，既是奇函数又是增函数的是（　　）A．y=x　　B．y=x^3　　C．y=1/x　　D．y=|x|",
         "answer": ["A", "B"], "analysis": "y=x 与 y=x^3 都是奇函数且单调递增。"},
    ],
}
EN_READING = {
    "keywords": "2010-2022_English_Reading_Comp",
    "example": [
        {"year": "2015", "index": 0, "score": 4,
         "question": "A\nTom walked to the station every morning. One day the train was late, so he read a book.\n"
                     "21．Where did Tom go every morning?\nA．To school.\nB．To the station.\nC．To the park.\n"
                     "D．To the zoo.\n22．What did Tom do when the train was late?\nA．He went home.\t"
                     "B．He slept.\tC．He read a book.\tD．He called a friend.\n",
         "answer": ["B", "C"], "analysis": "细节理解题。"},
        {"year": "2016", "index": 1, "score": 4,
         "question": "Passage.\n21．First?\nA．a\nB．b\n22．Second?\nA．c\nB．d\n",
         "answer": ["A"], "analysis": ""},  # two questions, one answer: which one it belongs to is unknown
    ],
}


def _write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _seeds(load) -> list[dict]:
    return load.seeds.sort("source_file", "source_row", "question").to_dicts()


def test_chinese_benchmark_object_with_inline_options_and_list_answers(tmp_path: Path) -> None:
    _write(tmp_path / "2010-2022_Math_II_MCQs.json", ZH_MATH)
    load = read_seed_dir(tmp_path)
    assert load.quarantine.is_empty(), load.quarantine.to_dicts()
    first, second = _seeds(load)
    assert first["question"] == "1.(5分)已知集合A={x||x|≤2,x∈R},B={x|x≤4,x∈Z},则A∩B=( )"
    assert first["options"] == ["(0,2)", "[0,2]", "{0,2}", "{0,1,2}"] and first["answer"] == "D"
    assert first["explanation"] == "解:A={x|-2≤x≤2},故选:D."
    assert first["discipline"] == "mathematics" and first["subject"] == "2010-2022_Math_II_MCQs"
    assert first["language"] == "zh"
    assert json.loads(first["provenance"]) == {"year": "2010", "score": "5", "index": "0", "category": "（新课标）",
                                               "group": "example", "keywords": "2010-2022_Math_II_MCQs",
                                               "record": "example[0]"}
    # inline options on one line, and a list of two letters on one option set: two correct options
    assert second["options"] == ["y=x", "y=x^3", "y=1/x", "y=|x|"] and second["answer"] == "AB"
    assert "A." not in second["question"]


def test_english_passage_with_sub_questions_splits_or_quarantines(tmp_path: Path) -> None:
    _write(tmp_path / "reading.json", EN_READING)
    load = read_seed_dir(tmp_path)
    seeds = _seeds(load)
    assert len(seeds) == 2
    for seed in seeds:  # each sub-question keeps the passage it asks about
        assert seed["question"].startswith("A\nTom walked to the station every morning.")
        assert seed["discipline"] == "english_language" and seed["source_row"] == 1
    by_stem = {s["question"].rsplit("\n", 1)[-1]: s for s in seeds}
    where = by_stem["21.Where did Tom go every morning?"]
    assert where["options"] == ["To school.", "To the station.", "To the park.", "To the zoo."]
    assert where["answer"] == "B" and json.loads(where["provenance"])["sub_question"] == "1"
    late = by_stem["22.What did Tom do when the train was late?"]
    assert late["options"][2] == "He read a book." and late["answer"] == "C"
    assert len({s["seed_id"] for s in seeds}) == 2
    (bad,) = load.quarantine.to_dicts()
    assert bad["source_file"] == "reading.json" and bad["source_row"] == 2
    assert "2 option sets" in bad["reason"] and "one per sub-question" in bad["reason"]


def test_file_with_two_lists_takes_subjects_from_the_keys(tmp_path: Path) -> None:
    _write(tmp_path / "mixed.json", {
        "physics": [{"question": "Which quantity is measured in newtons?", "options": ["mass", "force", "time"],
                     "answer": 1}],
        "历史": [{"question": "秦朝统一六国是在哪一年？", "options": {"A": "公元前221年", "B": "公元前206年"},
                  "answer": "A", "year": 2019}],
    })
    load = read_seed_dir(tmp_path)
    assert load.quarantine.is_empty(), load.quarantine.to_dicts()
    by_subject = {s["subject"]: s for s in _seeds(load)}
    assert by_subject["physics"]["discipline"] == "physics" and by_subject["physics"]["answer"] == "B"  # 0-based
    history = by_subject["历史"]
    assert history["discipline"] == "history" and history["options"] == ["公元前221年", "公元前206年"]
    assert json.loads(history["provenance"])["year"] == "2019" and history["source_row"] == 2
    assert load.files == {"mixed.json": "canonical"}


@pytest.mark.parametrize(("record", "options", "answer"), [
    ({"question": "2+2?", "A": "3", "B": "4", "C": "5", "answer": "B"}, ["3", "4", "5"], "B"),  # A-C fields
    ({"question": "2+2?", "choices": {"label": ["A", "B"], "text": ["4", "5"]}, "answerKey": "A"}, ["4", "5"], "A"),
    ({"question": "2+2?", "options": ["3", "4"], "answer": "4"}, ["3", "4"], "B"),  # option text
    ({"question": "2+2?", "options": ["3", "4"], "answer": 0}, ["3", "4"], "A"),  # 0-based index
    ({"question": "Pick primes.", "options": ["2", "4", "5"], "answer": ["A", "C"]}, ["2", "4", "5"], "AC"),
    ({"question": "Pick primes.", "options": ["2", "4", "5"], "answer": "A、C"}, ["2", "4", "5"], "AC"),
    ({"question": "Which is prime? (A) 4 (B) 6 (C) 7 (D) 9", "answer": "C"}, ["4", "6", "7", "9"], "C"),
    ({"question": "哪个是质数？\n（A）4\n（B）6\n（C）7", "answer": "['C']"}, ["4", "6", "7"], "C"),
    ({"question": "哪个是质数？A、4 B、6 C、7 D、9", "answer": "C"}, ["4", "6", "7", "9"], "C"),
    ({"question": "Which vitamin is made in skin?", "answer": "D"}, [], "D"),  # a letter is a fine free answer
])
def test_answer_and_option_shapes(tmp_path: Path, record: dict, options: list[str], answer: str) -> None:
    _write(tmp_path / "q.json", [record])
    load = read_seed_dir(tmp_path)
    assert load.quarantine.is_empty(), load.quarantine.to_dicts()
    (seed,) = _seeds(load)
    assert seed["options"] == options and seed["answer"] == answer
    assert "(A)" not in seed["question"] and "A、" not in seed["question"]


@pytest.mark.parametrize(("record", "reason"), [
    ({"question": "What is 2+2?", "answer": ["4"]}, "answer is a list ['4'] but the question has no options"),
    ({"question": ["What", "is", "2+2?"], "answer": "4"}, "field 'question' is a list where text is expected"),
    ({"question": "2+2?", "answer": {"value": 4}}, "field 'answer' is a dict where text is expected"),
    ({"question": "2+2?", "answer": "4", "explanation": {"steps": 1}}, "field 'explanation' is a dict"),
    ({"question": "2+2?", "answer": "4", "subject": ["math"]}, "field 'subject' is a list"),
    ({"question": "2+2?", "options": ["3", "4"], "answer": 2}, "answer index 2 is outside the 2 options"),
    ({"question": "下列正确的是（ ）A．甲 B．乙", "answer": ["C"]}, "names C, but the question writes 2 options"),
    ({"question": "2+2?", "options": {"A": "3", "C": "4"}, "answer": "A"}, "not the letters A, B, C"),
    ({"question": "Passage.\n1. First?\nA. a\nB. b\n2. Second?\nA. c\nB. d\nSee the map.", "answer": ["A", "B"]},
     "followed by text that belongs to none of them"),
])
def test_shapes_that_cannot_be_read_are_quarantined_with_the_reason(tmp_path: Path, record: dict,
                                                                    reason: str) -> None:
    _write(tmp_path / "bad.json", [record, {"question": "Valid?", "answer": "yes"}])
    load = read_seed_dir(tmp_path)
    assert load.seeds.height == 1  # the valid row of the same file is kept
    (row,) = load.quarantine.to_dicts()
    assert row["source_file"] == "bad.json" and row["source_row"] == 1
    assert reason in row["reason"], row["reason"]
    assert "[" not in load.seeds["answer"][0]


def test_other_discipline_is_resolved_by_subject(tmp_path: Path) -> None:
    _write(tmp_path / "s.json", [
        {"question": "What is a debit?", "answer": "x", "discipline": "Other", "subject": "professional_accounting"},
        {"question": "增值税的税率是多少？", "answer": "13%", "discipline": "其他", "subject": "tax_accountant"},
        {"question": "Which country is largest?", "answer": "Russia", "discipline": "Other"},
        {"question": "What share of people had a phone in 2017?", "answer": "80%", "subject": "global_facts"},
    ])
    load = read_seed_dir(tmp_path, default_discipline="general")
    got = dict(load.seeds.select("question", "discipline").iter_rows())
    assert got == {"What is a debit?": "business", "增值税的税率是多少?": "business",
                   "Which country is largest?": "general", "What share of people had a phone in 2017?": "general"}


def _mixed_folder(root: Path) -> dict[str, str]:
    """Readable and unreadable files side by side; returns file -> a phrase its reason must hold."""
    (root / "csv").mkdir(parents=True)
    for i in range(3):
        (root / "csv" / f"subject{i}_dev.csv").write_text(
            f"Question {i} about cells?,a,b,c,d,A\n第{i}题：细胞的基本单位是什么？,甲,乙,丙,丁,B\n", encoding="utf-8")
    _write(root / "gaokao" / "2010-2022_Math_II_MCQs.json", ZH_MATH)
    expect = {
        "notes/mapping.json": "no list of records under any key (keys: subjects)",
        "notes/scalar.json": "top level is a int",
        "broken.json": "file unreadable",
        "empty.jsonl": "empty file",
        "sheet.xlsx": "not a seed file type (.xlsx",
        "README": "not a seed file type (no suffix",
        "all_bad.jsonl": "no row usable (2 quarantined)",
    }
    _write(root / "notes" / "mapping.json", {"subjects": ["math", "physics"]})
    (root / "notes" / "scalar.json").write_text("42")
    (root / "broken.json").write_text('{"example": [', encoding="utf-8")
    (root / "empty.jsonl").write_text("")
    (root / "sheet.xlsx").write_bytes(b"PK\x03\x04 not really")
    (root / "README").write_text("exam files")
    (root / "all_bad.jsonl").write_text('{"q": 1}\n{"q": 2}\n')
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("hidden folders are not part of the source")
    return expect


def test_a_mixed_seed_folder_reports_every_unused_file(tmp_path: Path) -> None:
    expect = _mixed_folder(tmp_path)
    load = read_seed_dir(tmp_path)
    assert load.seeds.height == 3 * 2 + 2
    assert set(load.skipped_files) == set(expect)
    for name, phrase in expect.items():
        assert phrase in load.skipped_files[name], (name, load.skipped_files[name])
    file_rows = load.quarantine.filter(pl.col("source_row") == 0)
    # every file no row could come from has its file-level quarantine row (the all-bad file has its rows)
    assert set(file_rows["source_file"]) == set(expect) - {"all_bad.jsonl"}
    assert file_rows["discipline"].is_null().all()  # file-level rows make no discipline partition
    summary = skip_summary(load.skipped_files)
    assert summary.startswith("7 file(s) skipped: ")
    assert "not seeds: not a seed file type" in summary and " x 1" in summary


def test_a_mixed_benchmark_folder_reports_every_unused_file(tmp_path: Path) -> None:
    expect = _mixed_folder(tmp_path)
    load = read_benchmark_dir(tmp_path)
    indexed = {f.file: f.items for f in load.files}
    assert indexed["gaokao/2010-2022_Math_II_MCQs.json"] == 2 and indexed["csv/subject0_dev.csv"] == 2
    unused = set(load.skipped_files) | {f.file for f in load.files if f.items == 0}
    assert unused == set(expect)
    # The index refuses a folder holding a broken benchmark file; without it, skipped files are reported.
    with pytest.raises(ValueError, match=r"benchmark file .*(all_bad\.jsonl|broken\.json|empty\.jsonl)"):
        Benchmarks.load([tmp_path], 13, 0.5)
    for name in ("broken.json", "empty.jsonl", "all_bad.jsonl"):
        (tmp_path / name).unlink()
    bench = Benchmarks.load([tmp_path], 13, 0.5)
    skipped = {name.split(":", 1)[1]: reason for name, reason in bench.skipped().items()}
    assert set(skipped) == set(expect) - {"broken.json", "empty.jsonl", "all_bad.jsonl"}
    assert "not a seed file type (.xlsx" in skipped["sheet.xlsx"]


def test_chinese_passage_with_sub_questions_splits(tmp_path: Path) -> None:
    _write(tmp_path / "reading.json", {"keywords": "2010-2022_Chinese_Modern_Lit", "example": [{
        "year": "2018", "score": 6,
        "question": "阅读下面的文字，完成1～2题。\n故乡的小河从村前流过，河水清澈，两岸长满了芦苇。\n"
                    "1．下列对文章内容的理解，正确的一项是（　　）\n"
                    "A．小河在村后\nB．河水清澈\nC．两岸没有植物\nD．文章写的是城市\n"
                    "2．文章主要写了什么？（　　）\nA．故乡的小河　B．城市的街道　C．远方的大山　D．海边的沙滩\n",
        "answer": ["B", "A"], "analysis": "略"}]})
    load = read_seed_dir(tmp_path)
    assert load.quarantine.is_empty(), load.quarantine.to_dicts()
    first, second = sorted(_seeds(load), key=lambda s: json.loads(s["provenance"])["sub_question"])
    for seed in (first, second):
        assert seed["question"].startswith("阅读下面的文字,完成1~2题。\n故乡的小河从村前流过")
        assert seed["discipline"] == "chinese_language" and seed["language"] == "zh"
    assert first["question"].endswith("1.下列对文章内容的理解,正确的一项是( )")
    assert first["options"] == ["小河在村后", "河水清澈", "两岸没有植物", "文章写的是城市"] and first["answer"] == "B"
    assert second["options"] == ["故乡的小河", "城市的街道", "远方的大山", "海边的沙滩"] and second["answer"] == "A"
