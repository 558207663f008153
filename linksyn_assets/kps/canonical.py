"""Knowledge-point canonicalization: surface names -> stable kp_ids.

Folding: NFKC, case, apostrophes dropped, other punctuation and hyphens -> word breaks, English
plurals -> singular, then word breaks removed, so 'Half-lives', 'half life' and 'halflife' meet.
The extraction prompt also asks for a canonical English name next to each surface form; when it is
given, the id comes from it, so '牛顿第二定律' and "Newton's second law" share one kp_id.
"""

from __future__ import annotations

import unicodedata

from linksyn_assets.text.normalize import content_hash

_APOSTROPHES = {"'", "’", "‘", "`", "´"}
# Words that end like plurals but are not (or whose singular would be wrong).
_NOT_PLURAL = {
    "analysis", "atlas", "axis", "basis", "bias", "bus", "canvas", "chaos", "crisis", "diabetes", "ethos",
    "gas", "genesis", "hypothesis", "lens", "means", "mitosis", "meiosis", "news", "osmosis", "pathos",
    "series", "species", "status", "synthesis", "thesis", "virus", "stimulus", "calculus", "locus",
    "nucleus", "radius", "focus", "census", "corpus", "campus", "apparatus", "plus", "minus", "bonus",
    "alias", "emphasis", "parenthesis", "thus", "this", "his", "its", "was", "has", "does", "is", "as",
}
_IRREGULAR = {"indices": "index", "vertices": "vertex", "matrices": "matrix", "phenomena": "phenomenon",
              "criteria": "criterion", "bacteria": "bacterium", "data": "datum", "children": "child",
              "mice": "mouse", "teeth": "tooth", "feet": "foot", "geese": "goose", "men": "man", "women": "woman",
              "leaves": "leaf", "halves": "half", "lives": "life", "wolves": "wolf", "knives": "knife"}


def singular(word: str) -> str:
    """English plural -> singular by rule; other scripts and short words are left alone."""
    if not word.isascii() or not word.isalpha() or len(word) <= 3 or word in _NOT_PLURAL:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("ics", "ss", "us", "is", "ous")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def canonical_kp_key(name: str) -> str:
    """The folded form two names must share to be one KP ('' when nothing is left)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    chars = []
    for ch in text:
        if ch in _APOSTROPHES:
            continue
        chars.append(" " if unicodedata.category(ch).startswith("P") else ch)
    return "".join(singular(w) for w in "".join(chars).split())


def kp_id_for(name: str, canonical_en: str | None = None) -> str | None:
    """Stable id of a KP: from its canonical English name when given, else from the surface name."""
    for candidate in (canonical_en, name):
        key = canonical_kp_key(candidate) if candidate else ""
        if key:
            return content_hash(key, prefix="kp_", length=12)
    return None
