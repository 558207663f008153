"""Benchmark decontamination: does a record contain a benchmark question?

Two tests against every benchmark item (its question and options, tokenized like the records):
- exact: the record shares an n-gram (n words, or 2n Han characters: 13 / 26 by default) with an item,
  and at least EXACT_MIN_SHARE of the item's trigrams. N-grams held by more than MAX_ITEMS_PER_EXACT
  items are templates ("Which of the given formulas of PL is the best symbolization of the following
  sentence?") and are not used; the share keeps an instruction sentence that several exam items
  repeat ("下列对材料相关内容的理解和分析,不正确的一项是") from flagging another question.
- reworded: the record contains at least `containment` of the item's distinct trigrams (3 words, or
  TRI_HAN_CHARS Han characters), and at least MIN_MATCHED_TRIGRAMS of them. This catches light
  rewording and short items (most MMLU questions have fewer than 13 words). Each trigram weighs
  1 / the number of items that hold it, so an option set that every "充分不必要条件" question shares
  counts for little and the item's own words for much; trigrams held by more than
  MAX_ITEMS_PER_TRIGRAM items ("which of the following", "下列说法正确") and items with fewer than
  MIN_TRIGRAMS trigrams left are not used.
Gram lengths per script are explained in text_fingerprints; the Han lengths were chosen on real exam
questions in bench/qc_bench.py (a Han 3-gram is three characters, and half of a short stem's
character trigrams match a different question by chance).
Lookups go through a bitmap prefilter, then a binary search of the sorted gram tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from linksyn_assets.qc.fingerprints import TokenHashes, gram_end, gram_hash

MAX_ITEMS_PER_TRIGRAM = 20
MAX_ITEMS_PER_EXACT = 1
MIN_TRIGRAMS = 4
MIN_MATCHED_TRIGRAMS = 4  # "which of the following best describes a ..." shares 3 with many texts
EXACT_MIN_SHARE = 0.25  # a long shared n-gram counts with a quarter of the item's trigrams (templates don't)
_MAX_EXACT_HITS = 8
TRI_WORDS, TRI_HAN_CHARS = 3, 5
HAN_CHARS_PER_WORD = 2  # the exact n-gram: n words or 2n Han characters
_BITMAP_BITS = 1 << 26  # 8 MB; a few % of random lookups pass it
EXACT, REWORDED = 1, 2


@numba.njit(cache=True)
def _grams(hashes: np.ndarray, unit: np.ndarray, ptr: np.ndarray, words: int,
           han_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Every gram hash of every text (see gram_end), with its text index."""
    grams, owner = np.empty(hashes.size, np.uint64), np.empty(hashes.size, np.int64)
    g = 0
    for t in range(ptr.size - 1):
        for i in range(ptr[t], ptr[t + 1]):
            end = gram_end(unit, i, ptr[t + 1], words, han_chars)
            if end < 0:
                break
            grams[g], owner[g] = gram_hash(hashes, i, end - i), t
            g += 1
    return grams[:g], owner[:g]


def _spread(grams: np.ndarray, owner: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per (gram, owner) row: how many distinct items (groups) hold the gram."""
    if grams.size == 0:
        return np.zeros(0, np.int64)
    pairs = np.unique(np.stack([grams, groups[owner].astype(np.uint64)], axis=1), axis=0)
    values, spread = np.unique(pairs[:, 0], return_counts=True)
    return spread[np.searchsorted(values, grams)]


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
    tri_weight: np.ndarray  # 1 / the number of items holding the trigram: what it says about one item
    tri_bits: np.ndarray
    tri_total: np.ndarray  # summed weight of each text's usable trigrams (0 = not used by the reworded test)
    groups: np.ndarray  # the benchmark item of each indexed text

    @classmethod
    def build(cls, tokens: TokenHashes, n: int = 13, containment: float = 0.5,
              groups: np.ndarray | None = None) -> BenchmarkIndex:
        """groups: the benchmark item of each text (an item may be indexed as several texts)."""
        groups = np.arange(tokens.count) if groups is None else groups
        grams, owner = _grams(tokens.hashes, tokens.unit, tokens.ptr, n, HAN_CHARS_PER_WORD * n)
        keep_exact = _spread(grams, owner, groups) <= MAX_ITEMS_PER_EXACT
        grams, owner = grams[keep_exact], owner[keep_exact]
        grams, first = np.unique(grams, return_index=True)
        tri, tri_owner = _grams(tokens.hashes, tokens.unit, tokens.ptr, TRI_WORDS, TRI_HAN_CHARS)
        pairs = np.unique(np.stack([tri, tri_owner.astype(np.uint64)], axis=1), axis=0)  # distinct per text
        tri, tri_owner = pairs[:, 0], pairs[:, 1].astype(np.int64)
        spread = _spread(tri, tri_owner, groups)
        usable = spread <= MAX_ITEMS_PER_TRIGRAM
        tri, tri_owner, spread = tri[usable], tri_owner[usable], spread[usable]
        count = np.bincount(tri_owner, minlength=tokens.count)
        keep = count[tri_owner] >= MIN_TRIGRAMS
        tri, tri_owner, weight = tri[keep], tri_owner[keep], 1.0 / spread[keep]
        total = np.bincount(tri_owner, weights=weight, minlength=tokens.count)
        return cls(n, containment, tokens.count, grams, owner[first], _bitmap(grams), tri,
                   tri_owner, weight, _bitmap(tri), total, groups.astype(np.int64))


@dataclass
class Contamination:
    item: np.ndarray  # matched benchmark item per record, -1 = clean
    kind: np.ndarray  # EXACT, REWORDED or 0
    score: np.ndarray  # weighted share of the matched item's trigrams found in the record


@numba.njit(cache=True, parallel=True)
def _check(hashes: np.ndarray, unit: np.ndarray, ptr: np.ndarray, n: int, containment: float, exact: np.ndarray,
           exact_owner: np.ndarray, exact_bits: np.ndarray, tri: np.ndarray, tri_owner: np.ndarray,
           tri_weight: np.ndarray, tri_bits: np.ndarray, tri_total: np.ndarray, groups: np.ndarray,
           item: np.ndarray, kind: np.ndarray, score: np.ndarray) -> None:
    for t in numba.prange(ptr.size - 1):
        lo, hi = ptr[t], ptr[t + 1]
        if hi <= lo:
            continue
        hit_groups = np.full(_MAX_EXACT_HITS, -1, np.int64)
        hits = 0
        for i in range(lo, hi):
            end = gram_end(unit, i, hi, n, HAN_CHARS_PER_WORD * n)
            if end < 0 or hits == _MAX_EXACT_HITS:
                break
            g = gram_hash(hashes, i, end - i)
            if _maybe(exact_bits, g):
                at = np.searchsorted(exact, g)
                if at < exact.size and exact[at] == g:
                    group = groups[exact_owner[at]]
                    if group not in hit_groups[:hits]:
                        hit_groups[hits] = group
                        hits += 1
        seen = np.empty(hi - lo, np.uint64)
        m = 0
        for i in range(lo, hi):
            end = gram_end(unit, i, hi, TRI_WORDS, TRI_HAN_CHARS)
            if end < 0:
                break
            g = gram_hash(hashes, i, end - i)
            if _maybe(tri_bits, g):
                seen[m] = g
                m += 1
        if m == 0:
            continue
        grams = np.unique(seen[:m])
        rows = np.empty(0, np.int64)
        for g in grams:
            at = np.searchsorted(tri, g)
            end = at
            while end < tri.size and tri[end] == g:
                end += 1
            if end > at:
                rows = np.concatenate((rows, np.arange(at, end)))
        if rows.size == 0:
            continue
        owners = tri_owner[rows]
        order = np.argsort(owners, kind="mergesort")
        owners, weights = owners[order], tri_weight[rows[order]]
        best, best_item, run, mass = 0.0, -1, 1, weights[0]
        exact_share, exact_item = 0.0, -1
        for j in range(1, owners.size + 1):
            if j < owners.size and owners[j] == owners[j - 1]:
                run += 1
                mass += weights[j]
                continue
            owner = owners[j - 1]
            share = mass / tri_total[owner]
            if share > best and run >= MIN_MATCHED_TRIGRAMS:
                best, best_item = share, owner
            if hits and share > exact_share and groups[owner] in hit_groups[:hits]:
                exact_share, exact_item = share, owner
            if j < owners.size:
                run, mass = 1, weights[j]
        if exact_share >= EXACT_MIN_SHARE:
            item[t], kind[t], score[t] = exact_item, EXACT, exact_share
        elif best >= containment:
            item[t], kind[t], score[t] = best_item, REWORDED, best


def check(index: BenchmarkIndex, tokens: TokenHashes) -> Contamination:
    n = tokens.count
    out = Contamination(np.full(n, -1, np.int64), np.zeros(n, np.int8), np.zeros(n))
    _check(tokens.hashes, tokens.unit, tokens.ptr, index.n, index.containment,
           index.exact_grams, index.exact_owner,
           index.exact_bits, index.tri_grams, index.tri_owner, index.tri_weight, index.tri_bits, index.tri_total,
           index.groups,
           out.item, out.kind, out.score)
    return out
