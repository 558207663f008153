"""Update a discipline's dataset folder with the rows QC has not judged yet, a batch at a time.

Each batch meets the steps of qc/steps.py in order; the exact- and near-duplicate steps also compare it with
every row already kept (the persistent index, dataset_store/kept_index.py), the rows of earlier batches
included, so a dataset built in one update equals one built in several from the same rows in the same order.
A row kept once stays (QC never reconsiders it) until its path is retired or the pipeline no longer produces
it: then a tombstone. Memory is a function of the batch size and of the index (a few hundred bytes per kept
row), not of the rows' text. When the QC recipe (settings, code, benchmarks, tokenizer, verifier) changed,
the update is a new generation built from all rows; the old generation's files go once its manifest is
replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from linksyn_assets.dataset_store.kept_index import EMPTY_NEAR, ON_NEAR, KeptIndex, index_rows, near_duplicates_against
from linksyn_assets.dataset_store.manifest import (
    BUILDING,
    MANIFEST,
    DatasetManifest,
    Shard,
    Tombstones,
    read_manifest,
    seen_ids,
    tombstoned,
    write_manifest,
)
from linksyn_assets.layout import qc_spool_file
from linksyn_assets.qc.retired_rows import RETIRED_SCHEMA, retired_rows
from linksyn_assets.qc.rules import (
    QCResult,
    exact_duplicate_reasons,
    pretraining_texts,
    remove_where,
    shipped_columns,
    start,
    with_dataset_columns,
)
from linksyn_assets.qc.steps import Step, run_steps
from linksyn_assets.qc.token_count import TokenCounter
from linksyn_assets.recipes import table_digest
from linksyn_assets.reports import QCStep
from linksyn_assets.settings import DatasetParams
from linksyn_assets.storage import read_parquet, scan_parquet, write_parquet_atomic

# rows -> (rows with verification columns, a reason to drop per row or None, what the solves cost in USD, the ids
# whose solve got no answer this time: held back, so a later update asks again instead of keeping them unverified)
Verify = Callable[[pl.DataFrame], tuple[pl.DataFrame, list[str | None], float, set[str]]]


@dataclass
class UpdatePlan:
    """What the dataset asset decides; the update does the rest."""

    qc_recipe: str
    run_id: str
    params: DatasetParams
    row_steps: list[Step]  # generation and row rules: one row at a time
    contamination: Step
    verify: Verify
    counter: TokenCounter
    batch_rows: int
    on_batch: Callable[[str], None] = lambda _msg: None


@dataclass
class UpdateResult:
    manifest: DatasetManifest
    rebuilt: bool
    rows_new: int = 0
    retired: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RETIRED_SCHEMA))
    funnel: dict[str, QCStep] = field(default_factory=dict)
    rejected_new: int = 0
    held: int = 0  # rows whose independent solve got no answer: not judged yet, checked again next update


def _batches(rows: pl.LazyFrame, size: int, run_id: str) -> Iterator[pl.DataFrame]:
    """The rows in order, `size` at a time, spooled once to a local file (so the plan behind them runs once)."""
    spool = qc_spool_file(run_id)
    spool.parent.mkdir(parents=True, exist_ok=True)
    try:
        rows.sink_parquet(spool, row_group_size=min(size, 50_000))
        total = pl.scan_parquet(spool).select(pl.len()).collect().item()
        for offset in range(0, total, size):
            yield pl.scan_parquet(spool).slice(offset, size).collect()
    finally:
        spool.unlink(missing_ok=True)


def _kept_rows(folder: Path, manifest: DatasetManifest, index: KeptIndex, positions: np.ndarray) -> pl.DataFrame:
    """The kept rows at these index positions (what near-duplicate verification reads of earlier rows)."""
    parts = [read_parquet(folder / manifest.shards[shard].rows, columns=ON_NEAR)[offsets.tolist()]
             for shard, offsets in index.locate(positions)]
    return pl.concat(parts) if parts else pl.DataFrame(schema=EMPTY_NEAR)


def _duplicate_steps(folder: Path, manifest: DatasetManifest, index: KeptIndex,
                     params: DatasetParams) -> list[Step]:
    def exact(rows: pl.DataFrame) -> list[str | None]:
        return exact_duplicate_reasons(rows, index.exact)

    def near(rows: pl.DataFrame) -> list[str | None]:
        return near_duplicates_against(rows, index, lambda at: _kept_rows(folder, manifest, index, at), params)

    return [Step("exact duplicates", exact), Step("near-duplicates", near)]


def _add_funnel(funnel: dict[str, QCStep], steps: list[QCStep]) -> None:
    for step in steps:
        was = funnel.get(step.step, QCStep(step=step.step, entered=0, passed=0))
        funnel[step.step] = QCStep(step=step.step, entered=was.entered + step.entered,
                                   passed=was.passed + step.passed)


def _check_batch(folder: Path, manifest: DatasetManifest, index: KeptIndex, plan: UpdatePlan,
                 batch: pl.DataFrame, result: UpdateResult) -> None:
    steps = [*plan.row_steps, *_duplicate_steps(folder, manifest, index, plan.params)]
    steps.insert(len(plan.row_steps) + 1, plan.contamination)  # after exact duplicates, before near-duplicates
    qc, funnel = run_steps(start(batch), steps)
    qc = with_dataset_columns(qc)
    kept, reasons, verify_cost, held = plan.verify(qc.kept)
    if held:
        judged = ~kept["record_id"].is_in(list(held)).to_numpy()
        kept, reasons = kept.filter(judged), [r for r, j in zip(reasons, judged.tolist(), strict=True) if j]
        result.held += int((~judged).sum())
    funnel.append(QCStep(step="independent solve agrees", entered=kept.height,
                         passed=int((kept["verification"] == "agree").sum())))
    qc = remove_where(QCResult(kept=kept, rejects=qc.rejects), reasons)
    _add_funnel(result.funnel, funnel)
    kept = qc.kept.with_columns(text := pretraining_texts(qc.kept), plan.counter.count(text))
    kept = shipped_columns(kept, plan.params.keep_reasoning)
    name = manifest.next_name("")
    rows_file, index_file, rejects_file = f"{name}.parquet", f"{name}.index.parquet", f"{name}.rejects.parquet"
    write_parquet_atomic(kept, folder / rows_file)
    shard_index = index_rows(kept)
    write_parquet_atomic(shard_index, folder / index_file)
    write_parquet_atomic(qc.rejects, folder / rejects_file)
    manifest.shards.append(Shard(rows=rows_file, index=index_file, rejects=rejects_file, kept=kept.height,
                                 rejected=qc.rejects.height, tokens=int(kept["tokens"].sum()),
                                 bytes=(folder / rows_file).stat().st_size, digest=table_digest(kept),
                                 run_id=plan.run_id, verify_cost_usd=verify_cost))
    index.add(shard_index)
    result.rows_new += kept.height
    result.rejected_new += qc.rejects.height


def _rows_leaving(folder: Path, manifest: DatasetManifest, ids: pl.DataFrame) -> pl.DataFrame:
    """The retired-table columns of the rows with these ids, read from the shards (the ids first: the text
    of the rows that stay is never read)."""
    wanted = ids["record_id"].implode()
    return (scan_parquet([folder / s.rows for s in manifest.shards])
            .filter(pl.col("record_id").is_in(wanted)).select("record_id", "path_id", "discipline", "question")
            .collect())


def _kept_ids(folder: Path, manifest: DatasetManifest) -> pl.DataFrame:
    """Every kept row's id in shard order (tombstoned ones included), from the index files."""
    return scan_parquet([folder / s.index for s in manifest.shards]).select("record_id").collect()


def _retire(folder: Path, manifest: DatasetManifest, index: KeptIndex, produced: pl.LazyFrame,
            retired_paths: pl.DataFrame | None, run_id: str) -> pl.DataFrame:
    """Tombstone the live rows the pipeline no longer produces (with the reason: the retired path's, or none)."""
    if not manifest.shards:
        return pl.DataFrame(schema=RETIRED_SCHEMA)
    ids = _kept_ids(folder, manifest).with_row_index("position")
    live = ids.join(tombstoned(folder, manifest), on="record_id", how="anti", maintain_order="left")
    gone = live.join(produced.select("record_id").collect(), on="record_id", how="anti", maintain_order="left")
    if gone.is_empty():
        return pl.DataFrame(schema=RETIRED_SCHEMA)
    leaving = _rows_leaving(folder, manifest, gone)
    left = retired_rows(leaving, leaving.clear(), retired_paths,
                        pl.DataFrame(schema={"record_id": pl.String, "reason": pl.String}))
    tokens = (scan_parquet([folder / s.rows for s in manifest.shards]).select("record_id", "tokens")
              .filter(pl.col("record_id").is_in(gone["record_id"].implode())).select(pl.sum("tokens")))
    name = manifest.next_name(".tombstones.parquet")
    write_parquet_atomic(left.with_columns(retired_at=pl.lit(run_id)), folder / name)
    manifest.tombstones.append(Tombstones(file=name, rows=left.height, tokens=int(tokens.collect().item() or 0),
                                          run_id=run_id))
    index.retire(gone["position"].to_numpy())
    return left


def update_dataset(folder: Path, produced: pl.LazyFrame, plan: UpdatePlan,
                   retired_paths: pl.DataFrame | None) -> UpdateResult:
    """Bring the folder's dataset up to `produced` (the assembled rows, in the order they should enter)."""
    old = read_manifest(folder)
    rebuild = old is None or old.qc_recipe != plan.qc_recipe
    if rebuild:  # a new generation, or the rest of one a crash interrupted
        building = read_manifest(folder, BUILDING)
        if building is not None and building.qc_recipe != plan.qc_recipe:  # abandoned for another recipe
            for name in set(building.files()) - set(old.files() if old else []) - {MANIFEST}:
                (folder / name).unlink(missing_ok=True)
            building = None
        manifest = building or DatasetManifest(qc_recipe=plan.qc_recipe,
                                               generation=(old.generation + 1) if old else 1)
    else:
        manifest = old.model_copy(deep=True)
    if rebuild and manifest.shards:
        plan.on_batch(f"QC: resuming generation {manifest.generation} after {len(manifest.shards)} shard(s)")
    result = UpdateResult(manifest=manifest, rebuilt=rebuild)
    index = KeptIndex.load(folder, manifest)
    # in the order produced: which of two near-copies is kept depends on it
    fresh = (produced.join(seen_ids(folder, manifest).lazy(), on="record_id", how="anti", maintain_order="left")
             if manifest.shards else produced)
    done = 0
    for batch in _batches(fresh, plan.batch_rows, plan.run_id):
        _check_batch(folder, manifest, index, plan, batch, result)
        done += batch.height
        plan.on_batch(f"QC: {done:,} new rows checked, {result.rows_new:,} kept")
        # a crash keeps the batches done: the next update starts after them
        write_manifest(folder, manifest, BUILDING if rebuild else MANIFEST)
    if not manifest.shards:  # nothing to check yet: an empty shard still gives the dataset its columns
        _check_batch(folder, manifest, index, plan, produced.clear().collect(), result)
    if rebuild:
        result.retired = _rebuild_retired(folder, old, manifest, retired_paths)
    else:
        result.retired = _retire(folder, manifest, index, produced, retired_paths, plan.run_id)
    write_manifest(folder, manifest)
    (folder / BUILDING).unlink(missing_ok=True)
    if rebuild and old is not None:
        for name in set(old.files()) - set(manifest.files()):
            (folder / name).unlink(missing_ok=True)
    return result


def _rebuild_retired(folder: Path, old: DatasetManifest | None, new: DatasetManifest,
                     retired_paths: pl.DataFrame | None) -> pl.DataFrame:
    """The rows the old generation had and the new one does not keep (QC removed them now, or they left)."""
    if old is None or not old.shards:
        return pl.DataFrame(schema=RETIRED_SCHEMA)
    previous = _kept_ids(folder, old).join(tombstoned(folder, old), on="record_id", how="anti", maintain_order="left")
    current = _kept_ids(folder, new) if new.shards else pl.DataFrame(schema={"record_id": pl.String})
    gone = previous.join(current, on="record_id", how="anti", maintain_order="left")
    if gone.is_empty():
        return pl.DataFrame(schema=RETIRED_SCHEMA)
    rejects = (scan_parquet([folder / s.rejects for s in new.shards]).select("record_id", "reason")
               .filter(pl.col("record_id").is_in(gone["record_id"].implode())).collect()
               if new.shards else pl.DataFrame(schema={"record_id": pl.String, "reason": pl.String}))
    leaving = _rows_leaving(folder, old, gone)
    return retired_rows(leaving, leaving.clear(), retired_paths, rejects)
