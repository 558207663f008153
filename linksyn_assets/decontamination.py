"""Benchmark decontamination: does a record contain a benchmark question?

Two tests against every benchmark item (its question and options, tokenized like the records):
- exact: the record shares a token n-gram (13 by default) with an item;
- reworded: the record contains at least `containment` of the item's distinct token trigrams.
  This catches light rewording and short items (most MMLU questions have fewer than 13 words).
  Trigrams found in more than MAX_ITEMS_PER_TRIGRAM items ("which of the following") and items
  with fewer than MIN_TRIGRAMS trigrams left are not used for this test.
Lookups go through a bitmap prefilter, then a binary search of the sorted gram tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .text_fingerprints import TokenHashes, gram_hash

MAX_ITEMS_PER_TRIGRAM = 20
MIN_TRIGRAMS = 4
_BITMAP_BITS = 1 << 26  # 8 MB; a few % of random lookups pass it
EXACT, REWORDED = 1, 2


@numba.njit(cache=True)
def _grams(hashes: np.ndarray, ptr: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every n-gram hash of every text, with its text index."""
    total = 0
    for t in range(ptr.size - 1):
        total += max(0, ptr[t + 1] - ptr[t] - n + 1)
    grams, owner = np.empty(total, np.uint64), np.empty(total, np.int64)
    g = 0
    for t in range(ptr.size - 1):
        for i in range(ptr[t], ptr[t + 1] - n + 1):
            grams[g], owner[g] = gram_hash(hashes, i, n), t
            g += 1
    return grams, owner


def _bitmap(grams: np.ndarray) -> np.ndarray:
    bits = np.zeros(_BITMAP_BITS // 64, np.uint64)
    slot = grams % np.uint64(_BITMAP_BITS)
    np.bitwise_or.at(bits, (slot >> np.uint64(6)).astype(np.int64), np.uint64(1) << (slot & np.uint64(63)))
    return bits


@numba.njit(cache=True, inline="always")
def _maybe(bits: np.ndarray, g: np.uint64) -> bool:
    slot = g % np.uint64(_BITMAP_BITS)
    return (bits[np.int64(slot >> np.uint64(6))] >> (slot & np.uint64(63))) & np.uint64(1) != 0


@dataclass
class BenchmarkIndex:
    n: int
    containment: float
    items: int
    exact_grams: np.ndarray  # sorted unique n-gram hashes
    exact_owner: np.ndarray  # an item holding each
    exact_bits: np.ndarray
    tri_grams: np.ndarray  # sorted trigram hashes (one row per item holding it)
    tri_owner: np.ndarray
    tri_bits: np.ndarray
    tri_count: np.ndarray  # usable trigrams per item (0 = item not used by the reworded test)

    @classmethod
    def build(cls, tokens: TokenHashes, n: int = 13, containment: float = 0.5) -> BenchmarkIndex:
        grams, owner = _grams(tokens.hashes, tokens.ptr, n)
        grams, first = np.unique(grams, return_index=True)
        tri, tri_owner = _grams(tokens.hashes, tokens.ptr, 3)
        pairs = np.unique(np.stack([tri, tri_owner.astype(np.uint64)], axis=1), axis=0)  # distinct per item
        tri, tri_owner = pairs[:, 0], pairs[:, 1].astype(np.int64)
        values, inverse, spread = np.unique(tri, return_inverse=True, return_counts=True)
        usable = spread[inverse] <= MAX_ITEMS_PER_TRIGRAM
        tri, tri_owner = tri[usable], tri_owner[usable]
        count = np.bincount(tri_owner, minlength=tokens.count)
        count[count < MIN_TRIGRAMS] = 0
        keep = count[tri_owner] > 0
        tri, tri_owner = tri[keep], tri_owner[keep]
        return cls(n, containment, tokens.count, grams, owner[first], _bitmap(grams), tri, tri_owner,
                   _bitmap(tri), count)


@dataclass
class Contamination:
    item: np.ndarray  # matched benchmark item per record, -1 = clean
    kind: np.ndarray  # EXACT, REWORDED or 0
    score: np.ndarray  # containment of the matched item's trigrams (1.0 for an exact n-gram hit)


@numba.njit(cache=True, parallel=True)
def _check(hashes: np.ndarray, ptr: np.ndarray, n: int, containment: float, exact: np.ndarray,
           exact_owner: np.ndarray, exact_bits: np.ndarray, tri: np.ndarray, tri_owner: np.ndarray,
           tri_bits: np.ndarray, tri_count: np.ndarray, item: np.ndarray, kind: np.ndarray,
           score: np.ndarray) -> None:
    for t in numba.prange(ptr.size - 1):
        lo, hi = ptr[t], ptr[t + 1]
        found = False
        for i in range(lo, hi - n + 1):
            g = gram_hash(hashes, i, n)
            if _maybe(exact_bits, g):
                at = np.searchsorted(exact, g)
                if at < exact.size and exact[at] == g:
                    item[t], kind[t], score[t] = exact_owner[at], 1, 1.0
                    found = True
                    break
        if found or hi - lo < 3:
            continue
        seen = np.empty(hi - lo - 2, np.uint64)
        m = 0
        for i in range(lo, hi - 2):
            g = gram_hash(hashes, i, 3)
            if _maybe(tri_bits, g):
                seen[m] = g
                m += 1
        if m == 0:
            continue
        grams = np.unique(seen[:m])
        owners = np.empty(0, np.int64)
        for g in grams:
            at = np.searchsorted(tri, g)
            end = at
            while end < tri.size and tri[end] == g:
                end += 1
            if end > at:
                owners = np.concatenate((owners, tri_owner[at:end]))
        if owners.size == 0:
            continue
        owners.sort()
        best, best_item, run = 0.0, -1, 1
        for j in range(1, owners.size + 1):
            if j < owners.size and owners[j] == owners[j - 1]:
                run += 1
                continue
            share = run / tri_count[owners[j - 1]]
            if share > best:
                best, best_item = share, owners[j - 1]
            run = 1
        if best >= containment:
            item[t], kind[t], score[t] = best_item, 2, best


def check(index: BenchmarkIndex, tokens: TokenHashes) -> Contamination:
    n = tokens.count
    out = Contamination(np.full(n, -1, np.int64), np.zeros(n, np.int8), np.zeros(n))
    _check(tokens.hashes, tokens.ptr, index.n, index.containment, index.exact_grams, index.exact_owner,
           index.exact_bits, index.tri_grams, index.tri_owner, index.tri_bits, index.tri_count,
           out.item, out.kind, out.score)
    return out
