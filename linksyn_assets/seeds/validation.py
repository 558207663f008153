"""From a format's fields to a seed or a benchmark item: cleaning, caps, option labels, answers, discipline,
difficulty and language; every problem is a RowError whose message is the quarantine reason."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from linksyn_assets.records import DIFFICULTY_LEVELS, BenchmarkItem, SeedRecord
from linksyn_assets.seeds.disciplines import (
    difficulty_for_subject,
    discipline_for_subject,
    discipline_key,
    is_catch_all,
)
from linksyn_assets.seeds.files import RowError
from linksyn_assets.seeds.option_letters import LETTERS, answer_letters
from linksyn_assets.text.normalize import content_hash, detect_language, normalize_text

_OPTION_LABEL = re.compile(r"^\s*([\(（])?([A-Za-z])(?(1)[\)）]|[\.．、:：\)）])\s*")


# Long enough for the longest real exam passage (AGIEval's are under 8k characters), short enough that
# one runaway field cannot cost a million prompt tokens.
MAX_FIELD_CHARS = 20_000


_LANGUAGE_ALIASES = {"en": "en", "english": "en", "eng": "en", "zh": "zh", "chinese": "zh",
                     "zh-cn": "zh", "zh_cn": "zh", "cn": "zh", "中文": "zh"}


NO_ANSWER_COLUMN = "_no_answer_column"  # set on rows of files whose header has no answer column


def _strip_option_prefixes(options: list[str]) -> list[str]:
    """Drop '(A)'/'A.'/'（A）'-style labels only when the options carry the sequence A, B, C, ... in
    order, one per option (or a, b, c, ...). A letter that is part of the text ('(s)he', 'U.S. GDP',
    Roman numerals 'I、II', drive letters 'C:') never starts such a sequence, so it stays."""
    if len(options) < 2:
        return options
    matches = [_OPTION_LABEL.match(o) for o in options]
    if not all(matches):
        return options
    letters = "".join(m.group(2) for m in matches if m)
    if not (letters.isupper() or letters.islower()):
        return options
    positions = [ord(c.upper()) - ord("A") for c in letters]
    # Upstream exam files have typos (A, B, C, C): a sequence starts at A, never goes back, and at most
    # one label is off its position.
    in_place = sum(p == i for i, p in enumerate(positions))
    if positions[0] != 0 or positions != sorted(positions) or in_place < len(options) - 1:
        return options
    return [o[m.end():] for o, m in zip(options, matches, strict=True) if m]


def clean_text(value: Any, field: str = "value") -> str | None:
    """Normalized text of a scalar field; a list or an object is never printed into text (RowError naming
    the field). Numbers are their decimal text."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from pandas-written files
        return None
    if isinstance(value, list | tuple | dict | set):
        raise RowError(f"field {field!r} is a {type(value).__name__} where text is expected: "
                       f"{json.dumps(value, ensure_ascii=False, default=str)[:80]}")
    if isinstance(value, bool):
        raise RowError(f"field {field!r} is {value}, not text")
    text = normalize_text(str(value))
    return text or None


def _difficulty(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise RowError(f"difficulty {value!r} is not a number 0-{DIFFICULTY_LEVELS - 1}") from exc
    if number != int(number) or not 0 <= number < DIFFICULTY_LEVELS:
        raise RowError(f"difficulty {value!r} is not an integer 0-{DIFFICULTY_LEVELS - 1}")
    return int(number)


def _mc_answer(answer: Any, options: list[str]) -> str:
    """Multiple-choice answers become option letters: letters (`A`, `A, C`), a 0-based index, option
    text, or a list of any of those (several correct options)."""
    valid = LETTERS[:len(options)]
    letters = []
    for item in answer if isinstance(answer, list) else [answer]:
        letters.extend(_one_answer(item, options, valid))
    if not letters:
        raise RowError("missing answer")
    return "".join(sorted(set(letters)))


def _one_answer(item: Any, options: list[str], valid: str) -> list[str]:
    if isinstance(item, int) and not isinstance(item, bool):
        if 0 <= item < len(options):
            return [valid[item]]
        raise RowError(f"answer index {item} is outside the {len(options)} options (0-based: 0-{len(options) - 1})")
    text = clean_text(item, "answer") or ""
    letters = answer_letters(text)
    if letters and all(c in valid for c in letters):
        return letters
    folded = [o.casefold() for o in options]
    if text.casefold() in folded:
        return [valid[folded.index(text.casefold())]]
    raise RowError(f"answer {text!r} is not one of the {len(options)} options (A-{valid[-1]})")


def _capped(fields: dict[str, Any], max_chars: int) -> None:
    for name in ("question", "answer", "explanation"):
        value = fields.get(name)
        if isinstance(value, str) and len(value) > max_chars:
            raise RowError(f"field {name!r} has {len(value):,} characters, over the cap of {max_chars:,} "
                           "(seed_source max_field_chars)")
    for option in fields.get("options") or []:
        if isinstance(option, str) and len(option) > max_chars:
            raise RowError(f"an option has {len(option):,} characters, over the cap of {max_chars:,} "
                           "(seed_source max_field_chars)")


def _question_and_options(fields: dict[str, Any]) -> tuple[str, list[str]]:
    question = clean_text(fields.get("question"), "question")
    if not question:
        raise RowError("missing question")
    options = _strip_option_prefixes([clean_text(o, f"options[{i}]") or ""
                                      for i, o in enumerate(fields.get("options") or [])])
    if any(not o for o in options):
        raise RowError("an option is empty")
    return question, options


def to_seed(fields: dict[str, Any], source_file: str, source_row: int, default_discipline: str,
            max_field_chars: int = MAX_FIELD_CHARS) -> SeedRecord:
    _capped(fields, max_field_chars)
    question, options = _question_and_options(fields)
    if fields.get(NO_ANSWER_COLUMN):
        raise RowError("no answer column: the file's header has no 'answer' column (a test split without "
                       "answers can be a benchmark file, not a seed file)")
    raw_answer = fields.get("answer")
    if options:
        answer = _mc_answer(raw_answer, options) if raw_answer not in (None, "", []) else ""
    elif isinstance(raw_answer, list):
        raise RowError(f"answer is a list {raw_answer!r} but the question has no options")
    else:
        answer = clean_text(raw_answer, "answer") or ""
    if not answer:
        raise RowError("missing answer")
    subject = clean_text(fields.get("subject"), "subject")
    named = clean_text(fields.get("discipline"), "discipline")
    if named and is_catch_all(named):
        named = None  # 'Other' says nothing: the subject decides
    if named:
        discipline, discipline_name = discipline_key(named), named
    elif subject and not is_catch_all(subject):
        discipline, discipline_name = discipline_for_subject(subject), subject
    else:
        discipline, discipline_name = discipline_key(default_discipline), default_discipline
    difficulty = _difficulty(fields.get("difficulty"))
    if difficulty is None and subject:
        difficulty = difficulty_for_subject(subject)
    language = clean_text(fields.get("language"), "language")
    language = _LANGUAGE_ALIASES.get(language.casefold()) if language else None
    language = language or detect_language(question)
    try:
        return SeedRecord(
            seed_id=content_hash(question, options, answer, prefix="s_"),
            question=question, options=options, answer=answer,
            explanation=_explanation(fields.get("explanation")), discipline=discipline, subject=subject,
            difficulty=difficulty, language=language,
            source=clean_text(fields.get("source"), "source") or "user", source_file=source_file,
            source_row=source_row,
            kp_routes=[r for r in (clean_text(x, "kp_routes") for x in fields.get("kp_routes") or []) if r],
            discipline_name=discipline_name, provenance=fields.get("provenance") or {},
        )
    except ValidationError as exc:
        raise RowError("; ".join(e["msg"] for e in exc.errors())) from exc


def _explanation(value: Any) -> str | None:
    """A worked solution; a list of strings (one step per item, as TAL-SCQ5K ships it) is its lines."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n".join(v for v in value if v.strip())
    return clean_text(value, "explanation")


def to_item(fields: dict[str, Any], source_file: str, source_row: int, max_field_chars: int) -> BenchmarkItem:
    """A benchmark item: only the question (and options) matter; an answer is optional."""
    _capped(fields, max_field_chars)
    question, options = _question_and_options(fields)
    return BenchmarkItem(question=question, options=options, source_file=source_file, source_row=source_row)
