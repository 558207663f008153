"""Subject -> discipline and subject -> difficulty rules for the known exam layouts."""

from __future__ import annotations

from .text_normalize import slugify

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

# Names different sources use for one discipline.
DISCIPLINE_ALIASES: dict[str, str] = {
    "math": "mathematics", "maths": "mathematics", "mathqa": "mathematics",
    "mathcloze": "mathematics", "computer_science": "computer_science", "medicine": "health",
    "chinese": "chinese_language", "english": "english_language",
}

# Keyword rules for subject names outside MMLU (CMMLU, C-Eval and user files); first hit wins.
_KEYWORD_DISCIPLINE: list[tuple[str, str]] = [
    ("math", "mathematics"), ("statistic", "mathematics"), ("algebra", "mathematics"),
    ("physic", "physics"), ("astronom", "physics"), ("chemi", "chemistry"),
    ("biolog", "biology"), ("genetic", "biology"), ("medic", "health"), ("clinical", "health"),
    ("nutrition", "health"), ("computer", "computer_science"), ("programming", "computer_science"),
    ("engineer", "engineering"), ("econom", "economics"), ("account", "business"),
    ("business", "business"), ("marketing", "business"), ("history", "history"),
    ("geograph", "geography"), ("law", "law"), ("legal", "law"), ("politic", "politics"),
    ("philosoph", "philosophy"), ("logic", "philosophy"), ("psycholog", "psychology"),
    ("chinese", "chinese_language"), ("english", "english_language"),
]

# Level words in exam subject names -> difficulty 0..4.
_LEVEL_WORDS: list[tuple[str, int]] = [
    ("elementary", 1), ("primary", 1), ("middle_school", 1), ("junior_high", 1),
    ("high_school", 2), ("college", 3), ("university", 3), ("professional", 4),
    ("graduate", 4),
]


def canonical_discipline(name: str) -> str:
    slug = slugify(name)
    return DISCIPLINE_ALIASES.get(slug, slug)


def discipline_for_subject(subject: str) -> str:
    """MMLU's own map first, then keyword rules, else the subject itself."""
    slug = slugify(subject)
    if slug in MMLU_SUBCATEGORY:
        return canonical_discipline(MMLU_SUBCATEGORY[slug])
    for keyword, discipline in _KEYWORD_DISCIPLINE:
        if keyword in slug:
            return discipline
    return canonical_discipline(slug)


def difficulty_for_subject(subject: str) -> int | None:
    slug = slugify(subject)
    for word, level in _LEVEL_WORDS:
        if word in slug:
            return level
    return None
