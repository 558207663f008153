"""Texts as token hashes for near-duplicate and contamination checks.

Normalization (polars, in Rust): NFKC, lowercase, punctuation to spaces, every CJK ideograph a
token of its own, whitespace folded. Tokens are then hashed (FNV-1a over their UTF-8 bytes, in a
compiled loop over one byte buffer per chunk), so 1M records never become 60M Python strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numba
import numpy as np
import polars as pl

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_SPACE, _NEWLINE = 32, 10
CHUNK_RECORDS = 100_000


def normalized(texts: pl.Expr) -> pl.Expr:
    return (texts.fill_null("").str.normalize("NFKC").str.to_lowercase()
            .str.replace_all(r"[^\p{L}\p{N}]+", " ")
            .str.replace_all(r"(\p{Han})", " $1 ")
            .str.replace_all(r"\s+", " ").str.strip_chars())


@dataclass
class TokenHashes:
    """Token hashes of many texts, flat: text i is hashes[ptr[i]:ptr[i + 1]]."""

    hashes: np.ndarray  # uint64
    ptr: np.ndarray  # int64, len = texts + 1

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


@numba.njit(cache=True)
def _hash_tokens(buf: np.ndarray, n_texts: int) -> tuple[np.ndarray, np.ndarray]:
    hashes = np.empty(_count_tokens(buf), np.uint64)
    ptr = np.zeros(n_texts + 1, np.int64)
    n, text, h, in_token = 0, 0, _FNV_OFFSET, False
    for i in range(buf.size + 1):
        b = buf[i] if i < buf.size else _NEWLINE
        if b == _SPACE or b == _NEWLINE:  # noqa: SIM109 -- plain compares compile tighter in numba
            if in_token:
                hashes[n] = h
                n += 1
                h, in_token = _FNV_OFFSET, False
            if b == _NEWLINE:
                text += 1
                ptr[text] = n
        else:
            h = (h ^ np.uint64(b)) * _FNV_PRIME
            in_token = True
    return hashes, ptr


def token_hashes(texts: pl.Series) -> TokenHashes:
    """Token hashes of every text (null = empty), chunk by chunk."""
    parts, ptrs, offset = [], [np.zeros(1, np.int64)], 0
    for chunk in chunks(texts):
        clean = chunk.to_frame("t").select(normalized(pl.col("t")))["t"]
        buf = np.frombuffer("\n".join(clean.to_list()).encode("utf-8"), dtype=np.uint8)
        hashes, ptr = _hash_tokens(buf, clean.len())
        parts.append(hashes)
        ptrs.append(ptr[1:] + offset)
        offset += hashes.size
    return TokenHashes(np.concatenate(parts) if parts else np.zeros(0, np.uint64), np.concatenate(ptrs))


def chunks(texts: pl.Series) -> Iterator[pl.Series]:
    for start in range(0, texts.len(), CHUNK_RECORDS):
        yield texts.slice(start, CHUNK_RECORDS)


@numba.njit(cache=True, inline="always")
def gram_hash(hashes: np.ndarray, start: int, n: int) -> np.uint64:
    """Hash of the n tokens from start (order matters)."""
    h = np.uint64(n)
    for j in range(start, start + n):
        h = (h ^ hashes[j]) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return h
