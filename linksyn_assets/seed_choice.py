"""Seeds along a path, for a batch of paths (compiled with numba).

Per path: the candidates of each KP are the seeds that carry it (at most `per_kp` of them, a
window at a random offset, so a KP carried by 40k seeds costs the same as one carried by 16).
Seeds are ranked by how many path KPs they carry (more first), then by |difficulty - target|
(unknown difficulty counts as UNKNOWN_DIFFICULTY_GAP), then by a random tie-break. The KPs take
turns in path order, each taking its best-ranked seed not yet chosen, until k seeds are chosen or
no KP has one left.
"""

from __future__ import annotations

import numba
import numpy as np

from .rng_streams import seed_streams, uniform
from .walk_graph import UNKNOWN_DIFFICULTY, WalkGraph

UNKNOWN_DIFFICULTY_GAP = 2  # |difficulty - target| assumed for unannotated seeds


@numba.njit(cache=True, parallel=True)
def _choose(seed_ptr: np.ndarray, seed_index: np.ndarray, seed_difficulty: np.ndarray, paths: np.ndarray,
            lengths: np.ndarray, targets: np.ndarray, k: np.ndarray, per_kp: int, states: np.ndarray,
            out: np.ndarray) -> None:
    width = paths.shape[1]
    for w in numba.prange(paths.shape[0]):
        cand = np.empty(width * per_kp, np.int64)  # seed per candidate slot
        owner = np.empty(width * per_kp, np.int64)  # path position the slot belongs to
        rank = np.empty(width * per_kp, np.float64)  # smaller is better
        n = 0
        for j in range(lengths[w]):
            node = paths[w, j]
            lo, have = seed_ptr[node], seed_ptr[node + 1] - seed_ptr[node]
            take = min(have, per_kp)
            start = int(uniform(states, w) * have) if have > per_kp else 0
            for t in range(take):
                cand[n] = seed_index[lo + (start + t) % have]
                owner[n] = j
                n += 1
        order = np.argsort(cand[:n])
        i = 0
        while i < n:  # runs of one seed: how many path KPs carry it, one tie-break for all its slots
            j = i
            while j + 1 < n and cand[order[j + 1]] == cand[order[i]]:
                j += 1
            tie = uniform(states, w)
            diff = seed_difficulty[cand[order[i]]]
            gap = UNKNOWN_DIFFICULTY_GAP if diff == UNKNOWN_DIFFICULTY else abs(diff - targets[w])
            for t in range(i, j + 1):
                rank[order[t]] = (width - (j - i + 1)) * 16.0 + gap * 2.0 + tie
            i = j + 1
        count, progress = 0, True
        while count < k[w] and progress:
            progress = False
            for j in range(lengths[w]):
                if count >= k[w]:
                    break
                best = -1
                for a in range(n):
                    if owner[a] != j or (best >= 0 and rank[a] >= rank[best]):
                        continue
                    taken = False
                    for c in range(count):
                        taken = taken or out[w, c] == cand[a]
                    if not taken:
                        best = a
                if best >= 0:
                    out[w, count] = cand[best]
                    count += 1
                    progress = True


def choose_seeds(graph: WalkGraph, paths: np.ndarray, lengths: np.ndarray, targets: np.ndarray,
                 k: np.ndarray, rng: np.random.Generator, per_kp: int = 16) -> np.ndarray:
    """paths (B, L) of node indices padded with -1; returns (B, max(k)) seed indices padded with -1."""
    out = np.full((paths.shape[0], max(int(k.max()) if k.size else 0, 1)), -1, dtype=np.int64)
    if paths.size:
        _choose(graph.seed_ptr, graph.seed_index, graph.seed_difficulty, paths, lengths.astype(np.int64),
                targets.astype(np.int64), k.astype(np.int64), per_kp,
                seed_streams(int(rng.integers(0, 2**63)), paths.shape[0]), out)
    return out[:, :int(k.max()) if k.size else 0]
