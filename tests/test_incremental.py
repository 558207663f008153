"""Updates pay only for new work (issue 14): seeds added to one discipline, then a seed file removed, through
Dagster against the stub LLM; earlier rows stay byte-identical and the release grows by versions."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dagster as dg
import polars as pl

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.assets.metadata import materialized
from linksyn_assets.dataset_store.manifest import read_live
from linksyn_assets.kps.corpus_store import read_summaries
from linksyn_assets.layout import asset_file, asset_table, dataset_folder, release_version_dir, under_root
from linksyn_assets.partitions import discipline_partitions
from resources import build_resources
from tests.conftest import linked_seed_rows, write_jsonl
from tests.stub_llm_server import StubServer
from tests.test_pipeline import _run_all

NEW_PHYSICS = [
    "Exponentially decaying oscillation amplitude in damped pendulum experiment.",
    "Damped pendulum oscillation energy dissipates through friction forces.",
    "Friction converts kinetic energy during elastic collision experiment.",
]
TABLES = ("synthesized_qa", "hard_qa", "linkqa_dataset")


def _rows(questions: list[str]) -> list[dict]:
    return [{"question": q, "options": ["alpha", "beta", "gamma", "delta"], "answer": "B", "discipline": "physics",
             "subject": "physics", "difficulty": 2, "language": "en", "source": "test"} for q in questions]


def _table(data_dir: Path, asset: str, d: str) -> pl.DataFrame:
    return read_live(dataset_folder(d)) if asset == "linkqa_dataset" else pl.read_parquet(asset_file(asset, d))


def _release(instance: dg.DagsterInstance, resources: dict) -> dict:
    result = dg.materialize(ALL_ASSETS, selection=["linkqa_release"], instance=instance, resources=resources)
    assert result.success
    return materialized(result)["linkqa_release"]


def _check_kp_coverage(release: dict, disciplines: list[str]) -> None:
    """The card's KP coverage: every discipline, used KPs of released rows over the KPs of the corpus graph
    its paths were walked on (the stored summaries), on the card as in the metadata."""
    dataset = pl.concat([read_live(dataset_folder(d)) for d in disciplines])
    expected = {}
    for d in disciplines:
        reference = pl.read_parquet(asset_table("kp_graph", d, "corpus"))
        home = read_summaries(under_root(reference["path"][0]))[d]["home_kps"]
        used = dataset.filter(pl.col("discipline") == d)["kp_ids"].explode().drop_nulls().n_unique()
        assert home > 0 and used > 0
        expected[d] = round(min(used, home) / home, 4)
    assert release["kp_coverage"] == expected
    card = (release_version_dir(int(release["version"])) / "README.md").read_text(encoding="utf-8")
    section = card.split("## KP coverage", 1)[1].split("##", 1)[0]
    assert json.loads(section.split("\n", 1)[1]) == expected


def _bodies(stub: StubServer) -> set[str]:
    return {json.dumps(r["messages"], sort_keys=True) for r in stub.state.requests}


def test_added_seeds_cost_only_new_work_and_a_removed_file_retires_its_rows(
        stub_env: StubServer, tmp_path: Path, data_dir: Path) -> None:
    seeds = tmp_path / "seeds"
    write_jsonl(seeds / "linked.jsonl", linked_seed_rows())
    resources = build_resources(seeds_path=str(seeds))  # default target: paths_per_seed x seeds
    disciplines = ["mathematics", "physics"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, disciplines)
        _run_all(instance, resources, disciplines)
        v1 = _release(instance, resources)
        # the stub model has no known price: the cost plot says so instead of drawing a "free" zero
        cost_plot = base64.b64decode(v1["cost_by_stage_plot"].split("base64,", 1)[1].rstrip(")")).decode("utf-8")
        assert "no price known for extract" in cost_plot
        _check_kp_coverage(v1, disciplines)
        before = {(a, d): _table(data_dir, a, d) for a in ("walk_paths", *TABLES) for d in disciplines}
        cold_bodies, cold_stages = _bodies(stub_env), dict(stub_env.state.by_stage)
        stub_env.reset()

        # (1) three physics seeds arrive: only their extraction and the new paths' calls are paid
        write_jsonl(seeds / "extra.jsonl", _rows(NEW_PHYSICS))
        meta = _run_all(instance, resources, disciplines)
        assert not _bodies(stub_env) & cold_bodies  # no earlier request is sent again
        assert stub_env.state.by_stage["extract"] == 3
        paths = {d: _table(data_dir, "walk_paths", d) for d in disciplines}
        new_paths = paths["physics"].join(before[("walk_paths", "physics")], on="path_id", how="anti")
        assert paths["mathematics"].equals(before[("walk_paths", "mathematics")])
        assert new_paths.height == meta[("walk_paths", "physics")]["paths_new"] > 0
        assert meta[("walk_paths", "physics")]["paths_kept"] == before[("walk_paths", "physics")].height
        assert stub_env.state.by_stage["synthesize"] == new_paths.height  # one synthesis request per new path
        new_kps = set(new_paths["kp_ids"].explode()) - set(before[("walk_paths", "physics")]["kp_ids"].explode())
        assert new_kps  # the new paths reach KPs no earlier path used
        for (asset, d), old in before.items():
            now = _table(data_dir, asset, d)
            # every earlier row is still there, byte-identical, and in the same order
            assert now.head(old.height).equals(old), (asset, d)
        assert meta[("linkqa_dataset", "physics")]["rows_retired"] == 0
        v2 = _release(instance, resources)
        release = data_dir / "release"
        assert (v1["version"], v2["version"]) == (1, 2) and (release / "latest").resolve() == release / "v2"
        manifest = json.loads((release / "v2" / "manifest.json").read_text(encoding="utf-8"))
        added = pl.read_parquet(release / "v2" / "changes" / "added.parquet")
        v1_rows = pl.concat([pl.read_parquet(p) for p in (release / "v1" / "data").glob("*.parquet")])
        v2_rows = pl.concat([pl.read_parquet(p) for p in (release / "v2" / "data").glob("*.parquet")])
        assert set(v1_rows["record_id"]) <= set(v2_rows["record_id"])
        assert manifest["added"] == added.height == v2_rows.height - v1_rows.height == v2["rows_added"]
        assert manifest["retired"] == 0 and manifest["rows"] == v2_rows.height and manifest["previous_version"] == 1
        assert set(added["record_id"]) == set(v2_rows["record_id"]) - set(v1_rows["record_id"])
        assert "Since v1:" in (release / "v2" / "README.md").read_text(encoding="utf-8")
        assert _release(instance, resources)["version"] == 2  # nothing changed: no new version
        stub_env.reset()

        # (2) the extra file is removed: exactly the paths and rows that used its seeds are retired, with why
        grown = {(a, d): _table(data_dir, a, d) for a in ("walk_paths", *TABLES) for d in disciplines}
        gone = set(pl.read_ndjson(seeds / "extra.jsonl")["question"])
        (seeds / "extra.jsonl").unlink()
        _run_all(instance, resources, disciplines)
        extra_seed_ids = set(grown[("walk_paths", "physics")]["seed_ids"].explode()) - set(
            before[("walk_paths", "physics")]["seed_ids"].explode())
        assert len(extra_seed_ids) >= 1 and len(gone) == 3
        retired = pl.read_parquet(data_dir / "retired" / "walk_paths" / "physics.parquet")
        used_extra = grown[("walk_paths", "physics")].filter(
            pl.col("seed_ids").list.eval(pl.element().is_in(list(extra_seed_ids))).list.any())
        assert sorted(retired["path_id"]) == sorted(used_extra["path_id"])
        assert retired["retired_reason"].str.starts_with("seed removed: ").all()
        rows_gone = pl.read_parquet(data_dir / "retired" / "linkqa_dataset" / "physics.parquet")
        expected = grown[("linkqa_dataset", "physics")].filter(pl.col("path_id").is_in(used_extra["path_id"].implode()))
        assert sorted(rows_gone["record_id"]) == sorted(expected["record_id"])
        assert rows_gone["retired_reason"].str.starts_with("path retired: seed removed: ").all()
        assert stub_env.state.by_stage["synthesize"] <= used_extra.height  # at most the retired paths are replaced
        v3 = _release(instance, resources)
        manifest = json.loads((release / "v3" / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["retired"] == v3["rows_retired"] >= expected.height
        assert manifest["retired_by_reason"].get("path retired", 0) == expected.height
        assert (release / "v1" / "README.md").exists()  # earlier versions stay readable
    assert cold_stages["extract"] == 12


def test_a_new_discipline_costs_only_its_own_extractions(stub_env: StubServer, linked_seeds: Path,
                                                         data_dir: Path) -> None:
    """The extraction request is a function of the seed, the prompt version and the model: registering another
    discipline (here one with English and Chinese seeds) re-keys no earlier seed, so re-running the earlier
    disciplines' extraction is answered by the ledger."""
    resources = build_resources(seeds_path=str(linked_seeds))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "physics"])
        for d in ("mathematics", "physics"):
            assert dg.materialize(ALL_ASSETS, selection=["seeds", "seed_kps"], partition_key=d, instance=instance,
                                  resources=resources).success
        before = stub_env.state.by_stage["extract"]
        write_jsonl(linked_seeds / "economics.jsonl", [
            {**row, "discipline": "economics"} for row in _rows(["Marginal cost curves shape supply decisions."])
        ] + [{"question": "需求价格弹性如何影响企业的定价策略？", "options": ["提高", "降低", "不变", "不确定"],
              "answer": "B", "discipline": "经济学", "difficulty": 2, "language": "zh", "source": "test"}])
        instance.add_dynamic_partitions(discipline_partitions.name, ["economics"])
        for d in ("economics", "mathematics", "physics"):  # the new discipline, then the earlier ones again
            assert dg.materialize(ALL_ASSETS, selection=["seeds", "seed_kps"], partition_key=d, instance=instance,
                                  resources=resources).success
        assert stub_env.state.by_stage["extract"] - before == 2  # the two new seeds, nothing re-sent
