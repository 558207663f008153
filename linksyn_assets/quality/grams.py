"""Token n-grams of many texts for the quality measures, in compiled loops over the flat token hashes of
qc/fingerprints.py (English words and Chinese characters are the units there: a Han character is a token).

Fixed grams (n tokens) serve distinct-n and the seed overlap; long grams are measured per script like the
decontamination grams (the shortest run worth `words` Latin words or `han` Han characters), so a shared
"long n-gram" means the same amount of text in both languages."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from linksyn_assets.qc.fingerprints import TokenHashes, gram_end, gram_hash


@dataclass
class Grams:
    """Gram hashes of many texts, flat: text i is grams[ptr[i]:ptr[i + 1]]."""

    grams: np.ndarray  # uint64
    ptr: np.ndarray  # int64, len = texts + 1

    def text_of(self) -> np.ndarray:
        """The text each gram belongs to."""
        return np.repeat(np.arange(self.ptr.size - 1, dtype=np.int64), np.diff(self.ptr))


@numba.njit(cache=True)
def _runs(hashes: np.ndarray, ptr: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Every run of lo..hi tokens of every text, text by text."""
    texts = ptr.size - 1
    out_ptr = np.zeros(texts + 1, np.int64)
    for t in range(texts):
        length = ptr[t + 1] - ptr[t]
        out_ptr[t + 1] = out_ptr[t] + sum([max(0, length - k + 1) for k in range(lo, hi + 1)])
    out = np.empty(out_ptr[texts], np.uint64)
    for t in range(texts):
        j = out_ptr[t]
        for k in range(lo, hi + 1):
            for start in range(ptr[t], ptr[t + 1] - k + 1):
                out[j] = gram_hash(hashes, start, k)
                j += 1
    return out, out_ptr


def fixed_grams(tokens: TokenHashes, n: int) -> Grams:
    """Every run of n tokens of every text (a text shorter than n has none)."""
    return Grams(*_runs(tokens.hashes, tokens.ptr, n, n))


def grams_up_to(tokens: TokenHashes, n: int) -> Grams:
    """Every run of 1..n tokens of every text: a changed word costs a short text few of its grams."""
    return Grams(*_runs(tokens.hashes, tokens.ptr, 1, n))


@numba.njit(cache=True)
def _long(hashes: np.ndarray, unit: np.ndarray, ptr: np.ndarray, words: int, han: int
          ) -> tuple[np.ndarray, np.ndarray]:
    texts = ptr.size - 1
    out = np.empty(hashes.size, np.uint64)
    out_ptr = np.zeros(texts + 1, np.int64)
    k = 0
    for t in range(texts):
        for start in range(ptr[t], ptr[t + 1]):
            end = gram_end(unit, start, ptr[t + 1], words, han)
            if end < 0:
                break
            out[k] = gram_hash(hashes, start, end - start)
            k += 1
        out_ptr[t + 1] = k
    return out[:k], out_ptr


def long_grams(tokens: TokenHashes, words: int, han: int) -> Grams:
    """From every token, the shortest run worth `words` words or `han` Han characters."""
    grams, ptr = _long(tokens.hashes, tokens.unit, tokens.ptr, words, han)
    return Grams(grams, ptr)


@numba.njit(cache=True)
def _unique_per_text(grams: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.empty(grams.size, np.uint64)
    out_ptr = np.zeros(ptr.size, np.int64)
    k = 0
    for t in range(ptr.size - 1):
        part = np.sort(grams[ptr[t]:ptr[t + 1]])
        for j in range(part.size):
            if j == 0 or part[j] != part[j - 1]:
                out[k] = part[j]
                k += 1
        out_ptr[t + 1] = k
    return out[:k], out_ptr


def gram_sets(grams: Grams) -> Grams:
    """Each text's grams as a sorted set (what Jaccard is taken on)."""
    out, ptr = _unique_per_text(grams.grams, grams.ptr)
    return Grams(out, ptr)
