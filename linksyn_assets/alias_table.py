"""Per-row alias tables over CSR weights: O(1) exact draws from each row's discrete distribution.

All rows are built at once, without a loop over rows or entries, using the prefix-sum form of
the sweeping construction (Hübschle-Schneider & Sanders, "Parallel Weighted Random Sampling"):
within a row, scale weights to mean 1; "small" entries (q < 1) and "large" ones (q >= 1) are
each taken in row order. Large j serves the smalls whose cumulative deficit starts below its
cumulative excess; it turns small itself at the first small whose cumulative deficit passes
that excess, keeps 1 - (that overshoot) and is topped up by the next large.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class AliasTables:
    indptr: np.ndarray  # int64, rows + 1
    prob: np.ndarray  # float64 per entry: keep the entry with this probability
    alias: np.ndarray  # int64 per entry: global entry index taken otherwise

    def draw(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One entry index per row in `rows` (every row must be non-empty)."""
        lo = self.indptr[rows]
        deg = self.indptr[rows + 1] - lo
        slot = lo + np.minimum((rng.random(rows.size) * deg).astype(np.int64), deg - 1)
        keep = rng.random(rows.size) < self.prob[slot]
        return np.where(keep, slot, self.alias[slot])


def _row_bases(cum: np.ndarray, vals: np.ndarray, row_of: np.ndarray, n_rows: int) -> np.ndarray:
    """Per row, the global cumulative sum before the row's first element."""
    base = np.zeros(n_rows)
    first = np.ones(row_of.size, dtype=bool)
    first[1:] = row_of[1:] != row_of[:-1]
    base[row_of[first]] = (cum - vals)[first]
    return base


def build_alias_tables(indptr: np.ndarray, weights: np.ndarray) -> AliasTables:
    """weights > 0 per CSR entry; rows may be empty."""
    n_entries = weights.size
    prob = np.ones(n_entries)
    alias = np.arange(n_entries, dtype=np.int64)
    if n_entries == 0:
        return AliasTables(indptr, prob, alias)
    n_rows = indptr.size - 1
    deg = np.diff(indptr)
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), deg)
    sums = np.zeros(n_rows)
    sums[deg > 0] = np.add.reduceat(weights, indptr[:-1][deg > 0])
    q = weights * (deg / np.where(sums > 0, sums, 1.0))[row_of]  # mean 1 within each row
    small, large = np.flatnonzero(q < 1.0), np.flatnonzero(q >= 1.0)
    if small.size == 0 or large.size == 0:
        return AliasTables(indptr, prob, alias)
    s_row, l_row = row_of[small], row_of[large]
    deficit, excess = 1.0 - q[small], q[large] - 1.0
    cd, ce = np.cumsum(deficit), np.cumsum(excess)
    cd_base, ce_base = _row_bases(cd, deficit, s_row, n_rows), _row_bases(ce, excess, l_row, n_rows)
    l_first = np.searchsorted(l_row, np.arange(n_rows))  # first large of each row in `large`
    l_count = np.bincount(l_row, minlength=n_rows)
    s_end = np.searchsorted(s_row, np.arange(n_rows), side="right")  # past the row's last small

    # small i -> the large j whose cumulative excess first reaches i's cumulative deficit before i
    has_large = l_count[s_row] > 0
    before = (cd - deficit) - cd_base[s_row]
    j = np.searchsorted(ce, ce_base[s_row] + before, side="left") - l_first[s_row]
    j = np.clip(j, 0, np.maximum(l_count[s_row] - 1, 0))
    pick = small[has_large]
    prob[pick] = q[pick]
    alias[pick] = large[(l_first[s_row] + j)[has_large]]

    # large j turns small at the first small whose cumulative deficit passes its cumulative excess
    reach = ce - ce_base[l_row]
    g = np.searchsorted(cd, cd_base[l_row] + reach, side="right")
    local = np.arange(large.size) - l_first[l_row]
    s_count = np.bincount(s_row, minlength=n_rows)
    falls = (s_count[l_row] > 0) & (g < s_end[l_row]) & (local + 1 < l_count[l_row])
    overshoot = cd[np.minimum(g, cd.size - 1)] - cd_base[l_row] - reach
    prob[large[falls]] = np.clip(1.0 - overshoot[falls], 0.0, 1.0)
    alias[large[falls]] = large[np.flatnonzero(falls) + 1]
    return AliasTables(indptr, prob, alias)
