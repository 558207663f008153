"""QC that works in Chinese as well as English: decontamination, near-duplicates, junk answers."""

from __future__ import annotations

import unicodedata

import numpy as np
import polars as pl
import pytest

from linksyn_assets.qc.benchmarks import Benchmarks
from linksyn_assets.qc.dedup import duplicate_clusters
from linksyn_assets.qc.rules import assemble
from linksyn_assets.qc.steps import quality_check
from linksyn_assets.settings import DatasetParams
from linksyn_assets.synthesis.tables import HARD_SCHEMA, SYNTH_SCHEMA
from tests.conftest import write_jsonl

ZH_BENCHMARK = [
    ("一个质量为2千克的物体在水平面上受到10牛顿的水平拉力作用，物体与地面间的动摩擦因数为0.2，求物体的加速度大小。",
     ["3米每二次方秒", "4米每二次方秒", "5米每二次方秒", "6米每二次方秒"]),
    ("下列关于光合作用的叙述中，正确的是哪一项？光反应阶段在叶绿体类囊体薄膜上进行并产生氧气。",
     ["只在白天进行", "暗反应不需要酶", "光反应产生氧气", "只发生在根细胞"]),
    ("已知等差数列的首项为3，公差为4，求该数列前十项的和是多少。", ["210", "200", "230", "190"]),
    ("将二氧化碳通入澄清石灰水中，溶液先变浑浊后又变澄清，请写出先后发生反应的化学方程式并说明原因。",
     ["生成碳酸钙", "生成碳酸氢钙", "先生成碳酸钙后生成碳酸氢钙", "没有反应"]),
    ("秦始皇统一六国后，在全国范围内推行郡县制，这一制度对后世中央集权的发展产生了什么影响？",
     ["削弱皇权", "加强中央集权", "恢复分封", "促进割据"]),
    ("某商店把一件商品按进价提高百分之四十标价，再打八折出售，结果每件仍获利十二元，求这件商品的进价。",
     ["100元", "120元", "80元", "150元"]),
]
# Different exam questions of the same domains: they share exam phrasing, not content.
ZH_CLEAN = [
    "一个质量为5千克的木块从斜面顶端由静止滑下，斜面倾角为三十度，求木块滑到底端时的速度。",
    "下列关于细胞呼吸的叙述中，正确的是哪一项？",
    "已知等比数列的首项为2，公比为3，求该数列的第五项。",
    "将铁片放入硫酸铜溶液中，一段时间后观察到的现象是什么？",
    "汉武帝时期实行推恩令，这一政策的主要目的是什么？",
    "某工厂去年产值为五百万元，今年比去年增长了百分之二十，求今年的产值。",
    "下列关于电磁感应现象的说法中，正确的是哪一项？",
    "已知一个圆的半径为3厘米，求这个圆的面积和周长。",
]


def _benchmark(tmp_path, rows: list[tuple[str, list[str]]], name: str) -> Benchmarks:
    write_jsonl(tmp_path / "bench" / name, [{"question": q, "options": o} for q, o in rows])
    return Benchmarks.load([tmp_path / "bench"], 13, 0.5)


def _records(questions: list[str], options: list[list[str]] | None = None) -> pl.DataFrame:
    n = len(questions)
    return pl.DataFrame({"question": questions, "options": options or [[]] * n, "answer": ["A"] * n,
                         "solution": [""] * n}, schema={"question": pl.String, "options": pl.List(pl.String),
                                                       "answer": pl.String, "solution": pl.String})


def test_chinese_leaks_are_found_and_different_chinese_questions_are_not(tmp_path) -> None:
    bench = _benchmark(tmp_path, ZH_BENCHMARK, "zh.jsonl")
    q0, o0 = ZH_BENCHMARK[0]
    q2, _ = ZH_BENCHMARK[2]
    q4, o4 = ZH_BENCHMARK[4]
    leaks = [
        ("题目：" + q0, list(reversed(o0))),  # prefix, options reordered
        (q2.replace("3", "３").replace("4", "４").replace("，", ","), []),  # full width, punctuation, stem only
        (q0.replace("2千克", "3千克").replace("10牛顿", "12牛顿"), o0),  # characters changed
        ("请认真阅读。" + ZH_BENCHMARK[3][0] + "答题时间为五分钟。", ZH_BENCHMARK[3][1]),  # embedded
        ("秦始皇統一六國後，在全國範圍內推行郡縣制，這一制度對後世中央集權的發展產生了什麼影響？", o4),  # traditional
        (ZH_BENCHMARK[5][0], []),  # stem only
    ]
    found = bench.check(_records([q for q, _ in leaks] + ZH_CLEAN, [o for _, o in leaks] + [[]] * len(ZH_CLEAN)))
    flagged = (found.item >= 0).tolist()
    assert flagged[:len(leaks)] == [True] * len(leaks)
    assert flagged[len(leaks):] == [False] * len(ZH_CLEAN)
    assert unicodedata.normalize("NFKC", q4) == bench.items["question"][int(found.item[4])]


def test_english_leaks_and_templates(tmp_path) -> None:
    items = [("Which of the given formulas of PL is the best symbolization of the following sentence? Turtles "
              "live long lives and are happy creatures, unless they are injured.", ["L • (H ∨ I)", "(L • H) ∨ I"]),
             ("Which of the given formulas of PL is the best symbolization of the following sentence? Elliott "
              "likes to skateboard or he likes to write songs and to play them.", ["E ∨ W", "E • W"]),
             ("A point charge of 3 microcoulombs sits 2 meters from a second charge of 5 microcoulombs; what is "
              "the magnitude of the electrostatic force between them?", ["0.034 N", "0.34 N", "3.4 N", "34 N"])]
    bench = _benchmark(tmp_path, items, "en.jsonl")
    records = [
        "Q: a point charge of 3 microcoulombs sits 2 meters from a second charge of 5 microcoulombs. What is "
        "the size of the electrostatic force between them?",  # reworded leak
        "Which of the given formulas of PL is the best symbolization of the following sentence? Either England's "
        "importing beef is a sufficient condition for France's subsidizing agriculture or China promotes rights.",
    ]
    found = bench.check(_records(records))
    assert (found.item >= 0).tolist() == [True, False]  # a shared template sentence is not a leak


def test_chinese_near_duplicates_with_changed_characters_and_reordered_options() -> None:
    base = [(q, o) for q, o in ZH_BENCHMARK]
    variants = [
        (base[0][0].replace("物体", "物休"), list(reversed(base[0][1]))),
        (base[1][0].replace("正确", "错误").replace("氧气", "氢气"), base[1][1][1:] + base[1][1][:1]),
        ("秦始皇統一六國後，在全國範圍內推行郡縣制，這一制度對後世中央集權的發展產生了什麼影響？", base[4][1]),
        (base[5][0].replace("十二", "十五").replace("八折", "九折").replace("四十", "三十"), base[5][1]),
    ]
    # a number is not a typo: the same question with other numbers is another question
    others = [(base[0][0].replace("2千克", "4千克"), base[0][1])]
    base.append(("一个正方形的边长为5厘米，求它的面积和周长。", ["25", "20", "10", "5"]))
    others.append(("一个长方形的边长为5厘米，求其的体积和周长。", ["20", "25", "5", "10"]))  # 3 of 20 changed
    table = [*base, *variants, *others, *[(q, []) for q in ZH_CLEAN]]
    rows = pl.DataFrame({"question": [q for q, _ in table], "options": [o for _, o in table]},
                        schema={"question": pl.String, "options": pl.List(pl.String)})
    params = DatasetParams()
    clusters = duplicate_clusters(rows, params.near_duplicate_threshold,
                                  threshold_zh=params.near_duplicate_threshold_zh)
    n = len(base)
    assert clusters.keep_of[n:n + len(variants)].tolist() == [0, 1, 4, 5]
    assert not clusters.duplicate[:n].any() and not clusters.duplicate[n + len(variants):].any()
    assert (clusters.similarity[n:n + len(variants)] >= params.near_duplicate_threshold_zh).all()


def _clusters(texts: list[str], threshold: float = 0.6) -> np.ndarray:
    rows = pl.DataFrame({"question": texts, "options": [[] for _ in texts]},
                        schema={"question": pl.String, "options": pl.List(pl.String)})
    return duplicate_clusters(rows, threshold, threshold_zh=threshold).keep_of


@pytest.mark.parametrize(("a", "b"), [
    (r"求极限 $\lim_{x \to 0} \frac{\sin x}{x}$ 的值。", r"求极限 $\lim_{x \to 0} \frac{\sin 2x}{x}$ 的值。"),
    (r"求不定积分 $\int x e^{x} dx$。", r"求不定积分 $\int x^2 e^{x} dx$。"),
    (r"Compute $\sin 135^\circ$.", r"Compute $\sin 30^\circ$."),
    (r"Compute $\sin 135^\circ$.", r"Compute $\tan 135^\circ$."),
    ("Eight people play a one-on-one knockout tournament. How many games will be played?",
     "72 people play a one-on-one knockout tournament. How many games will be played?"),
])
def test_formula_questions_that_differ_in_their_formula_are_not_duplicates(a: str, b: str) -> None:
    assert _clusters([a, b]).tolist() == [0, 1]


@pytest.mark.parametrize(("a", "b"), [
    (r"求极限 $\lim_{x \to 0} \frac{\sin x}{x}$ 的值，并说明理由。",
     r"求极限 $\lim_{x \to 0} \frac{\sin x}{x}$ 的数值，并说明理由。"),
    ("What is the smallest positive integer that leaves a remainder of 1 when divided by 4, 5 and 6?",
     "What is the smalest positive integer that leaves a remainder of 1 when divded by 4, 5 and 6?"),
])
def test_typo_copies_of_formula_questions_are_duplicates(a: str, b: str) -> None:
    assert _clusters([a, b]).tolist() == [0, 0]


def test_near_duplicates_do_not_chain() -> None:
    # each step changes three characters: B is a near-copy of A, C of B, D of C, but C and D are not of A
    a = "下列关于细胞膜结构和功能的叙述中，正确的是哪一项？请说明理由。"
    b = a.replace("细胞膜", "细胞壁")
    c = b.replace("结构和功能", "组成和作用")
    d = c.replace("叙述中", "说法里")
    english = "Which statement about the structure and function of the cell membrane is correct and why?"
    e2 = english.replace("structure", "stracture").replace("membrane", "membrame")
    e3 = e2.replace("function", "fanction").replace("correct", "corract").replace("Which", "Whech")
    keep = _clusters([a, b, c, d, english, e2, e3])
    assert keep[1] == 0 and keep[4] == 4 and keep[5] == 4
    assert keep[2] != 0 and keep[3] != 0 and keep[6] != 4  # never removed for a row they are not close to


def test_questions_sharing_a_long_passage_are_not_duplicates() -> None:
    passage = ("阅读下面的材料。近年来，我国东部沿海某省一些服装企业为缓解成本压力，将总部和部分生产部门留在国内，"
               "把欧美服装订单转移到东南亚进行加工。在此过程中，该类服装企业自带技术和丝绸、刺绣等原材料。") * 3
    first = passage + ("该类服装企业将部分生产部门转移到东南亚的主要目的是？"
                       "降低劳动力成本 接近原料产地 开拓国内市场 获取先进技术")
    second = passage + "材料中的服装企业自带原材料的原因最可能是？保证产品质量 降低运输成本 减少关税 利用当地技术"
    keep = _clusters([first, second, first.replace("主要目的", "主要意图")])
    assert keep.tolist() == [0, 1, 0]


def _row(qa_id: str, **values: object) -> dict:
    row = {k: None for k in SYNTH_SCHEMA}
    row.update(qa_id=qa_id, discipline="physics", path_id="p", item_index=0, options=["甲", "乙", "丙", "丁"],
               kp_ids=["k"], seed_ids=["s1"], difficulty=2, language="en", question_type="multiple_choice",
               model="m", prompt_version="v", status="ok", answer="B", solution="Worked step by step.")
    row.update(values)
    return row


def test_schema_rejects_junk_in_both_languages() -> None:
    zh = "一个物体受到两个力的作用，合力的大小可能是多少？"
    rows = [
        _row("ok-en", question="Which force keeps a satellite in a circular orbit around the Earth?",
             options=["gravity", "friction", "drag", "buoyancy"]),
        _row("ok-zh", question=zh, language="zh", answer="C", solution="两个力同向时合力最大。"),
        _row("no-options", question="Which force keeps the Moon in orbit around the Earth today?", options=[]),
        _row("json-answer", question="What is the sum of three and four and five together?", options=[],
             question_type="short_answer", answer="3 }, {"),
        _row("json-zh", question=zh + "请说明。", language="zh", options=[], question_type="short_answer",
             answer='"答案": "5牛"'),
        _row("brackets", question="What is the value of two plus two in base ten?", options=[],
             question_type="short_answer", answer="12", solution="]}"),
        _row("latex-ok", question="Simplify the fraction one half plus one quarter.", options=[],
             question_type="short_answer", answer="\\frac{3}{4}", solution="\\frac{1}{2}+\\frac{1}{4}=\\frac{3}{4}"),
    ]
    qc = quality_check(assemble(pl.DataFrame(rows, schema=SYNTH_SCHEMA), pl.DataFrame(schema=HARD_SCHEMA)),
                       DatasetParams())
    assert sorted(qc.kept["record_id"].to_list()) == ["latex-ok", "ok-en", "ok-zh"]
    reasons = dict(qc.rejects.select("record_id", "reason").iter_rows())
    assert reasons["no-options"] == "multiple choice with fewer than two options"
    assert reasons["json-answer"] == reasons["json-zh"] == "answer is JSON debris, not an answer"
    assert reasons["brackets"] == "solution is JSON debris, not a solution"


def test_a_benchmark_file_that_yields_few_items_is_an_error_naming_it(tmp_path) -> None:
    import pytest

    folder = tmp_path / "bench"
    write_jsonl(folder / "good.jsonl", [{"question": q, "options": o} for q, o in ZH_BENCHMARK])
    write_jsonl(folder / "bad.jsonl", ["{broken", "{also broken", {"question": "只有一题有效？"}])
    with pytest.raises(ValueError, match=r"benchmark file .*bad\.jsonl: 1 of 3 rows indexed"):
        Benchmarks.load([folder], 13, 0.5)
    (folder / "bad.jsonl").unlink()
    loaded = Benchmarks.load([folder], 13, 0.5)
    assert loaded.files[f"{folder}:good.jsonl"] == {"format": "canonical", "data_rows": 6, "items": 6,
                                                   "not_indexed": {}}


def test_traditional_chinese_folds_to_simplified_row_by_row() -> None:
    from linksyn_assets.text.chinese_script import simplified

    texts = pl.DataFrame({"t": ["語文 數學", "English stays", None, "中國\x1e臺灣", "光合作用"]})
    folded = texts.select(simplified(pl.col("t").fill_null("")))["t"].to_list()
    assert folded == ["语文 数学", "English stays", "", "中国 台湾", "光合作用"]


def test_the_language_rule_is_the_same_for_seeds_and_generated_rows() -> None:
    from linksyn_assets.qc.rules import language_of
    from linksyn_assets.text.normalize import detect_language

    texts = ["What is the derivative of $x^2$?", "求函数 $$f(x)=x^{2}+\\frac{1}{x}$$ 的最小值。",
             "已知$$a\\textgreater0$$，$$b\\textgreater0$$，求$$a+b$$的最小值", "Newton 第二定律 F = ma 说明了什么？",
             "The word 光 means light in Chinese.", "$$x+y=1$$", "", "光合作用 photosynthesis happens in chloroplasts"]
    by_polars = pl.DataFrame({"q": texts}).select(language_of("q").alias("lang"))["lang"].to_list()
    assert by_polars == [detect_language(t) for t in texts]
    assert by_polars[:4] == ["en", "zh", "zh", "zh"]
