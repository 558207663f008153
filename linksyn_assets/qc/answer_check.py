"""Does an independent solve agree with the stated answer?

- multiple choice (the row has options): the option letters, as a set ("B", "(b)", "Option B",
  "B. 42" all read as B);
- numbers: the last number in each answer (commas, fractions a/b, scientific notation, a trailing
  %), equal within a relative tolerance;
- otherwise: text equal after NFKC, casefold and dropping punctuation and spaces, or one
  containing the other.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Literal

Agreement = Literal["agree", "disagree", "unclear"]
_LETTERS = re.compile(r"(?:^|[^A-Za-z])([A-Ha-h])(?=$|[^A-Za-z])")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?%?|-?\.\d+")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_OPTION_WORDS = re.compile(r"\b(option|answer|choice|the|is|correct)\b|答案|选项|选", re.IGNORECASE)


def option_letters(answer: str, n_options: int) -> frozenset[str]:
    text = _OPTION_WORDS.sub(" ", unicodedata.normalize("NFKC", answer))
    head = re.split(r"[.:：)）]\s", text.strip(), maxsplit=1)[0] if re.match(r"\s*\(?[A-Ha-h][.:：)）]\s", text) \
        else text
    letters = {m.upper() for m in _LETTERS.findall(head)}
    return frozenset(x for x in letters if ord(x) - ord("A") < max(n_options, 1))


def last_number(text: str) -> float | None:
    found = _NUMBER.findall(unicodedata.normalize("NFKC", text))
    if not found:
        return None
    raw = found[-1].replace(",", "").replace(" ", "")
    scale = 0.01 if raw.endswith("%") else 1.0
    raw = raw.rstrip("%")
    try:
        if "/" in raw:
            top, bottom = raw.split("/")
            return float(top) / float(bottom) * scale if float(bottom) else None
        return float(raw) * scale
    except ValueError:
        return None


def _plain(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def compare(stated: str, solved: str, n_options: int, rel_tol: float = 1e-2) -> Agreement:
    if n_options > 1:
        a, b = option_letters(stated, n_options), option_letters(solved, n_options)
        if not a or not b:
            return "unclear"
        return "agree" if a == b else "disagree"
    x, y = last_number(stated), last_number(solved)
    if x is not None and y is not None:
        return "agree" if math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-9) else "disagree"
    p, q = _plain(stated), _plain(solved)
    if not p or not q:
        return "unclear"
    return "agree" if p == q or p in q or q in p else "disagree"
