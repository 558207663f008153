"""Near-duplicate clusters with MinHash and LSH (banding), in compiled loops.

Shingles are word bigrams for Latin text and single characters for Han text (SHINGLE_HAN_CHARS; see
text_fingerprints for mixed text): a changed Han character then breaks one shingle, not two, so a
Chinese question with 1-3 characters changed stays above the threshold (measured in
bench/qc_bench.py), and the option order does not matter (options are sorted before shingling).
MinHash: SIGNATURE_SIZE hash functions, 32 bits each; Jaccard is estimated as the share of equal
signature entries. LSH: BANDS bands of ROWS entries; per band the texts are sorted by the band's
key, and within a run of equal keys each text is checked against the run's first text and its
predecessor. A checked pair whose estimated Jaccard reaches the pair's threshold (the stricter of
the two texts' thresholds: Chinese text has its own, see text_dedup) is joined (union-find); each
cluster keeps its first text in input order. With 32 x 4, a pair at Jaccard 0.7 becomes a candidate
with probability 0.9998, at 0.6 with 0.97, at 0.3 with 0.23 (a candidate is only checked, never
joined below its threshold). 16 x 8 gave 0.61 at 0.7: it lost Chinese near-duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from linksyn_assets.qc.fingerprints import TokenHashes, gram_end, gram_hash
from linksyn_assets.walks.rng_streams import mix

BANDS, ROWS = 32, 4
SHINGLE_WORDS, SHINGLE_HAN_CHARS = 2, 1
SIGNATURE_SIZE = BANDS * ROWS
EMPTY_SIGNATURE = np.uint32(0xFFFFFFFF)


def _hash_params(seed: int = 20250801) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, SIGNATURE_SIZE, dtype=np.uint64) | np.uint64(1)  # odd multipliers
    return a, rng.integers(0, 2**63, SIGNATURE_SIZE, dtype=np.uint64)


_A, _B = _hash_params()


@numba.njit(cache=True, inline="always")
def _update(sig: np.ndarray, t: int, s: np.uint64, a: np.ndarray, b: np.ndarray) -> None:
    for k in range(a.size):
        v = np.uint32((s * a[k] + b[k]) >> np.uint64(32))
        if v < sig[t, k]:
            sig[t, k] = v


@numba.njit(cache=True, parallel=True)
def _signatures(hashes: np.ndarray, unit: np.ndarray, ptr: np.ndarray, a: np.ndarray, b: np.ndarray,
                words: int, han_chars: int) -> np.ndarray:
    n = ptr.size - 1
    sig = np.full((n, a.size), EMPTY_SIGNATURE, np.uint32)
    for t in numba.prange(n):
        lo, hi = ptr[t], ptr[t + 1]
        shingles = 0
        for i in range(lo, hi):
            end = gram_end(unit, i, hi, words, han_chars)
            if end < 0:
                break
            _update(sig, t, mix(gram_hash(hashes, i, end - i)), a, b)
            shingles += 1
        if shingles == 0 and hi > lo:  # shorter than one shingle: the whole text is its only shingle
            _update(sig, t, mix(gram_hash(hashes, lo, hi - lo)), a, b)
    return sig


def signatures(tokens: TokenHashes) -> np.ndarray:
    """(texts, SIGNATURE_SIZE) uint32 MinHash signatures; an empty text has all entries 0xFFFFFFFF."""
    return _signatures(tokens.hashes, tokens.unit, tokens.ptr, _A, _B, SHINGLE_WORDS, SHINGLE_HAN_CHARS)


@numba.njit(cache=True)
def _band_keys(sig: np.ndarray, band: int) -> np.ndarray:
    keys = np.empty(sig.shape[0], np.uint64)
    for t in range(sig.shape[0]):
        h = np.uint64(band + 1)
        for k in range(band * ROWS, (band + 1) * ROWS):
            h = mix(h ^ np.uint64(sig[t, k]))
        keys[t] = h
    return keys


@numba.njit(cache=True, inline="always")
def similarity(sig: np.ndarray, i: int, j: int) -> float:
    same = 0
    for k in range(sig.shape[1]):
        same += sig[i, k] == sig[j, k]
    return same / sig.shape[1]


@numba.njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True)
def _join_band(sig: np.ndarray, order: np.ndarray, keys: np.ndarray, empty: np.ndarray, thresholds: np.ndarray,
               parent: np.ndarray) -> int:
    checked = 0
    head = 0
    for r in range(1, order.size):
        i, prev = order[r], order[r - 1]
        if keys[i] != keys[prev]:
            head = r
            continue
        if empty[i]:
            continue
        for j in (order[head], prev):
            checked += 1
            if similarity(sig, i, j) >= max(thresholds[i], thresholds[j]):
                a, b = _find(parent, i), _find(parent, j)
                if a != b:  # the smaller index (earlier text) becomes the root: it is the one kept
                    parent[max(a, b)] = min(a, b)
    return checked


@dataclass
class DuplicateClusters:
    keep_of: np.ndarray  # per text: the index of its cluster's kept text (itself if kept)
    similarity: np.ndarray  # estimated Jaccard with the kept text (1.0 for kept texts)
    pairs_checked: int

    @property
    def duplicate(self) -> np.ndarray:
        return self.keep_of != np.arange(self.keep_of.size)


def near_duplicates(sig: np.ndarray, threshold: float | np.ndarray) -> DuplicateClusters:
    """Clusters of texts whose estimated Jaccard reaches threshold (one, or one per text; a pair uses the
    stricter of its two); empty texts never cluster."""
    n = sig.shape[0]
    thresholds = np.broadcast_to(np.asarray(threshold, np.float64), (n,)).copy()
    parent = np.arange(n, dtype=np.int64)
    empty = sig[:, 0] == EMPTY_SIGNATURE  # any shingle sets every entry below 0xFFFFFFFF (or ties it, 2^-32)
    checked = 0
    for band in range(BANDS):
        keys = _band_keys(sig, band)
        order = np.argsort(keys, kind="stable")
        checked += _join_band(sig, order, keys, empty, thresholds, parent)
    keep_of = _roots(parent)
    return DuplicateClusters(keep_of, _similarities(sig, keep_of), checked)


@numba.njit(cache=True)
def _roots(parent: np.ndarray) -> np.ndarray:
    out = np.empty(parent.size, np.int64)
    for i in range(parent.size):
        out[i] = _find(parent, i)
    return out


@numba.njit(cache=True)
def _similarities(sig: np.ndarray, keep_of: np.ndarray) -> np.ndarray:
    out = np.ones(keep_of.size)
    for i in range(keep_of.size):
        if keep_of[i] != i:
            out[i] = similarity(sig, i, keep_of[i])
    return out
