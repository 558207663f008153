"""`seed_kps`: the knowledge points each seed tests, extracted by the LLM."""


import dagster as dg
import polars as pl

from linksyn_assets.assets.llm_batch import run_llm_batch
from linksyn_assets.assets.metadata import catalog, counts, preview
from linksyn_assets.assets.policies import AUTOMATED, LLM_STEP
from linksyn_assets.assets.unchanged import made, recipe, reusable, reused
from linksyn_assets.kps.extraction import extraction_requests, seed_kps_table
from linksyn_assets.layout import asset_file
from linksyn_assets.llm.progress import ProgressSink
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.prompts.messages import EXTRACT_VERSION
from linksyn_assets.records import KPExtraction
from linksyn_assets.reports import ExtractionReport
from linksyn_assets.stages import group_of
from linksyn_assets.storage import Stored
from resources.llm import LLMResource
from resources.seed_source import SeedSourceResource


@dg.asset(partitions_def=discipline_partitions, automation_condition=AUTOMATED,
          **LLM_STEP, group_name=group_of("seed_kps"), kinds={"polars"},
          description="Per seed: 1-8 canonical KPs (kp_id + surface name); difficulty/discipline "
                      "annotated by the same call when the seed lacks them.")
def seed_kps(context: dg.AssetExecutionContext, seeds: pl.LazyFrame, llm: LLMResource,
             progress: dg.ResourceParam[ProgressSink], seed_source: SeedSourceResource) -> dg.Output[pl.DataFrame]:
    made_from = recipe(context, llm=llm.answer_settings(), default_discipline=seed_source.default_discipline)
    prior = reusable(context, made_from, [asset_file("seed_kps", context.partition_key)])
    if prior is not None:
        return dg.Output(Stored(), **reused(prior))
    rows = seeds.collect()
    results, client = run_llm_batch(context, llm, progress, "extract", extraction_requests(rows),
                                    KPExtraction, EXTRACT_VERSION)
    table = seed_kps_table(rows, results, seed_source.default_discipline)
    ok = table.filter(pl.col("kp_id").is_not_null())
    failed = table.filter(pl.col("error").is_not_null())
    if failed.height:
        context.log.warning(f"KP extraction failed for {failed.height} of {rows.height} seeds "
                            f"(reasons: {counts(failed, 'error')})")
    per_seed = ok.group_by("seed_id").len()
    report = ExtractionReport(rows=table.height, seeds_with_kps=per_seed.height, model=client.route.cache_identity,
                              prompt_version=EXTRACT_VERSION, **client.stats.as_metadata())
    return dg.Output(table, **made(made_from, catalog(report, table, {
        "preview": preview(ok, ["seed_id", "kp_name", "kp_id", "difficulty"]),
    }, {
        "seeds": rows.height,
        "seeds_failed": failed.height,
        "distinct_kps": ok["kp_id"].n_unique(),
        "mean_kps_per_seed": round(float(per_seed["len"].mean() or 0.0), 2),
        "difficulty_source": counts(table.unique("seed_id"), "difficulty_source"),
    }), table))
