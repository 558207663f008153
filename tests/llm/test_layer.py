"""The LLM layer at scale: faults, crash and resume, budgets, rate control, secrets, single flight."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.llm.budget import Budget, BudgetExceeded, Prices
from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.records import CallResult, ModelRoute, RunAborted
from linksyn_assets.llm.workers import stream_batch
from linksyn_assets.records import KPExtraction
from tests.conftest import kp_messages, write_jsonl
from tests.stub_llm_server import Faults, StubServer

SECRET = "sk-test-SECRET-4242"


def _client(stub: StubServer, ledger: Path | str, model: str = "openai/stub-model", **kw) -> LLMClient:
    route = ModelRoute(model=model, cache_identity=f"{model}@stub", api_base=stub.url, api_key=SECRET)
    kw.setdefault("max_retries", 4)
    return LLMClient(route, RequestLedger(ledger), stage="extract", **kw)


def _ledger_dump(url: str) -> str:
    """Every row of every ledger table, as text."""
    ledger = RequestLedger(url)
    tables = ("requests", "spend", "budgets", "budget_holds", "linksyn_schema")
    rows = ledger._db.tx(lambda db: [ledger._db.execute(db, f"SELECT * FROM {t}").fetchall() for t in tables])
    ledger.close()
    return repr(rows)


def _body_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).hexdigest()


def test_every_request_ends_done_or_failed_under_mixed_faults(stub: StubServer, tmp_path: Path,
                                                              ledger_url: str) -> None:
    stub.reset(Faults(http_429=7, http_500=11, http_503=13, reset=17, hang=19, hang_s=2.0, bad_json=5,
                      schema_invalid=23, empty=29, truncated=31, retry_after_s=0.02))
    ledger_path = ledger_url
    max_retries = 4
    client = _client(stub, ledger_path, max_retries=max_retries, timeout_s=1.0, max_concurrency=8)
    results = client.run([(f"r{i}", kp_messages(i)) for i in range(80)], KPExtraction, "v1")
    assert len(results) == 80 and len({r.item_id for r in results}) == 80  # no output duplicated
    assert all(r.ok or r.error for r in results)  # a failure always carries its reason
    counts = RequestLedger(ledger_path).counts()
    assert counts.get("DONE", 0) + counts.get("FAILED", 0) == 80 and set(counts) <= {"DONE", "FAILED"}
    assert counts.get("DONE", 0) == sum(r.ok for r in results) >= 40
    stats = client.stats
    assert stats.ok + sum(stats.failed.values()) == 80
    # Every request the server saw was counted; an attempt on a connection the server had just reset can
    # fail before reaching it, and such attempts are retried.
    assert stub.count <= stats.http_calls <= stub.count + stats.retries
    # Bound: per request, (answer + longer-output retry + repair) attempts, each retried max_retries times.
    assert all(r.http_calls <= 3 * (max_retries + 1) for r in results)
    assert stats.retries > 0 and stats.throttled > 0 and stats.repaired > 0


def test_crash_and_resume_resends_at_most_the_in_flight(stub: StubServer, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    write_jsonl(seeds / "s.jsonl", [{"question": f"Question number {i} about exponential population growth?",
                                     "answer": str(i), "discipline": "biology", "difficulty": 1}
                                    for i in range(120)])
    stub.reset(Faults(latency_s=0.05))
    concurrency = 4
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "LINKSYN_DATA_DIR": str(tmp_path / "data"),
           "LINKSYN_MODEL": "openai/stub-model", "LINKSYN_API_BASE": stub.url, "LINKSYN_API_KEY_ENV": "K",
           "K": SECRET, "LINKSYN_MAX_CONCURRENCY": str(concurrency)}
    cmd = [sys.executable, "-m", "linksyn_assets.cli", "run", "--seeds", str(seeds), "--select", "seeds,seed_kps"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while stub.count < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stub.count >= 40, "the run never got going"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = stub.count
    assert before < 120, "killed too late to test a resume"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    sent = Counter(_body_hash(b) for b in stub.state.requests)
    assert len(sent) == 120  # every seed answered exactly once in the end ...
    assert sum(n - 1 for n in sent.values()) <= concurrency  # ... and only in-flight ones were re-sent
    # the ledger counts the killed run's calls too: never fewer than the server saw, at most one per sender more
    ledger = RequestLedger(tmp_path / "data" / "llm_ledger.sqlite")
    assert stub.count <= ledger.sends_total() <= stub.count + concurrency
    resumed = pl.read_parquet(tmp_path / "data" / "assets" / "seed_kps" / "biology.parquet")
    # Same rows as an uninterrupted run (the stub's answers are a function of the request).
    stub.reset()
    env2 = {**env, "DAGSTER_HOME": str(tmp_path / "home2"), "LINKSYN_DATA_DIR": str(tmp_path / "data2")}
    assert subprocess.run(cmd, env=env2, capture_output=True, timeout=300).returncode == 0
    clean = pl.read_parquet(tmp_path / "data2" / "assets" / "seed_kps" / "biology.parquet")
    assert resumed.sort("seed_id", "kp_id").equals(clean.sort("seed_id", "kp_id"))


def test_budget_stops_before_overspending_and_resume_sends_only_the_rest(stub: StubServer, tmp_path: Path,
                                                                         ledger_url: str) -> None:
    prices = Prices(input_per_token=1e-6, output_per_token=2e-6, source="config")
    ledger = ledger_url
    requests = [(f"r{i}", kp_messages(i)) for i in range(60)]
    budget = Budget("run", usd_limit=0.004, scope="run:first")  # kept in the ledger
    client = _client(stub, ledger, prices=prices, budgets=[budget], max_tokens=200, max_concurrency=4)
    got: list = []
    with pytest.raises(BudgetExceeded, match=r"run budget: spent \$0\.00\d+ of \$0\.0040.*left undone"):
        client.stream(requests, KPExtraction, "v1", got.append, total=60)
    assert budget.spent_usd <= 0.004  # stopped before passing the limit
    assert 0 < len(got) < 60 and stub.count == len(got)
    first = stub.count
    bigger = _client(stub, ledger, prices=prices, budgets=[Budget("run", usd_limit=1.0, scope="run:second")],
                     max_tokens=200)
    results = bigger.run(requests, KPExtraction, "v1")
    assert all(r.ok for r in results) and len(results) == 60
    assert stub.count - first == 60 - len(got)  # nothing already done was sent again
    assert bigger.stats.cache_hits == len(got)


def test_bad_key_stops_the_run_with_a_clear_message(stub: StubServer, tmp_path: Path, ledger_url: str) -> None:
    stub.reset(Faults(reject_auth=True))
    client = _client(stub, ledger_url, max_concurrency=2)
    with pytest.raises(RunAborted, match="API key"):
        client.run([(f"r{i}", kp_messages(i)) for i in range(200)], KPExtraction, "v1")
    assert stub.count < 60  # it stopped early instead of failing 200 times
    assert client.stats.failed and SECRET not in json.dumps(client.stats.as_metadata())


def test_429s_slow_the_run_down_and_retry_after_is_honoured(stub: StubServer, tmp_path: Path, ledger_url: str) -> None:
    stub.reset(Faults(http_429=3, retry_after_s=0.3))
    client = _client(stub, ledger_url, max_concurrency=16)
    started = time.monotonic()
    results = client.run([(f"r{i}", kp_messages(i)) for i in range(30)], KPExtraction, "v1")
    assert all(r.ok for r in results) and client.stats.throttled >= 9
    assert time.monotonic() - started >= 0.3  # waited at least one Retry-After
    assert client.rate.limit < 16  # multiplicative decrease after 429s


def test_single_flight_and_sample_index(stub: StubServer, tmp_path: Path, ledger_url: str) -> None:
    prices = Prices(input_per_token=1e-6, output_per_token=2e-6, source="config")
    client = _client(stub, ledger_url, prices=prices)
    same = kp_messages(1)
    results = client.run([("a", same), ("b", same), ("c", same, 1)], KPExtraction, "v1")
    assert [r.item_id for r in results] == ["a", "b", "c"] and all(r.ok for r in results)
    assert stub.count == 2  # a and b are one request; sample index 1 is an intended repeat
    a, b, c = results
    assert a.data == b.data and a.cost_usd > 0 and b.cost_usd == 0 and b.prompt_tokens == 0  # b paid nothing
    assert client.stats.data_cost_usd == pytest.approx(a.cost_usd + c.cost_usd) == client.stats.cost_usd
    again = _client(stub, ledger_url, prices=prices)  # all from the ledger: same data cost
    again.run([("a", same), ("b", same), ("c", same, 1)], KPExtraction, "v1")
    assert stub.count == 2 and again.stats.cost_usd == 0
    assert again.stats.data_cost_usd == pytest.approx(client.stats.data_cost_usd)


def test_reasoning_is_kept_apart_and_never_parsed_as_the_answer(stub: StubServer, tmp_path: Path,
                                                                ledger_url: str) -> None:
    stub.state.provider = "deepseek"  # as DeepSeek's API today: v4 names, reasoning_content in thinking mode
    client = _client(stub, ledger_url, model="deepseek/deepseek-v4-pro")
    [result] = client.run([("a", kp_messages(1))], KPExtraction, "v1")
    assert result.ok and result.data["knowledge_points"][0]["name"] == "photosynthesis"
    assert result.reasoning and "not the answer" in result.reasoning
    assert stub.state.requests[0]["response_format"] == {"type": "json_object"}  # DeepSeek: no json_schema


def test_truncated_reply_is_retried_with_more_room(stub: StubServer, tmp_path: Path, ledger_url: str) -> None:
    stub.reset(Faults(truncated=1))  # every reply is cut: the retry gets twice the room, then a repair
    client = _client(stub, ledger_url, max_tokens=100)
    [result] = client.run([("a", kp_messages(1))], KPExtraction, "v1")
    assert not result.ok and "truncated at max_tokens=200" in result.error
    assert [r["max_tokens"] for r in stub.state.requests[:2]] == [100, 200]
    assert result.length_retries == 1 and result.repaired
    # at the largest cap allowed (the demo model's), a cut-off reply is final: no longer retry, no repair turn
    stub.reset(Faults(truncated=1))
    capped = _client(stub, ledger_url, max_tokens=100, max_tokens_cap=100)
    [final] = capped.run([("b", kp_messages(2))], KPExtraction, "v1")
    assert not final.ok and "truncated at max_tokens=100" in final.error
    assert stub.count == 1 and not final.repaired and final.length_retries == 0


def test_litellm_acompletion_path_still_works(stub: StubServer, tmp_path: Path, ledger_url: str) -> None:
    client = _client(stub, ledger_url, transport="litellm", max_concurrency=2)
    results = client.run([(f"r{i}", kp_messages(i)) for i in range(4)], KPExtraction, "v1")
    assert all(r.ok for r in results) and stub.count == 4
    sent = {k.lower(): v for k, v in stub.state.headers[0].items()}
    assert sent["authorization"] == f"Bearer {SECRET}"


def test_secret_never_reaches_ledger_or_results(stub: StubServer, tmp_path: Path, ledger_url: str) -> None:
    stub.reset(Faults(http_500=2))
    client = _client(stub, ledger_url)
    results = client.run([(f"r{i}", kp_messages(i)) for i in range(6)], KPExtraction, "v1")
    blobs = _ledger_dump(ledger_url)
    assert "photosynthesis" in blobs and SECRET not in blobs
    assert all(SECRET not in r.model_dump_json() for r in results)
    assert SECRET not in repr(client.route) and SECRET not in repr(client._prepared)


def test_results_spool_to_parquet_shards_and_read_back(tmp_path: Path) -> None:
    from linksyn_assets.llm.spool import ResultShards

    shards = ResultShards(tmp_path / "spool", rows_per_shard=2)
    written = [CallResult(item_id=f"r{i}", ok=i % 2 == 0, data={"k": [i, "点"]} if i % 2 == 0 else None,
                          error=None if i % 2 == 0 else "schema mismatch", model="m") for i in range(5)]
    for result in written:
        shards(result)
    assert shards.shards == 2  # two full shards on disk while the batch runs, one row still buffered
    assert [r.model_dump() for r in shards.read()] == [r.model_dump() for r in written]
    assert sorted(p.name for p in (tmp_path / "spool").iterdir()) == [
        "shard-000001.parquet", "shard-000002.parquet", "shard-000003.parquet"]  # no temp files left
    shards.remove()
    assert not (tmp_path / "spool").exists()


def test_worker_processes_share_the_ledger(stub: StubServer, tmp_path: Path, ledger_url: str) -> None:
    ledger = ledger_url
    requests = [(f"r{i}", kp_messages(i % 30)) for i in range(60)]  # every request twice
    client = _client(stub, ledger, max_concurrency=8)
    got: dict[str, CallResult] = {}
    stream_batch(client, requests, KPExtraction, "v1", lambda r: got.__setitem__(r.item_id, r), total=60, workers=2)
    results = list(got.values())
    assert len(results) == 60 and all(r.ok for r in results)
    assert stub.count == 30  # duplicates in the other process wait for the lease holder (single flight)
    assert RequestLedger(ledger).counts() == {"DONE": 30}
    assert client.stats.done == 60 and client.stats.http_calls == stub.count


def test_budget_holds_when_requests_take_several_calls(stub: StubServer, tmp_path: Path, ledger_url: str) -> None:
    stub.reset(Faults(truncated=1))  # every reply cut: answer, longer-output retry and repair per request
    prices = Prices(input_per_token=1e-6, output_per_token=2e-6, source="config")
    budget = Budget("partition physics", usd_limit=0.003, scope="partition:physics")
    client = _client(stub, ledger_url, prices=prices, budgets=[budget], max_tokens=100)
    with pytest.raises(BudgetExceeded, match="partition physics budget"):
        client.run([(f"r{i}", kp_messages(i)) for i in range(40)], KPExtraction, "v1")
    spent_usd, _, held_usd, held_tokens = RequestLedger(ledger_url).budget_totals("partition:physics")
    assert 0 < spent_usd <= 0.003 and held_tokens == 0 and held_usd == pytest.approx(0.0, abs=1e-12)
    assert stub.count >= 3  # several calls were made before the stop
    counts = RequestLedger(ledger_url).counts()
    assert counts.get("IN_FLIGHT", 0) == 0  # leases of unfinished requests were given back


def test_a_runs_batches_share_one_session_that_the_run_closes(stub: StubServer, ledger_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger connection and the route's adaptive rate live as long as the run: one per LLMResource
    session, shared by its batches, closed at teardown (no process-wide cache outlives it)."""
    from resources.llm import LLMResource

    monkeypatch.setenv("LINKSYN_TEST_KEY", SECRET)
    llm = LLMResource(model="openai/stub-model", api_base=stub.url, api_key_env="LINKSYN_TEST_KEY",
                      ledger_path=ledger_url, max_concurrency=8)
    first, second = llm.client("extract"), llm.client("synthesize")
    assert first.ledger is second.ledger and first.rate is second.rate  # the same route: one rate
    first.rate.on_throttle(None)
    assert second.rate.limit == 4.0  # a 429 seen by one batch slows the next
    session = llm.session()
    llm.teardown_after_execution(None)  # type: ignore[arg-type]  # what Dagster calls when the run ends
    assert llm.session() is not session  # a later run starts with a new session ...
    assert llm.client("extract").rate.limit == 8.0  # ... and a fresh rate


def test_the_ledger_counts_every_http_call_retries_included(stub: StubServer, tmp_path: Path) -> None:
    stub.reset(Faults(http_503=3, retry_after_s=0.01))  # every third call is refused once and retried
    ledger = tmp_path / "ledger.sqlite"
    results = _client(stub, ledger, max_retries=4).run([(f"s{i}", kp_messages(i)) for i in range(30)],
                                                       KPExtraction, "v1")
    assert all(r.ok for r in results) and stub.count > 30
    assert RequestLedger(ledger).sends_total() == stub.count
    again = _client(stub, ledger).run([(f"s{i}", kp_messages(i)) for i in range(30)], KPExtraction, "v1")
    assert all(r.cached for r in again) and RequestLedger(ledger).sends_total() == stub.count  # reuse: no send
