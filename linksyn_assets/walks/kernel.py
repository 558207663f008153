"""Compiled inner loops of the walk engine (numba, parallel over walkers).

Walkers of one batch are independent given the usage counts, so they run in parallel; each has
its own counter-based random stream (splitmix64 of the batch key and the walker index), so the
result does not depend on thread scheduling. A step: an alias proposal over the static part,
rejection by acceptance, and after max_rejections rejections an exact scan of the row. Each step
records its row and how its proposals fared; the engine re-bases poorly accepting rows' alias
tables between batches (rebuild_rows), never while walkers read them.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from linksyn_assets.walks.rng_streams import uniform as _uniform

# per walker step, recorded in `steps` (walkers, max_length, 4)
STEP_ROW, STEP_BRANCH, STEP_PROPOSALS, STEP_ACCEPTED = 0, 1, 2, 3
CHUNK = 64  # walkers per parallel task


class AliasRows(NamedTuple):
    """One branch's proposal tables (all neighbours, or neighbours inside the discipline): CSR rows whose
    entries carry an alias-table slot (prob, alias) over static * then, row by row."""

    indptr: np.ndarray
    nodes: np.ndarray  # node per entry
    static: np.ndarray  # w^gamma * p^alpha per entry
    then: np.ndarray  # (1 + n)^-beta per entry when its row's table was last built
    prob: np.ndarray
    alias: np.ndarray


class Walkers(NamedTuple):
    """One batch of walkers: their paths (start in column 0), lengths, random streams and step records."""

    paths: np.ndarray  # (walkers, max_length) node ids
    lengths: np.ndarray  # target length per walker
    states: np.ndarray  # counter-based random stream per walker
    steps: np.ndarray  # (walkers, max_length, 4): STEP_ROW, STEP_BRANCH, STEP_PROPOSALS, STEP_ACCEPTED


class NodeCounts(NamedTuple):
    """Per node, updated in place as paths are drawn: n(v) and what depends on it."""

    usage: np.ndarray  # n(v) over every drawn path
    accept: np.ndarray  # (1 + n(v))^-beta
    kept_usage: np.ndarray  # n(v) over kept paths only
    covered: np.ndarray  # bool: on a kept path
    seen: np.ndarray  # all-False scratch mask (left all-False)


class NodeFacts(NamedTuple):
    """Per node, fixed for a run."""

    home: np.ndarray  # 1 when the node is in the discipline
    start_pos: np.ndarray  # its leaf in the start tree, or -1
    pop_alpha: np.ndarray  # p(v)^alpha


class StepRule(NamedTuple):
    """How a step chooses: acceptance per node, the cross-discipline rate, and when to stop proposing."""

    accept: np.ndarray  # (1 + n)^-beta per node
    split: bool  # two branches (inside the discipline / all) or one
    cross_rate: float
    max_rejections: int
    scan_max_degree: int


@numba.njit(cache=True, inline="always")
def _on_path(paths: np.ndarray, w: int, at: int, v: int) -> bool:
    for i in range(at):  # noqa: SIM110 -- a plain loop compiles to the tightest code in numba
        if paths[w, i] == v:
            return True
    return False


@numba.njit(cache=True)
def _step(rows: AliasRows, rule: StepRule, paths: np.ndarray, states: np.ndarray, w: int, at: int,
          record: np.ndarray, cum: np.ndarray) -> int:
    """Next node from paths[w, at - 1] over one branch's CSR, or -1 when it has no candidate."""
    indptr, nodes, static, then, prob, alias = rows
    accept, max_rejections, scan_max_degree = rule.accept, rule.max_rejections, rule.scan_max_degree
    u = paths[w, at - 1]
    lo, hi = indptr[u], indptr[u + 1]
    deg = hi - lo
    record[STEP_ROW] = u
    if deg == 0:
        return -1
    # a short row costs less to scan than a few rejected proposals (random reads each)
    for _ in range(max_rejections if deg > scan_max_degree else 0):
        slot = lo + min(int(_uniform(states, w) * deg), deg - 1)
        e = slot if _uniform(states, w) < prob[slot] else alias[slot]
        v = nodes[e]
        record[STEP_PROPOSALS] += 1
        if _on_path(paths, w, at, v):
            continue
        # the table samples static * then; accepting with accept / then (<= 1) gives static * accept
        if _uniform(states, w) * then[e] < accept[v]:
            record[STEP_ACCEPTED] = 1
            return v
    total = 0.0
    for e in range(lo, hi):
        if not _on_path(paths, w, at, nodes[e]):
            total += static[e] * accept[nodes[e]]
        cum[e - lo] = total
    if total <= 0.0:
        return -1
    goal = _uniform(states, w) * total
    left, right = 0, deg - 1  # first entry whose running total exceeds goal (it has weight > 0)
    while left < right:
        mid = (left + right) // 2
        if cum[mid] > goal:
            right = mid
        else:
            left = mid + 1
    while cum[left] <= goal and left > 0 and cum[left] == cum[left - 1]:
        left -= 1  # goal rounded up to the total: step back to the last entry with weight
    return nodes[lo + left]


@numba.njit(cache=True, inline="always")
def _touch(rows: AliasRows, u: int) -> float:
    """Read the first and last entry of u's row: a software prefetch (the value itself is meaningless)."""
    indptr, nodes, static = rows.indptr, rows.nodes, rows.static
    lo, hi = indptr[u], indptr[u + 1]
    if hi <= lo:
        return 0.0
    last = hi - 1  # the row's last cache line too (rows are ~20 entries: two lines of 16)
    return static[lo] + nodes[lo] + static[last] + nodes[last]


@numba.njit(cache=True, parallel=True)
def walk_batch(every: AliasRows, inside: AliasRows, rule: StepRule, walkers: Walkers, widest: int) -> float:
    """Extend every walker of the batch (see _step), a chunk of walkers one step at a time.
    Returns a meaningless sum of the prefetch reads (so the compiler keeps them)."""
    paths, lengths, states, steps = walkers
    split, cross_rate = rule.split, rule.cross_rate
    count = paths.shape[0]
    chunks = (count + CHUNK - 1) // CHUNK
    touched = np.zeros(chunks)
    for c in numba.prange(chunks):
        cum = np.empty(widest)  # once per chunk: a hub's row is long, and a large allocation costs a system call
        first, last = c * CHUNK, min(count, (c + 1) * CHUNK)
        ended = np.zeros(last - first, np.bool_)
        for at in range(1, paths.shape[1]):
            # the rows this step scans, read for all walkers of the chunk first: independent reads, so
            # the CPU overlaps their cache misses instead of meeting them one walker at a time
            for w in range(first, last):
                if not ended[w - first] and at < lengths[w]:
                    u = paths[w, at - 1]
                    touched[c] += _touch(every, u)
                    if split:
                        touched[c] += _touch(inside, u)
            for w in range(first, last):
                if ended[w - first] or at >= lengths[w]:
                    continue
                record = steps[w, at]
                if split and _uniform(states, w) >= cross_rate:
                    record[STEP_BRANCH] = 1
                    v = _step(inside, rule, paths, states, w, at, record, cum)
                else:
                    v = _step(every, rule, paths, states, w, at, record, cum)
                if v < 0:
                    ended[w - first] = True
                else:
                    paths[w, at] = v
    return touched.sum()


@numba.njit(cache=True)
def _rebuild_row(lo: int, hi: int, nodes: np.ndarray, static: np.ndarray, then: np.ndarray, prob: np.ndarray,
                 alias: np.ndarray, accept: np.ndarray, work: np.ndarray, small: np.ndarray, large: np.ndarray) -> None:
    """Vose's alias table for entries lo..hi over static * accept; `then` records the accept used."""
    deg = hi - lo
    total = 0.0
    for e in range(lo, hi):
        then[e] = accept[nodes[e]]
        total += static[e] * then[e]
    n_small = n_large = 0
    for e in range(lo, hi):
        work[e - lo] = static[e] * then[e] * deg / total
        prob[e], alias[e] = 1.0, e
        if work[e - lo] < 1.0:
            small[n_small] = e
            n_small += 1
        else:
            large[n_large] = e
            n_large += 1
    while n_small > 0 and n_large > 0:
        s, g = small[n_small - 1], large[n_large - 1]
        n_small -= 1
        prob[s], alias[s] = work[s - lo], g
        work[g - lo] -= 1.0 - work[s - lo]
        if work[g - lo] < 1.0:
            n_large -= 1
            small[n_small] = g
            n_small += 1


@numba.njit(cache=True, parallel=True)
def rebuild_rows(tables: AliasRows, rows: np.ndarray, accept: np.ndarray, lanes: int) -> None:
    """Re-base the given rows' alias tables on the current accept values (rows are disjoint), in
    `lanes` parallel tasks (the thread count); the result does not depend on it."""
    indptr, nodes, static, then, prob, alias = tables
    lengths = indptr[rows + 1] - indptr[rows]
    order = rows[np.argsort(-lengths)]
    # longest rows first, dealt round-robin: the threads get about equal work (hub rows dominate)
    for lane in numba.prange(lanes):
        widest = lengths.max() if lengths.size else 0
        work, small, large = np.empty(widest), np.empty(widest, np.int64), np.empty(widest, np.int64)
        for r in range(lane, order.size, lanes):
            lo, hi = indptr[order[r]], indptr[order[r] + 1]
            if hi > lo:
                _rebuild_row(lo, hi, nodes, static, then, prob, alias, accept, work, small, large)


@numba.njit(cache=True)
def step_counts(steps: np.ndarray) -> tuple[int, int, int]:
    """A batch's proposals, accepted proposals and exact scans (steps without an accepted proposal,
    including those that found no candidate)."""
    proposals = accepted = scans = 0
    for w in range(steps.shape[0]):
        for at in range(steps.shape[1]):
            if steps[w, at, STEP_ROW] >= 0:
                proposals += steps[w, at, STEP_PROPOSALS]
                accepted += steps[w, at, STEP_ACCEPTED]
                scans += steps[w, at, STEP_ACCEPTED] == 0
    return proposals, accepted, scans


@numba.njit(cache=True, parallel=True)
def path_features(paths: np.ndarray, pop_alpha: np.ndarray, accept: np.ndarray, home: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per path: V(v) of each KP as it is now (NaN padded) and the steps that cross the border of
    the discipline."""
    values = np.full(paths.shape, np.nan)
    cross = np.zeros(paths.shape[0], np.int64)
    for w in numba.prange(paths.shape[0]):
        for i in range(paths.shape[1]):
            v = paths[w, i]
            if v < 0:
                break
            values[w, i] = pop_alpha[v] * accept[v]
            if i > 0 and home[v] != home[paths[w, i - 1]]:
                cross[w] += 1
    return values, cross


@numba.njit(cache=True, parallel=True)
def tally_batch(paths: np.ndarray, kept: np.ndarray, counts: NodeCounts, facts: NodeFacts, beta: float,
                accept_of: np.ndarray, lanes: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Add a batch's paths to n(v) (every drawn path) and to the kept-path usage and coverage;
    accept_of[n] = (1 + n)^-beta for small n. Returns the start-tree positions whose V(v) changed,
    their new V(v), and how many home KPs were covered for the first time. Runs in `lanes` parallel
    tasks that own disjoint blocks of 64 nodes each; the result does not depend on their number."""
    usage, accept, kept_usage, covered, seen = counts
    home, start_pos, pop_alpha = facts
    positions = np.empty((lanes, paths.size), np.int64)
    values = np.empty((lanes, paths.size))
    found, fresh = np.zeros(lanes, np.int64), np.zeros(lanes, np.int64)
    for lane in numba.prange(lanes):
        changed = np.empty(paths.size, np.int64)
        n = 0
        for w in range(paths.shape[0]):
            for i in range(paths.shape[1]):
                v = paths[w, i]
                if v < 0:
                    break
                if (((v >> 6) & 1023) * lanes) >> 10 != lane:  # blocks of 64 nodes, dealt without a division
                    continue
                usage[v] += 1.0
                if not seen[v]:
                    seen[v] = True
                    changed[n] = v
                    n += 1
                if kept[w]:
                    kept_usage[v] += 1.0
                    if not covered[v]:
                        covered[v] = True
                        fresh[lane] += home[v]
        m = 0
        for j in range(n):
            v = changed[j]
            seen[v] = False
            n_v = usage[v]  # a pow costs as much as all the rest of the tally: look it up when n is small
            accept[v] = accept_of[int(n_v)] if n_v < accept_of.size else (1.0 + n_v) ** -beta
            if start_pos[v] >= 0:
                positions[lane, m], values[lane, m] = start_pos[v], pop_alpha[v] * accept[v]
                m += 1
        found[lane] = m
    all_positions, all_values = np.empty(found.sum(), np.int64), np.empty(found.sum())
    at = 0
    for lane in range(lanes):
        all_positions[at:at + found[lane]] = positions[lane, :found[lane]]
        all_values[at:at + found[lane]] = values[lane, :found[lane]]
        at += found[lane]
    return all_positions, all_values, fresh.sum()


@numba.njit(cache=True)
def slow_rows(steps: np.ndarray, branch: int, indptr: np.ndarray, min_degree: int, proposal_cost: float,
              rebuild_cost: float, tries: np.ndarray, hits: np.ndarray, visits: np.ndarray) -> np.ndarray:
    """Rows of `branch` (at least min_degree long) whose re-based table would have paid for itself in
    this batch. Costs are in row entries read: a scan reads the row, a proposal costs proposal_cost,
    a rebuild rebuild_cost per entry, and a re-based row needs about one proposal per visit.
    tries/hits/visits are all-zero scratch arrays and are left all-zero."""
    rows = np.empty(steps.shape[0] * steps.shape[1], np.int64)
    n = 0
    for w in range(steps.shape[0]):
        for at in range(steps.shape[1]):
            u = steps[w, at, STEP_ROW]
            if u < 0 or steps[w, at, STEP_BRANCH] != branch or steps[w, at, STEP_PROPOSALS] == 0:
                continue
            if visits[u] == 0:
                rows[n] = u
                n += 1
            visits[u] += 1
            tries[u] += steps[w, at, STEP_PROPOSALS]
            hits[u] += steps[w, at, STEP_ACCEPTED]
    m = 0
    for j in range(n):
        u = rows[j]
        deg = indptr[u + 1] - indptr[u]
        spent = tries[u] * proposal_cost + (visits[u] - hits[u]) * deg  # a visit without a hit ended in a scan
        if deg >= min_degree and spent - visits[u] * proposal_cost > rebuild_cost * deg:
            rows[m] = u
            m += 1
        tries[u] = hits[u] = visits[u] = 0
    return rows[:m]
