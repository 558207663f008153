"""A sum tree over non-negative weights: exact proportional draws and point updates, O(log n) each.
Parents are recomputed from their children on update (no running deltas), so rounding never
drifts."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _update(tree: np.ndarray, leaves: int, positions: np.ndarray, weights: np.ndarray, mark: np.ndarray) -> None:
    # level by level: each touched parent is recomputed once (mark), after both its children
    nodes = np.empty(positions.size, np.int64)
    for i in range(positions.size):
        tree[positions[i] + leaves] = weights[i]
        nodes[i] = (positions[i] + leaves) // 2
    n = nodes.size
    while n > 0:
        m = 0
        for i in range(n):
            node = nodes[i]
            if mark[node]:
                continue
            mark[node] = True
            tree[node] = tree[2 * node] + tree[2 * node + 1]
            if node > 1:
                nodes[m] = node // 2
                m += 1
        n = m
    for i in range(positions.size):  # clear the marks: they are exactly the ancestors of the updated leaves
        node = (positions[i] + leaves) // 2
        while node >= 1 and mark[node]:
            mark[node] = False
            node //= 2


@numba.njit(cache=True, parallel=True)
def _draw(tree: np.ndarray, leaves: int, targets: np.ndarray) -> np.ndarray:
    out = np.empty(targets.size, np.int64)
    for i in numba.prange(targets.size):
        node, goal = 1, targets[i]
        while node < leaves:
            left = tree[2 * node]
            if goal >= left and tree[2 * node + 1] > 0:  # rounding never steps into an empty subtree
                goal -= left
                node = 2 * node + 1
            else:
                node = 2 * node
        out[i] = node - leaves
    return out


class SumTree:
    def __init__(self, weights: np.ndarray) -> None:
        self.size = int(weights.size)
        self.leaves = 1 << max(0, int(np.ceil(np.log2(max(1, self.size)))))
        self.tree = np.zeros(2 * self.leaves)
        self._mark = np.zeros(2 * self.leaves, dtype=np.bool_)  # scratch of update(), left all-False
        self.tree[self.leaves:self.leaves + self.size] = weights
        start = self.leaves // 2
        while start >= 1:
            idx = np.arange(start, 2 * start)
            self.tree[idx] = self.tree[2 * idx] + self.tree[2 * idx + 1]
            start //= 2

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def update(self, positions: np.ndarray, weights: np.ndarray) -> None:
        _update(self.tree, self.leaves, positions.astype(np.int64), weights.astype(np.float64), self._mark)

    def draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """count positions, each with probability weight / total (total must be > 0)."""
        return _draw(self.tree, self.leaves, rng.random(count) * self.tree[1])
