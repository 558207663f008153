"""KP canonicalization: variants of one name merge, different concepts stay apart."""

from __future__ import annotations

import pytest

from linksyn_assets.kps.canonical import canonical_kp_key, kp_id_for, singular
from linksyn_assets.records import KPExtraction


@pytest.mark.parametrize(("a", "b"), [
    ("Newton's Second Law", "newtons second law"),
    ("Newton’s second law", "NEWTON'S  SECOND   LAW"),
    ("quadratic formula.", "Quadratic Formula"),
    ("ｐＨ ｖａｌｕｅ", "pH value"),                  # fullwidth folds (NFKC)
    ("光合作用", "光合作用。"),                        # Chinese punctuation
    ("\u2f54\u2f55", "水火"),                         # Kangxi radical lookalikes
    ("half-life", "half life"),                       # hyphenation
    ("half-lives", "halflife"),                       # hyphenation + irregular plural
    ("Newton's laws of motion", "Newton's law of motion"),  # plural
    ("chemical equilibria", "chemical equilibria"),
    ("probability distributions", "Probability Distribution"),
    ("hypothesis testing", "Hypothesis-Testing"),
    ("matrices", "matrix"),
    ("buffer solutions", "buffer solution"),
    ("energy levels", "energy-level"),
    ("ecosystems", "eco-system"),
    ("盐类的水解", "盐类的水解 "),
])
def test_variants_merge(a: str, b: str) -> None:
    assert kp_id_for(a) == kp_id_for(b)


@pytest.mark.parametrize(("a", "b"), [
    ("C++", "C"), ("pH", "pKa"), ("光合作用", "呼吸作用"), ("logarithm", "exponential"),
    ("physics", "physic"), ("series", "sery"), ("gas laws", "ga law"), ("analysis", "analysi"),
    ("mitosis", "meiosis"), ("酸", "碱"), ("thermodynamics", "dynamics"),
])
def test_distinct_concepts_stay_apart(a: str, b: str) -> None:
    assert kp_id_for(a) != kp_id_for(b)


@pytest.mark.parametrize(("zh", "en"), [
    ("牛顿第二定律", "Newton's second law"), ("光合作用", "photosynthesis"), ("半衰期", "half-life"),
])
def test_a_chinese_kp_and_its_english_twin_share_an_id(zh: str, en: str) -> None:
    assert kp_id_for(zh, canonical_en=en) == kp_id_for(en) == kp_id_for(en.upper(), canonical_en=en)
    assert kp_id_for(zh) != kp_id_for(en)  # without the canonical name they stay apart


def test_singular_rules() -> None:
    assert [singular(w) for w in ["laws", "theories", "classes", "boxes", "physics", "species", "gas", "bus"]] == [
        "law", "theory", "class", "box", "physics", "species", "gas", "bus"]


def test_blank_names_have_no_id() -> None:
    assert kp_id_for(" ... ") is None and canonical_kp_key("“”") == ""
    assert kp_id_for("...", canonical_en="  ") is None


def test_ids_are_stable() -> None:
    assert kp_id_for("Ohm's law") == kp_id_for("ohms law") == "kp_" + kp_id_for("OHMS LAW")[3:]
    assert len(kp_id_for("Ohm's law")) == 15


def test_extraction_answer_accepts_names_and_pairs() -> None:
    pair = {"name": "熵增", "canonical_en": "entropy increase"}
    answer = KPExtraction.model_validate({"knowledge_points": ["  ", "熵", pair]})
    assert [(k.name, k.canonical_en) for k in answer.knowledge_points] == [("熵", None), ("熵增", "entropy increase")]
