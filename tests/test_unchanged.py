"""Work already done is not done again (issue 29): an asset partition whose recipe (code, settings, model routes,
its inputs' content versions) equals its last complete materialization's reuses the stored table, through
Dagster against the stub LLM. A setting that changes no table re-runs the steps that read it and nothing after
them pays; a materialization that left requests unanswered is never reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg

from linksyn_assets.assets.metadata import previous
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.recipes import recipe_hash, table_digest
from linksyn_assets.reports import DatasetReport, ExtractionReport, HardReport, LLMBatchReport
from resources import build_resources
from tests.stub_llm_server import StubServer
from tests.test_pipeline import _run_all

DISCIPLINES = ["mathematics", "physics"]
ROOT = Path(__file__).resolve().parent.parent


def _versions(instance: dg.DagsterInstance, meta: dict) -> dict[tuple[str, str], tuple[str, str | None]]:
    out = {}
    for asset, d in meta:
        prior = previous(instance, asset, d)
        assert prior is not None
        out[(asset, d)] = (prior.run_id, prior.data_version)
    return out


def test_a_setting_or_a_touched_file_reruns_only_their_readers(stub_env: StubServer, linked_seeds: Path,
                                                                data_dir: Path) -> None:
    base = {"walk": {"paths_per_discipline": 3}}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, DISCIPLINES)
        first = _run_all(instance, build_resources(seeds_path=str(linked_seeds), settings_overrides=base), DISCIPLINES)
        before, calls = _versions(instance, first), stub_env.count
        # the release's shard size: every step that reads the settings runs again, and finds the same content
        changed = build_resources(seeds_path=str(linked_seeds),
                                  settings_overrides={**base, "dataset": {"release_shard_rows": 7}})
        again = _run_all(instance, changed, DISCIPLINES)
        after = _versions(instance, again)
        assert stub_env.count == calls  # the LLM steps that ran again were answered by the ledger
        for (asset, d), values in again.items():
            assert after[(asset, d)][1] == before[(asset, d)][1], (asset, d)  # the same content version
            reads_settings = asset not in ("seed_kps", "kp_graph")
            assert ("unchanged_since_run" in values) == (not reads_settings), (asset, d)
        # seed_kps and kp_graph read no setting: their inputs' content versions were equal, so they were reused
        assert again[("seed_kps", "physics")]["unchanged_since_run"] == before[("seed_kps", "physics")][0]
        # and the same settings once more: everything is reused, nothing recomputed
        third = _run_all(instance, changed, DISCIPLINES)
        assert all("unchanged_since_run" in values for values in third.values())
        # a seed file touched (new mtime, same bytes): the seeds are read again, give the same table, and nothing
        # after them runs
        seed_file = next(linked_seeds.iterdir())
        seed_file.write_bytes(seed_file.read_bytes())
        touched = _run_all(instance, changed, DISCIPLINES)
        assert all("unchanged_since_run" not in touched[("seeds", d)] for d in DISCIPLINES)
        assert all("unchanged_since_run" in values for (asset, _), values in touched.items() if asset != "seeds")
        assert all(v[1] == before[k][1] for k, v in _versions(instance, touched).items())
        assert stub_env.count == calls


def test_only_a_complete_report_may_be_reused_and_a_reuse_pays_nothing() -> None:
    batch = {"llm_requests": 10, "llm_http_calls": 4, "llm_cache_hits": 6, "llm_ok": 10, "cost_usd": 0.5,
             "data_cost_usd": 1.2, "prompt_tokens": 900}
    done = ExtractionReport(rows=10, **batch)
    assert done.complete
    assert not ExtractionReport(rows=10, **{**batch, "llm_failed": 1}).complete
    assert not ExtractionReport(rows=10, **{**batch, "llm_not_sent": 3}).complete  # a budget stopped it
    # a nested batch counts too: the judge of hard_qa, the verifier of linkqa_dataset
    assert not HardReport(rows=2, judge=LLMBatchReport(llm_failed=1)).complete
    assert not DatasetReport(rows=2, verifier=LLMBatchReport(llm_not_sent=1)).complete
    reused = done.reused("run-1")
    assert isinstance(reused, ExtractionReport)
    assert (reused.llm_http_calls, reused.llm_cache_hits, reused.cost_usd, reused.prompt_tokens) == (0, 0, 0.0, 0)
    assert (reused.rows, reused.llm_ok, reused.data_cost_usd) == (10, 10, 1.2)  # what the data is and cost
    assert reused.unchanged_since_run == "run-1" and reused.reused("run-2").unchanged_since_run == "run-1"
    grown = DatasetReport(rows=8, rows_new=3, rows_kept=5, rows_retired=1).reused("r")
    assert (grown.rows_new, grown.rows_kept, grown.rows_retired) == (0, 8, 0)  # nothing was new in a reuse
    hard = HardReport(rows=2, cost_usd=0.3, judge=LLMBatchReport(cost_usd=0.2, data_cost_usd=0.2)).reused("r")
    assert isinstance(hard, HardReport) and hard.judge is not None
    assert (hard.cost_usd, hard.judge.cost_usd, hard.judge.data_cost_usd) == (0.0, 0.0, 0.2)


def test_recipes_and_digests_follow_content_not_order_or_identity() -> None:
    import polars as pl

    assert recipe_hash({"a": 1, "b": [1, 2]}) == recipe_hash({"b": [1, 2], "a": 1})
    assert recipe_hash({"a": 1}) != recipe_hash({"a": 2})
    zh = pl.DataFrame({"q": ["光合作用的产物是什么？", "What is 2+2?"], "kp": [["光合作用"], ["addition"]]})
    assert table_digest(zh) == table_digest(zh.clone())
    assert table_digest(zh) != table_digest(zh.reverse())  # row order is content (the dataset keeps it)
    assert table_digest(zh) != table_digest(zh.with_columns(pl.col("q").str.replace("？", "?")))
    assert table_digest(zh.clear()) != table_digest(zh.clear().rename({"q": "question"}))  # the schema counts


def test_processes_that_make_no_llm_call_do_not_import_litellm() -> None:
    """litellm's import is most of a step process's start-up; the definitions load without it."""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c",
                          "import sys, definitions; print('litellm' in sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
