"""LLM steps share the `llm` pool and retry transient step failures; failures a retry cannot fix are not
retried; the instance config that sets the pool limit loads."""

from __future__ import annotations

import socket
from pathlib import Path

import dagster as dg
import pytest
import yaml

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.assets.policies import LLM_POOL
from linksyn_assets.cli import INSTANCE_YAML
from linksyn_assets.partitions import discipline_partitions
from resources import build_resources
from tests.stub_llm_server import StubServer

LLM_ASSETS = {"seed_kps", "synthesized_qa", "hard_qa", "linkqa_dataset"}
ROOT = Path(__file__).resolve().parents[1]


def test_every_llm_asset_is_in_the_pool_with_a_retry_policy() -> None:
    for assets_def in ALL_ASSETS:
        name = assets_def.key.to_user_string()
        node = assets_def.node_def
        assert (node.pool == LLM_POOL) == (name in LLM_ASSETS), name
        assert (node.retry_policy is not None) == (name in LLM_ASSETS), name


def test_the_instance_config_sets_the_pool_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))
    assert deploy == yaml.safe_load(INSTANCE_YAML)  # what `linksyn run` writes is the documented file
    (tmp_path / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 2


def test_a_failure_a_retry_cannot_fix_is_not_retried(stub_env: StubServer, linked_seeds: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LINKSYN_API_BASE", f"http://127.0.0.1:{port}/v1")  # nothing listens: every call fails
    monkeypatch.setenv("LINKSYN_MAX_RETRIES", "0")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics"])
        result = dg.materialize(ALL_ASSETS, selection=["seeds", "seed_kps"], partition_key="physics",
                                instance=instance, resources=build_resources(seeds_path=str(linked_seeds)),
                                raise_on_error=False)
    assert not result.success
    kinds = [e.event_type_value for e in result.all_events]
    assert "STEP_FAILURE" in kinds and "STEP_UP_FOR_RETRY" not in kinds
    assert "6 of 6 requests failed" in str(result.get_step_failure_events()[0].step_failure_data.error.message)
