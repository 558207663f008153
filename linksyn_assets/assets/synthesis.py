"""`synthesized_qa` (new QA from linked seeds) and `hard_qa` (harder variants)."""


from typing import Any, TypeVar

import dagster as dg
import polars as pl

from linksyn_assets.assets.llm_batch import run_llm_batch
from linksyn_assets.assets.metadata import catalog, counts, preview
from linksyn_assets.assets.policies import AFTER_WALKS, AUTOMATED, LLM_STEP
from linksyn_assets.assets.unchanged import made, recipe, reusable, reused
from linksyn_assets.layout import asset_file
from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.progress import ProgressSink
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.prompts.messages import prompt_versions
from linksyn_assets.records import DifficultyRating, HardeningAnswer, SynthesisAnswer
from linksyn_assets.reports import HardReport, LLMAssetReport, LLMBatchReport, SynthesisReport
from linksyn_assets.stages import group_of
from linksyn_assets.storage import Stored
from linksyn_assets.svg_chart import bar_chart, markdown_image
from linksyn_assets.synthesis.tables import (
    hard_table,
    hardening_requests,
    hardening_targets,
    judge_requests,
    judged,
    synthesis_requests,
    synthesized_table,
)
from resources.llm import LLMResource
from resources.pipeline_settings import LinkSynSettingsResource

R = TypeVar("R", bound=LLMAssetReport)


def _seed_lookup(seeds: pl.LazyFrame, paths: pl.DataFrame) -> dict[str, dict[str, Any]]:
    wanted = paths["seed_ids"].explode().unique().implode() if paths.height else pl.Series([[]])
    found = seeds.filter(pl.col("seed_id").is_in(wanted)).collect()
    lookup = {row["seed_id"]: row for row in found.iter_rows(named=True)}
    missing = set(paths["seed_ids"].explode().drop_nulls().to_list()) - set(lookup)
    if missing:
        raise dg.Failure(f"{len(missing)} seed(s) on walk paths are not in `seeds` (e.g. {sorted(missing)[:3]}); "
                         "re-materialize seeds and kp_graph for all disciplines", allow_retries=False)
    return lookup


def _batch_report(kind: type[R], table: pl.DataFrame, client: LLMClient, version: str, **more: Any) -> R:
    """The asset's report: valid rows, failed rows and what the calls cost."""
    ok = table.filter(pl.col("status") == "ok").height
    return kind.model_validate({**client.stats.as_metadata(), "rows": ok, "failed_rows": table.height - ok,
                                "model": client.route.cache_identity, "prompt_version": version, **more})


def _recipe(context: dg.AssetExecutionContext, llm: LLMResource, settings: LinkSynSettingsResource) -> str:
    return recipe(context, llm=llm.answer_settings(), settings=settings.plain().model_dump(mode="json"))


def _errors(table: pl.DataFrame) -> dict[str, int]:
    return counts(table.filter(pl.col("status") != "ok"), "error")


@dg.asset(partitions_def=discipline_partitions, automation_condition=AFTER_WALKS,
          **LLM_STEP, group_name=group_of("synthesized_qa"), kinds={"polars"},
          ins={"seeds": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
          description="New QA written by the LLM from each path's 2-4 seeds, with solution, KPs used and "
                      "seed ids as provenance; reasoning text (R1) in its own column.")
def synthesized_qa(context: dg.AssetExecutionContext, walk_paths: pl.LazyFrame, seeds: pl.LazyFrame,
                   llm: LLMResource, progress: dg.ResourceParam[ProgressSink],
                   settings: LinkSynSettingsResource) -> dg.Output[pl.DataFrame]:
    made_from = _recipe(context, llm, settings)
    prior = reusable(context, made_from, [asset_file("synthesized_qa", context.partition_key)])
    if prior is not None:
        return dg.Output(Stored(), **reused(prior))
    paths = walk_paths.collect()
    params = settings.plain().synthesis
    lookup = _seed_lookup(seeds, paths)
    requests = synthesis_requests(paths, lookup, params.qa_per_path, params.question_types)
    version = prompt_versions("synthesize")
    results, client = run_llm_batch(context, llm, progress, "synthesize", requests, SynthesisAnswer, version)
    table = synthesized_table(paths, results, lookup, params.qa_per_path, params.question_types)
    copies = table.filter(pl.col("copy_similarity") >= params.copy_threshold).height
    report = _batch_report(SynthesisReport, table, client, version, paths=paths.height)
    return dg.Output(table, **made(made_from, catalog(report, table, {
        "preview": preview(table.filter(pl.col("status") == "ok"), ["question", "answer", "seed_ids"]),
    }, {
        "errors": _errors(table),
        "seed_copies": copies,
        "languages": counts(table, "language"),
        "question_types": counts(table, "question_type"),
        "settings": settings.plain().model_dump(mode="json"),
    }), table))


@dg.asset(partitions_def=discipline_partitions, automation_condition=AUTOMATED,
          **LLM_STEP, group_name=group_of("hard_qa"), kinds={"polars"},
          description="Harder variants of synthesized QA (for the disciplines in settings): an LLM judge "
                      "rates difficulty 0-4 before and after; only variants rated harder keep status ok.")
def hard_qa(context: dg.AssetExecutionContext, synthesized_qa: pl.LazyFrame, llm: LLMResource,
            progress: dg.ResourceParam[ProgressSink], settings: LinkSynSettingsResource) -> dg.Output[pl.DataFrame]:
    params = settings.plain().synthesis
    discipline = context.partition_key
    made_from = _recipe(context, llm, settings)
    prior = reusable(context, made_from, [asset_file("hard_qa", discipline)])
    if prior is not None:
        return dg.Output(Stored(), **reused(prior))
    rows = synthesized_qa.collect()
    if params.hard_disciplines is not None and discipline not in params.hard_disciplines:
        empty = hard_table(hardening_targets(rows.clear(), params.hard_difficulty_step, 1.0), [])
        return dg.Output(empty, **made(made_from, catalog(HardReport(), empty, {
            "skipped": "discipline not in hard_disciplines"}, {"settings": settings.plain().model_dump(mode="json")}),
            empty))
    targets = hardening_targets(rows, params.hard_difficulty_step, params.copy_threshold,
                                settings.plain().difficulty.hardening_floor())
    version = prompt_versions("harden")
    results, client = run_llm_batch(context, llm, progress, "harden", hardening_requests(targets), HardeningAnswer,
                                    version)
    variants = hard_table(targets, results)
    ratings, judge = run_llm_batch(context, llm, progress, "judge", judge_requests(targets, variants),
                                   DifficultyRating,
                                   prompt_versions("judge"))
    table = judged(variants, targets, ratings, judge.route.cache_identity)
    kept = table.filter(pl.col("status") == "ok")
    rated = table.filter(pl.col("rating_after").is_not_null())
    judge_report = LLMBatchReport.model_validate({**judge.stats.as_metadata(), "model": judge.route.cache_identity,
                                                  "prompt_version": prompt_versions("judge")})
    report = _batch_report(HardReport, table, client, version, kept_harder=kept.height, judge=judge_report)
    before = rated["rating_before"].cast(pl.String).value_counts() if rated.height else None
    after = kept["rating_after"].cast(pl.String).value_counts() if kept.height else None
    levels = [str(i) for i in range(5)]

    def histogram(tally: pl.DataFrame | None) -> dict[str, float]:
        found = dict(tally.iter_rows()) if tally is not None else {}
        return {f"rated {level}": float(found.get(level, 0)) for level in levels}

    plot = bar_chart({"originals (before)": histogram(before), "kept variants (after)": histogram(after)},
                     "Judged difficulty before and after hardening", "questions")
    return dg.Output(table, **made(made_from, catalog(report, table, {
        "difficulty_before_after": dg.MetadataValue.md(markdown_image(plot, "difficulty before and after")),
        "preview": preview(kept, ["question", "answer", "rating_before", "rating_after"]),
    }, {
        "errors": _errors(table),
        "not_harder": table.filter(pl.col("status") == "not_harder").height,
        "unjudged": table.filter(pl.col("status") == "unjudged").height,
        "mean_rating_before": float(rated["rating_before"].mean() or 0.0) if rated.height else 0.0,
        "mean_rating_after": float(rated["rating_after"].mean() or 0.0) if rated.height else 0.0,
        "target_difficulty": counts(table.with_columns(pl.col("target_difficulty").cast(pl.String)),
                                    "target_difficulty"),
        "settings": settings.plain().model_dump(mode="json"),
    }), table))
