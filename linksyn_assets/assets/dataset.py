"""`linkqa_dataset`: checked, deduplicated, decontaminated, verified rows with provenance, kept as immutable
shards plus a manifest (dataset_store/): an update checks and writes only the rows QC has not judged yet."""


import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl

from linksyn_assets.assets.llm_batch import run_llm_batch
from linksyn_assets.assets.metadata import catalog, counts, latest_report, preview, quality_plot_metadata
from linksyn_assets.assets.policies import AUTOMATED, LLM_STEP
from linksyn_assets.assets.unchanged import made_as, recipe, reusable, reused
from linksyn_assets.checks import linkqa_dataset_quality, linkqa_dataset_quality_result
from linksyn_assets.dataset_store.manifest import MANIFEST, all_rejects, live_rows
from linksyn_assets.dataset_store.update import UpdatePlan, update_dataset
from linksyn_assets.layout import dataset_folder, retired_file
from linksyn_assets.llm.progress import ProgressSink
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.prompts.messages import prompt_versions, verify_messages
from linksyn_assets.qc.rules import assemble, reason_counts, with_verification
from linksyn_assets.qc.steps import contamination_step, row_rule_steps
from linksyn_assets.qc.token_count import TokenCounter
from linksyn_assets.quality.inputs import quality_of
from linksyn_assets.recipes import recipe_hash
from linksyn_assets.records import IndependentSolve
from linksyn_assets.reports import DatasetReport, LLMBatchReport, WalkReport
from linksyn_assets.seeds.readers import skip_summary, source_files
from linksyn_assets.stages import group_of
from linksyn_assets.storage import Stored, file_stamps, read_if_present, write_parquet_atomic
from resources.llm import LLMResource
from resources.pipeline_settings import LinkSynSettingsResource

# dataset settings that decide no row's fate (targets, the release's layout, checks' thresholds)
NOT_QC = {"target_rows", "target_tokens", "target_rounds", "release_shard_rows", "release_jsonl",
          "release_keep_versions", "max_quarantine_share",
          "min_seeds_with_kps_share", "min_schema_valid_share", "max_duplicate_share", "min_verification_agreement"}


def _files_read(benchmarks: list[str], tokenizer_json: str | None) -> object:
    """The files QC reads besides its inputs, by size and mtime (a missing one: the step reports it)."""
    try:
        return [file_stamps(source_files(Path(p))) for p in [*benchmarks, *([tokenizer_json] if tokenizer_json
                                                                           else [])]]
    except OSError as exc:
        return f"unreadable: {exc}"


@dg.asset(partitions_def=discipline_partitions, automation_condition=AUTOMATED,
          **LLM_STEP, group_name=group_of("linkqa_dataset"), kinds={"polars", "parquet"},
          check_specs=[linkqa_dataset_quality],
          description="Rows after generation status, schema/length, seed-copy, language, exact-duplicate, "
                      "benchmark contamination and near-duplicate checks, with an independent solve of every "
                      "answer, in <data dir>/dataset/<discipline>/: immutable shards (an update adds the rows QC "
                      "has not judged yet), their rejects with reasons, tombstones for rows that left, and "
                      "manifest.json listing them; a quality report (quality/) on the live rows.")
def linkqa_dataset(context: dg.AssetExecutionContext, synthesized_qa: pl.LazyFrame, hard_qa: pl.LazyFrame,
                   llm: LLMResource, progress: dg.ResourceParam[ProgressSink],
                   settings: LinkSynSettingsResource) -> Iterator[dg.Output | dg.AssetCheckResult]:
    discipline = context.partition_key
    plain = settings.plain()
    params = plain.dataset
    folder = dataset_folder(discipline)
    files = _files_read(params.benchmark_files, params.tokenizer_json)
    made_from = recipe(context, llm=llm.answer_settings(), settings=plain.model_dump(mode="json"), files=files)
    prior = reusable(context, made_from, [folder / MANIFEST])
    if prior is not None:
        yield dg.Output(Stored(), **reused(prior))
        quality = prior.report.quality if isinstance(prior.report, DatasetReport) else None
        yield linkqa_dataset_quality_result(quality, plain.quality)
        return
    try:
        benchmarks = settings.benchmarks()
    except (OSError, ValueError) as exc:
        raise dg.Failure(f"benchmark_files: {exc}", allow_retries=False) from exc
    if benchmarks.skipped():
        context.log.warning(f"benchmark_files: {skip_summary(benchmarks.skipped())}: "
                            f"{', '.join(benchmarks.skipped())}")
    counter = TokenCounter(params.tokenizer_json)
    # what decides a row's fate: a change of it makes a new generation, built from all rows
    qc_recipe = recipe_hash({"asset": "linkqa_dataset", "partition": discipline, "llm": llm.answer_settings(),
                             "dataset": params.model_dump(mode="json", exclude=NOT_QC),
                             "copy_threshold": plain.synthesis.copy_threshold, "files": files,
                             "tokenizer": counter.name})
    verifier: list[LLMBatchReport] = []

    def verify(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[str | None], float, set[str]]:
        if rows.is_empty():
            return (*with_verification(rows, {}, params.verification), 0.0, set())
        requests = [(row["record_id"], verify_messages(row, row["language"])) for row in rows.iter_rows(named=True)]
        solves, client = run_llm_batch(context, llm, progress, "verify", requests, IndependentSolve,
                                       prompt_versions("verify"))
        solved = {r.item_id: IndependentSolve.model_validate(r.data).answer for r in solves if r.ok and r.data}
        report = LLMBatchReport.model_validate({**client.stats.as_metadata(), "model": client.route.cache_identity,
                                                "prompt_version": prompt_versions("verify")})
        verifier.append(report)
        answered = {r.item_id for r in solves if r.ok or r.answered}
        held = set(rows["record_id"].to_list()) - answered  # unsent or unreachable: asked again next update
        return (*with_verification(rows, solved, params.verification), report.data_cost_usd, held)

    plan = UpdatePlan(qc_recipe=qc_recipe, run_id=context.run_id, params=params,
                      row_steps=row_rule_steps(params, plain.synthesis.copy_threshold),
                      contamination=contamination_step(benchmarks), verify=verify, counter=counter,
                      batch_rows=params.qc_batch_rows, on_batch=context.log.info)
    produced = assemble(synthesized_qa, hard_qa)
    result = update_dataset(folder, produced, plan, read_if_present(retired_file("walk_paths", discipline)))
    manifest, left = result.manifest, result.retired
    if result.held:
        context.log.warning(f"{result.held} row(s) held back: their independent solve got no answer this time "
                            "(the step reports the failed requests); the next materialization asks again")
    if left.height:
        retired_path = retired_file("linkqa_dataset", discipline)
        earlier = read_if_present(retired_path)
        left = left.with_columns(retired_at=pl.lit(context.run_id))
        write_parquet_atomic(pl.concat([earlier, left], how="diagonal_relaxed") if earlier is not None else left,
                             retired_path)
    live = live_rows(folder, manifest)
    rejects = all_rejects(folder, manifest).select("reason").collect() if manifest.shards else None
    verification = (dict(live.group_by("verification").len().collect().sort("verification").iter_rows())
                    if manifest.shards else {})
    this_update = verifier[0] if verifier else LLMBatchReport(model=llm.route("verify").cache_identity,
                                                              prompt_version=prompt_versions("verify"))
    for more in verifier[1:]:
        this_update = this_update.plus(more)
    # the data's cost covers every kept batch (answers of earlier updates count at their first cost)
    this_update = this_update.model_copy(update={"data_cost_usd": round(sum(s.verify_cost_usd
                                                                            for s in manifest.shards), 6)})
    quality = None
    if manifest.shards:
        started = time.perf_counter()
        walks = latest_report(context.instance, "walk_paths", discipline)
        quality = quality_of(live, [discipline], context.instance.get_dynamic_partitions(discipline_partitions.name),
                             walks.difficulty_target if isinstance(walks, WalkReport) else None, plain.quality)
        context.log.info(f"quality report of {quality.rows:,} rows: {time.perf_counter() - started:.1f} s")
    report = DatasetReport(
        rows=manifest.rows, rows_new=result.rows_new, rows_kept=manifest.rows - result.rows_new,
        rows_retired=left.height, tokens=manifest.tokens, removed=rejects.height if rejects is not None else 0,
        paths=synthesized_qa.select(pl.col("path_id").n_unique()).collect().item(),
        qc_steps=list(result.funnel.values()),
        removed_by_reason=reason_counts(rejects) if rejects is not None else {}, verification=verification,
        benchmark_files=benchmarks.files, benchmark_files_skipped=skip_summary(benchmarks.skipped()) or "none",
        verifier=this_update, quality=quality)
    head = live.head(20).collect() if manifest.shards else None
    yield dg.Output(Stored(), **made_as(manifest.digest(), made_from, catalog(report, head, rows=manifest.rows,
                                                                              display={
        "folder": dg.MetadataValue.path(str(folder)), **quality_plot_metadata(quality),
        **({"preview": preview(head, ["kind", "question", "answer", "verification"])} if head is not None else {}),
    }, details={
        "generation": manifest.generation, "rebuilt": result.rebuilt, "shards": len(manifest.shards),
        "tombstone_files": len(manifest.tombstones), "rejected_new": result.rejected_new,
        "rows_held_back": result.held,
        "bytes": sum(s.bytes for s in manifest.shards),
        "retired_reasons": dict(left.group_by(pl.col("retired_reason").str.split(":").list.first())
                                .len().iter_rows()) if left.height else {},
        "tokenizer": counter.name,
        "by_kind": counts(live.select("kind").collect(), "kind") if manifest.shards else {},
        "settings": plain.model_dump(mode="json"),
    })))
    yield linkqa_dataset_quality_result(quality, plain.quality)

