"""Texts as token hashes for near-duplicate and contamination checks.

Normalization: traditional Chinese folded to simplified (OpenCC), then in polars (Rust) NFKC (full-
and half-width forms become one), lowercase, punctuation to spaces, every CJK ideograph a token of
its own, LaTeX commands dropped (`\frac`, `\mathrm`: markup that many formulas share), whitespace
folded. Tokens are then hashed (FNV-1a over their UTF-8 bytes, in a compiled
loop over one byte buffer per chunk), so 1M records never become 60M Python strings.

Grams are measured per script, not per token: a Han character carries less than an English word
(a 13-gram of characters is 13 characters, and three characters match by chance), so a gram is
the shortest run of tokens worth `words` Latin words or `han` Han characters (each Latin token
counts `han` units, each Han token `words` units, a gram needs `words * han`). Latin text gets
word n-grams, Chinese character n-grams, mixed text a proportional mix. The lengths are chosen on
data in bench/qc_bench.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

import numba
import numpy as np
import polars as pl

from linksyn_assets.text.chinese_script import simplified

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_SPACE, _NEWLINE = 32, 10
FrameOrSeries = TypeVar("FrameOrSeries", pl.DataFrame, pl.Series)
WORD, HAN, SYMBOL = 0, 1, 2
CHUNK_RECORDS = 100_000


def normalized(texts: pl.Expr) -> pl.Expr:
    return (simplified(texts.fill_null("")).str.normalize("NFKC")
            .str.replace_all(r"\\[A-Za-z]+", " ")  # LaTeX commands (\frac, \left, \textgreater) are markup, not content
            .str.to_lowercase()
            .str.replace_all(r"[^\p{L}\p{N}]+", " ")
            .str.replace_all(r"(\p{Han})", " $1 ")
            .str.replace_all(r"\s+", " ").str.strip_chars())


@dataclass
class TokenHashes:
    """Token hashes of many texts, flat: text i is hashes[ptr[i]:ptr[i + 1]]."""

    hashes: np.ndarray  # uint64
    ptr: np.ndarray  # int64, len = texts + 1
    unit: np.ndarray  # uint8 per token: WORD, HAN (a CJK ideograph) or SYMBOL (a lone letter or digit)

    def han_share(self) -> np.ndarray:
        """Per text: the share of Han characters among its Han characters and words (formula symbols
        say nothing about the language)."""
        han = np.concatenate([[0], np.cumsum(self.unit == HAN)])
        word = np.concatenate([[0], np.cumsum(self.unit == WORD)])
        n_han, n_word = han[self.ptr[1:]] - han[self.ptr[:-1]], word[self.ptr[1:]] - word[self.ptr[:-1]]
        return n_han / np.maximum(n_han + n_word, 1)

    @property
    def count(self) -> int:
        return int(self.ptr.size - 1)


@numba.njit(cache=True)
def _count_tokens(buf: np.ndarray) -> int:
    n, in_token = 0, False
    for i in range(buf.size):
        b = buf[i]
        if b == _SPACE or b == _NEWLINE:  # noqa: SIM109 -- plain compares compile tighter in numba
            in_token = False
        elif not in_token:
            in_token = True
            n += 1
    return n


@numba.njit(cache=True, inline="always")
def _unit(buf: np.ndarray, start: int, length: int) -> int:
    """HAN for a CJK ideograph in UTF-8 (U+3400-U+9FFF: 3 bytes, E3-E9; compatibility U+F900-U+FAFF:
    EF A4-AB; supplementary ideographs: 4 bytes, F0 A0-B3); SYMBOL for a lone letter or digit (formula
    symbols such as `x`, `2`, `n`); both count as characters, not words. Else WORD."""
    first = buf[start]
    if length == 1:
        return SYMBOL
    if length == 3 and ((0xE3 <= first <= 0xE9) or (first == 0xEF and 0xA4 <= buf[start + 1] <= 0xAB)):
        return HAN
    if length == 4 and first == 0xF0 and 0xA0 <= buf[start + 1] <= 0xB3:
        return HAN
    return WORD


@numba.njit(cache=True)
def _hash_tokens(buf: np.ndarray, n_texts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    total = _count_tokens(buf)
    hashes = np.empty(total, np.uint64)
    unit = np.zeros(total, np.uint8)
    ptr = np.zeros(n_texts + 1, np.int64)
    n, text, h, in_token, start = 0, 0, _FNV_OFFSET, False, 0
    for i in range(buf.size + 1):
        b = buf[i] if i < buf.size else _NEWLINE
        if b == _SPACE or b == _NEWLINE:  # noqa: SIM109 -- plain compares compile tighter in numba
            if in_token:
                hashes[n] = h
                unit[n] = _unit(buf, start, i - start)
                n += 1
                h, in_token = _FNV_OFFSET, False
            if b == _NEWLINE:
                text += 1
                ptr[text] = n
        else:
            if not in_token:
                start = i
            h = (h ^ np.uint64(b)) * _FNV_PRIME
            in_token = True
    return hashes, ptr, unit


def token_hashes(texts: pl.Series) -> TokenHashes:
    """Token hashes of every text (null = empty), chunk by chunk."""
    parts, units, ptrs, offset = [], [], [np.zeros(1, np.int64)], 0
    for chunk in chunks(texts):
        clean = chunk.to_frame("t").select(normalized(pl.col("t")))["t"]
        buf = np.frombuffer("\n".join(clean.to_list()).encode("utf-8"), dtype=np.uint8)
        hashes, ptr, unit = _hash_tokens(buf, clean.len())
        parts.append(hashes)
        units.append(unit)
        ptrs.append(ptr[1:] + offset)
        offset += hashes.size
    if not parts:
        return TokenHashes(np.zeros(0, np.uint64), np.concatenate(ptrs), np.zeros(0, np.uint8))
    return TokenHashes(np.concatenate(parts), np.concatenate(ptrs), np.concatenate(units))


def chunks(rows: FrameOrSeries) -> Iterator[FrameOrSeries]:
    """Zero-copy slices of CHUNK_RECORDS rows: texts are built, tokenized and hashed a chunk at a time."""
    for start in range(0, len(rows), CHUNK_RECORDS):
        yield rows.slice(start, CHUNK_RECORDS)


@numba.njit(cache=True, inline="always")
def gram_hash(hashes: np.ndarray, start: int, n: int) -> np.uint64:
    """Hash of the n tokens from start (order matters)."""
    h = np.uint64(n)
    for j in range(start, start + n):
        h = (h ^ hashes[j]) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return h


@numba.njit(cache=True, inline="always")
def gram_end(unit: np.ndarray, start: int, hi: int, words: int, han_chars: int) -> int:
    """End (exclusive) of the shortest run from start worth `words` Latin words or `han_chars` Han
    characters (see the module docstring); -1 when the text ends first."""
    need, units = words * han_chars, 0
    for j in range(start, hi):
        units += words if unit[j] != WORD else han_chars
        if units >= need:
            return j + 1
    return -1
