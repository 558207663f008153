"""Datasets that grow to a target (release/targets.py and `linksyn run --target-rows`)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from linksyn_assets.release.targets import MAX_GROWTH, PRIOR_RATE, paths_for_round, split_target
from tests.stub_llm_server import StubServer
from tests.test_operations import _linksyn


def test_targets_split_by_share_and_rounds_size_from_the_pass_rate() -> None:
    assert split_target(10, {"physics": 2.0, "mathematics": 1.0, "化学": 1.0}) == {
        "mathematics": 3, "physics": 5, "化学": 2}  # largest remainder: 2.5, 2.5 -> the first by name
    assert split_target(10, {"physics": 0.0}) == {}
    assert paths_for_round(have=12, target=12, paths=6) == 6  # met: nothing more
    assert paths_for_round(have=6, target=12, paths=6) == 12  # 1 row per path: 6 more paths
    assert paths_for_round(have=0, target=3, paths=2) == 2 + int(3 / PRIOR_RATE)  # nothing passed yet: the prior
    assert paths_for_round(have=1, target=1000, paths=10) == 10 + int(MAX_GROWTH * 10) + 4  # bounded growth


def _dataset_rows(data_dir: Path) -> dict[str, int]:
    return {p.stem: pl.read_parquet(p).height for p in (data_dir / "dataset").glob("*.parquet")}


def test_linksyn_run_grows_each_discipline_to_its_share(stub_env: StubServer, linked_seeds: Path, tmp_path: Path,
                                                        data_dir: Path) -> None:
    out = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1", "--target-rows", "24"],
                   tmp_path / "home")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "[target round 1]" in out.stdout
    rows = _dataset_rows(data_dir)
    assert rows["physics"] >= 12 and rows["mathematics"] >= 12  # 24 split by seeds: 12 each
    report = out.stdout.split("Target:", 1)[1]
    assert re.search(r"physics: \d+ of 12 \(reached; \d+ paths\)", report), report
    assert re.search(r"mathematics: \d+ of 12 \(reached; \d+ paths\)", report), report
    release = pl.read_parquet(next((data_dir / "release" / "latest" / "data").glob("*.parquet")))
    assert release.height >= 24


def test_a_budget_too_small_stops_the_rounds_and_says_what_is_missing(
        stub_env: StubServer, linked_seeds: Path, tmp_path: Path, data_dir: Path) -> None:
    first = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1"], tmp_path / "home")
    assert first.returncode == 0, first.stdout[-2000:]
    budget = {"LINKSYN_BUDGET_TOKENS": "600"}  # per run: a round's synthesis of many paths cannot fit
    out = _linksyn(["run", "--seeds", str(linked_seeds), "--paths-per-discipline", "1", "--target-rows", "400"],
                   tmp_path / "home", budget)
    report = out.stdout.split("Target:", 1)[1]
    for discipline in ("physics", "mathematics"):
        match = re.search(rf"{discipline}: (\d+) of 200 \(budget ended, (\d+) missing", report)
        assert match, report
        assert int(match.group(1)) + int(match.group(2)) == 200
        assert int(match.group(1)) == _dataset_rows(data_dir)[discipline]
