"""Reasoning models as hosts really return them, through the client over real HTTP (stub server): every stage's
real prompt, English and Chinese, in every reply shape; blank replies, a rejected json_schema, thinking that
counts against max_tokens, and repair turns that never send a thought back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.providers import route_thinks
from linksyn_assets.llm.records import ModelRoute
from linksyn_assets.prompts.messages import (
    extraction_messages,
    hardening_messages,
    judge_messages,
    synthesis_messages,
    verify_messages,
)
from linksyn_assets.records import (
    DifficultyRating,
    HardeningAnswer,
    IndependentSolve,
    KPExtraction,
    SynthesisAnswer,
)
from resources.llm import LLMResource
from tests.conftest import kp_messages
from tests.stub_llm_server import SHAPES, Faults, StubServer

R1 = "openai/deepseek-ai/DeepSeek-R1"
THINKING_SHAPES = {"think", "implicit", "field", "reasoning_content", "mixed"}
SEEDS = {
    "en": [{"seed_id": "s1", "question": "A geometric series has ratio q = 1/2 and first term 4. Find its sum.",
            "options": ["4", "6", "8", "16"], "answer": "C", "explanation": "a/(1-q) = 8"},
           {"seed_id": "s2", "question": "Which law relates force, mass and acceleration?",
            "options": ["First law", "Second law"], "answer": "B", "explanation": "F = ma"}],
    "zh": [{"seed_id": "s3", "question": "等比数列首项为4，公比为二分之一，求其各项和。",
            "options": ["4", "6", "8", "16"], "answer": "C", "explanation": "和为首项除以一减公比，等于8。"},
           {"seed_id": "s4", "question": "牛顿第二定律描述了哪些物理量之间的关系？",
            "options": ["力与质量和加速度", "速度与时间"], "answer": "A", "explanation": "F = ma"}],
}


def stage_requests(language: str) -> dict[str, tuple[list[dict[str, str]], type[BaseModel]]]:
    """One request per stage, built with the stage's own prompt in the language."""
    seeds = SEEDS[language]
    qa = {"question": seeds[0]["question"], "options": seeds[0]["options"], "answer": "C",
          "solution": seeds[0]["explanation"]}
    return {
        "extract": (extraction_messages(seeds[0]), KPExtraction),
        "synthesize": (synthesis_messages(seeds, ["等比数列" if language == "zh" else "geometric series"], 2, 1,
                                          language, "multiple_choice"), SynthesisAnswer),
        "harden": (hardening_messages(qa, 1, 3, language), HardeningAnswer),
        "judge": (judge_messages(qa, language), DifficultyRating),
        "verify": (verify_messages(qa, language), IndependentSolve),
    }


def _client(stub: StubServer, tmp_path: Path, model: str = R1, stage: str = "extract", params: str = "",
            **kw) -> LLMClient:
    route = ModelRoute(model=model, cache_identity=f"{model}@stub", api_base=stub.url, api_key="sk-test",
                       request_params=params, thinking=route_thinks(model, json.loads(params or "{}")))
    kw.setdefault("max_retries", 1)
    return LLMClient(route, RequestLedger(tmp_path / "ledger.sqlite"), stage=stage, **kw)


def _has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("shape", [*SHAPES, "mixed"])
def test_every_stage_reads_every_reply_shape(stub: StubServer, tmp_path: Path, shape: str, language: str) -> None:
    stub.state.reply_shape = shape
    for stage, (messages, output) in stage_requests(language).items():
        client = _client(stub, tmp_path / stage, stage=stage, max_tokens=4096)
        [result] = client.run([(stage, messages)], output, "v1")
        assert result.ok, (stage, result.error)
        assert "draft" not in json.dumps(result.data, ensure_ascii=False), stage  # not the thought's drafted object
        assert client.stats.repaired == 0 and client.stats.length_retries == 0, stage
        sent = stub.state.requests[-1]
        assert "response_format" not in sent  # R1 without a known reasoning parser: no format, schema in prompt
        if shape in THINKING_SHAPES:
            assert result.reasoning and "\\frac{1}{2}" in result.reasoning, stage
            assert "think>" not in result.reasoning
            assert _has_han(result.reasoning) == (language == "zh"), stage
            assert result.reasoning_tokens > 0 and result.reasoning_tokens < result.completion_tokens
        elif shape in ("plain", "fenced"):
            assert result.reasoning is None


@pytest.mark.parametrize("shape", ["think", "field", "reasoning_content"])
def test_blank_replies_are_asked_again_not_repaired(stub: StubServer, tmp_path: Path, shape: str) -> None:
    stub.reset(Faults(blank=2))  # every second reply: whitespace only, finish_reason stop
    stub.state.reply_shape = shape
    client = _client(stub, tmp_path, max_concurrency=1)
    results = client.run([(f"s{i}", kp_messages(i)) for i in range(6)], KPExtraction, "v1")
    assert all(r.ok for r in results), [r.error for r in results]
    assert client.stats.blank_retries >= 2 and client.stats.repaired == 0
    assert all(m["role"] != "assistant" for body in stub.state.requests for m in body["messages"])
    # a model that only ever answers blank fails the request, after the bounded re-asks, with that reason
    stub.reset(Faults(blank=1))
    [blank] = _client(stub, tmp_path / "all-blank").run([("b", kp_messages(99))], KPExtraction, "v1")
    assert not blank.ok and "blank reply" in blank.error and blank.blank_retries == 2 and stub.count == 3


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_repair_turn_sends_the_answer_never_the_thought(stub: StubServer, tmp_path: Path, language: str) -> None:
    stub.reset(Faults(schema_invalid=2))  # request 2 is schema-invalid, its repair (3) is fine
    stub.state.reply_shape = "think"
    messages, output = stage_requests(language)["extract"]
    client = _client(stub, tmp_path, max_concurrency=1)
    client.run([("warm-up", kp_messages(1))], KPExtraction, "v1")
    [fixed] = client.run([("s", messages)], output, "v1")
    assert fixed.ok and fixed.repaired
    repair = stub.state.requests[2]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"unexpected": true}'}
    assert not any("think>" in m["content"] or "\\frac" in m["content"] for m in repair)


def test_a_host_that_rejects_json_schema_is_asked_with_json_object(stub: StubServer, tmp_path: Path) -> None:
    stub.state.reject_json_schema = True
    logs: list[str] = []
    client = _client(stub, tmp_path, model="openai/stub-model", max_concurrency=4, log=logs.append)
    results = client.run([(f"s{i}", kp_messages(i)) for i in range(12)], KPExtraction, "v1")
    assert all(r.ok for r in results), [r.error for r in results]
    formats = [(b.get("response_format") or {}).get("type") for b in stub.state.requests]
    assert formats[0] == "json_schema" and formats.count("json_schema") <= 4  # at most the first in flight
    assert formats[-12:] == ["json_object"] * 12 and client.stats.format_switches == 1
    assert sum("rejected response_format json_schema" in line for line in logs) == 1


def test_thinking_routes_get_an_allowance_and_a_retry_sized_from_the_thought(stub: StubServer,
                                                                               tmp_path: Path) -> None:
    stub.state.reply_shape = "reasoning_content"
    stub.state.think_tokens = 1500  # longer than the extraction cap of 512 alone
    llm = LLMResource(model=R1, api_base=stub.url, ledger_path=str(tmp_path / "a.sqlite"))
    client = llm.client("extract")
    assert client.max_tokens == 512 + 4096 and client.route.thinking
    [result] = client.run([("s", kp_messages(1))], KPExtraction, "v1")
    assert result.ok and result.length_retries == 0 and result.reasoning_tokens == 1500
    # without the allowance: cut inside the thought, then one retry sized from the thought, no repair turn
    stub.reset()
    stub.state.reply_shape, stub.state.think_tokens = "think", 1500
    bare = LLMResource(model=R1, api_base=stub.url, ledger_path=str(tmp_path / "b.sqlite"),
                       extract_thinking_tokens=0).client("extract")
    [cut] = bare.run([("s", kp_messages(1))], KPExtraction, "v1")
    assert [b["max_tokens"] for b in stub.state.requests] == [512, 768 + 2 * 512]
    assert cut.ok and cut.length_retries == 1 and not cut.repaired
    # and when even that is too short, the failure says where the reply was cut
    stub.reset()
    stub.state.reply_shape, stub.state.think_tokens = "implicit", 5000
    [short] = LLMResource(model=R1, api_base=stub.url, ledger_path=str(tmp_path / "c.sqlite"),
                          extract_thinking_tokens=0).client("extract").run([("s", kp_messages(2))], KPExtraction,
                                                                            "v1")
    assert not short.ok and "inside the thought" in short.error and stub.count == 2 and not short.repaired


def test_a_route_whose_replies_show_a_thought_gets_the_allowance_for_the_rest(stub: StubServer,
                                                                                tmp_path: Path) -> None:
    stub.state.reply_shape = "think"
    llm = LLMResource(model="openai/stub-model", api_base=stub.url, ledger_path=str(tmp_path / "l.sqlite"),
                      max_concurrency=1)
    client = llm.client("extract")
    assert not client.route.thinking and client.max_tokens == 512
    results = client.run([(f"s{i}", kp_messages(i)) for i in range(3)], KPExtraction, "v1")
    assert all(r.ok and r.reasoning for r in results)
    assert [b["max_tokens"] for b in stub.state.requests] == [512, 512 + 4096, 512 + 4096]
    again = llm.client("extract").run([(f"s{i}", kp_messages(i)) for i in range(3)], KPExtraction, "v1")
    assert stub.count == 3 and all(r.cached for r in again)  # the request keys did not change with the cap


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("stage", ["extract", "synthesize", "harden", "judge", "verify"])
def test_every_stage_rides_out_a_rejected_format_a_blank_reply_and_a_cut_thought(
        stub: StubServer, tmp_path: Path, stage: str, language: str) -> None:
    """A host that rejects json_schema, thinks for longer than the answer's cap and sometimes answers blank: the
    format switches once, the thought is given room, the blank reply is asked again, no repair turn is needed."""
    stub.reset(Faults(blank=4))
    stub.state.reply_shape, stub.state.think_tokens, stub.state.reject_json_schema = "reasoning_content", 600, True
    messages, output = stage_requests(language)[stage]
    variant = [{**m, "content": m["content"] + "\n"} if m["role"] == "user" else m for m in messages]
    client = _client(stub, tmp_path, model="openai/stub-model", stage=stage, max_concurrency=1, max_tokens=256,
                     thinking_tokens=2048)
    results = client.run([("a", messages), ("b", variant)], output, "v1")
    assert all(r.ok for r in results), [r.error for r in results]
    assert all(r.reasoning and _has_han(r.reasoning) == (language == "zh") for r in results)
    assert "draft" not in json.dumps([r.data for r in results], ensure_ascii=False)
    stats = client.stats
    assert (stats.format_switches, stats.repaired) == (1, 0)
    assert stats.length_retries == 1 and stats.blank_retries >= 1  # only the first reply was cut
    assert [b.get("max_tokens") for b in stub.state.requests][-1] == 256 + 2048  # the allowance, once seen
