"""KP canonicalization: variants of one name merge, different concepts stay apart."""

from __future__ import annotations

import pytest

from linksyn_assets.kp_canonical import canonical_kp_key, kp_id_for, preferred_name


@pytest.mark.parametrize(("a", "b"), [
    ("Newton's Second Law", "newtons second law"),
    ("Newton’s second law", "NEWTON'S  SECOND   LAW"),
    ("quadratic formula.", "Quadratic Formula"),
    ("ｐＨ ｖａｌｕｅ", "pH value"),                  # fullwidth folds (NFKC)
    ("光合作用", "光合作用。"),                        # Chinese punctuation
    ("\u2f54\u2f55", "水火"),                         # Kangxi radical lookalikes
    ("half-life", "half life"),
])
def test_variants_merge(a: str, b: str) -> None:
    assert kp_id_for(a) == kp_id_for(b)


@pytest.mark.parametrize(("a", "b"), [
    ("C++", "C"), ("pH", "pKa"), ("光合作用", "呼吸作用"), ("logarithm", "exponential"),
])
def test_distinct_concepts_stay_apart(a: str, b: str) -> None:
    assert kp_id_for(a) != kp_id_for(b)


def test_blank_names_have_no_id() -> None:
    assert kp_id_for(" ... ") is None and canonical_kp_key("“”") == ""


def test_ids_are_stable_and_preferred_name_is_most_common() -> None:
    assert kp_id_for("Ohm's law") == kp_id_for("ohms law") == "kp_" + kp_id_for("Ohm's law")[3:]
    assert len(kp_id_for("Ohm's law")) == 15
    assert preferred_name(["ohms law", "Ohm's law", "Ohm's law"]) == "Ohm's law"
