"""Asset checks, beside the assets they guard and with the same partitions. Each runs after its asset's
partition is written (a materialization selects its checks) and reads that partition, or, for checks on
numbers the asset computes anyway, is yielded by the asset itself from its report; the rules are plain
functions in qc/table_checks.py. Checks that protect LLM spend are blocking: when one fails, the assets
downstream of it in the run are not executed, so no request is sent for bad input."""

import dagster as dg
import polars as pl

from linksyn_assets.dataset_store.manifest import live_shards
from linksyn_assets.layout import dataset_folder, seed_quarantine_file
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.qc.steps import flagged, table_steps
from linksyn_assets.qc.table_checks import (
    TableCheck,
    dataset_clean,
    inputs_complete,
    quality_within,
    share_within,
    walk_within_targets,
    well_formed,
)
from linksyn_assets.quality.report import QualityReport
from linksyn_assets.reports import GraphReport, WalkReport
from linksyn_assets.settings import QualityParams
from linksyn_assets.storage import read_if_present
from resources.pipeline_settings import LinkSynSettingsResource


def _result(check: TableCheck, spec: dg.AssetCheckSpec | None = None) -> dg.AssetCheckResult:
    named = {"asset_key": spec.asset_key, "check_name": spec.name} if spec is not None else {}
    return dg.AssetCheckResult(passed=check.passed, **named, metadata={"problems": check.problems,
                                                              "example_ids": ", ".join(check.examples) or "-",
                                                              **check.values})


@dg.asset_check(asset="seeds", partitions_def=discipline_partitions, blocking=True,
                description="Every seed has a unique seed_id, a question and an answer and belongs to this "
                            "partition; at most dataset.max_quarantine_share of the discipline's input rows were "
                            "quarantined. Blocks extraction.")
def seeds_well_formed(context: dg.AssetCheckExecutionContext, seeds: pl.DataFrame,
                      settings: LinkSynSettingsResource) -> dg.AssetCheckResult:
    discipline = context.partition_key
    quarantine = read_if_present(seed_quarantine_file(discipline))
    bad = quarantine.height if quarantine is not None else 0
    limit = settings.plain().dataset.max_quarantine_share
    check = well_formed(seeds, "seed_id", ["question", "answer"], discipline=discipline)
    quarantined = share_within("quarantined_share", bad, bad + seeds.height, at_most=limit)
    # no seeds at all: nothing would be spent, so the share only informs (the quarantine says why)
    return _result(check & (quarantined if seeds.height else TableCheck(True, values=quarantined.values)))


@dg.asset_check(asset="seed_kps", partitions_def=discipline_partitions, blocking=True,
                description="At least dataset.min_seeds_with_kps_share of the seeds got a KP. Blocks the walks "
                            "and synthesis.")
def seed_kps_extracted(seed_kps: pl.DataFrame, settings: LinkSynSettingsResource) -> dg.AssetCheckResult:
    seeds = seed_kps["seed_id"].n_unique()
    with_kps = seed_kps.filter(pl.col("kp_id").is_not_null())["seed_id"].n_unique()
    if seeds == 0:  # a discipline without seeds: nothing downstream to protect
        return _result(TableCheck(True, values={"seeds_with_kps_share": 0.0}))
    return _result(share_within("seeds_with_kps_share", with_kps, seeds,
                                at_least=settings.plain().dataset.min_seeds_with_kps_share))


# Checks on numbers the asset has in hand: declared on the asset (check_specs) and yielded by it after its
# output, from its report, so nothing reads the event log back.

kp_graph_has_discipline_kps = dg.AssetCheckSpec(
    "kp_graph_has_discipline_kps", asset="kp_graph", partitions_def=discipline_partitions,
    description="The discipline has KPs in its graph, and the graph was built from every active discipline's "
                "seed_kps but those held back by a failed ingest (named); reports the share of its KPs without "
                "an edge.")


def kp_graph_result(report: GraphReport, seed_disciplines: set[str]) -> dg.AssetCheckResult:
    home, isolated = report.home_kps, report.isolated_home_kps
    inputs = inputs_complete(set(report.input_disciplines), seed_disciplines)
    check = (share_within("discipline_kps", home, report.nodes, at_least=1e-9) & inputs
             & TableCheck(True, values={"isolated_kp_share": round(isolated / home, 4) if home else 0.0,
                                        "left_out": "; ".join(f"{d}: {why}" for d, why in report.left_out.items())
                                        or "-"}))
    return _result(check, kp_graph_has_discipline_kps)


walk_paths_within_targets = dg.AssetCheckSpec(
    "walk_paths_within_targets", asset="walk_paths", partitions_def=discipline_partitions,
    description="The discipline got at least 95% of the paths its share of the mix asks for; the difficulty "
                "histogram is within KL 0.05 of its target and KP coverage is not below the uniform walk's "
                "(these two judged from 50 paths on).")


def walk_paths_result(report: WalkReport) -> dg.AssetCheckResult:
    check = walk_within_targets(report.rows, report.difficulty_kl, report.kp_coverage, report.kp_coverage_uniform,
                                report.paths_wanted)
    return _result(check, walk_paths_within_targets)


linkqa_dataset_quality = dg.AssetCheckSpec(
    "linkqa_dataset_quality", asset="linkqa_dataset", partitions_def=discipline_partitions, blocking=True,
    description="The quality report within the thresholds of settings `quality` (judged from quality.min_rows "
                "rows on): near-paraphrases of their own seeds at most quality.max_paraphrase_share, rows sharing "
                "a long n-gram with another question at most quality.max_repeated_ngram_share, distinct-2 at least "
                "quality.min_distinct_2, and, when set, the difficulty KL to the target at most "
                "quality.max_difficulty_kl. Blocks the release in the same run.")


def linkqa_dataset_quality_result(report: QualityReport | None, limits: QualityParams) -> dg.AssetCheckResult:
    return _result(quality_within(report, limits), linkqa_dataset_quality)


@dg.asset_check(asset="synthesized_qa", partitions_def=discipline_partitions, blocking=True,
                description="At least dataset.min_schema_valid_share of the synthesis answers came back as valid "
                            "QA (status ok). Blocks hardening and verification.")
def synthesized_qa_schema_valid(synthesized_qa: pl.DataFrame,
                                settings: LinkSynSettingsResource) -> dg.AssetCheckResult:
    ok = synthesized_qa.filter(pl.col("status") == "ok")
    if synthesized_qa.is_empty():  # no paths, nothing downstream to spend on
        return _result(TableCheck(True, values={"schema_valid_share": 0.0}))
    check = share_within("schema_valid_share", ok.height, synthesized_qa.height,
                         at_least=settings.plain().dataset.min_schema_valid_share)
    bad = synthesized_qa.filter(pl.col("status") != "ok")
    check.examples = [f"{p}: {e}"[:120] for p, e in bad.select("path_id", "error").head(5).iter_rows()] \
        if not check.passed else []
    return _result(check)


@dg.asset_check(asset="linkqa_dataset", partitions_def=discipline_partitions,
                description="Every released candidate row has a unique record_id, a question and an answer, "
                            "and belongs to this partition's discipline.")
def linkqa_dataset_well_formed(context: dg.AssetCheckExecutionContext,
                               linkqa_dataset: pl.LazyFrame) -> dg.AssetCheckResult:
    return _result(well_formed(linkqa_dataset, "record_id", ["question", "answer"], discipline=context.partition_key))


@dg.asset_check(asset="linkqa_dataset", partitions_def=discipline_partitions,
                description="The final rows rechecked, shard by shard (memory bounded by a shard): none contaminated "
                            "by the configured benchmarks, near-duplicate share within each shard at most "
                            "dataset.max_duplicate_share, verifier agreement at least "
                            "dataset.min_verification_agreement (judged from 20 verified rows on).")
def linkqa_dataset_clean(context: dg.AssetCheckExecutionContext, linkqa_dataset: pl.LazyFrame,
                         settings: LinkSynSettingsResource) -> dg.AssetCheckResult:
    params = settings.plain().dataset
    steps = table_steps(params, settings.benchmarks())
    contaminated, duplicates, rows = [], [], 0
    for shard in live_shards(dataset_folder(context.partition_key)):
        found = flagged(shard, steps)
        contaminated += found["benchmark contamination"]
        duplicates += found["near-duplicates"]
        rows += shard.height
    tally = dict(linkqa_dataset.group_by("verification").len().collect().iter_rows()) if rows else {}
    return _result(dataset_clean(rows, contaminated, duplicates, int(tally.get("agree", 0)),
                                 int(tally.get("agree", 0)) + int(tally.get("disagree", 0)),
                                 params.max_duplicate_share, params.min_verification_agreement))


ALL_CHECKS = [seeds_well_formed, seed_kps_extracted, synthesized_qa_schema_valid, linkqa_dataset_well_formed,
              linkqa_dataset_clean]
