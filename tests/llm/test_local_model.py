"""The embedded SmolLM2 model end to end (real llama.cpp server, real litellm calls)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.assets.metadata import materialized
from linksyn_assets.checks import ALL_CHECKS
from linksyn_assets.llm.embedded_model import EMBEDDED_MODEL_ID, gguf_path
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.stages import INGEST, PER_DISCIPLINE
from resources import build_resources
from tests.conftest import write_jsonl

pytestmark = pytest.mark.local_model


def test_gguf_ships_in_the_package() -> None:
    path = gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_embedded_model_runs_the_whole_pipeline(tmp_path: Path, data_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LINKSYN_MODEL", "LINKSYN_API_BASE", "LINKSYN_API_KEY_ENV", "LINKSYN_EXTRACT_MODEL",
                "LINKSYN_SYNTHESIZE_MODEL", "LINKSYN_HARDEN_MODEL"):
        monkeypatch.delenv(var, raising=False)
    rows = [{"question": q, "answer": a, "discipline": "physics", "difficulty": 1} for q, a in [
        ("A 2 kg mass accelerates at 3 m/s^2. What net force acts on it (Newton's second law)?", "6 N"),
        ("What net force gives a 4 kg cart an acceleration of 2 m/s^2 (Newton's second law)?", "8 N"),
        ("A 5 kg box has a net force of 10 N. What is its acceleration by Newton's second law?", "2 m/s^2"),
    ]]
    write_jsonl(tmp_path / "seeds" / "physics.jsonl", rows)
    resources = build_resources(seeds_path=str(tmp_path / "seeds"),
                                settings_overrides={"walk": {"paths_per_discipline": 1, "min_length": 1,
                                                             "min_seeds": 1}})
    meta: dict[str, dict] = {}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics"])
        for stage in (list(INGEST.assets), list(PER_DISCIPLINE.assets)):
            result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=stage, partition_key="physics",
                                    instance=instance, resources=resources)
            checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
            assert result.success, {k: e.metadata for k, e in checks.items() if not e.passed}
            meta.update(materialized(result))
    extract_meta = meta["seed_kps"]
    assert extract_meta["model"] == EMBEDDED_MODEL_ID
    assert extract_meta["llm_http_calls"] >= 3  # three seeds, real calls to the local server
    kps = pl.read_parquet(data_dir / "assets" / "seed_kps" / "physics.parquet")
    assert kps["seed_id"].n_unique() == 3
    # A 135M model answers poorly, but every seed and row is accounted for.
    synth = pl.read_parquet(data_dir / "assets" / "synthesized_qa" / "physics.parquet")
    hard = pl.read_parquet(data_dir / "assets" / "hard_qa" / "physics.parquet")
    dataset = pl.read_parquet(data_dir / "assets" / "linkqa_dataset" / "physics.parquet")
    rejects = pl.read_parquet(data_dir / "rejects" / "physics.parquet")
    assert synth.height >= 1
    assert dataset.height + rejects.height == synth.height + hard.height
    assert (data_dir / "dataset" / "physics.jsonl").exists()
