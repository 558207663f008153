"""Asset checks beside their assets: a failing blocking check keeps its downstream LLM asset from running."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.checks import ALL_CHECKS
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.qc.table_checks import share_within
from resources import build_resources
from tests.conftest import write_jsonl
from tests.stub_llm_server import StubServer


def test_share_bounds_name_the_measured_share() -> None:
    assert share_within("quarantined_share", 1, 4, at_most=0.5).passed
    failed = share_within("quarantined_share", 3, 4, at_most=0.5)
    assert not failed.passed and failed.values == {"quarantined_share": 0.75}
    assert list(failed.problems) == ["quarantined_share 75.0% (3 of 4), expected at most 50%"]
    assert not share_within("seeds_with_kps_share", 0, 0, at_least=0.5).passed  # nothing extracted is no pass


def test_a_failing_blocking_check_stops_extraction_before_any_llm_request(stub_env: StubServer, tmp_path: Path,
                                                                          data_dir: Path) -> None:
    rows = [{"question": "力的单位是什么？", "answer": "牛顿", "discipline": "physics"},
            *({"question": f"Question {i} without its answer?", "discipline": "physics"} for i in range(3))]
    write_jsonl(tmp_path / "seeds" / "physics.jsonl", rows)  # 3 of 4 rows quarantined: over the 50% limit
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics"])
        result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=["seeds", "seed_kps"], partition_key="physics",
                                instance=instance, resources=build_resources(seeds_path=str(tmp_path / "seeds")),
                                raise_on_error=False)
    checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    assert not checks["seeds_well_formed"].passed
    assert checks["seeds_well_formed"].metadata["quarantined_share"].value == 0.75
    written = {e.event_specific_data.materialization.asset_key.to_user_string()
               for e in result.get_asset_materialization_events()}
    assert written == {"seeds"}
    assert stub_env.count == 0  # seed_kps never ran: not one extraction request
    assert not (data_dir / "assets" / "seed_kps" / "physics.parquet").exists()
    assert pl.read_parquet(data_dir / "assets" / "seeds" / "physics.parquet").height == 1


def test_walk_targets_are_judged_only_on_enough_paths() -> None:
    from linksyn_assets.qc.table_checks import MIN_PATHS_TO_JUDGE, walk_within_targets

    assert walk_within_targets(MIN_PATHS_TO_JUDGE - 1, difficulty_kl=9.0, coverage=0.0, coverage_uniform=0.5).passed
    ok = walk_within_targets(200, difficulty_kl=0.01, coverage=0.35, coverage_uniform=0.25)
    assert ok.passed and ok.values["kp_coverage"] == 0.35
    bad = walk_within_targets(200, difficulty_kl=0.2, coverage=0.10, coverage_uniform=0.25)
    assert not bad.passed and sorted(bad.problems) == [
        "KP coverage 0.100 below the uniform walk's 0.250", "difficulty KL 0.200 over 0.05"]
    assert walk_within_targets(200, difficulty_kl=0.0, coverage=0.22, coverage_uniform=0.25).passed  # within slack


def test_a_discipline_short_of_its_share_of_the_mix_fails_the_walk_check() -> None:
    from linksyn_assets.qc.table_checks import walk_within_targets

    short = walk_within_targets(10, difficulty_kl=0.0, coverage=0.0, coverage_uniform=0.0, paths_wanted=30)
    assert not short.passed and short.values["share_of_wanted_paths"] == round(10 / 30, 4)
    assert "10 of 30 wanted paths" in next(iter(short.problems))
    assert walk_within_targets(29, difficulty_kl=0.0, coverage=0.0, coverage_uniform=0.0, paths_wanted=30).passed


def test_the_dataset_recheck_counts_contamination_duplicates_and_agreement() -> None:
    from linksyn_assets.qc.table_checks import MIN_VERIFIED_TO_JUDGE, dataset_clean

    clean = dataset_clean(100, [], [], agree=30, verified=40, max_duplicate_share=0.0, min_agreement=0.5)
    assert clean.passed and clean.values["verification_agreement"] == 0.75
    dirty = dataset_clean(100, ["r1"], ["r2", "r3"], agree=5, verified=40, max_duplicate_share=0.01,
                          min_agreement=0.5)
    assert not dirty.passed and dirty.examples == ["r1", "r2", "r3"]
    assert sorted(dirty.problems) == ["1 row(s) contaminated by a benchmark",
                                      "duplicate_share 2.0% (2 of 100), expected at most 1%",
                                      "verification_agreement 12.5% (5 of 40), expected at least 50%"]
    # a handful of verified rows is not judged
    assert dataset_clean(5, [], [], agree=0, verified=MIN_VERIFIED_TO_JUDGE - 1, max_duplicate_share=0.0,
                         min_agreement=0.5).passed


def test_invalid_synthesis_answers_stop_hardening_and_verification(stub_env: StubServer, linked_seeds: Path,
                                                                   data_dir: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from linksyn_assets.location import build_definitions
    from tests.stub_llm_server import Faults

    monkeypatch.setenv("LINKSYN_MAX_FAILED_SHARE", "1.0")  # the LLM step tolerates it; the check must not
    defs = build_definitions(build_resources(seeds_path=str(linked_seeds), settings_overrides={
        "walk": {"paths_per_discipline": 2}, "synthesis": {"hard_disciplines": ["physics"]}}))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "physics"])
        for d in ("mathematics", "physics"):
            assert defs.resolve_job_def("linksyn_ingest").execute_in_process(partition_key=d, instance=instance).success
        stub_env.reset(Faults(schema_invalid=1))  # every synthesis answer fails its schema
        result = defs.resolve_job_def("linksyn_pipeline").execute_in_process(
            partition_key="physics", instance=instance, raise_on_error=False)
    checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    assert not checks["synthesized_qa_schema_valid"].passed
    assert checks["synthesized_qa_schema_valid"].metadata["schema_valid_share"].value == 0.0
    written = {e.event_specific_data.materialization.asset_key.to_user_string()
               for e in result.get_asset_materialization_events()}
    assert written == {"kp_graph", "walk_paths", "synthesized_qa"}
    assert stub_env.state.by_stage["synthesize"] > 0
    assert stub_env.state.by_stage["harden"] == stub_env.state.by_stage["verify"] == 0


def test_a_lost_input_stops_the_graph_and_a_graph_missing_a_discipline_fails_its_check(
        stub_env: StubServer, linked_seeds: Path, data_dir: Path) -> None:
    from linksyn_assets.assets.metadata import values
    from linksyn_assets.location import build_definitions
    from linksyn_assets.qc.table_checks import inputs_complete

    resources = build_resources(seeds_path=str(linked_seeds))
    defs = build_definitions(resources)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "physics"])
        for d in ("mathematics", "physics"):
            assert defs.resolve_job_def("linksyn_ingest").execute_in_process(partition_key=d, instance=instance).success
        kept = (data_dir / "assets" / "seed_kps" / "mathematics.parquet").rename(data_dir / "kept.parquet")
        lost = defs.resolve_job_def("linksyn_pipeline").execute_in_process(
            partition_key="physics", instance=instance, asset_selection=[dg.AssetKey("kp_graph")],
            raise_on_error=False)
        assert "seed_kps of ['mathematics'] were materialized but their files are gone" in \
            lost.get_step_failure_events()[0].step_failure_data.error.message
        assert not (data_dir / "corpus" / "kp_graph").exists() or not any((data_dir / "corpus" / "kp_graph").iterdir())
        kept.rename(data_dir / "assets" / "seed_kps" / "mathematics.parquet")
        assert defs.resolve_job_def("linksyn_pipeline").execute_in_process(
            partition_key="physics", instance=instance, asset_selection=[dg.AssetKey("kp_graph")]).success
        graph = instance.fetch_materializations(dg.AssetRecordsFilter(dg.AssetKey("kp_graph"), ["physics"]),
                                                limit=1).records[0].asset_materialization
    assert values(graph)["input_disciplines"] == ["mathematics", "physics"]
    # chemistry seeds arrive after the graph was built: rechecking the graph says what it lacks
    missing = inputs_complete({"mathematics", "physics"}, {"mathematics", "physics", "chemistry"})
    assert not missing.passed and missing.problems == {"built without the seed_kps of ['chemistry']": 1}
    assert inputs_complete({"mathematics", "physics"}, {"mathematics", "physics"}).passed
