"""Text normalization shared by seed ingestion, KP canonicalization and QC."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

# C0/C1 control characters except tab and newline: hostile or broken input carries them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\ufeff]")
_SPACES = re.compile(r"[ \t\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# The language rule's patterns, shared with the polars version in qc/rules.py (Rust regex reads them too).
CJK_PATTERN = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
LATIN_PATTERN = "[A-Za-z]"
LATEX_PATTERN = r"(?s)\$\$.*?\$\$|\$.*?\$|\\[A-Za-z]+"  # formulas and LaTeX commands say nothing about the language
_CJK = re.compile(CJK_PATTERN)
_LATIN = re.compile(LATIN_PATTERN)
_LATEX = re.compile(LATEX_PATTERN)


def normalize_text(text: str) -> str:
    """NFKC (which also maps Kangxi/CJK radical lookalikes to the unified ideographs),
    no control characters, unix newlines, runs of spaces folded, ends trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def canonical_sha256(value: object) -> str:
    """sha256 hex of the canonical JSON of value (sorted keys, no spaces, UTF-8): the one way ids and
    request keys are made, so the same content always hashes the same everywhere."""
    blob = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def content_hash(*parts: object, prefix: str = "", length: int = 16) -> str:
    """Stable id from any JSON-serializable parts (order matters)."""
    return prefix + canonical_sha256(parts)[:length]


def detect_language(text: str) -> str:
    """'zh' when CJK ideographs make up a fair share of the letters, else 'en'."""
    prose = _LATEX.sub(" ", text)
    cjk = len(_CJK.findall(prose))
    latin = len(_LATIN.findall(prose))
    # A CJK character carries about as much as a short English word.
    return "zh" if cjk > 0 and cjk * 4 >= latin else "en"

