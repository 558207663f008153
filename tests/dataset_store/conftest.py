"""Fixtures of the dataset-store tests: a QC plan like the dataset asset's, with a benchmark of one item and a
verifier that agrees with every answer (and records which rows it was asked about)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.dataset_store.update import UpdatePlan
from linksyn_assets.qc.benchmarks import Benchmarks
from linksyn_assets.qc.rules import with_verification
from linksyn_assets.qc.steps import contamination_step, row_rule_steps
from linksyn_assets.qc.token_count import TokenCounter
from linksyn_assets.settings import DatasetParams
from tests.conftest import write_jsonl


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


@pytest.fixture
def plan(tmp_path: Path, counter: TokenCounter) -> UpdatePlan:
    bench = write_jsonl(tmp_path / "bench" / "b.jsonl", [
        {"question": "Question x: what is the boiling point of pure water at sea level in kelvin units?",
         "answer": "373 K"}])
    params = DatasetParams(min_question_chars=20, benchmark_files=[str(bench)])
    verified: list[str] = []

    def verify(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[str | None], float, set[str]]:
        verified.extend(rows["record_id"].to_list())
        solved = dict(zip(rows["record_id"], rows["answer"], strict=True))
        return (*with_verification(rows, solved, "flag"), 0.0, set())

    out = UpdatePlan(qc_recipe="r1", run_id="run", params=params, row_steps=row_rule_steps(params, 1.0),
                     contamination=contamination_step(Benchmarks.load([bench], params.decontamination_ngram,
                                                                      params.contamination_containment)),
                     verify=verify, counter=counter, batch_rows=1000)
    out.verified = verified  # type: ignore[attr-defined]  -- what the test asks of the verifier
    return out
