"""Near-duplicates: every removed text is, on its exact shingle set, within the threshold of the one text it
is removed for (its representative, kept); nothing is joined through a chain of texts.

Shingles (qc/shingles.py) are trigrams of symbols: a Latin word is spelled out letter by letter (a typo breaks
three shingles, not the word's two bigrams), and a Han character, a number, a LaTeX command or an operator is
one symbol each, so `\\sin 30` and `\\sin 135` differ where they differ. MinHash (SIGNATURE_SIZE 32-bit hashes)
over token bigrams and LSH (BANDS bands of ROWS) only propose candidates (token bigrams keep LSH selective:
any two English texts share letter trigrams by the hundred): per band the texts are sorted by band key, and
in a run of equal keys each text is checked against the run's first text and its WINDOW predecessors. A
candidate pair is a duplicate when, on the exact shingle sets:
- Jaccard >= the pair's threshold (the stricter of the two texts': Chinese text can have its own),
- at most MAX_CHANGED_SHINGLES shingles differ (the symmetric difference; a changed character changes at most
  six): a near-copy differs by a few edits, while two questions that share a long passage differ by a whole
  question and its options, however high their Jaccard;
- their formula tokens are the same, counted (numbers, LaTeX commands, operators: `Compute \\sin 30` is not
  a near-copy of `Compute \\sin 135`).
Texts are then taken in input order: a text is removed for the most similar earlier text that is kept, or kept
(leader clustering; the first text of a cluster is the one kept). With 32 x 4, a pair whose token-bigram
Jaccard is 0.45 becomes a candidate with probability 0.74, at 0.6 with 0.988, at 0.7 with 0.9998 (a typo
breaks two token bigrams; bench/qc_bench.py measures recall on planted near-copies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from linksyn_assets.qc.shingles import NormalizedTexts, chunk_signatures, shingle_sets
from linksyn_assets.walks.rng_streams import mix

BANDS, ROWS = 32, 4
SIGNATURE_SIZE = BANDS * ROWS
WINDOW = 8
MAX_CHANGED_SHINGLES = 24
EMPTY_SIGNATURE = np.uint32(0xFFFFFFFF)


def _hash_params(seed: int = 20250801) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, SIGNATURE_SIZE, dtype=np.uint64) | np.uint64(1)  # odd multipliers
    return a, rng.integers(0, 2**63, SIGNATURE_SIZE, dtype=np.uint64)


_A, _B = _hash_params()


def signatures(texts: NormalizedTexts) -> np.ndarray:
    """(texts, SIGNATURE_SIZE) uint32 MinHash signatures; an empty text has all entries 0xFFFFFFFF."""
    parts = [chunk_signatures(buf, bounds, _A, _B) for buf, bounds in zip(texts.buffers, texts.bounds, strict=True)]
    return np.concatenate(parts) if parts else np.zeros((0, SIGNATURE_SIZE), np.uint32)


@numba.njit(cache=True)
def _band_keys(sig: np.ndarray, band: int) -> np.ndarray:
    keys = np.empty(sig.shape[0], np.uint64)
    for t in range(sig.shape[0]):
        h = np.uint64(band + 1)
        for k in range(band * ROWS, (band + 1) * ROWS):
            h = mix(h ^ np.uint64(sig[t, k]))
        keys[t] = h
    return keys


@numba.njit(cache=True)
def _band_candidates(order: np.ndarray, keys: np.ndarray, active: np.ndarray, formulas: np.ndarray, window: int,
                     out: np.ndarray) -> int:
    """Candidate pairs of one band as later * n + earlier into out: each text with its run's first text and
    its `window` predecessors in the run. Returns how many, or -1 when out is full."""
    n = order.size
    written, head = 0, 0
    for r in range(n):
        if r > 0 and keys[order[r]] != keys[order[r - 1]]:
            head = r
        i = order[r]
        if r == head or not active[i]:
            continue
        for q in range(max(head, r - window), r):
            j = order[q]
            if not active[j] or formulas[i] != formulas[j]:
                continue
            if written == out.size:
                return -1
            out[written] = max(i, j) * n + min(i, j)
            written += 1
        if r - window > head:  # the run's first text is outside the window: check it too
            j = order[head]
            if active[j] and formulas[i] == formulas[j]:
                if written == out.size:
                    return -1
                out[written] = max(i, j) * n + min(i, j)
                written += 1
    return written


@numba.njit(cache=True, inline="always")
def sorted_shared(a: np.ndarray, b: np.ndarray) -> int:
    """How many values two sorted arrays of distinct values share."""
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
    return shared


@numba.njit(cache=True)
def _overlap(shingles: np.ndarray, ptr: np.ndarray, i: int, j: int) -> tuple[int, int]:
    """(shared, union) sizes of two sorted, distinct shingle arrays."""
    shared = sorted_shared(shingles[ptr[i]:ptr[i + 1]], shingles[ptr[j]:ptr[j + 1]])
    return shared, (ptr[i + 1] - ptr[i]) + (ptr[j + 1] - ptr[j]) - shared


@numba.njit(cache=True)
def _verify(later: np.ndarray, earlier: np.ndarray, pos_later: np.ndarray, pos_earlier: np.ndarray,
            shingles: np.ndarray, ptr: np.ndarray, thresholds: np.ndarray, max_changed: int) -> np.ndarray:
    """Exact Jaccard per candidate pair, or -1 where the pair is not a duplicate."""
    out = np.full(later.size, -1.0)
    for e in range(later.size):
        shared, union = _overlap(shingles, ptr, pos_later[e], pos_earlier[e])
        sim = shared / union if union else 1.0
        if union - shared <= max_changed and sim >= max(thresholds[later[e]], thresholds[earlier[e]]):
            out[e] = sim
    return out


@numba.njit(cache=True)
def _leaders(n: int, edge_i: np.ndarray, edge_j: np.ndarray, edge_sim: np.ndarray,
             fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges sorted by their later text: each text is removed for its most similar earlier text that is kept;
    a fixed text (already in the dataset) is kept."""
    keep_of = np.arange(n)
    similarity = np.ones(n)
    e = 0
    for i in range(n):
        best, best_sim = -1, -1.0
        if fixed[i]:
            while e < edge_i.size and edge_i[e] == i:
                e += 1
            continue
        while e < edge_i.size and edge_i[e] == i:
            j = edge_j[e]
            if keep_of[j] == j and (edge_sim[e] > best_sim or (edge_sim[e] == best_sim and j < best)):
                best, best_sim = j, edge_sim[e]
            e += 1
        if best >= 0:
            keep_of[i], similarity[i] = best, best_sim
    return keep_of, similarity


def band_keys(texts: NormalizedTexts) -> np.ndarray:
    """(texts, BANDS) uint32 LSH band keys (the low half of each band's hash): what a persistent index keeps
    per row to find a new text's candidates among rows checked before."""
    sig = signatures(texts)
    out = np.empty((texts.count, BANDS), np.uint32)
    for band in range(BANDS):
        out[:, band] = _band_keys(sig, band).astype(np.uint32)
    return out


@dataclass
class DuplicateClusters:
    keep_of: np.ndarray  # per text: the index of the kept text it is removed for (itself if kept)
    similarity: np.ndarray  # exact shingle Jaccard with that text (1.0 for kept texts)
    pairs_checked: int

    @property
    def duplicate(self) -> np.ndarray:
        return self.keep_of != np.arange(self.keep_of.size)


def candidate_pairs(texts: NormalizedTexts, active: np.ndarray) -> np.ndarray:
    """Distinct candidate pairs (later * n + earlier) from the LSH bands, formula keys equal."""
    n = texts.count
    sig = signatures(texts)
    parts, buffer = [], np.empty(max(1024, n), np.int64)
    for band in range(BANDS):
        keys = _band_keys(sig, band)
        order = np.argsort(keys, kind="stable")
        while (written := _band_candidates(order, keys, active, texts.formulas, WINDOW, buffer)) < 0:
            buffer = np.empty(buffer.size * 4, np.int64)
        parts.append(np.unique(buffer[:written]))
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def near_duplicates(texts: NormalizedTexts, threshold: float | np.ndarray, skip: np.ndarray | None = None,
                    max_changed: int = MAX_CHANGED_SHINGLES, fixed: np.ndarray | None = None) -> DuplicateClusters:
    """Near-duplicates of the texts (see the module docstring); threshold is one Jaccard or one per text;
    texts where skip is True, and empty texts, take no part; texts where fixed is True (rows already in the
    dataset, placed first) are kept and may be what a later text is removed for."""
    n = texts.count
    thresholds = np.broadcast_to(np.asarray(threshold, np.float64), (n,)).copy()
    active = texts.lengths() > 0
    if skip is not None:
        active &= ~skip
    pairs = candidate_pairs(texts, active)
    later, earlier = pairs // max(n, 1), pairs % max(n, 1)
    needed = np.unique(np.concatenate([later, earlier]))
    sets = shingle_sets(texts, needed)
    sims = _verify(later, earlier, np.searchsorted(needed, later), np.searchsorted(needed, earlier),
                   sets.shingles, sets.ptr, thresholds, max_changed)
    keep = sims >= 0
    later, earlier, sims = later[keep], earlier[keep], sims[keep]
    by_later = np.argsort(later, kind="stable")
    keep_of, similarity = _leaders(n, later[by_later], earlier[by_later], sims[by_later],
                                   np.zeros(n, np.bool_) if fixed is None else fixed)
    return DuplicateClusters(keep_of, similarity, int(pairs.size))
