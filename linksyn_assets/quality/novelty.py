"""How new each question is: its highest overlap (Jaccard of token-bigram sets: English word pairs, Chinese
character pairs) with the seeds it was written from, and with any seed.

"Any seed" uses an inverted index over the seeds' bigrams: the seeds sharing a bigram that at most
`MAX_POSTING` seeds have are the candidates, the `CANDIDATES` sharing most of them are compared exactly. A seed
that shares no such bigram with a question has a low overlap with it (every bigram it shares is common), so the
maximum is exact wherever it matters (near the paraphrase threshold and above); the question's own seeds are
always compared exactly and count as seeds too."""

from __future__ import annotations

import numba
import numpy as np

from linksyn_assets.quality.grams import Grams

MAX_POSTING = 64
CANDIDATES = 8


@numba.njit(cache=True, inline="always")
def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    i = j = shared = 0
    while i < a.size and j < b.size:
        if a[i] == b[j]:
            shared += 1
            i += 1
            j += 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
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


@numba.njit(cache=True)
def _any(rows: np.ndarray, rptr: np.ndarray, seeds: np.ndarray, sptr: np.ndarray, post_gram: np.ndarray,
         post_seed: np.ndarray, floor: np.ndarray) -> np.ndarray:
    n_seeds = sptr.size - 1
    count = np.zeros(n_seeds, np.int32)
    touched = np.empty(n_seeds, np.int64)
    out = floor.copy()
    for r in range(rptr.size - 1):
        mine = rows[rptr[r]:rptr[r + 1]]
        n_touched = 0
        for g in mine:
            lo = np.searchsorted(post_gram, g)
            hi = np.searchsorted(post_gram, g, side="right")
            if hi - lo == 0 or hi - lo > MAX_POSTING:
                continue
            for k in range(lo, hi):
                s = post_seed[k]
                if count[s] == 0:
                    touched[n_touched] = s
                    n_touched += 1
                count[s] += 1
        # the few seeds sharing most rare bigrams, compared exactly
        for _ in range(min(CANDIDATES, n_touched)):
            best, best_k = -1, -1
            for k in range(n_touched):
                s = touched[k]
                if s >= 0 and count[s] > best:
                    best, best_k = count[s], k
            s = touched[best_k]
            out[r] = max(out[r], _jaccard(mine, seeds[sptr[s]:sptr[s + 1]]))
            count[s] = 0
            touched[best_k] = -1
        for k in range(n_touched):
            if touched[k] >= 0:
                count[touched[k]] = 0
    return out


def any_seed_overlap(rows: Grams, seeds: Grams, own: np.ndarray) -> np.ndarray:
    """Per row, the highest overlap with any seed (at least `own`, its own seeds' highest)."""
    seed_of = seeds.text_of()
    order = np.argsort(seeds.grams, kind="stable")
    return _any(rows.grams, rows.ptr, seeds.grams, seeds.ptr, seeds.grams[order], seed_of[order],
                own.astype(np.float64))


def histogram(overlap: np.ndarray, bins: int = 10) -> list[int]:
    """Rows per overlap bin [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]."""
    return np.bincount(np.minimum((overlap * bins).astype(np.int64), bins - 1), minlength=bins).tolist()
