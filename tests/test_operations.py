"""Failures that say so, and runs built from the disciplines of the current seed source only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.assets.metadata import materialized
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.stages import RELEASE
from resources import build_resources
from tests.conftest import graph_nodes, linked_seed_rows, write_jsonl
from tests.stub_llm_server import StubServer
from tests.test_pipeline import _run_all


def _linksyn(args: list[str], home: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "linksyn_assets.cli", *args], capture_output=True, text=True,
                          env=env, timeout=600, check=False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_closed_port_fails_the_run_and_prints_why(stub_env: StubServer, linked_seeds: Path, tmp_path: Path,
                                                     data_dir: Path) -> None:
    # default retries, and an outage allowance longer than the run's timeout: a run that waited for this
    # address as for a host in an outage would time out instead of failing (issue 30: 20-27 s per discipline)
    dead = {"LINKSYN_API_BASE": f"http://127.0.0.1:{_closed_port()}/v1", "LINKSYN_OUTAGE_S": "900"}
    out = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1"], tmp_path / "home", dead)
    assert out.returncode == 1
    assert "Why (first reasons):" in out.stdout
    why = out.stdout.split("Why (first reasons):", 1)[1]
    assert "seed_kps" in why and "cannot be reached" in why and "never answered" in why and "Connect" in why
    assert out.stdout.count("FAILED in") == 1 and "stopping the run" in out.stdout  # not repeated per discipline
    assert "no linkqa_dataset partition" not in out.stdout + out.stderr  # not the misleading end it used to have
    assert "sk-test-SECRET-4242" not in out.stdout + out.stderr
    assert stub_env.count == 0


SETTINGS_FILES = {"wlak": '{"wlak": {"beta": 1}}', "walk_null": '{"walk": null}', "walk_str": '{"walk": "步长"}',
                  "beta_inf": '{"walk": {"beta": 1e999}}', "temperature_inf": '{"llm": {"temperature": 1e999}}'}


@pytest.mark.parametrize(("args", "env", "message"), [
    (["run", "--paths-per-discipline", "0"], {}, "must be at least 1"),
    (["run", "--select", "seeds"], {"LINKSYN_DATA_DIR": "{file}"}, "is not a writable directory"),
    (["run", "--select", "seeds"], {"LINKSYN_SETTINGS": "{settings}"}, ": walk.beta: "),
    (["settings"], {"LINKSYN_SETTINGS": "{settings}"}, ": walk.beta: "),
    (["run", "--select", "seeds"], {"LINKSYN_REQUEST_PARAMS": "not json"}, "llm.request_params: not valid JSON"),
    (["disciplines", "--seeds", "/no/such/dir"], {}, "does not exist"),
    # issue 30: every settings error is one line naming the file and the key; infinity is not a number
    (["run"], {"LINKSYN_SETTINGS": "{settings:wlak}"}, ": wlak: unknown section"),
    (["run"], {"LINKSYN_SETTINGS": "{settings:walk_null}"}, ": walk: must be a JSON object of settings, got null"),
    (["settings"], {"LINKSYN_SETTINGS": "{settings:walk_str}"}, ': walk: must be a JSON object of settings, got "'),
    (["run"], {"LINKSYN_SETTINGS": "{settings:beta_inf}"}, ": walk.beta: Input should be a finite number"),
    (["settings"], {"LINKSYN_SETTINGS": "{settings:temperature_inf}"}, ": llm.temperature: must be a finite"),
    (["settings"], {"LINKSYN_BUDGET_USD": "1e999"}, "LINKSYN_BUDGET_USD='1e999': must be a finite number"),
])
def test_setup_errors_are_one_line(tmp_path: Path, data_dir: Path, args: list[str], env: dict[str, str],
                                   message: str) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    settings = tmp_path / "settings.json"
    settings.write_text('{"walk": {"beta": "steep"}}')
    for name, text in SETTINGS_FILES.items():
        if any(f"{{settings:{name}}}" in v for v in env.values()):
            settings.write_text(text, encoding="utf-8")
            env = {k: v.replace(f"{{settings:{name}}}", "{settings}") for k, v in env.items()}
    env = {k: v.format(file=a_file, settings=settings) for k, v in env.items()}
    out = _linksyn(args, tmp_path / "home", env)
    assert out.returncode == 2 and message in out.stderr, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and message in out.stderr.strip().splitlines()[-1]  # argparse adds usage
    if "LINKSYN_SETTINGS" in env:
        assert str(settings) in out.stderr


def _materialize(instance: dg.DagsterInstance, resources: dict, disciplines: list[str]) -> dict:
    meta = _run_all(instance, resources, disciplines)
    result = dg.materialize(ALL_ASSETS, selection=list(RELEASE.assets), instance=instance, resources=resources)
    assert result.success
    meta[("linkqa_release", "-")] = materialized(result)["linkqa_release"]
    return meta


def test_a_discipline_that_left_the_seed_source_is_not_mixed_into_graph_or_release(
        stub_env: StubServer, tmp_path: Path, data_dir: Path) -> None:
    both = write_jsonl(tmp_path / "both" / "s.jsonl", linked_seed_rows()).parent
    physics_only = write_jsonl(tmp_path / "physics" / "s.jsonl",
                               [r for r in linked_seed_rows() if r["discipline"] == "physics"]).parent
    settings = {"walk": {"paths_per_discipline": 2}, "synthesis": {"question_types": ["multiple_choice"]}}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "physics"])
        first = _materialize(instance, build_resources(seeds_path=str(both), settings_overrides=settings),
                             ["mathematics", "physics"])
        assert set(first[("linkqa_release", "-")]["by_discipline"]) == {"mathematics", "physics"}
        assert first[("kp_graph", "physics")]["stale_disciplines_excluded"] == []
        # the seed folder changes: mathematics is gone, but its partition and files remain
        second = _materialize(instance, build_resources(seeds_path=str(physics_only), settings_overrides=settings),
                              ["physics"])
        assert second[("kp_graph", "physics")]["stale_disciplines_excluded"] == ["mathematics"]
        release = second[("linkqa_release", "-")]
        assert release["stale_disciplines_excluded"] == ["mathematics"]
        assert set(release["by_discipline"]) == {"physics"}
        nodes = graph_nodes(data_dir, "physics")
        assert not nodes["disciplines"].explode().is_in(["mathematics"]).any()
        stale = dg.materialize(ALL_ASSETS, selection=["kp_graph"], partition_key="mathematics", instance=instance,
                               resources=build_resources(seeds_path=str(physics_only)), raise_on_error=False)
        assert not stale.success
        error = stale.get_step_failure_events()[0].step_failure_data.error
        assert "linksyn disciplines --prune" in (error.message + str(error.cause))


def test_disciplines_command_lists_and_prunes_stale_partitions(tmp_path: Path, data_dir: Path) -> None:
    home = tmp_path / "home"
    both = write_jsonl(tmp_path / "both" / "s.jsonl", linked_seed_rows()).parent
    write_jsonl(tmp_path / "zh" / "s.jsonl", [{"question": "1+1等于几？", "answer": "2", "discipline": "数学"},
                                              {"question": "光速是多少？", "answer": "3e8", "discipline": "物理"}])
    assert _linksyn(["run", "--seeds", str(both), "--select", "seeds"], home).returncode == 0
    listing = _linksyn(["disciplines", "--seeds", str(tmp_path / "zh")], home)
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert "mathematics" in listing.stdout and "<- 数学" in listing.stdout and "stale" in listing.stdout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert sorted(instance.get_dynamic_partitions("discipline")) == ["mathematics", "physics"]
    only_physics = write_jsonl(tmp_path / "p" / "s.jsonl",
                               [r for r in linked_seed_rows() if r["discipline"] == "physics"]).parent
    pruned = _linksyn(["disciplines", "--seeds", str(only_physics), "--prune"], home)
    assert pruned.returncode == 0 and "Removed 1 stale partition(s): mathematics" in pruned.stdout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_dynamic_partitions("discipline") == ["physics"]


def test_a_release_of_only_empty_partitions_says_exactly_that(tmp_path: Path, data_dir: Path) -> None:
    from linksyn_assets.dataset_store.update import UpdatePlan, update_dataset
    from linksyn_assets.qc.benchmarks import Benchmarks
    from linksyn_assets.qc.rules import assemble, with_verification
    from linksyn_assets.qc.steps import contamination_step, row_rule_steps
    from linksyn_assets.qc.token_count import TokenCounter
    from linksyn_assets.settings import DatasetParams
    from linksyn_assets.synthesis.tables import HARD_SCHEMA, SYNTH_SCHEMA

    seeds = write_jsonl(tmp_path / "seeds" / "s.jsonl", linked_seed_rows()).parent
    params = DatasetParams()
    plan = UpdatePlan(qc_recipe="r", run_id="r", params=params, row_steps=row_rule_steps(params, 1.0),
                      contamination=contamination_step(Benchmarks.load([], params.decontamination_ngram,
                                                                       params.contamination_containment)),
                      verify=lambda rows: (*with_verification(rows, {}, "flag"), 0.0, set()),
                      counter=TokenCounter(), batch_rows=100)
    nothing = assemble(pl.DataFrame(schema=SYNTH_SCHEMA).lazy(), pl.DataFrame(schema=HARD_SCHEMA).lazy())
    for d in ("mathematics", "physics"):  # what the dataset asset writes when no row is left: one empty shard
        update_dataset(data_dir / "dataset" / d, nothing, plan, None)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "physics"])
        result = dg.materialize(ALL_ASSETS, selection=list(RELEASE.assets), instance=instance,
                                resources=build_resources(seeds_path=str(seeds)), raise_on_error=False)
    assert result.success  # QC may honestly remove every row; the release says so instead of failing
    mat = result.get_asset_materialization_events()[0].event_specific_data.materialization
    assert mat.metadata["rows"].value == 0
    assert "every linkqa_dataset partition is empty (2 discipline(s), 0 rows)" in mat.metadata["empty_release"].value
    card = (data_dir / "release" / "latest" / "README.md").read_text(encoding="utf-8")
    assert "**This release is empty:** every linkqa_dataset partition is empty" in card


def test_the_seed_field_cap_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    long_question = "Why " + "very " * 60 + "long?"
    seeds = write_jsonl(tmp_path / "seeds" / "s.jsonl", [{"question": long_question, "answer": "a"}]).parent
    monkeypatch.setenv("LINKSYN_MAX_FIELD_CHARS", "200")
    load = build_resources(seeds_path=str(seeds))["seed_source"].load()
    assert load.seeds.is_empty() and "over the cap of 200" in load.quarantine["reason"][0]
    monkeypatch.delenv("LINKSYN_MAX_FIELD_CHARS")
    assert build_resources(seeds_path=str(seeds))["seed_source"].load().seeds.height == 1


def test_skipped_seed_files_are_in_the_run_summary_and_a_folder_of_none_stops(tmp_path: Path, data_dir: Path) -> None:
    home = tmp_path / "home"
    seeds = write_jsonl(tmp_path / "mixed" / "s.jsonl", linked_seed_rows()).parent
    (seeds / "notes.xlsx").write_bytes(b"PK\x03\x04")
    (seeds / "mapping.json").write_text('{"subjects": ["math"]}', encoding="utf-8")
    (seeds / "gaokao.json").write_text(json.dumps({"keywords": "2010-2022_Chinese_Lang_and_Usage_MCQs", "example": [
        {"year": "2019", "question": "下列词语中，没有错别字的一项是（　　）\n"
                                     "A．按步就班\nB．一愁莫展\nC．迫不及待\nD．再接再励",
         "answer": ["C"], "analysis": "A 按部就班，B 一筹莫展，D 再接再厉。"}]}, ensure_ascii=False), encoding="utf-8")
    out = _linksyn(["run", "--seeds", str(seeds), "--select", "seeds"], home)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "2 file(s) skipped: " in out.stdout and "notes.xlsx: not seeds: not a seed file type (.xlsx" in out.stdout
    assert "mapping.json: not seeds: top level is an object with no list of records" in out.stdout
    summary = next(line for line in out.stdout.splitlines() if line.startswith("Seeds: "))
    assert "rows read from 2 file(s)" in summary and "2 file(s) skipped" in summary
    files = pl.read_parquet(data_dir / "quarantine" / "seeds" / "_files.parquet")
    assert sorted(files["source_file"]) == ["mapping.json", "notes.xlsx"] and (files["source_row"] == 0).all()
    listing = _linksyn(["disciplines", "--seeds", str(seeds)], home)
    lines = listing.stdout.splitlines()
    chinese = next(i for i, line in enumerate(lines) if line.lstrip().startswith("chinese_language "))
    assert "subjects: 2010-2022_Chinese_Lang_and_Usage_MCQs 1" in lines[chinese + 1]
    assert "2 file(s) skipped" in listing.stdout
    (seeds / "s.jsonl").unlink()
    (seeds / "gaokao.json").unlink()
    none = _linksyn(["run", "--seeds", str(seeds), "--select", "seeds"], home)
    assert none.returncode == 2 and "no seeds in" in none.stderr and "2 file(s) skipped" in none.stderr
