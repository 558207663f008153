"""The batched walk engine: many walkers at once on CSR arrays, sampling exactly the distribution
that reference.py writes out.

- Static part. For every node u, an alias table (Vose) over its neighbours with weight
  w(u,v)^gamma * p(v)^alpha (and a second one over its neighbours inside d, for the branch of a
  step that stays in d): one proposal costs O(1).
- Dynamic part. A proposal v is accepted with probability (1 + n(v))^-beta, and a proposal
  already on the path is rejected: accept/reject from the static proposal gives exactly the
  target (rejection sampling). After `max_rejections` rejections the walker draws from an exact
  scan of u's row instead, which keeps the result exact and bounds the work per step. Rows of at
  most scan_max_degree neighbours (default 255, below REBUILD_MIN_DEGREE: rows whose tables are never
  re-based) skip the proposals and are scanned outright: once counts grow their static proposals
  mostly fail, and a scan is cheaper than those failures followed by a scan anyway.
- Keeping acceptance high. As counts grow, (1 + n)^-beta falls and most proposals would be
  rejected. So after each batch, rows whose re-based table would have paid for itself in that batch
  (rejected proposals and scans cost more than rebuilding the row: PROPOSAL_COST, REBUILD_COST) get
  their alias tables rebuilt over w^gamma p^alpha (1 + n_then)^-beta, n_then = the counts at
  rebuild time, and proposals from them are accepted with probability
  ((1 + n) / (1 + n_then))^-beta <= 1 (counts only grow). Same target, exactly; only the proposal
  moved closer to it.
- Starts: a sum tree over V(v) of d's start candidates, updated between batches.
- Batches. Every path of a batch sees the usage n(v) as it was when the batch began, and n(v) is
  updated after the batch from its paths. batch = 1 is the sequential process of docs/design.md (each
  path sees all earlier ones). A fixed batch (params.batch_paths) is used as given. The automatic
  batch grows with the history: at most 1/BATCH_HISTORY_SHARE (1/8) of the paths drawn so far, so
  every path sees at least 8/9 of the paths drawn before it (the first paths are drawn one by one),
  and at most the discipline's KPs / 16 (up to 16384), so one batch touches a small share of the KPs.
- Numbers: CSR entries are 32-bit (weights and acceptances float32: half the memory traffic of a
  row scan, the main cost; 7 significant digits, far below what any sampling test resolves).
Everything is reproducible from params.rng_seed, the discipline and the batch setting; walkers run in
parallel on their own counter-based random streams, so the thread count does not change the paths.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numba
import numpy as np
import polars as pl

from linksyn_assets.settings import WalkParams
from linksyn_assets.text.normalize import content_hash
from linksyn_assets.walks.csr_graph import WalkGraph
from linksyn_assets.walks.kernel import (
    STEP_ROW,
    AliasRows,
    NodeCounts,
    NodeFacts,
    StepRule,
    Walkers,
    path_features,
    rebuild_rows,
    slow_rows,
    step_counts,
    tally_batch,
    walk_batch,
)
from linksyn_assets.walks.plan import TargetQueue, difficulty_sequence
from linksyn_assets.walks.reference import start_candidates
from linksyn_assets.walks.rng_streams import seed_streams
from linksyn_assets.walks.seed_choice import choose_seeds
from linksyn_assets.walks.sum_tree import SumTree

# rebuilding a row costs a few passes over it: below this length, scanning it on the rare visit
# that ends in a scan is cheaper (measured on the 1M-KP benchmark graph)
REBUILD_MIN_DEGREE = 256
# costs in row entries read, for the choice of rows to re-base (measured on the 1M-KP benchmark graph)
PROPOSAL_COST = 4.0  # a proposal: a few random reads
REBUILD_COST = 2.0  # per entry: Vose's construction passes over the row about twice
ACCEPT_TABLE = 1 << 16  # (1 + n)^-beta is looked up for n below this

# automatic batches: at most 1/BATCH_HISTORY_SHARE of the paths drawn so far (so every path sees at
# least that share of the paths drawn before it), and at most the discipline's KPs / AUTO_BATCH_KPS_PER_PATH
BATCH_HISTORY_SHARE = 8
AUTO_BATCH_KPS_PER_PATH = 16
MAX_AUTO_BATCH = 16384


def auto_batch(graph: WalkGraph) -> int:
    """The largest automatic batch for this graph."""
    return int(np.clip(int(graph.in_discipline.sum()) // AUTO_BATCH_KPS_PER_PATH, 1, MAX_AUTO_BATCH))


def batch_size(drawn: int, largest: int, fixed: bool) -> int:
    """Paths in the next batch, after `drawn` paths: `largest` when fixed, else growing with the history."""
    return largest if fixed else int(np.clip(drawn // BATCH_HISTORY_SHARE, 1, largest))


def walk_rng(params: WalkParams, discipline: str, first_index: int = 0) -> np.random.Generator:
    """The stream of a draw: the discipline, the RNG seed and the ordinal of its first path, so the same
    history plus the same graph gives the same new paths."""
    parts = (params.rng_seed, discipline, first_index) if first_index else (params.rng_seed, discipline)
    return np.random.default_rng(int(content_hash(*parts, length=8), 16))


def build_branch(graph: WalkGraph, params: WalkParams, keep: np.ndarray | None) -> AliasRows:
    """Proposal tables over every edge of the graph, or only the kept ones (edges inside the discipline)."""
    indptr, nodes, weights = graph.indptr, graph.indices, graph.weights
    if keep is not None:
        row = np.repeat(np.arange(graph.size), np.diff(indptr))[keep]
        indptr = np.zeros(graph.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=graph.size), out=indptr[1:])
        nodes, weights = nodes[keep], weights[keep]
    # 32-bit entries: half the memory traffic of a row scan, the walk's main cost (weights keep
    # 7 significant digits, far below what any sampling test can resolve)
    static = (weights ** params.gamma * graph.popularity[nodes] ** params.alpha).astype(np.float32)
    ones = np.ones(static.size, dtype=np.float32)
    branch = AliasRows(indptr, nodes.astype(np.int32), static, ones, ones.copy(),
                       np.arange(static.size, dtype=np.int32))
    rebuild(branch, np.arange(graph.size), np.ones(graph.size, dtype=np.float32))  # all counts 0: the static part
    return branch


def rebuild(branch: AliasRows, rows: np.ndarray, accept: np.ndarray) -> None:
    """Re-base the given rows' tables on the accept values (1 + n)^-beta of now."""
    rebuild_rows(branch, rows, accept, numba.get_num_threads())


@dataclass
class EngineStats:
    proposals: int = 0
    accepted: int = 0
    exact_scans: int = 0
    rows_rebuilt: int = 0
    batches: int = 0

    @property
    def acceptance(self) -> float:
        return self.accepted / self.proposals if self.proposals else 0.0


@dataclass
class WalkResult:
    nodes: np.ndarray  # (paths, max_length) node indices, -1 padded
    lengths: np.ndarray
    seeds: np.ndarray  # (paths, max_seeds) seed indices, -1 padded
    targets: np.ndarray  # target difficulty per path
    cross_steps: np.ndarray
    values: np.ndarray  # V(v) of each path KP when it was drawn, NaN padded
    usage: np.ndarray  # paths kept per KP (the walk's own n(v) also counts paths dropped for too few seeds)
    draws: int
    too_few_seeds: int
    coverage_curve: list[tuple[int, float]]  # (paths so far, KP coverage)
    batch: int  # the largest batch (a fixed batch, or the cap of the growing automatic one)
    stats: EngineStats = field(default_factory=EngineStats)

    @property
    def count(self) -> int:
        return int(self.lengths.size)


class WalkEngine:
    def __init__(self, graph: WalkGraph, params: WalkParams) -> None:
        self.graph, self.params = graph, params
        self.all = build_branch(graph, params, None)
        foreign = not graph.in_discipline.all()
        self.split = foreign and params.cross_discipline_rate < 1.0
        self.inside = build_branch(graph, params, graph.in_discipline[graph.indices]) if self.split else self.all
        self.usage = np.zeros(graph.size)
        self.accept = np.ones(graph.size, dtype=np.float32)  # (1 + n)^-beta
        self.accept_of = (1.0 + np.arange(ACCEPT_TABLE)) ** -params.beta
        self.pop_alpha = graph.popularity ** params.alpha
        self.kept_usage = np.zeros(graph.size)  # paths of the current run that were kept, per KP
        self.covered = np.zeros(graph.size, dtype=bool)  # KPs on at least one kept path of the run
        self._seen = np.zeros(graph.size, dtype=bool)  # scratch of tally_batch
        self._tries, self._hits, self._visits = (np.zeros(graph.size, np.int64) for _ in range(3))
        self.starts = start_candidates(graph)
        self.start_pos = np.full(graph.size, -1, dtype=np.int64)
        self.start_pos[self.starts] = np.arange(self.starts.size)
        self.start_tree = SumTree(self.pop_alpha[self.starts])
        self.stats = EngineStats()
        self.widest = int(max(np.diff(graph.indptr).max(initial=0), 1))

    # -- batches ------------------------------------------------------------------------------
    def _start(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return self.starts[self.start_tree.draw(count, rng)]

    def _record(self, paths: np.ndarray, kept: np.ndarray | None = None) -> int:
        """Add a batch's paths to the usage counts n(v) (all of them) and the kept ones to the
        kept-path usage and coverage; returns how many home KPs were covered for the first time."""
        kept = np.ones(paths.shape[0], dtype=bool) if kept is None else kept
        counts = NodeCounts(self.usage, self.accept, self.kept_usage, self.covered, self._seen)
        facts = NodeFacts(self.graph.in_discipline, self.start_pos, self.pop_alpha)
        positions, values, fresh = tally_batch(paths, kept, counts, facts, self.params.beta, self.accept_of,
                                               numba.get_num_threads())
        self.start_tree.update(positions, values)
        return int(fresh)

    def walk(self, paths: np.ndarray, lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Extend every walker of the batch from its start in paths[:, 0] (compiled, parallel).
        Returns the step records (walkers, max_length, 4): row, branch, proposals, accepted."""
        steps = np.zeros((paths.shape[0], paths.shape[1], 4), dtype=np.int32)
        steps[:, :, STEP_ROW] = -1
        states = seed_streams(int(rng.integers(0, 2**63)), paths.shape[0])
        rule = StepRule(self.accept, self.split, self.params.cross_discipline_rate, self.params.max_rejections,
                        self.params.scan_max_degree)
        walk_batch(self.all, self.inside, rule, Walkers(paths, lengths, states, steps), self.widest)
        proposals, accepted, scans = step_counts(steps)
        self.stats.proposals += proposals
        self.stats.accepted += accepted
        self.stats.exact_scans += scans
        return steps

    def _rebuild_slow_rows(self, steps: np.ndarray) -> None:
        """Re-base, after the batch, the tables of rows whose rejections and scans cost more than a rebuild."""
        if self.params.beta == 0:
            return  # acceptance is 1: rejections only come from revisits, a new table would not help
        for branch_id, branch in enumerate((self.all, self.inside) if self.split else (self.all,)):
            slow = slow_rows(steps, branch_id, branch.indptr, REBUILD_MIN_DEGREE, PROPOSAL_COST, REBUILD_COST,
                             self._tries, self._hits, self._visits)
            self.stats.rows_rebuilt += slow.size
            rebuild(branch, slow, self.accept)

    def run(self, discipline: str, n_paths: int, difficulty_hist: np.ndarray, batch: int | None = None,
            history: np.ndarray | None = None, first_index: int = 0) -> WalkResult:
        """Draw n_paths new paths. `history` (earlier paths as node positions, -1 padded) starts the usage
        counts n(v); first_index is the ordinal of the first new path (it selects the random stream)."""
        params, graph = self.params, self.graph
        fixed = bool(batch or params.batch_paths)
        batch = batch or params.batch_paths or auto_batch(graph)
        rng = walk_rng(params, discipline, first_index)
        width, k_max = params.max_length, params.max_seeds
        queue = TargetQueue(difficulty_sequence(difficulty_hist, n_paths, rng))
        out_nodes, out_seeds, out_values, out_targets, out_cross = [], [], [], [], []
        kept_total = draws = too_few = 0
        home = graph.in_discipline
        home_total, covered = max(1, int(home.sum())), 0
        self.kept_usage[:], self.covered[:] = 0.0, False
        if history is not None and history.size:
            self._record(history)
            covered = int(self.covered[home].sum())
        curve: list[tuple[int, float]] = [(0, 0.0)]
        every = max(1, n_paths // 50)
        max_draws = n_paths * params.max_attempts_factor
        can_start = self.starts.size > 0 and self.start_tree.total > 0
        while can_start and kept_total < n_paths and draws < max_draws:
            size = min(batch_size(draws, batch, fixed), n_paths - kept_total, max_draws - draws)
            draws += size
            paths = np.full((size, width), -1, dtype=np.int64)
            paths[:, 0] = self._start(size, rng)
            lengths = rng.integers(params.min_length, params.max_length + 1, size)
            steps = self.walk(paths, lengths, rng)
            lengths = (paths >= 0).sum(axis=1)
            targets = queue.take(size)
            k = rng.integers(params.min_seeds, params.max_seeds + 1, size)
            seeds = choose_seeds(graph, paths, lengths, targets, k, rng, params.seed_candidates_per_kp)
            ok = (seeds >= 0).sum(axis=1) >= params.min_seeds
            too_few += int((~ok).sum())
            queue.give_back(targets[~ok])  # unfilled targets are tried again
            kept = paths[ok]
            values, cross = path_features(kept, self.pop_alpha, self.accept, home)
            # every drawn path counts in n(v), kept or not: a dead end (a KP whose paths never find
            # enough seeds) then loses value like any used KP instead of being drawn again and again
            covered += self._record(paths, ok)
            for name, part in ((out_nodes, kept), (out_seeds, np.pad(seeds[ok], ((0, 0), (0, k_max - seeds.shape[1])),
                                                                      constant_values=-1)),
                               (out_values, values), (out_targets, targets[ok]), (out_cross, cross)):
                name.append(part)
            before, kept_total = kept_total, kept_total + int(ok.sum())
            if kept_total // every > before // every or kept_total >= n_paths:
                curve.append((kept_total, covered / home_total))
            self.stats.batches += 1
            self._rebuild_slow_rows(steps)
        def cat(parts: list[np.ndarray], shape: tuple[int, ...], dtype: type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(shape, dtype=dtype)

        nodes = cat(out_nodes, (0, width), np.int64)
        return WalkResult(
            nodes=nodes, lengths=(nodes >= 0).sum(axis=1), seeds=cat(out_seeds, (0, k_max), np.int64),
            targets=cat(out_targets, (0,), np.int64), cross_steps=cat(out_cross, (0,), np.int64),
            values=cat(out_values, (0, width), np.float64), usage=self.kept_usage.copy(), draws=draws,
            too_few_seeds=too_few, coverage_curve=curve, batch=batch, stats=self.stats,
        )


def kp_coverage(graph: WalkGraph, usage: np.ndarray) -> float:
    """Share of the discipline's KPs used by at least one path."""
    home = graph.in_discipline
    return float((usage[home] > 0).sum() / home.sum()) if home.any() else 0.0


PATH_SCHEMA: dict[str, pl.DataType] = {
    "path_id": pl.String(), "discipline": pl.String(), "path_index": pl.Int32(),
    "kp_ids": pl.List(pl.String()), "kp_names": pl.List(pl.String()), "seed_ids": pl.List(pl.String()),
    "target_difficulty": pl.Int8(), "cross_steps": pl.Int16(), "values": pl.List(pl.Float64()),
    "rng_seed": pl.Int64(),
}


def _lists(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """Rows of a padded (paths, width) array as list values; `values` are the unpadded cells in
    row-major order."""
    rows = np.nonzero(mask)[0]
    grouped = pl.DataFrame({"row": rows, "v": values}).group_by("row", maintain_order=True).agg("v")
    every = pl.DataFrame({"row": np.arange(mask.shape[0], dtype=rows.dtype)})
    return every.join(grouped, on="row", how="left", maintain_order="left")["v"]


def path_table(graph: WalkGraph, result: WalkResult, discipline: str, params: WalkParams,
               first_index: int = 0) -> pl.DataFrame:
    """The `walk_paths` table: one row per path, ids and names resolved, a stable path_id (from the draw's
    settings, the path's ordinal, KPs and seeds; stored with the path and never recomputed)."""
    if result.count == 0:
        return pl.DataFrame(schema=PATH_SCHEMA)
    node_mask, seed_mask = result.nodes >= 0, result.seeds >= 0
    kp_ids = _lists(graph.kp_ids.gather(result.nodes[node_mask]), node_mask)
    kp_names = _lists(graph.names.gather(result.nodes[node_mask]), node_mask)
    seed_ids = _lists(graph.seed_ids.gather(result.seeds[seed_mask]), seed_mask)
    values = _lists(pl.Series(result.values[node_mask]), node_mask)
    run = content_hash(discipline, params.model_dump(mode="json"), result.batch)
    table = pl.DataFrame({
        "discipline": discipline, "path_index": np.arange(first_index, first_index + result.count, dtype=np.int32),
        "kp_ids": kp_ids, "kp_names": kp_names, "seed_ids": seed_ids,
        "target_difficulty": result.targets.astype(np.int8), "cross_steps": result.cross_steps.astype(np.int16),
        "values": values, "rng_seed": params.rng_seed,
    })
    keys = table.select(pl.concat_str(pl.col("path_index").cast(pl.String), pl.col("kp_ids").list.join(","),
                                      pl.col("seed_ids").list.join(","), separator="|"))
    ids = [f"p_{hashlib.sha256(f'{run}|{k}'.encode()).hexdigest()[:16]}" for k in keys.to_series().to_list()]
    return table.with_columns(pl.Series("path_id", ids)).select(list(PATH_SCHEMA)).cast(PATH_SCHEMA)

