"""Short outages are ridden out, wrong addresses fail at once (issue 30): a route that has answered is waited for
while it restarts (connections refused) or answers 503, with nothing paid twice; a route that never answered
and refuses connections stops the batch within seconds; a step whose failures were all transient is retried
by its retry policy, and succeeds once the host is back."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from linksyn_assets.assets import ALL_ASSETS
from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.records import ModelRoute, RunAborted, only_transient
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.records import KPExtraction
from resources import build_resources
from tests.conftest import kp_messages
from tests.stub_llm_server import Faults, StubServer


def _client(url: str, ledger: Path, **kw) -> LLMClient:
    route = ModelRoute(model="openai/stub-model", cache_identity="stub", api_base=url, api_key="sk-outage")
    kw.setdefault("max_retries", 2)
    return LLMClient(route, RequestLedger(ledger), stage="extract", max_concurrency=4, **kw)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["restart", "503"])
def test_an_outage_of_a_route_that_answered_is_ridden_out(stub: StubServer, tmp_path: Path, kind: str) -> None:
    stub.reset(Faults(latency_s=0.05))
    requests = [(f"s{i}", kp_messages(i)) for i in range(40)]
    client = _client(stub.url, tmp_path / "ledger.sqlite", outage_s=60)

    def outage_after_first_answers() -> None:
        while stub.state.ok_replies < 5:
            time.sleep(0.01)
        if kind == "restart":
            stub.outage(30)  # connections refused for 30 s, then the same port again
        else:
            stub.state.faults.unavailable_until = time.time() + 8

    trigger = threading.Thread(target=outage_after_first_answers, daemon=True)
    trigger.start()
    started = time.monotonic()
    results = client.run(requests, KPExtraction, "v1")
    trigger.join(timeout=30)
    assert time.monotonic() - started >= (29 if kind == "restart" else 7)  # it did wait for the host
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert stub.state.ok_replies == 40  # each answer paid once
    assert client.stats.retries > 0 and client.stats.http_calls > 40


def test_a_route_that_never_answered_and_refuses_connections_stops_within_seconds(tmp_path: Path) -> None:
    client = _client(f"http://127.0.0.1:{_closed_port()}/v1", tmp_path / "ledger.sqlite", outage_s=120)
    started = time.monotonic()
    with pytest.raises(RunAborted, match="cannot be reached .* has never answered"):
        client.run([(f"s{i}", kp_messages(i)) for i in range(30)], KPExtraction, "v1")
    assert time.monotonic() - started < 10


def test_one_refused_connection_of_a_new_route_is_retried_not_taken_for_a_wrong_address(
        stub: StubServer, tmp_path: Path) -> None:
    """A burst can overflow a listen backlog once: a route that never answered is stopped only at a request's
    second refusal in a row, so a server that is up again by the first retry answers everything."""
    stub.reset()
    client = _client(stub.url, tmp_path / "ledger.sqlite", outage_s=0)
    # refused until the first retry is scheduled (its backoff is at least 0.25 s), listening again before it runs
    stub.outage(30, until=lambda: client.stats.retries >= 1)
    results = client.run([(f"s{i}", kp_messages(i)) for i in range(6)], KPExtraction, "v1")
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert client.stopped is None and client.stats.retries >= 1


def test_an_outage_longer_than_allowed_gives_up_as_transient(stub: StubServer, tmp_path: Path) -> None:
    stub.reset(Faults(unavailable_until=time.time() + 30))
    client = _client(stub.url, tmp_path / "ledger.sqlite", outage_s=1, max_retries=1)
    results = client.run([(f"s{i}", kp_messages(i)) for i in range(4)], KPExtraction, "v1")
    assert not any(r.ok for r in results) and only_transient(results)
    assert all("503" in (r.error or "") for r in results)


def test_a_step_that_failed_only_transiently_is_retried_and_succeeds(stub_env: StubServer, linked_seeds: Path,
                                                                    data_dir: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKSYN_OUTAGE_S", "1")
    monkeypatch.setenv("LINKSYN_MAX_RETRIES", "0")
    resources = build_resources(seeds_path=str(linked_seeds))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(discipline_partitions.name, ["physics"])
        assert dg.materialize(ALL_ASSETS, selection=["seeds"], partition_key="physics", instance=instance,
                              resources=resources).success
        stub_env.reset(Faults(unavailable_until=time.time() + 6))  # down a little longer than the first attempt
        result = dg.materialize(ALL_ASSETS, selection=["seed_kps"], partition_key="physics", instance=instance,
                                resources=resources, raise_on_error=False)
        assert result.success
        retries = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
        assert 1 <= len(retries) <= 2  # the step policy (20 s +- jitter, then 40 s), not a person, tried again
        assert stub_env.state.ok_replies == 6  # the 6 physics seeds, each answered once


def test_a_refused_key_is_permanent_not_transient(stub: StubServer, tmp_path: Path) -> None:
    from linksyn_assets.llm.records import only_refused

    stub.reset(Faults(reject_auth=True))
    results = _client(stub.url, tmp_path / "ledger.sqlite").run([(f"s{i}", kp_messages(i)) for i in range(3)],
                                                                KPExtraction, "v1")
    assert not any(r.ok for r in results)
    assert only_refused(results) and not only_transient(results)
    assert stub.count == 3  # a 401 is not retried


def test_a_route_the_ledger_has_answers_from_is_waited_for_not_stopped(tmp_path: Path) -> None:
    """An earlier run's answers make the route known: the same refused connection is an outage now."""
    ledger = tmp_path / "ledger.sqlite"
    earlier = RequestLedger(ledger)
    earlier.claim([("k1", "extract", "stub", "v1")])
    earlier.record([("k1", "DONE", {"data": {}}, None, True, 1)])
    assert earlier.answered_before("stub") and not earlier.answered_before("another-model")
    client = _client(f"http://127.0.0.1:{_closed_port()}/v1", ledger, outage_s=2, max_retries=1)
    started = time.monotonic()
    results = client.run([(f"s{i}", kp_messages(i)) for i in range(3)], KPExtraction, "v1")
    assert time.monotonic() - started >= 2  # waited out the allowance
    assert client.stopped is None and only_transient(results)  # given up as transient, not stopped as dead
