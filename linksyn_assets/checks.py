"""Asset checks, one per table that later stages pay LLM calls for or that users train on. Each runs after
its asset's partition is written (a materialization selects its checks) and reads that partition; the
rules are plain functions in qc/table_checks.py."""

import dagster as dg
import polars as pl

from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.qc.table_checks import TableCheck, well_formed


def _result(check: TableCheck) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=check.passed, metadata={"problems": check.problems,
                                                              "example_ids": ", ".join(check.examples) or "-"})


@dg.asset_check(asset="seeds", partitions_def=discipline_partitions,
                description="Every seed has a unique seed_id, a question and an answer, and belongs to this "
                            "partition's discipline.")
def seeds_well_formed(context: dg.AssetCheckExecutionContext, seeds: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(well_formed(seeds, "seed_id", ["question", "answer"], discipline=context.partition_key))


@dg.asset_check(asset="linkqa_dataset", partitions_def=discipline_partitions,
                description="Every released candidate row has a unique record_id, a question and an answer, "
                            "and belongs to this partition's discipline.")
def linkqa_dataset_well_formed(context: dg.AssetCheckExecutionContext,
                               linkqa_dataset: pl.DataFrame) -> dg.AssetCheckResult:
    return _result(well_formed(linkqa_dataset, "record_id", ["question", "answer"],
                               discipline=context.partition_key))


ALL_CHECKS = [seeds_well_formed, linkqa_dataset_well_formed]
