"""Option letters: the labels A-H and the answers that name them (`D`, `A, C`, `["A", "C"]`)."""

from __future__ import annotations

import re
from typing import Any

LETTERS = "ABCDEFGH"
_LETTER_ANSWER = re.compile(r"^[A-H](?:[\s,，、;；/]*[A-H])*$")


def answer_letters(answer: Any) -> list[str] | None:
    """The option letters an answer names, or None for any other answer."""
    items = answer if isinstance(answer, list) else [answer]
    letters: list[str] = []
    for item in items:
        if not isinstance(item, str) or not _LETTER_ANSWER.match(item.strip()):
            return None
        letters.extend(c for c in item if c in LETTERS)
    return letters or None
