"""Asset checks, beside the assets they guard and with the same partitions. Each runs after its asset's
partition is written (a materialization selects its checks) and reads that partition; the rules are plain
functions in qc/table_checks.py. Checks that protect LLM spend are blocking: when one fails, the assets
downstream of it in the run are not executed, so no request is sent for bad input."""

import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import values
from linksyn_assets.layout import seed_quarantine_file
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.qc.benchmarks import Benchmarks
from linksyn_assets.qc.steps import flagged, table_steps
from linksyn_assets.qc.table_checks import (
    TableCheck,
    dataset_clean,
    inputs_complete,
    share_within,
    walk_within_targets,
    well_formed,
)
from linksyn_assets.storage import read_if_present
from resources.pipeline_settings import LinkSynSettingsResource
from resources.seed_source import SeedSourceResource


def _result(check: TableCheck) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=check.passed, metadata={"problems": check.problems,
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


@dg.asset_check(asset="kp_graph", partitions_def=discipline_partitions,
                description="The discipline has KPs in its graph, and the graph was built from every active "
                            "discipline's seed_kps; reports the share of its KPs without an edge.")
def kp_graph_has_discipline_kps(context: dg.AssetCheckExecutionContext,
                                seed_source: SeedSourceResource) -> dg.AssetCheckResult:
    meta = _latest_values(context, "kp_graph")
    home, isolated = int(meta.get("home_kps", 0)), int(meta.get("isolated_home_kps", 0))
    read = set(meta.get("input_disciplines", []))
    inputs = inputs_complete(read, set(seed_source.seed_disciplines()))
    return _result(share_within("discipline_kps", home, int(meta.get("nodes", 0)), at_least=1e-9) & inputs
                   & TableCheck(True, values={"isolated_kp_share": round(isolated / home, 4) if home else 0.0}))


def _latest_values(context: dg.AssetCheckExecutionContext, asset: str) -> dict:
    """The metadata of this partition's latest materialization of the asset, as plain values."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(dg.AssetKey(asset), [context.partition_key]), limit=1).records
    return values(records[0].asset_materialization) if records else {}


@dg.asset_check(asset="walk_paths", partitions_def=discipline_partitions,
                description="The discipline got at least 95% of the paths its share of the mix asks for; the "
                            "difficulty histogram is within KL 0.05 of its target and KP coverage is not below the "
                            "uniform walk's (these two judged from 50 paths on).")
def walk_paths_within_targets(context: dg.AssetCheckExecutionContext, walk_paths: pl.DataFrame) -> dg.AssetCheckResult:
    meta = _latest_values(context, "walk_paths")
    number = {k: float(meta.get(k, 0.0)) for k in ("difficulty_kl", "kp_coverage", "kp_coverage_uniform")}
    return _result(walk_within_targets(walk_paths.height, number["difficulty_kl"], number["kp_coverage"],
                                       number["kp_coverage_uniform"], int(meta.get("paths_wanted", 0))))


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
                               linkqa_dataset: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(well_formed(linkqa_dataset, "record_id", ["question", "answer"], discipline=context.partition_key))


@dg.asset_check(asset="linkqa_dataset", partitions_def=discipline_partitions,
                description="The final rows rechecked: none contaminated by the configured benchmarks, near-duplicate "
                            "share at most dataset.max_duplicate_share, verifier agreement at least "
                            "dataset.min_verification_agreement (judged from 20 verified rows on).")
def linkqa_dataset_clean(linkqa_dataset: pl.DataFrame, settings: LinkSynSettingsResource) -> dg.AssetCheckResult:
    params = settings.plain().dataset
    rows = linkqa_dataset
    benchmarks = Benchmarks.cached(params.benchmark_files, params.decontamination_ngram,
                                   params.contamination_containment)
    found = flagged(rows, table_steps(params, benchmarks))
    contaminated, duplicates = found["benchmark contamination"], found["near-duplicates"]
    verdicts = rows["verification"].value_counts() if rows.height else None
    tally = dict(verdicts.iter_rows()) if verdicts is not None else {}
    return _result(dataset_clean(rows.height, contaminated, duplicates, int(tally.get("agree", 0)),
                                 int(tally.get("agree", 0)) + int(tally.get("disagree", 0)),
                                 params.max_duplicate_share, params.min_verification_agreement))


ALL_CHECKS = [seeds_well_formed, seed_kps_extracted, kp_graph_has_discipline_kps, walk_paths_within_targets,
              synthesized_qa_schema_valid, linkqa_dataset_well_formed, linkqa_dataset_clean]
