"""The LLM client over real HTTP (litellm -> stub server): validation, repair, retries, cache, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.records import ModelRoute, parse_json_answer
from linksyn_assets.records import KPExtraction
from resources.llm import LLMResource
from tests.conftest import kp_messages
from tests.stub_llm_server import Faults, StubServer

SECRET = "sk-test-SECRET-4242"


def _client(stub: StubServer, tmp_path: Path, **kw) -> LLMClient:
    route = ModelRoute(model="openai/stub-model", cache_identity="stub", api_base=stub.url, api_key=SECRET)
    kw.setdefault("max_retries", 3)
    return LLMClient(route, RequestLedger(tmp_path / "cache.sqlite"), stage="extract", **kw)


def test_answers_are_validated_and_cached(stub: StubServer, tmp_path: Path) -> None:
    client = _client(stub, tmp_path)
    results = client.run([(f"s{i}", kp_messages(i)) for i in range(5)], KPExtraction, "v1")
    assert [r.item_id for r in results] == [f"s{i}" for i in range(5)]
    assert all(r.ok and r.data["knowledge_points"][0]["name"] == "photosynthesis" for r in results)
    assert stub.count == 5 and client.stats.http_calls == 5 and client.stats.prompt_tokens > 0
    again = _client(stub, tmp_path).run([(f"s{i}", kp_messages(i)) for i in range(5)], KPExtraction, "v1")
    assert stub.count == 5  # every answer came from the cache
    assert all(r.cached for r in again) and [r.data for r in again] == [r.data for r in results]
    _client(stub, tmp_path).run([("s0", kp_messages(0))], KPExtraction, "v2")
    assert stub.count == 6  # a new prompt version is a new request


def test_bad_json_gets_one_repair_turn(stub: StubServer, tmp_path: Path) -> None:
    stub.reset(Faults(bad_json=1))  # every reply is broken
    client = _client(stub, tmp_path)
    [result] = client.run([("s", kp_messages(1))], KPExtraction, "v1")
    assert not result.ok and "JSON" in result.error and result.repaired
    assert stub.count == 2  # the answer and exactly one repair
    assert stub.state.requests[1]["messages"][-1]["content"].startswith("That reply was not usable")
    # The model did reply: a re-run reuses that verdict instead of paying again ...
    [again] = _client(stub, tmp_path).run([("s", kp_messages(1))], KPExtraction, "v1")
    assert stub.count == 2 and again.cached and not again.ok and again.error == result.error
    # ... unless asked to retry failed replies.
    _client(stub, tmp_path, retry_failed=True).run([("s", kp_messages(1))], KPExtraction, "v1")
    assert stub.count == 4
    stub.reset(Faults(schema_invalid=2))  # request 2 is schema-invalid, its repair (3) is fine
    client = _client(stub, tmp_path)
    client.run([("warm-up", kp_messages(3))], KPExtraction, "v1")
    [fixed] = client.run([("s", kp_messages(4))], KPExtraction, "v1")
    assert fixed.ok and fixed.repaired and fixed.http_calls == 2 and client.stats.repaired == 1


@pytest.mark.parametrize("fault", [Faults(http_429=2, retry_after_s=0.01), Faults(http_500=2),
                                   Faults(http_503=3), Faults(empty=2), Faults(truncated=2)])
def test_transient_faults_are_absorbed(stub: StubServer, tmp_path: Path, fault: Faults) -> None:
    stub.reset(fault)
    client = _client(stub, tmp_path, max_concurrency=1)  # sequential: a repair never hits the same fault
    results = client.run([(f"s{i}", kp_messages(i)) for i in range(6)], KPExtraction, "v1")
    assert all(r.ok for r in results), [r.error for r in results]
    assert client.stats.retries + client.stats.repaired + client.stats.length_retries + client.stats.blank_retries > 0
    assert client.stats.http_calls == stub.count


def test_retries_are_bounded_and_failures_keep_their_reason(stub: StubServer, tmp_path: Path) -> None:
    stub.reset(Faults(http_500=1))
    client = _client(stub, tmp_path, max_retries=2)
    [result] = client.run([("s", kp_messages(1))], KPExtraction, "v1")
    assert not result.ok and "gave up after 3 attempts" in result.error
    assert stub.count == 3 and client.stats.failed
    assert SECRET not in result.error
    # No reply was ever received, so nothing is cached: a re-run (say, after an outage) asks again.
    stub.reset()
    [retried] = _client(stub, tmp_path, max_retries=2).run([("s", kp_messages(1))], KPExtraction, "v1")
    assert retried.ok and stub.count == 1


def test_permanent_error_is_not_retried(stub: StubServer, tmp_path: Path) -> None:
    route = ModelRoute(model="openai/stub-model", cache_identity="x", api_base=stub.url.replace("/v1", "/nope"),
                       api_key=SECRET)
    client = LLMClient(route, RequestLedger(tmp_path / "c.sqlite"), stage="extract", max_retries=3)
    [result] = client.run([("s", kp_messages(1))], KPExtraction, "v1")
    assert not result.ok and stub.count <= 1


def test_secret_never_reaches_cache_or_results(stub: StubServer, tmp_path: Path) -> None:
    client = _client(stub, tmp_path)
    results = client.run([("s", kp_messages(1))], KPExtraction, "v1")
    sent = {k.lower(): v for k, v in stub.state.headers[0].items()}
    assert sent["authorization"] == f"Bearer {SECRET}"  # it was really sent
    assert all(SECRET.encode() not in p.read_bytes() for p in tmp_path.glob("cache.sqlite*"))
    assert SECRET not in results[0].model_dump_json()
    assert SECRET not in repr(client.route)


def test_parse_json_answer_handles_fences_and_reports_problems() -> None:
    parsed = parse_json_answer('```json\n{"knowledge_points": ["a"]}\n```', KPExtraction)
    assert parsed["knowledge_points"] == [{"name": "a", "canonical_en": None}]
    with pytest.raises(ValueError, match="schema mismatch: knowledge_points"):
        parse_json_answer('{"knowledge_points": []}', KPExtraction)
    with pytest.raises(ValueError, match="blank reply"):
        parse_json_answer("  ", KPExtraction)


def test_resource_routes_and_key_env(stub: StubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    resource = LLMResource(model="deepseek/deepseek-v4-pro", harden_model="hosted_vllm/qwen",
                           api_key_env="MY_KEY", ledger_path=str(tmp_path / "c.sqlite"))
    monkeypatch.setenv("MY_KEY", "k")
    assert resource.route("extract").response_format(KPExtraction)["type"] == "json_object"
    assert resource.route("harden").response_format(KPExtraction)["type"] == "json_schema"
    assert resource.route("harden").model == "hosted_vllm/qwen"
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(Exception, match="MY_KEY"):
        resource.route("extract")
