"""Knowledge-point canonicalization: surface names -> stable kp_ids."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

from .text_normalize import content_hash

_APOSTROPHES = {"'", "’", "‘", "`", "´"}


def canonical_kp_key(name: str) -> str:
    """NFKC, case-folded, apostrophes dropped, other punctuation -> space, whitespace folded.

    Symbols (+, =, ^ ...) are kept: 'C++' and 'C' are different concepts.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    chars = []
    for ch in text:
        if ch in _APOSTROPHES:
            continue
        chars.append(" " if unicodedata.category(ch).startswith("P") else ch)
    return " ".join("".join(chars).split())


def kp_id_for(name: str) -> str | None:
    """Stable id of a KP surface name; None when nothing is left after folding."""
    key = canonical_kp_key(name)
    return content_hash(key, prefix="kp_", length=12) if key else None


def preferred_name(surface_forms: Iterable[str]) -> str:
    """The most frequent surface form; ties go to the shortest, then alphabetical."""
    counts = Counter(surface_forms)
    return min(counts, key=lambda s: (-counts[s], len(s), s))
