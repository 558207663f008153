"""A sum tree over non-negative weights: exact proportional draws and point updates, O(log n) each.

Eight children per node, so a node's children fill one 64-byte cache line and a million leaves
need 7 levels instead of 20: a draw or an update touches about one cache line per level.
Parents are recomputed from their children on update (no running deltas), so rounding never
drifts."""

from __future__ import annotations

import numba
import numpy as np

FANOUT = 8


@numba.njit(cache=True)
def _update(tree: np.ndarray, offsets: np.ndarray, positions: np.ndarray, weights: np.ndarray,
            mark: np.ndarray) -> None:
    # level by level: each touched parent is recomputed once (mark), after all of its children
    nodes = np.empty(positions.size, np.int64)
    for i in range(positions.size):
        tree[positions[i]] = weights[i]
        nodes[i] = positions[i]
    n = nodes.size
    for level in range(1, offsets.size - 1):
        below, here = offsets[level - 1], offsets[level]
        m = 0
        for i in range(n):
            parent = nodes[i] // FANOUT
            if mark[here + parent]:
                continue
            mark[here + parent] = True
            total = 0.0
            first = below + parent * FANOUT
            for c in range(FANOUT):
                total += tree[first + c]
            tree[here + parent] = total
            nodes[m] = parent
            m += 1
        for i in range(m):
            mark[here + nodes[i]] = False
        n = m


@numba.njit(cache=True)
def _sum_blocks(tree: np.ndarray, offsets: np.ndarray) -> None:
    for level in range(1, offsets.size - 1):
        below, here = offsets[level - 1], offsets[level]
        for parent in range((here - below) // FANOUT):
            total = 0.0
            for c in range(FANOUT):
                total += tree[below + parent * FANOUT + c]
            tree[here + parent] = total


@numba.njit(cache=True, parallel=True)
def _draw(tree: np.ndarray, offsets: np.ndarray, targets: np.ndarray) -> np.ndarray:
    out = np.empty(targets.size, np.int64)
    top = offsets.size - 2  # the root's level
    for i in numba.prange(targets.size):
        node, goal = 0, targets[i]
        for level in range(top - 1, -1, -1):
            first = offsets[level] + node * FANOUT
            chosen = -1
            for c in range(FANOUT):
                x = tree[first + c]
                if x > 0.0:  # never step into an empty subtree
                    chosen = c
                    if goal < x:
                        break
                    goal -= x
            else:
                goal = np.inf  # rounding carried goal past the total: take the last non-empty child, all the way down
            node = node * FANOUT + chosen
        out[i] = node
    return out


class SumTree:
    def __init__(self, weights: np.ndarray) -> None:
        self.size = int(weights.size)
        lengths = []  # per level, padded to whole blocks of FANOUT; the last level is the root alone
        count = max(1, self.size)
        while True:
            lengths.append(-(-count // FANOUT) * FANOUT if count > 1 else 1)
            if count == 1:
                break
            count = lengths[-1] // FANOUT
        self.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.tree = np.zeros(int(self.offsets[-1]))
        self._mark = np.zeros(self.tree.size, dtype=np.bool_)  # scratch of update(), left all-False
        self.tree[:self.size] = weights
        _sum_blocks(self.tree, self.offsets)

    @property
    def total(self) -> float:
        return float(self.tree[-1])

    def level(self, k: int) -> np.ndarray:
        """Level k of the tree (0: the leaves, padded with zeros to whole blocks)."""
        return self.tree[self.offsets[k]:self.offsets[k + 1]]

    def update(self, positions: np.ndarray, weights: np.ndarray) -> None:
        _update(self.tree, self.offsets, positions.astype(np.int64), weights.astype(np.float64), self._mark)

    def draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """count positions, each with probability weight / total (total must be > 0)."""
        return _draw(self.tree, self.offsets, rng.random(count) * self.total)
