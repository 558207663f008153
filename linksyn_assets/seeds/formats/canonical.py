"""Exam records in the canonical layout and the shapes exam benchmarks ship, shared by the JSONL, JSON,
CSV and Parquet readers; and the guard every converter runs under (a converter's error becomes that
row's RowError, never the file's).

Field names (any case): question (`problem`, `stem`); options (`choices`) as a list, a JSON list in a
string, a dict keyed by letter, `{"label": [...], "text": [...]}`, or separate `A`..`H` fields, else
written inside the question (seeds/inline_options.py); answer (`answerKey`, `answer_key`,
`correct_answer`) as a letter, several letters, a 0-based index (the Hugging Face ClassLabel
convention), option text, or a list of those; explanation (`analysis`, `solution`, `rationale`);
discipline, subject, difficulty, language, source, kp_routes. Year, score, source, id and the like
go to provenance.

A list answer is read only when what it means is certain: several correct options of one question
(`["A", "C"]` -> `AC`), or one answer per question when the question text holds as many option sets
(a passage with sub-questions: one seed per sub-question, each with the passage). Anything else is a
RowError that says why; nothing is guessed.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from typing import Any

from linksyn_assets.seeds.files import RowError
from linksyn_assets.seeds.inline_options import inline_questions
from linksyn_assets.seeds.option_letters import LETTERS, answer_letters
from linksyn_assets.text.normalize import normalize_text

QUESTION_KEYS = ("question", "problem", "stem")
OPTION_KEYS = ("options", "choices")
ANSWER_KEYS = ("answer", "answerkey", "answer_key", "correct_answer")
EXPLANATION_KEYS = ("explanation", "analysis", "solution", "rationale")
PROVENANCE_KEYS = ("year", "score", "source", "id", "index", "category", "type", "level", "exam", "paper",
                   "keywords")
PLAIN_KEYS = ("discipline", "subject", "difficulty", "language", "source")


def _first(rec: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if rec.get(key) is not None:
            return key, rec[key]
    return None, None


def _options_from_dict(value: dict[str, Any]) -> list[Any]:
    lower = {str(k).casefold(): v for k, v in value.items()}
    if isinstance(lower.get("text"), list) and isinstance(lower.get("label"), list):  # ARC-style choices
        labels = [str(x).strip().upper() for x in lower["label"]]
        if labels != list(LETTERS[:len(labels)]) and labels != [str(i + 1) for i in range(len(labels))]:
            raise RowError(f"options labels {labels} are not A, B, C, ... (or 1, 2, 3, ...) in order")
        return list(lower["text"])
    keys = [str(k).strip().upper() for k in value]
    if sorted(keys) != list(LETTERS[:len(keys)]):
        raise RowError(f"options is a dict whose keys {sorted(keys)} are not the letters A, B, C, ... in order")
    by_letter = {str(k).strip().upper(): v for k, v in value.items()}
    return [by_letter[c] for c in LETTERS[:len(keys)]]


def _options(rec: dict[str, Any]) -> list[Any]:
    key, options = _first(rec, OPTION_KEYS)
    if isinstance(options, str):
        stripped = options.strip()
        if not stripped:
            return []
        try:
            options = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise RowError(f"{key} is a string but not a JSON array") from exc
    if isinstance(options, dict):
        return _options_from_dict(options)
    if options is not None and not isinstance(options, list):
        raise RowError(f"{key} must be a list, got {type(options).__name__}")
    if options:
        return options
    letters = [c for c in LETTERS if rec.get(c.casefold()) is not None]
    if len(letters) >= 2:  # separate A, B, C, ... fields (CMMLU / C-Eval in JSON)
        if "".join(letters) != LETTERS[:len(letters)]:
            raise RowError(f"option fields {letters} are not A, B, C, ... without a gap")
        return [rec[c.casefold()] for c in letters]
    return []


def _answer(value: Any) -> Any:
    """A list printed as text (`"['D']"`, `'["A", "C"]'`) is that list; anything else as given."""
    if isinstance(value, str) and value.strip().startswith("[") and value.strip().endswith("]"):
        try:
            parsed = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            return value
        return parsed if isinstance(parsed, list) else value
    return value


def _inline(question: Any, answer: Any) -> dict[str, Any] | list[dict[str, Any]] | None:
    """The options written in the question, when the answer names option letters (see the module
    docstring); None when the question has none and the answer is a single string."""
    letters = answer_letters(answer)
    if letters is None or not isinstance(question, str):
        return None
    found = inline_questions(normalize_text(question))
    if found is None:
        if isinstance(answer, list):
            raise RowError(f"answer is a list {answer!r} but the record has no options (no options field, none "
                           "written in the question as A. B. C. ...)")
        return None
    if len(found.sets) == 1:
        only = found.sets[0]
        bad = [c for c in letters if ord(c) - ord("A") >= len(only.options)]
        if bad:
            raise RowError(f"answer {answer!r} names {''.join(bad)}, but the question writes {len(only.options)} "
                           f"options (A-{LETTERS[len(only.options) - 1]})")
        return {"question": only.stem, "options": only.options, "answer": "".join(sorted(set(letters)))}
    n = len(found.sets)
    if not isinstance(answer, list) or len(answer) != n:
        raise RowError(f"the question holds {n} option sets (a passage with {n} sub-questions) but the answer "
                       f"{answer!r} is not a list of {n} answers, one per sub-question")
    if found.trailing:
        raise RowError(f"the question holds {n} option sets followed by text that belongs to none of them: "
                       f"{found.trailing[:60]!r}")
    subs = []
    for k, (part, given) in enumerate(zip(found.sets, answer, strict=True), 1):
        mine = answer_letters(given) or []
        if not mine or any(ord(c) - ord("A") >= len(part.options) for c in mine):
            raise RowError(f"sub-question {k}: answer {given!r} is not one of its {len(part.options)} options")
        text = "\n\n".join(p for p in (found.passage, part.stem) if p)
        if not text:
            raise RowError(f"sub-question {k} has no text before its options")
        subs.append({"question": text, "options": part.options, "answer": "".join(sorted(set(mine))),
                     "sub_question": k})
    return subs


def _provenance(rec: dict[str, Any]) -> dict[str, str]:
    return {k: str(rec[k]) for k in PROVENANCE_KEYS
            if isinstance(rec.get(k), str | int | float) and not isinstance(rec.get(k), bool) and str(rec[k]).strip()}


def from_canonical(rec: dict[str, Any], group: dict[str, Any] | None = None) -> dict[str, Any] | list[dict[str, Any]]:
    """One record's fields (or one per sub-question); `group` holds what the file says about every record
    under one key (subject, provenance)."""
    lower = {str(k).casefold(): v for k, v in rec.items()}
    _, question = _first(lower, QUESTION_KEYS)
    _, answer = _first(lower, ANSWER_KEYS)
    answer = _answer(answer)
    _, explanation = _first(lower, EXPLANATION_KEYS)
    options = _options(lower)
    routes = lower.get("kp_routes") or []
    group = group or {}
    fields: dict[str, Any] = {
        **{k: lower.get(k) for k in PLAIN_KEYS}, "question": question, "answer": answer,
        "explanation": explanation, "options": options, "kp_routes": routes if isinstance(routes, list) else [],
        "provenance": {**group.get("provenance", {}), **_provenance(lower)},
    }
    if fields["subject"] is None and group.get("subject"):
        fields["subject"] = group["subject"]
    if options:
        return fields
    inline = _inline(question, answer)
    if inline is None:
        return fields
    if isinstance(inline, dict):
        return {**fields, **inline}
    out = []
    for sub in inline:
        number = str(sub.pop("sub_question"))
        out.append({**fields, **sub, "provenance": {**fields["provenance"], "sub_question": number}})
    return out


def guarded(convert: Callable[..., Any], record: Any, *args: Any, expected: type = dict) -> Any:
    """convert(record, *args), or the RowError that explains why the row cannot be read."""
    if not isinstance(record, expected):
        return RowError(f"record is {type(record).__name__}, not an object")
    try:
        return convert(record, *args)
    except RowError as exc:
        return exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return RowError(f"unexpected record shape: {exc}")
