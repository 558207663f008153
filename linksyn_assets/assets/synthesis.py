"""`synthesized_qa` (new QA from linked seeds) and `hard_qa` (harder variants)."""


from typing import Any

import dagster as dg
import polars as pl

from linksyn_assets.assets.llm_batch import run_llm_batch
from linksyn_assets.assets.metadata import counts, json_meta, preview, table_metadata
from linksyn_assets.assets.policies import AUTOMATED, LLM_STEP
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.prompts.messages import prompt_versions
from linksyn_assets.records import DifficultyRating, HardeningAnswer, SynthesisAnswer
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


def _seed_lookup(seeds: pl.LazyFrame, paths: pl.DataFrame) -> dict[str, dict[str, Any]]:
    wanted = paths["seed_ids"].explode().unique().implode() if paths.height else pl.Series([[]])
    found = seeds.filter(pl.col("seed_id").is_in(wanted)).collect()
    lookup = {row["seed_id"]: row for row in found.iter_rows(named=True)}
    missing = set(paths["seed_ids"].explode().drop_nulls().to_list()) - set(lookup)
    if missing:
        raise dg.Failure(f"{len(missing)} seed(s) on walk paths are not in `seeds` (e.g. {sorted(missing)[:3]}); "
                         "re-materialize seeds and kp_graph for all disciplines", allow_retries=False)
    return lookup


def _llm_metadata(table: pl.DataFrame, client_meta: dict[str, Any], model: str, version: str) -> dict[str, Any]:
    ok = table.filter(pl.col("status") == "ok")
    return {"rows": ok.height, "failed_rows": table.height - ok.height,
            "errors": json_meta(counts(table.filter(pl.col("status") != "ok"), "error")),
            "model": model, "prompt_version": version, **client_meta}


@dg.asset(partitions_def=discipline_partitions, automation_condition=AUTOMATED,
          **LLM_STEP, group_name="synthesis", kinds={"polars"},
          ins={"seeds": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
          description="New QA written by the LLM from each path's 2-4 seeds, with solution, KPs used and "
                      "seed ids as provenance; reasoning text (R1) in its own column.")
def synthesized_qa(context: dg.AssetExecutionContext, walk_paths: pl.DataFrame, seeds: pl.LazyFrame,
                   llm: LLMResource, settings: LinkSynSettingsResource) -> dg.Output[pl.DataFrame]:
    params = settings.plain().synthesis
    lookup = _seed_lookup(seeds, walk_paths)
    requests = synthesis_requests(walk_paths, lookup, params.qa_per_path, params.question_types)
    version = prompt_versions("synthesize")
    results, client = run_llm_batch(context, llm, "synthesize", requests, SynthesisAnswer, version)
    table = synthesized_table(walk_paths, results, lookup, params.qa_per_path, params.question_types)
    copies = table.filter(pl.col("copy_similarity") >= params.copy_threshold).height
    return dg.Output(table, metadata={
        **table_metadata(table),
        **_llm_metadata(table, client.stats.as_metadata(), client.route.cache_identity, version),
        "paths": walk_paths.height,
        "seed_copies": copies,
        "languages": json_meta(counts(table, "language")),
        "question_types": json_meta(counts(table, "question_type")),
        "preview": preview(table.filter(pl.col("status") == "ok"), ["question", "answer", "seed_ids"]),
    })


@dg.asset(partitions_def=discipline_partitions, automation_condition=AUTOMATED,
          **LLM_STEP, group_name="synthesis", kinds={"polars"},
          description="Harder variants of synthesized QA (for the disciplines in settings): an LLM judge "
                      "rates difficulty 0-4 before and after; only variants rated harder keep status ok.")
def hard_qa(context: dg.AssetExecutionContext, synthesized_qa: pl.DataFrame, llm: LLMResource,
            settings: LinkSynSettingsResource) -> dg.Output[pl.DataFrame]:
    params = settings.plain().synthesis
    discipline = context.partition_key
    if params.hard_disciplines is not None and discipline not in params.hard_disciplines:
        empty = hard_table(hardening_targets(synthesized_qa.clear(), params.hard_difficulty_step, 1.0), [])
        return dg.Output(empty, metadata={**table_metadata(empty), "rows": 0,
                                          "skipped": "discipline not in hard_disciplines"})
    targets = hardening_targets(synthesized_qa, params.hard_difficulty_step, params.copy_threshold)
    version = prompt_versions("harden")
    results, client = run_llm_batch(context, llm, "harden", hardening_requests(targets), HardeningAnswer, version)
    variants = hard_table(targets, results)
    ratings, judge = run_llm_batch(context, llm, "judge", judge_requests(targets, variants), DifficultyRating,
                                   prompt_versions("judge"))
    table = judged(variants, targets, ratings, judge.route.cache_identity)
    kept = table.filter(pl.col("status") == "ok")
    rated = table.filter(pl.col("rating_after").is_not_null())
    return dg.Output(table, metadata={
        **table_metadata(table),
        **_llm_metadata(table, client.stats.as_metadata(), client.route.cache_identity, version),
        "kept_harder": kept.height,
        "not_harder": table.filter(pl.col("status") == "not_harder").height,
        "unjudged": table.filter(pl.col("status") == "unjudged").height,
        "mean_rating_before": float(rated["rating_before"].mean() or 0.0) if rated.height else 0.0,
        "mean_rating_after": float(rated["rating_after"].mean() or 0.0) if rated.height else 0.0,
        "judge": json_meta({"model": judge.route.cache_identity, "prompt_version": prompt_versions("judge"),
                            **judge.stats.as_metadata()}),
        "target_difficulty": json_meta(counts(table.with_columns(pl.col("target_difficulty").cast(pl.String)),
                                              "target_difficulty")),
        "preview": preview(kept, ["question", "answer", "rating_before", "rating_after"]),
    })
