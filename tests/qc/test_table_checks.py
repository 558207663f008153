"""Whole-table checks (qc/table_checks.py) on English and Chinese rows."""

import polars as pl

from linksyn_assets.qc.table_checks import well_formed


def _rows() -> pl.DataFrame:
    return pl.DataFrame({
        "seed_id": ["s1", "s2", "s3", "s4"],
        "question": ["What is the unit of force?", "力的单位是什么？", "光速约为多少？", "Define momentum."],
        "answer": ["newton", "牛顿", "3×10^8 m/s", "p = mv"],
        "discipline": ["physics"] * 4,
    })


def test_clean_tables_pass_in_both_languages() -> None:
    check = well_formed(_rows(), "seed_id", ["question", "answer"], discipline="physics")
    assert check.passed and check.problems == {} and check.examples == []


def test_each_problem_is_counted_and_named() -> None:
    rows = _rows().with_columns(
        seed_id=pl.Series(["s1", "s1", None, "s4"]),
        answer=pl.Series(["newton", "　", "3×10^8 m/s", None]),  # a full-width space is no answer
        discipline=pl.Series(["physics", "physics", "mathematics", "physics"]),
    )
    check = well_formed(rows, "seed_id", ["question", "answer"], discipline="physics")
    assert not check.passed
    assert check.problems == {"seed_id missing": 1, "seed_id repeated": 2, "answer empty": 2,
                              "discipline is not physics": 1}
    assert check.examples == ["s1", "s1", "None", "s4"]


def test_discipline_is_only_checked_when_given() -> None:
    rows = _rows().with_columns(discipline=pl.lit("数学"))
    assert well_formed(rows, "seed_id", ["question"]).passed
    assert well_formed(rows, "seed_id", ["question"], discipline="physics").problems == {
        "discipline is not physics": 4}
