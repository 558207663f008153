"""Release-grade dataset checks: contamination, near-duplicates, seed copies, judged hard variants,
answer verification, the release folder and its card."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.dataset_store.manifest import read_live
from linksyn_assets.llm.records import CallResult
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.qc.answer_check import compare
from linksyn_assets.qc.benchmarks import Benchmarks
from linksyn_assets.qc.rules import assemble
from linksyn_assets.qc.steps import quality_check
from linksyn_assets.release.build import LiveShard, cross_discipline_removed, write_release
from linksyn_assets.seeds.readers import read_seed_dir
from linksyn_assets.settings import DatasetParams
from linksyn_assets.stages import INGEST, PER_DISCIPLINE, RELEASE
from linksyn_assets.storage import staging_dir
from linksyn_assets.synthesis.copy_check import closest_seed, qa_text
from linksyn_assets.synthesis.tables import HARD_SCHEMA, SYNTH_SCHEMA, judged, rating_key
from resources import build_resources
from tests.conftest import write_jsonl
from tests.stub_llm_server import StubServer

WORDS = ["entropy", "lattice", "photon", "enzyme", "vector", "tensor", "isotope", "catalyst", "genome", "orbital",
         "momentum", "kernel", "quantum", "polymer", "neuron", "plasma", "ligand", "spectrum"]


def _synthetic_questions(n: int, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, 24)) + f" case {i}?" for i in range(n)]


def _rows(questions: list[str], discipline: str = "physics") -> pl.DataFrame:
    n = len(questions)
    return pl.DataFrame({"record_id": [f"{discipline}-{i}" for i in range(n)], "discipline": [discipline] * n,
                         "question": questions, "options": [["yes", "no"]] * n, "answer": ["A"] * n,
                         "solution": ["because"] * n, "kp_ids": [["k"]] * n})


@pytest.mark.shared_seeds
def test_reworded_benchmark_questions_are_removed_and_synthetic_rows_kept(shared_seeds: Path) -> None:
    # questions of 8+ words (a leak of "Why is Mars red?" alone is not told apart from a fresh question)
    mmlu = read_seed_dir(shared_seeds / "mmlu").seeds.filter(pl.col("question").str.split(" ").list.len() >= 8)
    mmlu = mmlu.slice(0, 40)
    gsm = read_seed_dir(shared_seeds / "gsm8k").seeds.slice(0, 40)
    planted = [("Q: " + q.lower().replace("?", ".")) for q in mmlu["question"].to_list()]
    planted += [q.replace("How many", "how many").rstrip(".?") + ", in total?" for q in gsm["question"].to_list()]
    synthetic = _synthetic_questions(200)
    rows = _rows(synthetic + planted)
    bench = Benchmarks.load([shared_seeds / "mmlu", shared_seeds / "gsm8k"], 13, 0.5)
    found = bench.check(rows)
    hit = found.item >= 0
    assert hit[len(synthetic):].all()  # every planted question
    assert not hit[:len(synthetic)].any()  # no synthetic row
    reasons = bench.describe(found)
    assert reasons[len(synthetic)].startswith("benchmark contamination: ")
    assert "mmlu" in reasons[len(synthetic)].lower() or "dev" in reasons[len(synthetic)]


def test_near_duplicates_across_disciplines_are_removed_once(tmp_path: Path) -> None:
    base = _synthetic_questions(50)
    physics = _rows(base[:30], "physics")
    # chemistry repeats three physics questions with case and punctuation changes, and has its own rows
    copies = [base[0].upper(), base[1].replace("?", "!"), base[2] + " "]
    chemistry = _rows(copies + base[30:], "chemistry")
    folders = {}
    for discipline, rows in (("physics", physics), ("chemistry", chemistry)):
        folders[discipline] = tmp_path / discipline
        folders[discipline].mkdir()
        rows.write_parquet(folders[discipline] / "part.parquet")
    # in discipline order, each shard checked against the rows kept before it
    shards = [LiveShard(d, folders[d] / "part.parquet") for d in sorted(folders)]
    removed = cross_discipline_removed(shards, DatasetParams(near_duplicate_threshold=0.8))
    assert removed.height == 3
    assert set(removed["discipline"]) == {"physics"}  # chemistry sorts first: its copy is the one kept
    assert all(r.startswith("near-duplicate: of chemistry-") for r in removed["reason"])
    written = write_release(shards, removed, tmp_path / "release", shard_rows=20, keep_reasoning=True)
    kept = pl.read_parquet(tmp_path / "release" / "data" / "*.parquet")
    assert written.rows == kept.height == 50  # a file per 20 rows of each dataset shard: 20+3 and 20+7
    assert len(written.shards) == 4
    assert kept["question"].str.to_lowercase().n_unique() == 50
    assert pl.read_ndjson(tmp_path / "release" / "train.jsonl").height == 50


def _synth_row(**values: object) -> dict:
    row = {k: None for k in SYNTH_SCHEMA}
    row.update(qa_id="q1", discipline="physics", path_id="p", item_index=0, options=[], kp_ids=["k"],
               seed_ids=["s1", "s2"], difficulty=2, language="en", question_type="short_answer",
               model="m", prompt_version="v", status="ok", answer="42", solution="worked")
    row.update(values)
    return row


def test_a_copy_of_a_seed_is_rejected_as_a_copy() -> None:
    seeds = {"s1": qa_text("What is the acceleration of a 2 kg mass pushed by a 10 N force?", []),
             "s2": qa_text("Name the SI unit of energy.", [])}
    copied = "What is the acceleration of a 2 kg mass pushed by a 10 N force ?"
    fresh = "A 10 N force acts on a cart whose kinetic energy grows by 50 J; how far does it move?"
    rows = []
    for i, question in enumerate([copied, fresh]):
        seed, score = closest_seed(qa_text(question, []), seeds)
        rows.append(_synth_row(qa_id=f"q{i}", question=question, copy_seed_id=seed, copy_similarity=score))
    synth = pl.DataFrame(rows, schema=SYNTH_SCHEMA)
    qc = quality_check(assemble(synth, pl.DataFrame(schema=HARD_SCHEMA)), DatasetParams(), copy_threshold=0.6)
    assert qc.kept["record_id"].to_list() == ["q1"]
    assert qc.rejects["reason"].to_list()[0].startswith("copy of a seed: s1")
    assert qc.reasons() == {"copy of a seed": 1}


def test_a_hard_variant_rated_not_harder_is_not_kept_and_ratings_are_stored() -> None:
    targets = pl.DataFrame([_synth_row(qa_id=f"q{i}", question=f"original {i}") for i in range(2)],
                           schema=SYNTH_SCHEMA)
    hard = pl.DataFrame([{**{k: None for k in HARD_SCHEMA}, "hard_id": f"h{i}", "qa_id": f"q{i}",
                          "question": f"harder {i}", "options": [], "status": "ok", "language": "en",
                          "answer": "42", "solution": "worked", "discipline": "physics"}
                         for i in range(2)], schema=HARD_SCHEMA)
    ratings = {"original 0": 1, "harder 0": 3, "original 1": 2, "harder 1": 2}
    results = [CallResult(item_id=rating_key({"question": q, "options": []}), ok=True, model="judge",
                          data={"rating": r, "reason": "rubric"}) for q, r in ratings.items()]
    table = judged(hard, targets, results, "judge-model")
    by_id = {row["hard_id"]: row for row in table.iter_rows(named=True)}
    assert (by_id["h0"]["status"], by_id["h0"]["rating_before"], by_id["h0"]["rating_after"]) == ("ok", 1, 3)
    assert (by_id["h1"]["status"], by_id["h1"]["rating_before"], by_id["h1"]["rating_after"]) == ("not_harder", 2, 2)
    qc = quality_check(assemble(targets, table), DatasetParams())
    assert "h1" not in qc.kept["record_id"].to_list() and "h0" in qc.kept["record_id"].to_list()
    assert qc.reasons()["hard variant not rated harder"] == 1


@pytest.mark.parametrize(("stated", "solved", "options", "verdict"), [
    ("B", "(b)", 4, "agree"), ("B", "Option D", 4, "disagree"), ("3.14", "3.1416", 0, "agree"),
    ("1/2", "0.5", 0, "agree"), ("12 m/s", "v = 13 m/s", 0, "disagree"), ("Photosynthesis", "photosynthesis.", 0,
                                                                             "agree"),
    ("B", "答案：B", 4, "agree"), ("mitosis", "meiosis", 0, "disagree")])
def test_answer_comparison(stated: str, solved: str, options: int, verdict: str) -> None:
    assert compare(stated, solved, options) == verdict


def _materialize_all(instance: dg.DagsterInstance, resources: dict) -> dict:
    """Both stages for both disciplines, then the release; the release's metadata as plain values."""
    from linksyn_assets.assets.metadata import values

    for stage in (list(INGEST.assets), list(PER_DISCIPLINE.assets)):
        for d in ("mathematics", "physics"):
            assert dg.materialize(ALL_ASSETS, selection=stage, partition_key=d, instance=instance,
                                  resources=resources).success
    result = dg.materialize(ALL_ASSETS, selection=list(RELEASE.assets), instance=instance, resources=resources)
    assert result.success
    return values(result.get_asset_materialization_events()[0].event_specific_data.materialization)


def test_wrong_stated_answers_are_flagged_and_the_release_card_matches_the_data(
        stub_env: StubServer, linked_seeds: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    benchmark = tmp_path / "benchmark" / "exam.jsonl"
    write_jsonl(benchmark, [{"question": "Which gas makes up most of the air we breathe at sea level?",
                             "options": ["oxygen", "nitrogen", "argon", "carbon dioxide"], "answer": "B"}])
    stub_env.state.disagree = True  # every independent solve answers D; stated answers are B / C
    monkeypatch.setenv("LINKSYN_PRICE_INPUT_PER_MTOK", "1000")  # priced, so the card's cost can be checked
    monkeypatch.setenv("LINKSYN_PRICE_OUTPUT_PER_MTOK", "3000")
    resources = build_resources(seeds_path=str(linked_seeds), settings_overrides={
        "walk": {"paths_per_discipline": 3}, "synthesis": {"question_types": ["multiple_choice"]},
        "dataset": {"benchmark_files": [str(benchmark)]}})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "physics"])
        meta = _materialize_all(instance, resources)
        http_calls = len(stub_env.state.requests)
        rerun = _materialize_all(instance, resources)  # every answer from the request ledger this time
    assert len(stub_env.state.requests) == http_calls
    assert stub_env.state.by_stage["verify"] > 0 and stub_env.state.by_stage["judge"] > 0
    dataset = read_live(data_dir / "dataset" / "physics")
    assert dataset.height > 0 and set(dataset["verification"]) == {"disagree"}  # flagged, not dropped
    assert (dataset["verified_answer"] == "D").all()
    assert dataset["text"].str.starts_with("Question: ").all() and (dataset["tokens"] > 0).all()
    release = data_dir / "release" / "latest"
    shards = sorted((release / "data").glob("train-*.parquet"))
    rows = pl.concat([pl.read_parquet(s) for s in shards])
    jsonl = pl.read_ndjson(release / "train.jsonl")
    assert rows.height == jsonl.height == meta["rows"]
    for plot, label in (("discipline_mix_plot", "physics"), ("removed_by_reason_plot", "Rows removed, by reason"),
                        ("cost_by_stage_plot", "synthesize")):  # the plots a person looks at in the catalog
        encoded = meta[plot].split("base64,", 1)[1].rstrip(")")
        assert label in base64.b64decode(encoded).decode("utf-8"), plot
    card = (release / "README.md").read_text(encoding="utf-8")
    assert f"Rows: {rows.height:,}" in card and f"{int(rows['tokens'].sum()):,}" in card
    for d, part in rows.group_by("discipline"):
        assert f"| {d[0]} | {part.height:,} |" in card
    assert json.dumps(meta["removed_by_reason"], indent=1) in card  # the card lists what the UI shows
    # cost per stage: every LLM stage priced, synthesis equal to its rows' cost, unchanged by an all-cache rerun
    cost = meta["cost_usd_by_stage"]
    assert set(cost) == {"extract", "synthesize", "harden", "judge", "verify"} and min(cost.values()) > 0
    synth_rows = pl.concat([pl.read_parquet(p) for p in (data_dir / "assets" / "synthesized_qa").glob("*.parquet")])
    assert cost["synthesize"] == pytest.approx(synth_rows["cost_usd"].sum(), rel=1e-6)
    assert rerun["cost_usd_by_stage"] == pytest.approx(cost)
    assert f"${sum(cost.values()):.4f}" in card and "judge: openai/stub-model" in card
    assert f"Decontaminated against: \n  - `{benchmark}:exam.jsonl`: 1 data rows, 1 items indexed, not indexed: none" \
        in card


def test_the_release_loads_with_pyarrow_and_datasets(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    rows = pl.DataFrame({"question": ["What is 2+2?", "什么是熵？"], "options": [["3", "4"], []],
                         "tokens": [9, 7], "discipline": ["mathematics", "physics"]})
    rows = rows.with_columns(record_id=pl.Series(["m1", "p1"]))
    rows.write_parquet(tmp_path / "part.parquet")
    folder = staging_dir(tmp_path / "release")
    written = write_release([LiveShard("mixed", tmp_path / "part.parquet")], rows.clear().select("record_id"),
                            folder, shard_rows=1, keep_reasoning=True)
    assert len(written.shards) == 2
    table = pq.read_table(folder / "data")
    assert table.num_rows == 2 and sorted(table.column("question").to_pylist()) == sorted(rows["question"])
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("parquet", data_files=str(folder / "data" / "*.parquet"), split="train",
                                   cache_dir=str(tmp_path / "hf_cache"))
    assert loaded.num_rows == 2 and sorted(loaded["question"]) == sorted(rows["question"])
    assert {tuple(o) for o in loaded["options"]} == {("3", "4"), ()}


def test_reasoning_is_an_optional_column_the_card_accounts_for(stub_env: StubServer, linked_seeds: Path,
                                                              data_dir: Path) -> None:
    stub_env.state.reply_shape = "think"  # R1 as Together serves it: the thought inside the content
    resources = build_resources(seeds_path=str(linked_seeds), settings_overrides={
        "walk": {"paths_per_discipline": 2}, "dataset": {"keep_reasoning": False}})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["mathematics", "physics"])
        _materialize_all(instance, resources)
    synth = pl.read_parquet(data_dir / "assets" / "synthesized_qa" / "physics.parquet")
    assert synth.filter(pl.col("status") == "ok")["reasoning"].str.contains(r"\\frac\{1\}\{2\}").all()
    assert "reasoning" not in read_live(data_dir / "dataset" / "physics").columns
    release = data_dir / "release" / "latest"
    assert "reasoning" not in pl.read_parquet(release / "data" / "*.parquet").columns
    card = (release / "README.md").read_text(encoding="utf-8")
    assert "Reasoning: not included (`dataset.keep_reasoning` is off)" in card
    # the stub route has no price: the card says so instead of $0
    assert "LLM cost of the inputs (cache hits counted at what they first cost): unknown (extract unknown" in card


def test_the_card_says_cost_unknown_never_zero_and_counts_reasoning() -> None:
    from linksyn_assets.release.files import dataset_card

    numbers = {"rows": 3, "tokens": 30, "by_kind": {}, "verification": {}, "benchmark_files": {},
               "cost_usd": {"extract": 0.0, "synthesize": 0.0}, "cost_unknown": ["synthesize"], "reasoning": 2,
               "by_discipline": pl.DataFrame({"discipline": ["化学"], "rows": [3], "tokens": [30]}),
               "by_difficulty": pl.DataFrame({"difficulty": [2], "rows": [3], "tokens": [30]}),
               "kp_coverage": {}, "removed_by_reason": {}, "models": {}, "prompt_versions": []}
    card = dataset_card(numbers, ["data/train-00000-of-00001.parquet"], "cl100k_base", [])
    assert "first cost): unknown (extract $0.0000, synthesize unknown (no price known))" in card
    assert "for 2 of 3 rows" in card and "| 化学 | 3 |" in card
    numbers.update(cost_unknown=[], cost_usd={"extract": 0.25})
    assert "first cost): $0.2500 (extract $0.2500)" in dataset_card(numbers, [], "cl100k_base", [])


def test_a_table_step_is_one_entry_and_the_runner_keeps_the_funnel() -> None:
    from linksyn_assets.qc.rules import QCResult
    from linksyn_assets.qc.steps import Step, flagged, run_steps

    rows = _rows(["What is two plus two, in words?", "两个苹果加三个苹果一共是多少个苹果？",
                  "Name the largest planet."])
    no_numbers = Step("mentions a number word", lambda t: ["number word" if "two" in q or "三" in q else None
                                                          for q in t["question"].to_list()])
    short = Step("too short", lambda t: ["short" if len(q) < 20 else None for q in t["question"].to_list()])
    start = QCResult(kept=rows, rejects=rows.clear().with_columns(pl.lit(None, pl.String).alias("reason")))
    qc, funnel = run_steps(start, [no_numbers, short])
    assert [(s.step, s.entered, s.passed) for s in funnel] == [("mentions a number word", 3, 1), ("too short", 1, 1)]
    assert qc.kept["record_id"].to_list() == ["physics-2"]
    assert dict(qc.rejects.select("record_id", "reason").iter_rows()) == {"physics-0": "number word",
                                                                          "physics-1": "number word"}
    # a recheck judges every row with every step
    assert flagged(rows, [no_numbers, short]) == {"mentions a number word": ["physics-0", "physics-1"],
                                                  "too short": ["physics-1"]}
