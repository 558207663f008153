"""Discipline names -> partition keys, and subject -> discipline / difficulty rules.

A partition key is what Dagster, file names and the UI see, so it must be stable (the same name
always gives the same key, whatever else arrives later), readable and safe: only `[a-z0-9_]`, at
most KEY_MAX_CHARS characters, never empty. The rules, in order:

1. Known names in any script (English aliases, Chinese discipline and subject names) map to the
   canonical English discipline: 数学 -> mathematics, "Maths" -> mathematics.
2. Other Latin names slug to lowercase words joined by `_`. A name that loses characters on the way
   (punctuation such as `/`, `|`, `,`; letters of other scripts) gets a short hash of the original,
   so `a/b`, `a|b` and `a,b` stay three partitions instead of silently becoming one.
3. Han characters are transliterated with pypinyin (plus the hash: pinyin drops tones, so
   homophones would collide).
4. Keys longer than KEY_MAX_CHARS are cut and end in the hash of the whole name.

Subject rules match whole words of the subject (`physician` is not physics) after exact tables for
the subject lists of MMLU, CMMLU, C-Eval and AGIEval.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache

from linksyn_assets.text.chinese_script import to_simplified
from linksyn_assets.text.normalize import normalize_text

KEY_MAX_CHARS = 48
_HASH_CHARS = 6
_WORD = re.compile(r"[a-z0-9]+")
_SEPARATORS = re.compile(r"[\s_\-]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

# MMLU subject -> subcategory, as in the upstream categories.py (tests compare it with
# ../shared/seeds/mmlu/categories.json when that file is present).
MMLU_SUBCATEGORY: dict[str, str] = {
    "abstract_algebra": "math", "anatomy": "health", "astronomy": "physics",
    "business_ethics": "business", "clinical_knowledge": "health", "college_biology": "biology",
    "college_chemistry": "chemistry", "college_computer_science": "computer science",
    "college_mathematics": "math", "college_medicine": "health", "college_physics": "physics",
    "computer_security": "computer science", "conceptual_physics": "physics",
    "econometrics": "economics", "electrical_engineering": "engineering",
    "elementary_mathematics": "math", "formal_logic": "philosophy", "global_facts": "other",
    "high_school_biology": "biology", "high_school_chemistry": "chemistry",
    "high_school_computer_science": "computer science",
    "high_school_european_history": "history", "high_school_geography": "geography",
    "high_school_government_and_politics": "politics", "high_school_macroeconomics": "economics",
    "high_school_mathematics": "math", "high_school_microeconomics": "economics",
    "high_school_physics": "physics", "high_school_psychology": "psychology",
    "high_school_statistics": "math", "high_school_us_history": "history",
    "high_school_world_history": "history", "human_aging": "health", "human_sexuality": "culture",
    "international_law": "law", "jurisprudence": "law", "logical_fallacies": "philosophy",
    "machine_learning": "computer science", "management": "business", "marketing": "business",
    "medical_genetics": "health", "miscellaneous": "other", "moral_disputes": "philosophy",
    "moral_scenarios": "philosophy", "nutrition": "health", "philosophy": "philosophy",
    "prehistory": "history", "professional_accounting": "other", "professional_law": "law",
    "professional_medicine": "health", "professional_psychology": "psychology",
    "public_relations": "politics", "security_studies": "politics", "sociology": "culture",
    "us_foreign_policy": "politics", "virology": "health", "world_religions": "philosophy",
}

# CMMLU, C-Eval and AGIEval subjects (file-name stems) -> discipline, reviewed one by one against
# their published subject lists; MMLU-named subjects in them go through MMLU_SUBCATEGORY.
BENCHMARK_SUBJECTS: dict[str, str] = {
    # CMMLU
    "agronomy": "agronomy", "ancient_chinese": "chinese_language", "arts": "arts",
    "chinese_civil_service_exam": "civil_service", "chinese_driving_rule": "law",
    "chinese_food_culture": "culture", "chinese_foreign_policy": "politics", "chinese_history": "history",
    "chinese_literature": "chinese_language", "chinese_teacher_qualification": "education",
    "college_actuarial_science": "mathematics", "college_education": "education",
    "college_engineering_hydrology": "engineering", "college_law": "law",
    "college_medical_statistics": "health", "computer_science": "computer_science",
    "construction_project_management": "engineering", "economics": "economics", "education": "education",
    "elementary_chinese": "chinese_language", "elementary_commonsense": "general",
    "elementary_information_and_technology": "computer_science", "ethnology": "culture",
    "food_science": "biology", "genetics": "biology", "high_school_politics": "politics",
    "journalism": "culture", "legal_and_moral_basis": "law", "logical": "philosophy",
    "marxist_theory": "politics", "modern_chinese": "chinese_language", "security_study": "politics",
    "sports_science": "sports_science", "traditional_chinese_medicine": "health",
    # C-Eval
    "computer_network": "computer_science", "operating_system": "computer_science",
    "computer_architecture": "computer_science", "college_programming": "computer_science",
    "advanced_mathematics": "mathematics", "probability_and_statistics": "mathematics",
    "discrete_mathematics": "mathematics", "electrical_engineer": "engineering",
    "metrology_engineer": "engineering", "middle_school_mathematics": "mathematics",
    "middle_school_biology": "biology", "middle_school_physics": "physics",
    "middle_school_chemistry": "chemistry", "veterinary_medicine": "health",
    "college_economics": "economics", "business_administration": "business", "marxism": "politics",
    "mao_zedong_thought": "politics", "education_science": "education", "teacher_qualification": "education",
    "middle_school_politics": "politics", "middle_school_geography": "geography",
    "modern_chinese_history": "history", "ideological_and_moral_cultivation": "politics", "logic": "philosophy",
    "law": "law", "chinese_language_and_literature": "chinese_language", "art_studies": "arts",
    "professional_tour_guide": "geography", "legal_professional": "law", "high_school_chinese": "chinese_language",
    "high_school_history": "history", "middle_school_history": "history", "civil_servant": "civil_service",
    "plant_protection": "agronomy", "basic_medicine": "health", "clinical_medicine": "health",
    "urban_and_rural_planner": "engineering", "accountant": "business", "fire_engineer": "engineering",
    "environmental_impact_assessment_engineer": "engineering", "tax_accountant": "business",
    "physician": "health",
    # AGIEval (gaokao-<subject> files lose their prefix; the others keep their names)
    "chinese": "chinese_language", "english": "english_language", "geography": "geography",
    "history": "history", "biology": "biology", "chemistry": "chemistry", "physics": "physics",
    "mathqa": "mathematics", "mathcloze": "mathematics", "math": "mathematics", "lsat_ar": "philosophy",
    "lsat_lr": "philosophy", "lsat_rc": "english_language", "logiqa_en": "philosophy",
    "logiqa_zh": "philosophy", "sat_math": "mathematics", "sat_en": "english_language",
    "sat_en_without_passage": "english_language", "aqua_rat": "mathematics", "jec_qa_kd": "law",
    "jec_qa_ca": "law",
}

# Where the upstream tables file a subject under a catch-all ('other') although its discipline is known;
# a subject of no one discipline (world facts, general knowledge) goes to `general`, the default
# discipline, never to a partition named 'other'.
SUBJECT_OVERRIDES: dict[str, str] = {
    "professional_accounting": "business", "global_facts": "general", "miscellaneous": "general",
    "elementary_commonsense": "general",
}
# Discipline names that name no discipline: the subject decides (C-Eval and CMMLU file many known
# subjects under 'Other').
CATCH_ALL_NAMES = frozenset({"other", "others", "misc", "miscellaneous", "其他", "其它", "other_subjects"})

# The fixed discipline taxonomy the KP extraction prompt classifies a seed into: every discipline the tables
# here map to, the catch-all aside. It is part of the extraction prompt, so of every extraction's request key,
# and it never depends on which disciplines a deployment has (a new discipline must not re-key every seed):
# it changes only with TAXONOMY_VERSION, which the extraction prompt version carries.
TAXONOMY_VERSION = "t1"
TAXONOMY: tuple[str, ...] = (
    "agronomy", "arts", "biology", "business", "chemistry", "chinese_language", "civil_service",
    "computer_science", "culture", "economics", "education", "engineering", "english_language", "general",
    "geography", "health", "history", "law", "mathematics", "philosophy", "physics", "politics", "psychology",
    "sports_science",
)

# Names sources use for one discipline (after slugging).
DISCIPLINE_ALIASES: dict[str, str] = {
    "math": "mathematics", "maths": "mathematics", "mathqa": "mathematics", "mathcloze": "mathematics",
    "medicine": "health", "chinese": "chinese_language", "english": "english_language",
}

# Chinese discipline and subject words -> discipline. A name is matched whole first, then by the
# longest word it contains (Chinese has no spaces: 高中数学 contains 数学).
ZH_DISCIPLINES: dict[str, str] = {
    "数学": "mathematics", "高等数学": "mathematics", "统计": "mathematics", "概率": "mathematics",
    "几何": "mathematics", "代数": "mathematics", "物理": "physics", "天文": "physics", "化学": "chemistry",
    "生物": "biology", "遗传": "biology", "医学": "health", "中医": "health", "临床": "health",
    "药学": "health", "护理": "health", "营养": "health", "医师": "health", "兽医": "health",
    "计算机": "computer_science", "编程": "computer_science", "程序设计": "computer_science",
    "信息技术": "computer_science", "人工智能": "computer_science", "工程": "engineering",
    "经济": "economics", "金融": "business", "会计": "business", "管理": "business", "市场营销": "business",
    "历史": "history", "地理": "geography", "法律": "law", "法学": "law", "政治": "politics",
    "思想政治": "politics", "马克思主义": "politics", "哲学": "philosophy", "逻辑": "philosophy",
    "伦理": "philosophy", "心理": "psychology", "语文": "chinese_language", "汉语": "chinese_language",
    "中文": "chinese_language", "文言文": "chinese_language", "古诗": "chinese_language",
    "英语": "english_language", "教育": "education", "农学": "agronomy", "艺术": "arts",
    "体育": "sports_science", "新闻": "culture", "社会学": "culture", "文化": "culture", "综合": "general",
    "通用": "general",
}

# Whole words of a subject -> discipline, for subjects outside the tables (first rule that hits wins).
# A word matches itself or its singular (studies -> study).
_WORD_RULES: list[tuple[frozenset[str], str]] = [
    (frozenset({"medicine", "medical", "clinical", "physician", "nursing", "pharmacy", "pharmacology",
                "nutrition", "health", "anatomy", "virology", "veterinary", "dentistry"}), "health"),
    (frozenset({"math", "maths", "mathematics", "mathematical", "statistics", "statistic", "algebra",
                "geometry", "calculus", "probability", "arithmetic", "trigonometry"}), "mathematics"),
    (frozenset({"physics", "astronomy", "astrophysics", "optics", "thermodynamics", "mechanics",
                "electromagnetism"}), "physics"),
    (frozenset({"chemistry", "chemical", "biochemistry"}), "chemistry"),
    (frozenset({"biology", "genetics", "ecology", "zoology", "botany", "microbiology"}), "biology"),
    (frozenset({"computer", "computing", "programming", "software", "informatics"}), "computer_science"),
    (frozenset({"engineering", "engineer"}), "engineering"),
    (frozenset({"economics", "econometrics", "macroeconomics", "microeconomics", "economy"}), "economics"),
    (frozenset({"accounting", "accountant", "business", "marketing", "management", "finance"}), "business"),
    (frozenset({"history", "prehistory"}), "history"),
    (frozenset({"geography"}), "geography"),
    (frozenset({"law", "legal", "jurisprudence", "lawyer"}), "law"),
    (frozenset({"politics", "political", "government", "policy", "security"}), "politics"),
    (frozenset({"philosophy", "logic", "logical", "ethics", "moral", "religion"}), "philosophy"),
    (frozenset({"psychology"}), "psychology"),
    (frozenset({"education", "teacher", "teaching"}), "education"),
    # language subjects last: 'Chinese medicine' is health, 'Chinese reading' is the language
    (frozenset({"chinese"}), "chinese_language"),
    (frozenset({"english"}), "english_language"),
]

# Level words in exam subject names -> difficulty 0..4 (whole words; pairs are adjacent words).
_LEVEL_WORDS: list[tuple[tuple[str, ...], int]] = [
    (("elementary",), 1), (("primary",), 1), (("middle", "school"), 1), (("junior", "high"), 1),
    (("high", "school"), 2), (("college",), 3), (("university",), 3), (("advanced",), 3),
    (("professional",), 4), (("graduate",), 4),
]
_ZH_LEVEL_WORDS: list[tuple[str, int]] = [
    ("小学", 1), ("初中", 1), ("中学", 1), ("高中", 2), ("高考", 2), ("大学", 3), ("本科", 3), ("研究生", 4),
]


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ics")) and len(word) > 3:
        return word[:-1]
    return word


def _loose(name: str) -> str:
    """Case, width and separators folded: the names that are 'the same name' for a user."""
    return _SEPARATORS.sub("_", normalize_text(name).casefold()).strip("_")


def _words(name: str) -> list[str]:
    return _WORD.findall(_loose(name))


@cache
def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin  # only names with Han characters need the dictionary

    return "_".join(w for w in _WORD.findall(" ".join(lazy_pinyin(text, errors="ignore")).casefold()))


def _zh_discipline(name: str) -> str | None:
    folded = to_simplified(_loose(name))
    if folded in ZH_DISCIPLINES:
        return ZH_DISCIPLINES[folded]
    hits = [word for word in ZH_DISCIPLINES if word in folded]
    return ZH_DISCIPLINES[max(hits, key=len)] if hits else None


def _cap(key: str, whole: str) -> str:
    if len(key) <= KEY_MAX_CHARS:
        return key
    return key[:KEY_MAX_CHARS - _HASH_CHARS - 1].rstrip("_") + "_" + _short_hash(whole)


@cache
def discipline_key(name: str) -> str:
    """The partition key of a discipline name (see the module docstring); never empty."""
    loose = _loose(name)
    slug = "_".join(_words(name))
    if slug in DISCIPLINE_ALIASES:
        return DISCIPLINE_ALIASES[slug]
    if _HAN.search(loose):
        loose = to_simplified(loose)  # 數學 and 数学 are one name
        known = _zh_discipline(loose)
        if known:
            return known
    # What slugging would throw away: anything but ascii letters, digits and separators.
    lost = re.sub(r"[a-z0-9_]", "", loose)
    if not lost:
        return _cap(slug, loose) if slug else "d_" + _short_hash(name)
    readable = "_".join(_WORD.findall(_HAN_RUN.sub(lambda run: f" {_pinyin(run.group())} ", loose)))
    # A name made only of marks that carry no letters (e.g. '???') still gets a key.
    stem = readable or "d"
    return _cap(f"{stem}_{_short_hash(loose)}", loose)


def is_catch_all(name: str) -> bool:
    """Whether a discipline name says nothing about the discipline ('Other', '其他')."""
    return _loose(name) in CATCH_ALL_NAMES or "_".join(_words(name)) in CATCH_ALL_NAMES


def discipline_for_subject(subject: str) -> str:
    """Exact benchmark tables first (with SUBJECT_OVERRIDES), then whole-word rules, else the subject's
    own key."""
    slug = "_".join(_words(subject))
    if slug in SUBJECT_OVERRIDES:
        return SUBJECT_OVERRIDES[slug]
    if slug in MMLU_SUBCATEGORY:
        return discipline_key(MMLU_SUBCATEGORY[slug])
    if slug in BENCHMARK_SUBJECTS:
        return BENCHMARK_SUBJECTS[slug]
    if _HAN.search(subject):
        known = _zh_discipline(subject)
        if known:
            return known
    words = _words(subject)
    for vocabulary, discipline in _WORD_RULES:
        if any(w in vocabulary or _singular(w) in vocabulary for w in words):
            return discipline
    return discipline_key(subject)


def difficulty_for_subject(subject: str) -> int | None:
    words = _words(subject)
    for phrase, level in _LEVEL_WORDS:
        n = len(phrase)
        if any(tuple(words[i:i + n]) == phrase for i in range(len(words) - n + 1)):
            return level
    for word, level in _ZH_LEVEL_WORDS:
        if word in subject:
            return level
    return None


def name_mapping(names: list[str]) -> list[dict[str, str | bool]]:
    """One row per distinct original name: its key, and whether another, different name shares
    that key (reported, so a merge is never silent)."""
    by_key: dict[str, set[str]] = {}
    for name in names:
        by_key.setdefault(discipline_key(name), set()).add(name)
    rows = []
    for key, originals in sorted(by_key.items()):
        distinct = {unicodedata.normalize("NFKC", _loose(o)) for o in originals}
        for original in sorted(originals):
            rows.append({"name": original, "key": key, "merged": len(distinct) > 1})
    return rows


def stale_disciplines(registered: list[str], active: set[str]) -> list[str]:
    """Disciplines that have data or a partition but are no longer in the seed source."""
    return sorted(set(registered) - active)
