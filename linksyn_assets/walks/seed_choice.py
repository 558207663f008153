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

from linksyn_assets.walks.csr_graph import UNKNOWN_DIFFICULTY, WalkGraph
from linksyn_assets.walks.rng_streams import seed_streams, uniform

UNKNOWN_DIFFICULTY_GAP = 2  # |difficulty - target| assumed for unannotated seeds


CHUNK = 256  # walkers per parallel task: scratch arrays are allocated once per chunk, not per walker


@numba.njit(cache=True, parallel=True)
def _choose(seed_ptr: np.ndarray, seed_index: np.ndarray, seed_difficulty: np.ndarray, paths: np.ndarray,
            lengths: np.ndarray, targets: np.ndarray, k: np.ndarray, per_kp: int, states: np.ndarray,
            out: np.ndarray) -> None:
    width, walkers = paths.shape[1], paths.shape[0]
    slots = width * per_kp
    for c in numba.prange((walkers + CHUNK - 1) // CHUNK):
        first, last = c * CHUNK, min(walkers, (c + 1) * CHUNK)
        # gather the chunk's candidates first, in passes of independent reads (the CPU overlaps their
        # cache misses), then rank them walker by walker from cache
        lo_at, hi_at = np.empty((CHUNK, width), np.int64), np.empty((CHUNK, width), np.int64)
        for w in range(first, last):
            for j in range(lengths[w]):
                node = paths[w, j]
                lo_at[w - first, j], hi_at[w - first, j] = seed_ptr[node], seed_ptr[node + 1]
        cand_at = np.empty((CHUNK, slots), np.int64)  # seed per candidate slot
        bounds_at = np.empty((CHUNK, width + 1), np.int64)  # path KP j owns slots bounds[j]..bounds[j + 1]
        for w in range(first, last):
            n = 0
            for j in range(lengths[w]):
                bounds_at[w - first, j] = n
                lo = lo_at[w - first, j]
                have = hi_at[w - first, j] - lo
                at = int(uniform(states, w) * have) if have > per_kp else 0  # the window's random start
                for _ in range(min(have, per_kp)):
                    cand_at[w - first, n] = seed_index[lo + at]
                    n += 1
                    at = at + 1 if at + 1 < have else 0  # wraps around the KP's seeds (no division)
            bounds_at[w - first, lengths[w]] = n
        gap_at = np.empty((CHUNK, slots), np.float64)
        for w in range(first, last):
            for a in range(bounds_at[w - first, lengths[w]]):
                diff = seed_difficulty[cand_at[w - first, a]]
                gap_at[w - first, a] = UNKNOWN_DIFFICULTY_GAP if diff == UNKNOWN_DIFFICULTY else abs(diff - targets[w])
        rank = np.empty(slots, np.float64)  # smaller is better
        slot_at = np.empty(slots, np.int64)  # the slot's entry in the seed table
        size = 1 << int(np.ceil(np.log2(2 * slots)))  # open addressing, at most half full
        table_seed, table_count = np.empty(size, np.int64), np.empty(size, np.int64)
        table_rank = np.empty(size, np.float64)
        for w in range(first, last):
            cand, bounds, gap = cand_at[w - first], bounds_at[w - first], gap_at[w - first]
            n = bounds[lengths[w]]
            table_seed[:] = -1
            for a in range(n):  # how many path KPs carry each seed (one slot per KP that does)
                h = ((cand[a] * 0x2545F4914F6CDD1D) >> 24) & (size - 1)
                while table_seed[h] != -1 and table_seed[h] != cand[a]:
                    h = (h + 1) & (size - 1)
                if table_seed[h] == -1:
                    table_seed[h], table_count[h] = cand[a], 0
                table_count[h] += 1
                slot_at[a] = h
            for a in range(n):  # one tie-break per seed, drawn in first-appearance order
                h = slot_at[a]
                if table_count[h] > 0:
                    table_rank[h] = (width - table_count[h]) * 16.0 + gap[a] * 2.0 + uniform(states, w)
                    table_count[h] = -table_count[h]  # ranked
                rank[a] = table_rank[h]
            count, progress = 0, True
            while count < k[w] and progress:  # the KPs take turns, each its best seed not yet chosen
                progress = False
                for j in range(lengths[w]):
                    if count >= k[w]:
                        break
                    while True:  # the KP's best remaining slot (a scan: a KP takes only a few turns)
                        best = -1
                        for a in range(bounds[j], bounds[j + 1]):
                            if rank[a] < np.inf and (best < 0 or rank[a] < rank[best]):
                                best = a
                        if best < 0:
                            break
                        rank[best] = np.inf  # used up
                        seed = cand[best]
                        taken = False
                        for t in range(count):
                            taken = taken or out[w, t] == seed
                        if not taken:
                            out[w, count] = seed
                            count += 1
                            progress = True
                            break


def choose_seeds(graph: WalkGraph, paths: np.ndarray, lengths: np.ndarray, targets: np.ndarray,
                 k: np.ndarray, rng: np.random.Generator, per_kp: int = 16) -> np.ndarray:
    """paths (B, L) of node indices padded with -1; returns (B, max(k)) seed indices padded with -1."""
    out = np.full((paths.shape[0], max(int(k.max()) if k.size else 0, 1)), -1, dtype=np.int64)
    if paths.size:
        _choose(graph.seed_ptr, graph.seed_index, graph.seed_difficulty, paths, lengths.astype(np.int64),
                targets.astype(np.int64), k.astype(np.int64), per_kp,
                seed_streams(int(rng.integers(0, 2**63)), paths.shape[0]), out)
    return out[:, :int(k.max()) if k.size else 0]
