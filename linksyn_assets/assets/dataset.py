"""`linkqa_dataset`: checked, deduplicated, decontaminated, verified rows with provenance."""


from pathlib import Path

import dagster as dg
import polars as pl

from linksyn_assets.assets.llm_batch import run_llm_batch
from linksyn_assets.assets.metadata import catalog, counts, preview
from linksyn_assets.assets.policies import AUTOMATED, LLM_STEP
from linksyn_assets.assets.unchanged import made, recipe, reusable, reused
from linksyn_assets.layout import asset_file, dataset_file, rejects_file, retired_file
from linksyn_assets.llm.progress import ProgressSink
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.prompts.messages import prompt_versions, verify_messages
from linksyn_assets.qc.retired_rows import earlier_rows_first, retired_rows
from linksyn_assets.qc.rules import (
    QCResult,
    assemble,
    pretraining_texts,
    remove_where,
    shipped_columns,
    start,
    with_dataset_columns,
    with_verification,
)
from linksyn_assets.qc.steps import row_steps, run_steps, table_steps
from linksyn_assets.qc.token_count import TokenCounter
from linksyn_assets.records import IndependentSolve
from linksyn_assets.reports import DatasetReport, LLMBatchReport, QCStep
from linksyn_assets.seeds.readers import skip_summary, source_files
from linksyn_assets.stages import group_of
from linksyn_assets.storage import Stored, file_stamps, read_if_present, write_parquet_atomic
from resources.llm import LLMResource
from resources.pipeline_settings import LinkSynSettingsResource


def _files_read(benchmarks: list[str], tokenizer_json: str | None) -> object:
    """The files QC reads besides its inputs, by size and mtime (a missing one: the step reports it)."""
    try:
        return [file_stamps(source_files(Path(p))) for p in [*benchmarks, *([tokenizer_json] if tokenizer_json
                                                                           else [])]]
    except OSError as exc:
        return f"unreadable: {exc}"


@dg.asset(partitions_def=discipline_partitions, automation_condition=AUTOMATED,
          **LLM_STEP, group_name=group_of("linkqa_dataset"), kinds={"polars", "parquet"},
          description="Rows after generation status, schema/length, seed-copy, language, benchmark "
                      "contamination, exact and near-duplicate checks, with an independent solve of every "
                      "answer, stored in <data dir>/dataset/<discipline>.parquet; every removed row is in "
                      "<data dir>/rejects/<discipline>.parquet with its reason.")
def linkqa_dataset(context: dg.AssetExecutionContext, synthesized_qa: pl.LazyFrame, hard_qa: pl.LazyFrame,
                   llm: LLMResource, progress: dg.ResourceParam[ProgressSink],
                   settings: LinkSynSettingsResource) -> dg.Output[pl.DataFrame]:
    discipline = context.partition_key
    plain = settings.plain()
    params = plain.dataset
    made_from = recipe(context, llm=llm.answer_settings(), settings=plain.model_dump(mode="json"),
                       files=_files_read(params.benchmark_files, params.tokenizer_json))
    prior = reusable(context, made_from, [dataset_file(discipline), rejects_file(discipline)])
    if prior is not None:
        return dg.Output(Stored(), **reused(prior))
    synthesized, hard = synthesized_qa.collect(), hard_qa.collect()
    try:
        benchmarks = settings.benchmarks()
    except (OSError, ValueError) as exc:
        raise dg.Failure(f"benchmark_files: {exc}", allow_retries=False) from exc
    if benchmarks.skipped():
        context.log.warning(f"benchmark_files: {skip_summary(benchmarks.skipped())}: "
                            f"{', '.join(benchmarks.skipped())}")
    qc, steps = run_steps(start(assemble(synthesized, hard)),
                          [*row_steps(params, plain.synthesis.copy_threshold), *table_steps(params, benchmarks)])
    qc = with_dataset_columns(qc)
    requests = [(row["record_id"], verify_messages(row, row["language"])) for row in qc.kept.iter_rows(named=True)]
    solves, verifier = run_llm_batch(context, llm, progress, "verify", requests, IndependentSolve,
                                     prompt_versions("verify"))
    solved = {r.item_id: IndependentSolve.model_validate(r.data).answer for r in solves if r.ok and r.data}
    kept, reasons = with_verification(qc.kept, solved, params.verification)
    # under 'keep' and 'flag' a disagreeing row stays (flagged): the step's pass count is the agreeing rows
    steps.append(QCStep(step="independent solve agrees", entered=kept.height,
                        passed=int((kept["verification"] == "agree").sum())))
    qc = remove_where(QCResult(kept=kept, rejects=qc.rejects), reasons)
    counter = TokenCounter(params.tokenizer_json)
    text = pretraining_texts(qc.kept)
    previous = read_if_present(asset_file("linkqa_dataset", discipline))
    kept = earlier_rows_first(qc.kept.with_columns(text, counter.count(text)), previous)
    left = retired_rows(previous, kept, read_if_present(retired_file("walk_paths", discipline)), qc.rejects)
    retired_path = retired_file("linkqa_dataset", discipline)
    if left.height:
        earlier = read_if_present(retired_path)
        left = left.with_columns(retired_at=pl.lit(context.run_id))
        write_parquet_atomic(pl.concat([earlier, left], how="diagonal_relaxed") if earlier is not None else left,
                             retired_path)
    rows_new = (int((~kept["record_id"].is_in(previous["record_id"].implode())).sum()) if previous is not None
                else kept.height)
    rejects_path = rejects_file(discipline)
    write_parquet_atomic(qc.rejects, rejects_path)
    kept = shipped_columns(kept, params.keep_reasoning)  # stored once, by the IO manager, in dataset/
    verifier_report = LLMBatchReport.model_validate({**verifier.stats.as_metadata(),
                                                     "model": verifier.route.cache_identity,
                                                     "prompt_version": prompt_versions("verify")})
    report = DatasetReport(
        rows=kept.height, rows_new=rows_new, rows_kept=kept.height - rows_new, rows_retired=left.height,
        tokens=int(kept["tokens"].sum()), removed=qc.rejects.height, paths=synthesized["path_id"].n_unique(),
        qc_steps=steps, removed_by_reason=qc.reasons(), verification=counts(kept, "verification"),
        benchmark_files=benchmarks.files, benchmark_files_skipped=skip_summary(benchmarks.skipped()) or "none",
        verifier=verifier_report)
    return dg.Output(kept, **made(made_from, catalog(report, kept, {
        "parquet": dg.MetadataValue.path(str(dataset_file(discipline))),
        "rejects": dg.MetadataValue.path(str(rejects_path)),
        "preview": preview(kept, ["kind", "question", "answer", "verification"]),
    }, {
        "retired_reasons": dict(left.group_by(pl.col("retired_reason").str.split(":").list.first())
                                .len().iter_rows()) if left.height else {},
        "tokenizer": counter.name,
        "by_kind": counts(kept, "kind"),
        "rows_with_reasoning": int(kept["reasoning"].is_not_null().sum()) if "reasoning" in kept.columns else 0,
        "settings": plain.model_dump(mode="json"),
    }), kept))
