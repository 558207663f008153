"""How new each question is: its highest overlap (Jaccard of the sets of its tokens and token pairs: English
words and word pairs, Chinese characters and character pairs) with the seeds it was written from, and with any
seed.

"Any seed" uses an inverted index (a hash table) over the seeds' grams: the seeds sharing a gram that at most
`MAX_POSTING` seeds have are the candidates, the `CANDIDATES` sharing most of them are compared exactly. A seed
that shares no such gram with a question has a low overlap with it (every gram it shares is common), so the
maximum is exact wherever it matters (near the paraphrase threshold and above); the question's own seeds are
always compared exactly and count as seeds too."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from linksyn_assets.qc.near_duplicates import sorted_shared
from linksyn_assets.quality.grams import Grams

MAX_POSTING = 64
CANDIDATES = 8


@numba.njit(cache=True, inline="always")
def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    shared = sorted_shared(a, b)
    union = a.size + b.size - shared
    return shared / union if union else 0.0


@numba.njit(cache=True)
def _own(rows: np.ndarray, rptr: np.ndarray, seeds: np.ndarray, sptr: np.ndarray, links: np.ndarray,
         lptr: np.ndarray) -> np.ndarray:
    out = np.zeros(rptr.size - 1)
    for r in range(rptr.size - 1):
        mine = rows[rptr[r]:rptr[r + 1]]
        for k in range(lptr[r], lptr[r + 1]):
            s = links[k]
            if s >= 0:
                out[r] = max(out[r], _jaccard(mine, seeds[sptr[s]:sptr[s + 1]]))
    return out


def own_seed_overlap(rows: Grams, seeds: Grams, links: np.ndarray, lptr: np.ndarray) -> np.ndarray:
    """Per row, the highest overlap with its own seeds: row r's seeds are links[lptr[r]:lptr[r + 1]] (indexes
    into `seeds`; -1 for a seed not found, which counts 0)."""
    return _own(rows.grams, rows.ptr, seeds.grams, seeds.ptr, links, lptr)


_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True)
def _table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An open-addressing hash table of distinct keys: slot -> key, slot -> the key's index (-1: empty)."""
    size = 1
    while size < 2 * keys.size + 2:
        size *= 2
    slot_key = np.full(size, _EMPTY, np.uint64)
    slot_at = np.full(size, -1, np.int64)
    mask = np.uint64(size - 1)
    for i in range(keys.size):
        h = (keys[i] * _MIX) >> np.uint64(20) & mask
        while slot_at[h] >= 0:
            h = (h + np.uint64(1)) & mask
        slot_key[h] = keys[i]
        slot_at[h] = i
    return slot_key, slot_at


@numba.njit(cache=True)
def _any(rows: np.ndarray, rptr: np.ndarray, seeds: np.ndarray, sptr: np.ndarray, slot_key: np.ndarray,
         slot_at: np.ndarray, post_ptr: np.ndarray, post_seed: np.ndarray, floor: np.ndarray) -> np.ndarray:
    # a gram found at slot h has its seeds in post_seed[post_ptr[i]:post_ptr[i + 1]], i = slot_at[h]
    n_seeds = sptr.size - 1
    count = np.zeros(n_seeds, np.int32)
    touched = np.empty(n_seeds, np.int64)
    best_s = np.full(CANDIDATES, -1, np.int64)
    best_c = np.zeros(CANDIDATES, np.int32)
    out = floor.copy()
    mask = np.uint64(slot_key.size - 1)
    for r in range(rptr.size - 1):
        mine = rows[rptr[r]:rptr[r + 1]]
        n_touched = 0
        for g in mine:
            h = (g * _MIX) >> np.uint64(20) & mask
            while slot_at[h] >= 0 and slot_key[h] != g:
                h = (h + np.uint64(1)) & mask
            i = slot_at[h]
            if i < 0:
                continue
            for k in range(post_ptr[i], post_ptr[i + 1]):
                s = post_seed[k]
                if count[s] == 0:
                    touched[n_touched] = s
                    n_touched += 1
                count[s] += 1
        # the few seeds sharing most rare grams (one pass keeps the best CANDIDATES), compared exactly
        best_s[:] = -1
        best_c[:] = 0
        low = 0  # the slot of the weakest candidate kept
        for k in range(n_touched):
            s = touched[k]
            c = count[s]
            count[s] = 0
            if c > best_c[low]:
                best_s[low], best_c[low] = s, c
                for j in range(CANDIDATES):
                    if best_c[j] < best_c[low]:
                        low = j
        for j in range(CANDIDATES):
            s = best_s[j]
            if s >= 0:
                out[r] = max(out[r], _jaccard(mine, seeds[sptr[s]:sptr[s + 1]]))
    return out


@dataclass
class SeedIndex:
    """The seeds' gram sets and the inverted index over their rare grams, built once for many rows."""

    sets: Grams
    slot_key: np.ndarray
    slot_at: np.ndarray
    post_ptr: np.ndarray
    post_seed: np.ndarray


def seed_index(seeds: Grams) -> SeedIndex:
    order = np.argsort(seeds.grams, kind="stable")
    grams, seed_of = seeds.grams[order], seeds.text_of()[order]
    # postings of the grams at most MAX_POSTING seeds have (common ones find no paraphrase)
    starts = np.flatnonzero(np.concatenate([[True], grams[1:] != grams[:-1]])) if grams.size else np.zeros(0, int)
    lengths = np.diff(np.concatenate([starts, [grams.size]])).astype(np.int64)
    rare = lengths <= MAX_POSTING
    post_ptr = np.concatenate([[0], np.cumsum(lengths[rare])]).astype(np.int64)
    slot_key, slot_at = _table(grams[starts[rare]])
    return SeedIndex(seeds, slot_key, slot_at, post_ptr, seed_of[np.repeat(rare, lengths)])


def any_seed_overlap(rows: Grams, seeds: Grams | SeedIndex, own: np.ndarray) -> np.ndarray:
    """Per row, the highest overlap with any seed (at least `own`, its own seeds' highest)."""
    index = seeds if isinstance(seeds, SeedIndex) else seed_index(seeds)
    return _any(rows.grams, rows.ptr, index.sets.grams, index.sets.ptr, index.slot_key, index.slot_at,
                index.post_ptr, index.post_seed, own.astype(np.float64))


def histogram(overlap: np.ndarray, bins: int = 10) -> list[int]:
    """Rows per overlap bin [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]."""
    return np.bincount(np.minimum((overlap * bins).astype(np.int64), bins - 1), minlength=bins).tolist()
