"""The whole asset graph through Dagster (materialize with a temp instance) against the stub LLM."""

from __future__ import annotations

import base64
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.assets.metadata import materialized
from linksyn_assets.checks import ALL_CHECKS
from linksyn_assets.dataset_store.manifest import read_live
from linksyn_assets.layout import asset_file, dataset_folder
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.stages import INGEST, PER_DISCIPLINE
from resources import build_resources
from tests.conftest import graph_nodes, write_jsonl
from tests.stub_llm_server import StubServer

DISCIPLINES = ["mathematics", "physics"]


def _run_all(instance: dg.DagsterInstance, resources: dict, disciplines: list[str],
             failing_checks: frozenset[tuple[str, str]] = frozenset()) -> dict[tuple[str, str], dict]:
    """Materialize both stages for every discipline; return {(asset, discipline): metadata}."""
    meta: dict[tuple[str, str], dict] = {}
    for stage in (list(INGEST.assets), list(PER_DISCIPLINE.assets)):
        for d in disciplines:
            result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=stage, partition_key=d,
                                    instance=instance, resources=resources)
            assert result.success
            checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
            expected = {k.name for k in check_keys() if k.asset_key.path[0] in stage}
            assert set(checks) == expected  # a stage's checks run with it, on its partition
            failed = {k for k, e in checks.items() if not e.passed}
            expected_failed = {k for k, dd in failing_checks if dd == d and k in checks}
            assert failed == expected_failed, {k: checks[k].metadata for k in failed}
            meta.update({(asset, d): values for asset, values in materialized(result).items()})
    return meta


def _data_version(instance: dg.DagsterInstance, asset: str, partition: str) -> tuple[str, str]:
    """(run id, data version) of the partition's latest materialization."""
    record = instance.fetch_materializations(dg.AssetRecordsFilter(dg.AssetKey(asset), [partition]),
                                             limit=1).records[0]
    return record.run_id, record.asset_materialization.tags["dagster/data_version"]


def check_keys() -> set[dg.AssetCheckKey]:
    """Every check: the standalone ones and those an asset declares and yields itself (check_specs)."""
    return {c.check_key for c in ALL_CHECKS} | {k for a in ALL_ASSETS for k in a.check_keys}


def _read(data_dir: Path, asset: str, d: str) -> pl.DataFrame:
    return read_live(dataset_folder(d)) if asset == "linkqa_dataset" else pl.read_parquet(asset_file(asset, d))


def test_all_assets_two_disciplines_then_no_new_llm_calls(stub_env: StubServer, linked_seeds: Path,
                                                            data_dir: Path) -> None:
    resources = build_resources(seeds_path=str(linked_seeds),
                                settings_overrides={"walk": {"paths_per_discipline": 4}})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, DISCIPLINES)
        meta = _run_all(instance, resources, DISCIPLINES)
        for (asset, d), values in meta.items():  # the catalog's row count and column schema match the files
            frame = graph_nodes(data_dir, d) if asset == "kp_graph" else _read(data_dir, asset, d)
            assert values["dagster/row_count"] == frame.height, asset
            assert [(c.name, c.type) for c in values["dagster/column_schema"].columns] == [
                (name, str(dtype)) for name, dtype in frame.schema.items()], asset
            # the catalog shows a few keys; everything else is in one JSON block
            raw = instance.fetch_materializations(dg.AssetRecordsFilter(dg.AssetKey(asset), [d]),
                                                  limit=1).records[0].asset_materialization.metadata
            assert len(raw) <= 11 and raw["details"].value and set(raw) & set(raw["details"].value) == set(), asset
        assert "settings" in meta[("walk_paths", "physics")] and "llm_requests" in meta[("seed_kps", "physics")]
        for asset, plot, label in (("hard_qa", "difficulty_before_after", "kept variants (after)"),
                                   ("walk_paths", "difficulty_mix", "realized"),
                                   ("kp_graph", "degree_distribution", "number of KPs")):
            svg = base64.b64decode(meta[(asset, "physics")][plot].split("base64,", 1)[1].rstrip(")")).decode()
            assert svg.startswith("<svg") and label in svg, plot
        first_calls = stub_env.count
        assert stub_env.state.by_stage["extract"] == 12
        for d in DISCIPLINES:
            seeds = _read(data_dir, "seeds", d)
            assert seeds.height == 6 and meta[("seeds", d)]["rows"] == 6
            kps = _read(data_dir, "seed_kps", d)
            assert kps["seed_id"].n_unique() == 6 and kps["error"].null_count() == kps.height
            nodes = graph_nodes(data_dir, d)
            assert meta[("kp_graph", d)]["edges"] > 0
            paths = _read(data_dir, "walk_paths", d)
            assert paths.height == 4
            assert (paths["seed_ids"].list.len() >= 2).all()
            synth = _read(data_dir, "synthesized_qa", d)
            hard = _read(data_dir, "hard_qa", d)
            assert synth.height == 4 and (synth["status"] == "ok").all()
            assert hard.height == 4 and (hard["target_difficulty"] >= hard["source_difficulty"]).all()
            dataset = _read(data_dir, "linkqa_dataset", d)
            assert dataset.height == 8 and set(dataset["kind"]) == {"synthesized", "hard"}
            assert meta[("linkqa_dataset", d)]["removed"] == 0
            # Provenance: every seed and KP named in the dataset exists upstream.
            all_seed_ids = set(pl.concat([_read(data_dir, "seeds", x) for x in DISCIPLINES])["seed_id"])
            assert set(dataset["seed_ids"].explode()) <= all_seed_ids
            assert set(dataset["kp_ids"].explode()) <= set(nodes["kp_id"])
            # the rows are stored once: the discipline's dataset folder of shards, nothing under assets/
            assert (data_dir / "dataset" / d / "manifest.json").exists()
            assert not (data_dir / "assets" / "linkqa_dataset").exists()
            assert not (data_dir / "dataset" / f"{d}.jsonl").exists()
        bridges = graph_nodes(data_dir, "physics")
        assert bridges.filter(pl.col("is_bridge")).height > 0  # 'exponentially' is in both disciplines

        for run in instance.get_runs():  # the key never reaches Dagster's event log or metadata
            for record in instance.all_logs(run.run_id):
                assert "sk-test-SECRET-4242" not in str(record)
        written = [p for p in data_dir.rglob("*") if p.is_file()]  # tables, dataset, ledger, quarantine
        assert any(p.name.startswith("llm_ledger") for p in written)
        assert all(b"sk-test-SECRET-4242" not in p.read_bytes() for p in written)

        stored = {p: p.stat().st_mtime_ns for p in (data_dir / "assets").rglob("*.parquet")}
        stored.update({p: p.stat().st_mtime_ns for p in (data_dir / "dataset").rglob("*.parquet")})
        versions = {(a, d): _data_version(instance, a, d) for (a, d) in meta}
        meta_again = _run_all(instance, resources, DISCIPLINES)
        assert stub_env.count == first_calls  # unchanged inputs, settings and code: no request at all
        # every asset reused its stored table: the same data version, nothing rewritten, the same report
        for (asset, d), values in meta_again.items():
            assert values["unchanged_since_run"] == versions[(asset, d)][0], (asset, d)
            assert _data_version(instance, asset, d)[1] == versions[(asset, d)][1], (asset, d)
            assert values["rows"] == meta[(asset, d)]["rows"] and values["recipe"] == meta[(asset, d)]["recipe"]
        assert all(m.get("llm_http_calls", 0) == 0 and m.get("llm_cache_hits", 0) == 0 for m in meta_again.values())
        assert meta_again[("seed_kps", "physics")]["llm_ok"] == 6  # what the data is stays; what the run did is 0
        assert {p: p.stat().st_mtime_ns for p in stored} == stored
        for d in DISCIPLINES:
            assert _read(data_dir, "linkqa_dataset", d).height == 8


def test_malformed_rows_are_quarantined_and_the_run_completes(stub_env: StubServer, tmp_path: Path,
                                                              data_dir: Path) -> None:
    folder = tmp_path / "seeds"
    good = [{"question": f"Exponential growth doubling question number {i}?", "answer": str(i),
             "discipline": "mathematics", "difficulty": i % 5} for i in range(4)]
    write_jsonl(folder / "math.jsonl", [*good, '{"question": "broken', {"question": "no answer", "discipline": "x"}])
    resources = build_resources(seeds_path=str(folder), settings_overrides={"walk": {"paths_per_discipline": 2}})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "x"])
        # the discipline whose only row was bad has no KPs: its graph check says so, nothing is blocked
        meta = _run_all(instance, resources, ["mathematics", "x"], frozenset({("kp_graph_has_discipline_kps", "x"),
                                                                               ("walk_paths_within_targets", "x")}))
    assert meta[("seeds", "mathematics")]["quarantined"] == 1
    assert meta[("seeds", "x")]["quarantined"] == 1
    quarantine = pl.read_parquet(data_dir / "quarantine" / "seeds" / "mathematics.parquet")
    row = quarantine.row(0, named=True)
    assert (row["source_file"], row["source_row"]) == ("math.jsonl", 5) and "invalid JSON" in row["reason"]
    assert meta[("seeds", "mathematics")]["rows"] == 4
    assert meta[("seeds", "x")]["rows"] == 0 and meta[("linkqa_dataset", "x")]["rows"] == 0


def test_definitions_load_with_every_resource() -> None:
    from definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    names = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert names == {"seeds", "seed_kps", "kp_graph", "walk_paths", "synthesized_qa", "hard_qa", "linkqa_dataset",
                     "linkqa_release"}
    for key in graph.get_all_asset_keys():
        expected = None if key.to_user_string() == "linkqa_release" else discipline_partitions
        assert graph.get(key).partitions_def == expected
    assert defs.resolve_job_def("linksyn_pipeline") is not None
    assert defs.resolve_job_def("linksyn_release") is not None


@pytest.mark.parametrize("hard_disciplines", [["physics"]])
def test_hard_qa_only_for_configured_disciplines(stub_env: StubServer, linked_seeds: Path, data_dir: Path,
                                                 hard_disciplines: list[str]) -> None:
    resources = build_resources(seeds_path=str(linked_seeds), settings_overrides={
        "walk": {"paths_per_discipline": 2}, "synthesis": {"hard_disciplines": hard_disciplines}})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, DISCIPLINES)
        _run_all(instance, resources, DISCIPLINES)
    assert _read(data_dir, "hard_qa", "physics").height == 2
    assert _read(data_dir, "hard_qa", "mathematics").height == 0
    assert set(_read(data_dir, "linkqa_dataset", "mathematics")["kind"]) == {"synthesized"}


def test_linksyn_run_and_the_jobs_share_one_stage_order() -> None:
    from definitions import defs
    from linksyn_assets import stages
    from linksyn_assets.cli import arguments, runner

    # the CLI picks and runs assets by the one stage order, not a copy of it
    assert arguments.STAGE_ORDER is runner.STAGE_ORDER is stages.STAGE_ORDER and runner.STAGES is stages.STAGES
    assert {a.key.to_user_string() for a in ALL_ASSETS} == set(stages.STAGE_ORDER)
    graph = defs.resolve_asset_graph()
    from linksyn_assets.jobs import STAGE_JOBS

    # one job per stage, and no job spans two stages (a job runs one partition; kp_graph reads them all)
    assert [STAGE_JOBS[s.name].name for s in stages.STAGES] == ["linksyn_ingest", "linksyn_pipeline",
                                                                 "linksyn_release"]
    assert {j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")} == {
        j.name for j in STAGE_JOBS.values()}
    for stage in stages.STAGES:
        job = defs.resolve_job_def(STAGE_JOBS[stage.name].name)
        selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        assert selected == set(stage.assets), stage.name
    # a stage is partitioned exactly when its assets are
    for stage in stages.STAGES:
        for asset in stage.assets:
            assert (graph.get(dg.AssetKey(asset)).partitions_def is not None) == stage.partitioned


def test_the_asset_groups_are_the_three_stage_jobs() -> None:
    """The lineage the UI opens on shows one group per stage job, holding exactly that job's assets."""
    from linksyn_assets.jobs import STAGE_JOBS
    from linksyn_assets.stages import STAGES

    groups: dict[str, set[str]] = {}
    for asset in ALL_ASSETS:
        for key, group in asset.group_names_by_key.items():
            groups.setdefault(group, set()).add(key.to_user_string())
    assert groups == {stage.group: set(stage.assets) for stage in STAGES}
    assert {stage.group: STAGE_JOBS[stage.name].name for stage in STAGES} == {
        "ingest": "linksyn_ingest", "pipeline": "linksyn_pipeline", "release": "linksyn_release"}
