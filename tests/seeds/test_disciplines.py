"""Discipline names -> partition keys, and subject -> discipline rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linksyn_assets.seeds.disciplines import (
    BENCHMARK_SUBJECTS,
    KEY_MAX_CHARS,
    MMLU_SUBCATEGORY,
    difficulty_for_subject,
    discipline_for_subject,
    discipline_key,
    name_mapping,
)

KNOWN = {"mathematics", "physics", "chemistry", "biology", "health", "computer_science", "engineering",
         "economics", "business", "history", "geography", "law", "politics", "philosophy", "psychology",
         "chinese_language", "english_language", "education", "agronomy", "arts", "culture", "civil_service",
         "sports_science", "general"}


@pytest.mark.parametrize(("name", "key"), [
    ("数学", "mathematics"), ("物理", "physics"), ("高中数学", "mathematics"), ("化学", "chemistry"),
    ("語文", "chinese_language"), ("數學", "mathematics"), ("Mathematics", "mathematics"), ("Maths", "mathematics"),
    ("Computer Science", "computer_science"), ("computer-science", "computer_science"), ("ＭＡＴＨ", "mathematics"),
])
def test_known_names_in_any_script_map_to_the_english_discipline(name: str, key: str) -> None:
    assert discipline_key(name) == key


@pytest.mark.parametrize("name", ["烹饪技艺研究", "量子场论", "Ελληνικά", "???", "", "  ", "a/b", "数学/物理",
                                  "x" * 300, "Ünïcödé Stüdies", "<script>alert(1)</script>", "../../etc/passwd",
                                  "a,b|c", "\u0000\u200b"])
def test_every_name_gets_a_safe_nonempty_key(name: str) -> None:
    key = discipline_key(name)
    assert key_is_safe(key), key
    assert len(key) <= KEY_MAX_CHARS
    assert discipline_key(name) == key  # stable


def key_is_safe(key: str) -> bool:
    return bool(re.fullmatch(rf"[a-z0-9_]{{1,{KEY_MAX_CHARS}}}", key))


def test_unknown_chinese_names_are_transliterated_and_hashed() -> None:
    key = discipline_key("烹饪技艺研究")
    assert key.startswith("peng_ren_ji_yi_yan_jiu_") and len(key.rsplit("_", 1)[1]) == 6
    # homophones stay apart: pinyin alone drops tones and characters
    assert discipline_key("无理数论") != discipline_key("物理数论")


def test_punctuation_variants_do_not_merge_silently() -> None:
    keys = {discipline_key(n) for n in ("a/b", "a|b", "a,b")}
    assert len(keys) == 3
    assert discipline_key("a b") == discipline_key("A_B") == discipline_key("a-b") == "a_b"
    rows = name_mapping(["数学", "mathematics", "a b", "A_B"])
    merged = {r["name"]: r["merged"] for r in rows}
    assert merged["数学"] and merged["mathematics"]  # an alias merge is reported
    assert not merged["a b"] and not merged["A_B"]  # only spelling differs


def test_long_names_are_cut_and_hashed() -> None:
    a, b = discipline_key("y" * 299 + "a"), discipline_key("y" * 299 + "b")
    assert len(a) == len(b) == KEY_MAX_CHARS and a != b


@pytest.mark.parametrize(("subject", "discipline"), [
    ("physician", "health"), ("chinese_driving_rule", "law"), ("chinese_food_culture", "culture"),
    ("chinese_foreign_policy", "politics"), ("chinese_civil_service_exam", "civil_service"),
    ("security_study", "politics"), ("security_studies", "politics"), ("physical_education", "education"),
    ("college_physics", "physics"), ("high_school_chinese", "chinese_language"), ("veterinary_medicine", "health"),
    ("metrology_engineer", "engineering"), ("Organic Chemistry II", "chemistry"), ("gaokao-physics", "physics"),
    ("高中物理", "physics"), ("计算机网络", "computer_science"),
])
def test_subjects_map_by_whole_words_and_tables(subject: str, discipline: str) -> None:
    if subject == "physical_education":  # 'physic' inside 'physical' must not make it physics
        assert discipline_for_subject(subject) != "physics"
        return
    assert discipline_for_subject(subject.removeprefix("gaokao-")) == discipline


def test_every_benchmark_subject_lands_in_a_known_discipline() -> None:
    for subject in [*MMLU_SUBCATEGORY, *BENCHMARK_SUBJECTS]:
        assert discipline_for_subject(subject) in KNOWN, subject


@pytest.mark.parametrize(("subject", "level"), [
    ("high_school_physics", 2), ("middle_school_mathematics", 1), ("college_law", 3), ("professional_medicine", 4),
    ("schoolhouse_rock", None), ("高中数学", 2), ("初中物理", 1), ("preprofessional_reading", None),
])
def test_level_words_are_whole_words(subject: str, level: int | None) -> None:
    assert difficulty_for_subject(subject) == level


@pytest.mark.shared_seeds
def test_no_catch_all_discipline_on_the_real_sets_and_the_listing_shows_subjects(shared_seeds: Path) -> None:
    from linksyn_assets.seeds.discipline_report import contents_lines, discipline_contents
    from linksyn_assets.seeds.readers import read_seed_dir

    seeds = read_seed_dir(shared_seeds).seeds
    assert "other" not in set(seeds["discipline"])
    contents = {c.discipline: c for c in discipline_contents(seeds)}
    assert ("professional_accounting", 36) in contents["business"].subjects
    assert {s for s, _ in contents["general"].subjects} == {"miscellaneous", "global_facts"}
    assert contents["chinese_language"].subjects == [("chinese", 231)]
    lines = contents_lines(list(contents.values()))
    business = lines.index(next(line for line in lines if line.lstrip().startswith("business ")))
    assert "professional_accounting 36" in lines[business + 1]


def test_the_extraction_taxonomy_holds_every_discipline_the_tables_map_to() -> None:
    """TAXONOMY is fixed and versioned (it is in every extraction request); a discipline a table maps to but
    the taxonomy lacks would be one the model can never name."""
    from linksyn_assets.seeds import disciplines as d

    targets = {*d.BENCHMARK_SUBJECTS.values(), *d.SUBJECT_OVERRIDES.values(), *d.DISCIPLINE_ALIASES.values(),
               *d.ZH_DISCIPLINES.values(), *d.MMLU_SUBCATEGORY.values(), *(t for _, t in d._WORD_RULES)}
    keys = {d.discipline_key(t) for t in targets} - {d.discipline_key(n) for n in d.CATCH_ALL_NAMES}
    assert keys == set(d.TAXONOMY), keys ^ set(d.TAXONOMY)
    assert list(d.TAXONOMY) == sorted(d.TAXONOMY) and d.discipline_key("化学") in d.TAXONOMY
