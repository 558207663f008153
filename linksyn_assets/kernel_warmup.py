"""Compile the numba kernels once per install, so no pipeline run pays the compile.

The kernels are `@numba.njit(cache=True)`: numba keeps the machine code beside their source in `__pycache__`
(an editable install: the checkout; a regular one: site-packages), or, where that folder is not writable, in
its per-user cache folder (NUMBA_CACHE_DIR overrides both). The cache is keyed by each source file's stamp, so
a new install or an edited kernel compiles again, once.

Warming runs the same library calls the walk and QC assets make, on a few bundled sample seeds in English
and Chinese, so the compiled signatures are exactly the ones a run asks for. `linksyn run` starts it in the
background while the KP extraction keeps the LLM busy; `python -m linksyn_assets.kernel_warmup` runs it alone.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import polars as pl

from linksyn_assets.kps import corpus_graph
from linksyn_assets.kps.corpus_graph import build_graph_tables
from linksyn_assets.kps.extraction import seed_kps_table
from linksyn_assets.qc import decontamination, fingerprints, near_duplicates
from linksyn_assets.qc.dedup import duplicate_clusters
from linksyn_assets.quality import grams, novelty
from linksyn_assets.quality.report import measure_quality
from linksyn_assets.records import KPExtraction
from linksyn_assets.seeds.readers import read_seed_dir
from linksyn_assets.settings import DatasetParams, WalkParams
from linksyn_assets.storage import SAMPLE_SEEDS_DIR
from linksyn_assets.walks import kernel, rng_streams, seed_choice, sum_tree
from linksyn_assets.walks.csr_graph import WalkGraph
from linksyn_assets.walks.engine import WalkEngine, path_table
from linksyn_assets.walks.plan import difficulty_target

KERNEL_MODULES: tuple[ModuleType, ...] = (corpus_graph, kernel, rng_streams, sum_tree, seed_choice, fingerprints,
                                          near_duplicates, decontamination, grams, novelty)
WARM_DISCIPLINE = "physics"  # a bundled discipline with English and Chinese seeds
# A small KP vocabulary: each seed gets three neighbouring ones, so the graph is connected and every path
# and seed-choice branch runs.
_KPS = ["force", "energy", "momentum", "电场", "wave", "光的折射", "heat", "pressure"]


@dataclass(frozen=True)
class WarmReport:
    kernels: int  # compiled functions (signatures) the calls used
    compiled: int  # of those, compiled now (not found in the cache)
    seconds: float

    def line(self) -> str:
        state = "already cached" if self.compiled == 0 else f"{self.compiled} compiled now"
        return f"numba kernels: {self.kernels} used, {state} ({self.seconds:.1f}s)"


@dataclass(frozen=True)
class _Answer:
    """An extraction result shaped like the LLM layer's, made up only to give the kernels real input."""

    item_id: str
    ok: bool
    data: dict | None
    error: str | None
    model: str = "kernel-warmup"


def _dispatchers() -> list:
    from numba.core.registry import CPUDispatcher

    found = {id(v): v for m in KERNEL_MODULES for v in vars(m).values() if isinstance(v, CPUDispatcher)}
    return list(found.values())  # a kernel imported by another module counts once


def _walk(seeds: pl.DataFrame) -> None:
    answers = []
    for i, seed_id in enumerate(seeds["seed_id"]):
        kps = [{"name": _KPS[(i + k) % len(_KPS)]} for k in range(3)]
        data = KPExtraction.model_validate({"knowledge_points": kps}).model_dump(mode="json")
        answers.append(_Answer(seed_id, True, data, None))
    seed_kps = seed_kps_table(seeds, answers, "general")
    tables = build_graph_tables(seed_kps, WARM_DISCIPLINE)
    graph = WalkGraph.from_tables(tables)
    params = WalkParams()
    hist = difficulty_target(params, seeds["difficulty"].to_list())
    result = WalkEngine(graph, params).run(WARM_DISCIPLINE, 6, hist)
    path_table(graph, result, WARM_DISCIPLINE, params)


def _qc(seeds: pl.DataFrame) -> None:
    rows = seeds.select("question", "options", "answer", solution=pl.col("explanation"))
    rows = pl.concat([rows, rows.head(3)])  # exact repeats, so the clustering joins something
    params = DatasetParams()
    duplicate_clusters(rows, params.near_duplicate_threshold, threshold_zh=params.near_duplicate_threshold_zh)
    tokens = fingerprints.token_hashes(rows["question"])
    index = decontamination.BenchmarkIndex.build(tokens, params.decontamination_ngram,
                                                 params.contamination_containment)
    decontamination.check(index, tokens)
    _quality(seeds)


def _quality(seeds: pl.DataFrame) -> None:
    """The quality report's kernels: the seeds measured as rows written from themselves."""
    rows = seeds.select(record_id=pl.col("seed_id") + "_q", kind=pl.lit("synthesized"), discipline="discipline",
                        question="question", difficulty="difficulty", kp_ids=pl.lit(["k"]),
                        seed_ids=pl.concat_list("seed_id"),
                        parent_qa_id=pl.lit(None, pl.String), rating_before=pl.lit(None, pl.Int8),
                        rating_after=pl.lit(None, pl.Int8), verification=pl.lit("agree"))
    measure_quality(rows, seeds.select("seed_id", "question"), None, None, 0.5)


def warm() -> WarmReport:
    """Run the kernels once on bundled data; compiled code lands in numba's cache."""
    started = time.perf_counter()
    load = read_seed_dir(SAMPLE_SEEDS_DIR)
    seeds = load.seeds.filter(pl.col("discipline") == WARM_DISCIPLINE)
    if seeds.is_empty() or seeds["language"].n_unique() < 2:
        raise RuntimeError(f"the bundled sample seeds lack English and Chinese {WARM_DISCIPLINE} seeds")
    _walk(seeds)
    _qc(seeds)
    used = [d for d in _dispatchers() if d.signatures]
    compiled = sum(int(np.sum(list(d.stats.cache_misses.values()))) for d in used)
    return WarmReport(len(used), compiled, time.perf_counter() - started)


def main() -> int:
    print(warm().line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
