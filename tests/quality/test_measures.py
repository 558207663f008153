"""Each quality measure on small hand-made sets, English and Chinese, with answers known in advance."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from linksyn_assets.qc.fingerprints import token_hashes
from linksyn_assets.quality.card import compare, comparison_markdown, quality_markdown, quality_plots
from linksyn_assets.quality.correctness import correctness, difficulty, judged_levels
from linksyn_assets.quality.diversity import compression_ratio, distinct_n, repeated_long_gram_share
from linksyn_assets.quality.knowledge import gini, kp_spread
from linksyn_assets.quality.report import QualityReport, measure_quality

EN = "a train leaves the station at noon travelling at sixty kilometres per hour towards the coast"
ZH = "一列火车中午从车站出发以每小时六十公里的速度驶向海边请问三小时后它行驶了多少公里"
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]


LEXICON = ["".join(w) for w in np.random.default_rng(0).choice(list("abcdefghijklmnopqrstuvwxyz"), (3000, 7))]
HAN_LEXICON = [chr(0x4E00 + k) for k in range(3000)]  # common CJK ideographs


def _distinct_en(n_rows: int, rng: np.random.Generator) -> list[str]:
    return [" ".join(rng.choice(LEXICON, 12)) for _ in range(n_rows)]


def _distinct_zh(n_rows: int, rng: np.random.Generator) -> list[str]:
    return ["".join(rng.choice(HAN_LEXICON, 24)) for _ in range(n_rows)]


def _rows(questions: list[str], **columns: object) -> pl.DataFrame:
    n = len(questions)
    base = {"record_id": [f"r{i}" for i in range(n)], "kind": ["synthesized"] * n, "discipline": ["physics"] * n,
            "question": questions, "difficulty": [2] * n, "kp_ids": [["k1"]] * n, "seed_ids": [["s0"]] * n,
            "parent_qa_id": [None] * n, "rating_before": [None] * n, "rating_after": [None] * n,
            "verification": ["agree"] * n}
    base.update(columns)
    return pl.DataFrame(base, schema_overrides={"parent_qa_id": pl.String, "rating_before": pl.Int8,
                                                "rating_after": pl.Int8})


@pytest.mark.parametrize("text", [EN, ZH])
def test_copies_have_distinct_n_near_zero_and_compress_well(text: str) -> None:
    tokens = token_hashes(pl.Series([text] * 200))
    for n in (1, 2, 3):
        assert distinct_n(tokens, n) < 0.01
    assert compression_ratio(pl.Series([text] * 200)) > 20


@pytest.mark.parametrize("make", [_distinct_en, _distinct_zh])
def test_varied_questions_have_high_distinct_n_and_compress_little(make) -> None:  # noqa: ANN001
    texts = make(300, np.random.default_rng(1))
    tokens = token_hashes(pl.Series(texts))
    assert distinct_n(tokens, 3) > 0.99 and distinct_n(tokens, 2) > 0.99 and distinct_n(tokens, 1) > 0.3
    assert compression_ratio(pl.Series(texts)) < 3


def test_chinese_is_counted_in_characters_and_english_in_words() -> None:
    zh = token_hashes(pl.Series(["甲乙甲乙"]))
    en = token_hashes(pl.Series(["alpha bravo alpha bravo"]))
    assert distinct_n(zh, 1) == 0.5 and distinct_n(en, 1) == 0.5  # 2 distinct of 4 units each
    assert distinct_n(zh, 2) == pytest.approx(2 / 3) and distinct_n(en, 2) == pytest.approx(2 / 3)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_long_shared_run_counts_across_question_families_only(lang: str) -> None:
    rng = np.random.default_rng(2)
    texts = _distinct_en(6, rng) if lang == "en" else _distinct_zh(6, rng)
    shared = EN if lang == "en" else ZH  # 16 words / 40 characters: longer than one long n-gram
    texts[0] = texts[0] + (" " if lang == "en" else "") + shared
    texts[1] = shared + (" " if lang == "en" else "") + texts[1]
    tokens = token_hashes(pl.Series(texts))
    assert repeated_long_gram_share(tokens, np.arange(6)) == pytest.approx(2 / 6)
    # the same two rows as one family (a hard variant written from its question): not a repetition
    assert repeated_long_gram_share(tokens, np.array([0, 0, 2, 3, 4, 5])) == 0.0
    short = " ".join(EN.split()[:6]) if lang == "en" else ZH[:12]  # 6 words / 12 characters: shorter
    texts = _distinct_en(2, rng) if lang == "en" else _distinct_zh(2, rng)
    both = [t + (" " if lang == "en" else "") + short for t in texts]
    assert repeated_long_gram_share(token_hashes(pl.Series(both)), np.arange(2)) == 0.0


def _paraphrase(text: str, lang: str) -> str:
    """One unit changed in the middle: a near-paraphrase."""
    if lang == "en":
        words = text.split()
        words[len(words) // 2] = "quickly"
        return " ".join(words)
    return text[:len(text) // 2] + "快" + text[len(text) // 2 + 1:]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_novelty_copies_paraphrases_and_new_questions(lang: str) -> None:
    rng = np.random.default_rng(3)
    seeds_text = (_distinct_en(20, rng) if lang == "en" else _distinct_zh(20, rng))
    seeds = pl.DataFrame({"seed_id": [f"s{i}" for i in range(20)], "question": seeds_text})
    own = [[f"s{i}"] for i in range(20)]
    # seeds against themselves: overlap 1.0, every row a paraphrase
    copies = measure_quality(_rows(seeds_text, seed_ids=own), seeds, None, None, 0.5).novelty
    assert copies.own_overlap_mean == 1.0 and copies.own_paraphrase_share == 1.0 and copies.any_histogram[-1] == 20
    # paraphrases of their seeds: flagged
    para = measure_quality(_rows([_paraphrase(t, lang) for t in seeds_text], seed_ids=own), seeds, None, None,
                           0.5).novelty
    assert para.own_paraphrase_share == 1.0 and 0.5 <= para.own_overlap_mean < 1.0
    # new questions: low overlap, none flagged
    fresh = _distinct_en(20, rng) if lang == "en" else _distinct_zh(20, rng)
    new = measure_quality(_rows(fresh, seed_ids=own), seeds, None, None, 0.5).novelty
    assert new.own_paraphrase_share == 0.0 and new.any_paraphrase_share == 0.0 and new.any_overlap_mean < 0.2
    # a copy of a seed that is not its own: "any seed" finds it, "own seeds" does not
    wrong = [[f"s{(i + 1) % 20}"] for i in range(20)]
    other = measure_quality(_rows(seeds_text, seed_ids=wrong), seeds, None, None, 0.5).novelty
    assert other.own_paraphrase_share == 0.0 and other.any_paraphrase_share == 1.0


def test_novelty_finds_the_closest_seed_among_many_that_share_common_words() -> None:
    """Common bigrams (in more than a posting's cap of seeds) must not hide the one seed a row copies."""
    rng = np.random.default_rng(4)
    common = "which of the following statements is correct about"
    seeds_text = [f"{common} {' '.join(rng.choice(WORDS, 8))} item {i}" for i in range(500)]
    seeds = pl.DataFrame({"seed_id": [f"s{i}" for i in range(500)], "question": seeds_text})
    rows = _rows([seeds_text[321], seeds_text[7]], seed_ids=[["nope"], ["s7"]])
    found = measure_quality(rows, seeds, None, None, 0.5).novelty
    assert found.any_histogram[-1] == 2 and found.own_histogram[0] == 1  # the first row's seed is unknown: 0


def test_knowledge_spread_even_skewed_and_following_popularity() -> None:
    nodes = pl.DataFrame({"kp_id": [f"k{i}" for i in range(4)], "popularity": [1, 2, 3, 4]})
    even = kp_spread(pl.Series("kp_ids", [["k0"], ["k1"], ["k2"], ["k3"]]), nodes)
    assert even.kp_evenness == 1.0 and even.kp_gini == 0.0 and even.coverage == 1.0 and even.kps_used == 4
    one = kp_spread(pl.Series("kp_ids", [["k0"]] * 8), nodes)
    assert one.coverage == 0.25 and one.kp_evenness == 0.0 and one.kp_gini == pytest.approx(0.75)
    follows = kp_spread(pl.Series("kp_ids", [["k0"]] + [["k1"]] * 2 + [["k2"]] * 3 + [["k3"]] * 4), nodes)
    assert follows.popularity_correlation == 1.0
    against = kp_spread(pl.Series("kp_ids", [["k0"]] * 4 + [["k1"]] * 3 + [["k2"]] * 2 + [["k3"]]), nodes)
    assert against.popularity_correlation == -1.0
    assert kp_spread(pl.Series("kp_ids", [["k0", "k9"]]), None).coverage is None  # no graph known
    assert gini(np.array([0, 0, 0, 10])) == pytest.approx(0.75)


def test_correctness_by_discipline_and_level() -> None:
    rows = _rows(["q"] * 6, discipline=["physics"] * 3 + ["化学"] * 3, difficulty=[0, 0, 4, 4, 4, 4],
                 verification=["agree", "agree", "disagree", "agree", "unverified", "unclear"])
    c = correctness(rows)
    assert c.verified_rows == 5 and c.agreement == 0.6 and c.flagged_share == pytest.approx(1 / 6, abs=1e-4)
    assert c.by_discipline == {"physics": pytest.approx(2 / 3, abs=1e-4), "化学": 0.5}
    assert c.by_difficulty == {"0": 1.0, "4": pytest.approx(1 / 3, abs=1e-4)}


def test_difficulty_target_labels_judged_and_hard_gain() -> None:
    rows = _rows(["q"] * 4, record_id=["a", "b", "ha", "hb"], kind=["synthesized", "synthesized", "hard", "hard"],
                 difficulty=[1, 2, 3, 4], parent_qa_id=[None, None, "a", "b"], rating_before=[None, None, 1, 3],
                 rating_after=[None, None, 3, 4])
    assert judged_levels(rows).to_list() == [1, 3, 3, 4]
    d = difficulty(rows, [0.0, 0.25, 0.25, 0.25, 0.25])
    # KL on add-one smoothed counts: labels that match the target are near it, judged ones further off
    assert d.labeled == [0.0, 0.25, 0.25, 0.25, 0.25] and d.kl_labeled == pytest.approx(math.log(9 / 8), abs=1e-4)
    assert d.judged == [0.0, 0.25, 0.0, 0.5, 0.25] and d.judged_rows == 4
    assert d.kl_judged == pytest.approx(0.25 * math.log(9 / 8 * 9 / 4 * 3 / 4 * 9 / 8), abs=1e-4)
    assert d.hard_rated == 2 and d.hard_gain == 1.5
    assert difficulty(rows, None).kl_labeled is None


def test_the_report_compares_two_versions_and_renders() -> None:
    rng = np.random.default_rng(5)
    seeds = pl.DataFrame({"seed_id": ["s0"], "question": [EN]})
    varied = measure_quality(_rows(_distinct_en(50, rng)), seeds, None, [0.2] * 5, 0.5)
    copies = measure_quality(_rows([EN] * 50), seeds, None, [0.2] * 5, 0.5)
    rows = {r.measure: r for r in compare(varied, copies)}
    assert rows["distinct-2"].verdict == "worse" and rows["near-paraphrases of own seeds"].verdict == "worse"
    assert rows["independent solve agrees"].verdict == "same"
    assert {r.measure: r.verdict for r in compare(copies, varied)}["distinct-2"] == "better"
    text = comparison_markdown(1, compare(varied, copies))
    assert text.startswith("Quality since v1:") and "| distinct-2 |" in text
    card = quality_markdown(copies, {"物理": varied, "mathematics": copies})
    assert "near-paraphrase" in card and "| distinct-1 |" in card
    assert "| mathematics | 50 | 1 | 0.02 | 1 |" in card and "| 物理 | 50 | 1 | 1 | 0 |" in card
    again = QualityReport.model_validate_json(copies.model_dump_json())
    assert again == copies  # stored as JSON beside a release and read back for the next changelog
    plots = quality_plots(copies)
    assert set(plots) == {"quality_difficulty_plot", "quality_overlap_plot"}
    assert all(p.startswith("<svg") for p in plots.values())


def test_an_empty_set_has_a_report() -> None:
    report = measure_quality(_rows([]), pl.DataFrame({"seed_id": [], "question": []}), None, None, 0.5)
    assert report.rows == 0 and report.diversity.distinct_1 == 0.0 and report.correctness.agreement is None


def test_novelty_in_chunks_equals_one_pass_and_diversity_is_a_bounded_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    from linksyn_assets.quality import report as quality

    rng = np.random.default_rng(6)
    seeds_text = _distinct_en(15, rng) + _distinct_zh(15, rng)
    seeds = pl.DataFrame({"seed_id": [f"s{i}" for i in range(30)], "question": seeds_text})
    questions = [_paraphrase(t, "en" if i < 15 else "zh") if i % 2 else t for i, t in enumerate(seeds_text)]
    rows = _rows(questions + _distinct_en(10, rng), seed_ids=[[f"s{i % 30}"] for i in range(40)])
    whole = quality.measure_quality(rows, seeds, None, None, 0.5)
    monkeypatch.setattr(quality, "NOVELTY_CHUNK", 7)
    monkeypatch.setattr(quality, "DIVERSITY_SAMPLE", 10)
    chunked = quality.measure_quality(rows, seeds, None, None, 0.5)
    assert chunked.novelty == whole.novelty and whole.novelty.own_paraphrase_share == 0.75
    assert whole.diversity.sample_rows == 40 and chunked.diversity.sample_rows == 10  # every 4th row
