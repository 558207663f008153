"""Providers as they are today: DeepSeek's API (v4 names, json_object only, reasoning_content),
request parameters per stage, and batches that fail loudly instead of succeeding empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linksyn_assets.llm.client import LLMClient
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.records import CallResult, ModelRoute, RunAborted, failed_share_verdict
from linksyn_assets.records import KPExtraction
from resources import llm_from_env
from tests.conftest import kp_messages
from tests.stub_llm_server import StubServer

SECRET = "sk-test-SECRET-4242"


def _deepseek(stub: StubServer, tmp_path: Path, model: str, transport: str = "auto", params: str = "",
              **kw) -> LLMClient:
    stub.state.provider = "deepseek"
    route = ModelRoute(model=model, cache_identity=f"{model}@stub", api_base=stub.url, api_key=SECRET,
                       request_params=params)
    return LLMClient(route, RequestLedger(tmp_path / "ledger.sqlite"), stage="extract", transport=transport,
                     max_retries=2, **kw)


@pytest.mark.parametrize("transport", ["auto", "litellm"])
@pytest.mark.parametrize("retired", ["deepseek/deepseek-reasoner", "deepseek/deepseek-chat"])
def test_a_retired_deepseek_name_stops_the_batch_at_once_and_says_why(stub: StubServer, tmp_path: Path,
                                                                       transport: str, retired: str) -> None:
    client = _deepseek(stub, tmp_path, retired, transport, max_concurrency=4)
    with pytest.raises(RunAborted) as caught:
        client.run([(f"r{i}", kp_messages(i)) for i in range(40)], KPExtraction, "v1")
    message = str(caught.value)
    assert retired in message and "is not served by" in message and "Model Not Exist" in message
    assert "deepseek/deepseek-flash" in message  # the successor is named
    assert stub.count <= 8  # not 40 requests x 3 attempts: the first answers stop the batch
    assert SECRET not in message


def test_deepseek_v4_json_object_reasoning_and_request_params(stub: StubServer, tmp_path: Path) -> None:
    client = _deepseek(stub, tmp_path, "deepseek/deepseek-v4-pro")
    results = client.run([(f"r{i}", kp_messages(i)) for i in range(3)], KPExtraction, "v1")
    assert all(r.ok for r in results), [r.error for r in results]
    assert {b["response_format"]["type"] for b in stub.state.requests} == {"json_object"}  # json_schema is a 400
    assert all(r.reasoning and r.reasoning.startswith("Let me think") for r in results)
    calls = stub.count
    # the thinking toggle goes into the request body and into the request key (so it is a new request)
    fast = _deepseek(stub, tmp_path, "deepseek/deepseek-v4-pro", params=json.dumps({"thinking": {"type": "disabled"}}))
    quick = fast.run([(f"r{i}", kp_messages(i)) for i in range(3)], KPExtraction, "v1")
    assert stub.count == calls + 3 and all(r.ok and r.reasoning is None for r in quick)
    assert stub.state.requests[-1]["thinking"] == {"type": "disabled"}
    again = _deepseek(stub, tmp_path, "deepseek/deepseek-v4-pro", params=json.dumps({"thinking": {"type": "disabled"}}))
    again.run([(f"r{i}", kp_messages(i)) for i in range(3)], KPExtraction, "v1")
    assert stub.count == calls + 3  # same parameters: answered by the ledger


def test_request_params_per_stage_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKSYN_MODEL", "deepseek/deepseek-v4-pro")
    monkeypatch.setenv("LINKSYN_REQUEST_PARAMS", '{"reasoning_effort": "high", "top_p": 0.9}')
    monkeypatch.setenv("LINKSYN_JUDGE_REQUEST_PARAMS", '{"thinking": {"type": "disabled"}}')
    monkeypatch.setenv("LINKSYN_JUDGE_MODEL", "deepseek/deepseek-v4-flash")
    llm = llm_from_env()
    assert llm.request_params_for("synthesize") == {"reasoning_effort": "high", "top_p": 0.9}
    assert llm.request_params_for("judge") == {"reasoning_effort": "high", "top_p": 0.9,
                                               "thinking": {"type": "disabled"}}
    assert llm.model_for("judge") == "deepseek/deepseek-v4-flash"
    monkeypatch.setenv("LINKSYN_VERIFY_REQUEST_PARAMS", "[1, 2]")
    with pytest.raises(ValueError, match="llm.verify_request_params: must be a JSON object"):
        llm_from_env().request_params_for("verify")


def _result(ok: bool, error: str | None = None) -> CallResult:
    return CallResult(item_id="x", ok=ok, error=error, model="m")


def test_a_batch_that_mostly_failed_is_a_failure_however_small() -> None:
    assert failed_share_verdict("extract", [_result(True), _result(False, "e")], 0.5) is None  # exactly half
    verdict = failed_share_verdict("extract", [_result(False, "HTTP 400: Model Not Exist")] * 3, 0.5)
    assert verdict and "3 of 3 requests failed" in verdict and "Model Not Exist" in verdict
    assert failed_share_verdict("extract", [_result(False, "a"), _result(False, "b"), _result(True)], 0.5)
    assert failed_share_verdict("extract", [], 0.5) is None


def test_every_llm_setting_has_an_env_var_and_the_readme_lists_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from linksyn_assets.storage import PROJECT_ROOT
    from resources import LLM_ENV
    from resources.llm import LLMResource

    fields = {name for name, _ in LLM_ENV.values()}
    assert fields == set(LLMResource.model_fields)
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    missing = sorted(var for var in LLM_ENV if f"`{var}`" not in readme)
    assert not missing, f"README does not list {missing}"
    for var, value, field, expected in [("LINKSYN_TIMEOUT_S", "12.5", "timeout_s", 12.5),
                                        ("LINKSYN_RETRY_FAILED", "yes", "retry_failed", True),
                                        ("LINKSYN_BUDGET_TOKENS", "1000", "budget_tokens_per_run", 1000),
                                        ("LINKSYN_VERIFY_MAX_TOKENS", "64", "verify_max_tokens", 64)]:
        monkeypatch.setenv(var, value)
        assert getattr(llm_from_env(), field) == expected


def test_reasoning_is_read_from_either_field_on_both_transports() -> None:
    from types import SimpleNamespace

    from linksyn_assets.llm.providers import reasoning_of
    from linksyn_assets.llm.transport import parse_reply

    for field in ("reasoning_content", "reasoning"):  # DeepSeek / R1 hosts, vLLM
        reply = parse_reply({"choices": [{"message": {"content": "{}", field: "思考过程 thinking"}}]})
        assert reply.reasoning == "思考过程 thinking"
        message = SimpleNamespace(content="{}", **{field: "thinking"})  # litellm's message object
        assert reasoning_of(lambda name, m=message: getattr(m, name, None)) == "thinking"
    assert parse_reply({"choices": [{"message": {"content": "{}"}}]}).reasoning is None


@pytest.mark.parametrize(("model", "params", "setting", "thinks"), [
    ("openai/deepseek-ai/DeepSeek-R1", {}, "auto", True),
    ("hosted_vllm/deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", {}, "auto", True),
    ("openrouter/deepseek/deepseek-r1", {"reasoning_effort": "none"}, "auto", True),  # R1 cannot stop thinking
    ("deepseek/deepseek-flash", {}, "auto", True),  # DeepSeek's API thinks by default
    ("deepseek/deepseek-flash", {"thinking": {"type": "disabled"}}, "auto", False),
    ("together_ai/deepseek-ai/DeepSeek-V4-Pro", {}, "auto", True),
    ("together_ai/deepseek-ai/DeepSeek-V4-Pro", {"reasoning": {"enabled": False}}, "auto", False),
    ("openai/gpt-4o-mini", {}, "auto", False),
    ("openai/o-series", {"reasoning_effort": "high"}, "auto", True),
    ("hosted_vllm/Qwen/Qwen3-8B", {"chat_template_kwargs": {"enable_thinking": True}}, "auto", True),
    ("openai/gpt-4o-mini", {}, "on", True),
    ("openai/deepseek-ai/DeepSeek-R1", {}, "off", False),
])
def test_which_routes_think(model: str, params: dict, setting: str, thinks: bool) -> None:
    from linksyn_assets.llm.providers import route_thinks

    assert route_thinks(model, params, setting) is thinks


def test_structured_output_per_route_and_format_rejections() -> None:
    from linksyn_assets.llm.providers import response_format_rejected, structured_output_mode

    assert structured_output_mode("deepseek/deepseek-flash", "auto", thinks=True) == "json_object"
    assert structured_output_mode("hosted_vllm/deepseek-ai/DeepSeek-R1", "auto", thinks=True) == "prompt"
    assert structured_output_mode("hosted_vllm/qwen", "auto", thinks=False) == "json_schema"
    assert structured_output_mode("hosted_vllm/deepseek-ai/DeepSeek-R1", "json_schema", thinks=True) == "json_schema"
    route = ModelRoute(model="openai/deepseek-ai/DeepSeek-R1", cache_identity="x", thinking=True)
    assert route.response_format(KPExtraction) is None
    assert response_format_rejected("HTTP 400: This response_format type is unavailable now")
    assert response_format_rejected("BadRequestError: json_schema is not supported for this model")
    assert not response_format_rejected("HTTP 400: Model Not Exist")
    assert not response_format_rejected("HTTP 500: response_format backend crashed")  # a 5xx is retried instead


def test_deepseek_r1_by_openrouters_name_is_pointed_elsewhere(stub: StubServer, tmp_path: Path) -> None:
    client = _deepseek(stub, tmp_path, "deepseek/deepseek-r1", max_concurrency=2)
    with pytest.raises(RunAborted) as caught:
        client.run([(f"r{i}", kp_messages(i)) for i in range(10)], KPExtraction, "v1")
    message = str(caught.value)
    assert "openrouter/deepseek/deepseek-r1" in message and "together_ai/deepseek-ai/DeepSeek-R1" in message
    assert "hosted_vllm/deepseek-ai/DeepSeek-R1" in message and stub.count <= 4
    # deepseek-flash, the name DeepSeek's pricing page now gives, is served (json_object, thinking by default)
    flash = _deepseek(stub, tmp_path / "flash", "deepseek/deepseek-flash")
    results = flash.run([(f"f{i}", kp_messages(i)) for i in range(2)], KPExtraction, "v1")
    assert all(r.ok and r.reasoning for r in results)


def test_a_usd_budget_on_an_unpriced_route_refuses_to_start(tmp_path: Path) -> None:
    import dagster as dg

    from linksyn_assets.llm.budget import PRICE_VARIABLES
    from resources.llm import LLMResource

    unpriced = LLMResource(model="hosted_vllm/deepseek-ai/DeepSeek-R1", api_base="http://127.0.0.1:9/v1",
                           budget_usd_per_run=5.0, ledger_path=str(tmp_path / "l.sqlite"))
    problem = unpriced.unpriced_budget()
    assert problem and PRICE_VARIABLES in problem and "hosted_vllm/deepseek-ai/DeepSeek-R1" in problem
    with pytest.raises(dg.Failure, match="LINKSYN_PRICE_INPUT_PER_MTOK"):
        unpriced.client("synthesize")
    priced = unpriced.model_copy(update={"price_input_per_mtok": 0.5, "price_output_per_mtok": 2.0})
    assert priced.unpriced_budget() is None and priced.client("synthesize").prices.source == "config"
    tokens_only = unpriced.model_copy(update={"budget_usd_per_run": None, "budget_tokens_per_run": 10_000})
    assert tokens_only.unpriced_budget() is None
    client = tokens_only.client("synthesize")  # no USD budget: it runs, and says the cost is unknown
    assert client.stats.as_metadata()["llm_price_source"] == "none"
    # the thinking allowance is on top of the stage's cap for R1, and budgets reserve it
    assert client.max_tokens == 4096 + 8192 and client.answer_tokens == 4096


def test_the_cli_refuses_an_unpriced_usd_budget_before_anything_runs(tmp_path: Path) -> None:
    from tests.test_cli import _linksyn

    run = _linksyn(["run", "--paths-per-discipline", "1"], tmp_path / "home",
                   {"LINKSYN_MODEL": "together_ai/deepseek-ai/DeepSeek-R1", "LINKSYN_BUDGET_USD": "2",
                    "LINKSYN_DATA_DIR": str(tmp_path / "data")})
    assert run.returncode == 2 and "LINKSYN_PRICE_INPUT_PER_MTOK" in run.stderr
    assert "discipline(s)" not in run.stdout  # refused before the seeds were even read
