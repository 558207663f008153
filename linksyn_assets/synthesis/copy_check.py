"""Anti-copy: how close a new question is to the seeds it was written from (character 5-gram
Jaccard of normalized question + options, exact)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_SPACE = re.compile(r"\s+")
SHINGLE = 5


def shingles(text: str) -> frozenset[str]:
    plain = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    if len(plain) <= SHINGLE:
        return frozenset([plain]) if plain else frozenset()
    return frozenset(plain[i:i + SHINGLE] for i in range(len(plain) - SHINGLE + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def qa_text(question: str | None, options: Iterable[str] | None) -> str:
    return " ".join([question or "", *(options or [])])


def closest_seed(text: str, seeds: dict[str, str]) -> tuple[str | None, float]:
    """(seed id, Jaccard) of the most similar seed text."""
    mine = shingles(text)
    best: tuple[str | None, float] = (None, 0.0)
    for seed_id, seed_text in seeds.items():
        score = jaccard(mine, shingles(seed_text))
        if score > best[1]:
            best = (seed_id, score)
    return best
