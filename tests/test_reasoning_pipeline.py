"""DeepSeek-R1 as hosts really return it, through the whole pipeline: `linksyn run` on two bundled disciplines
against the stub in the mixed reply mode (think-in-content, implicit opening, reasoning field, fenced JSON after a
thought; one reply in 20 blank)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from linksyn_assets.dataset_store.manifest import read_live
from linksyn_assets.storage import PROJECT_ROOT
from tests.stub_llm_server import Faults, StubServer
from tests.test_cli import _linksyn

DISCIPLINES = ("chemistry", "mathematics")


def test_r1_replies_in_every_shape_run_clean_and_keep_their_reasoning(stub_env: StubServer, tmp_path: Path,
                                                                      data_dir: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for d in DISCIPLINES:
        shutil.copy(PROJECT_ROOT / "linksyn_assets" / "sample_seeds" / f"{d}.jsonl", seeds)
    stub_env.reset(Faults(blank=20))
    stub_env.state.reply_shape = "mixed"
    run = _linksyn(["run", "--seeds", str(seeds), "--paths-per-discipline", "3"], tmp_path / "home",
                   {"LINKSYN_MODEL": "openai/deepseek-ai/DeepSeek-R1"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    requests = stub_env.state.requests
    blanks = len(requests) // 20
    assert blanks >= 3  # the run made enough calls for the blank replies to matter
    assert "HTTP calls, 0 answered from cache, 0 failed" in run.stdout  # no request failed
    assert f"{blanks} blank replies asked again" in run.stdout and "repaired" not in run.stdout.split("LLM:")[1]
    for n in range(20, len(requests) + 1, 20):  # each blank reply's request was sent again, as it was
        assert requests[n - 1]["messages"] in [r["messages"] for r in requests[n:]], n
    assistant_turns = [m["content"] for r in requests for m in r["messages"] if m["role"] == "assistant"]
    assert not any("</think>" in turn or "<think>" in turn for turn in assistant_turns)
    assert {r.get("max_tokens") for r in requests} >= {512 + 4096}  # the thinking allowance was sent
    for d in DISCIPLINES:
        synth = pl.read_parquet(data_dir / "assets" / "synthesized_qa" / f"{d}.parquet")
        ok = synth.filter(pl.col("status") == "ok")
        assert ok.height > 0 and ok["reasoning"].null_count() == 0, d
        assert not ok["reasoning"].str.contains("</think>").any()
        dataset = read_live(data_dir / "dataset" / d)
        assert "reasoning" in dataset.columns and dataset["reasoning"].null_count() == 0, d
    release = pl.read_parquet(data_dir / "release" / "latest" / "data" / "*.parquet")
    assert release.height > 0 and release["reasoning"].null_count() == 0
    card = (data_dir / "release" / "latest" / "README.md").read_text(encoding="utf-8")
    assert f"for {release.height:,} of {release.height:,} rows" in card
    assert "completion tokens by stage, answer + reasoning: " in run.stdout
    assert "cost unknown: no price known for" in run.stdout  # R1 on an OpenAI-compatible host has no price
