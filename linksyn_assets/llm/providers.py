"""Every provider quirk LinkSyn knows, in one place, each with the public document it comes from.

- Which providers speak the OpenAI chat format (litellm's chat configs; sent by our own HTTP, llm/transport.py).
- Structured output. DeepSeek's API rejects `response_format: json_schema` with a 400 and takes `json_object`
  (api-docs.deepseek.com/guides/json_mode). A schema given as `response_format` constrains the reply from its first
  token on hosts without a reasoning parser (vLLM applies it after the thought only with `--reasoning-parser`:
  docs.vllm.ai, "Reasoning Outputs", structured-output column), so a thinking route under `auto` sends none and
  keeps the schema in the prompt. A host that answers a 400 naming the format is switched to `json_object` for the
  rest of the batch (`response_format_rejected`).
- Where the thought is (llm/reply_reader.py reads all of these): `reasoning_content` on DeepSeek's API
  (api-docs.deepseek.com/guides/reasoning_model); `reasoning` on vLLM >= 0.11 with `--reasoning-parser deepseek_r1`
  (docs.vllm.ai/en/v0.11.2/features/reasoning_outputs: "reasoning used to be called reasoning_content"), on
  OpenRouter (openrouter.ai/docs, "Reasoning Tokens") and Together's hybrid models; inside `content` as
  `<think>...</think>` for R1 on Together (docs.together.ai/docs/deepseek-r1: "DeepSeek-R1 ... outputs reasoning
  inside <think> tags within the content field"), SambaNova (docs.sambanova.ai, "Reasoning": "shown within the
  <think> tags in an output"), vLLM/SGLang without a reasoning parser, and Ollama before 0.9 (v0.9.0 release notes:
  thinking separated from the output since then); with the closing tag only when the chat template opens `<think>`
  itself (the DeepSeek-R1 model card asks to start every reply with "<think>\n"; Hugging Face discussion "Adding
  <think>\n after chat template will cause vllm to not return reasoning_content").
- Thinking counts against `max_tokens` on DeepSeek's API ("max_tokens: ... 含思维链输出", including the chain of
  thought: api-docs.deepseek.com/zh-cn/guides/reasoning_model), so a thinking route's caps carry a thinking
  allowance (`route_thinks`). DeepSeek's V4 models think by default and take `{"thinking": {"type": "disabled"}}`
  and `reasoning_effort` (api-docs.deepseek.com/guides/thinking_mode); R1 always thinks (Together lists it as
  "Reasoning only": docs.together.ai/docs/reasoning-overview).
- Blank replies: DeepSeek's JSON mode may return content of spaces only with `finish_reason=stop`, "handle blank
  content in your code (e.g., retry the request)" (api-docs.deepseek.com/guides/json_mode): re-asked, not repaired.
- Thoughts never go back: DeepSeek's API answers 400 when `reasoning_content` is sent in the messages
  (api-docs.deepseek.com/guides/reasoning_model, "multi-round conversation"); a repair turn sends the answer only.
- Names: DeepSeek's pricing page names the flash model `deepseek-flash` (V4.1-Flash; `deepseek-v4-flash` still
  answers, served by it) beside `deepseek-v4-pro` (api-docs.deepseek.com/quick_start/pricing); `deepseek-chat` and
  `deepseek-reasoner` were retired on 2026-07-24 (a 400 "Model Not Exist"). OpenAI-compatible hosts and vLLM answer
  404 "model ... does not exist" / "model_not_found". Retrying cannot help, and every other request of the batch
  would fail the same way, so the batch stops at the first such answer with a hint (`model_not_served`).
- Prices: litellm's local cost map names a model with or without its provider prefix (`cost_map_names`); the
  pinned map (1.110.2) has no price for R1 on Together, on vLLM or on `openai/` hosts, which llm/budget.py treats
  as unknown, never as $0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_NOT_SERVED = re.compile(r"model not exist|model_not_found|model .{0,120}does not exist|no such model|"
                         r"unknown model|NotFoundError", re.IGNORECASE)
RETIRED = {
    "deepseek-chat": 'deepseek/deepseek-flash (V4.1-Flash; thinking off: request_params {"thinking": {"type": '
                     '"disabled"}})',
    "deepseek-reasoner": "deepseek/deepseek-flash or deepseek/deepseek-v4-pro (both think by default, the "
                         "successors of R1)",
}
# DeepSeek-R1 is not served by DeepSeek's own API; `deepseek/deepseek-r1` is OpenRouter's id without its prefix.
_R1_ELSEWHERE = ("openrouter/deepseek/deepseek-r1, together_ai/deepseek-ai/DeepSeek-R1, or "
                 "hosted_vllm/deepseek-ai/DeepSeek-R1 with LINKSYN_API_BASE (your vLLM server)")
_R1_NAME = re.compile(r"deepseek[-_ ]?r1|r1[-_]distill|deepseek-reasoner|(?:^|/)r1(?:[-_:]|$)", re.IGNORECASE)
_ALWAYS_THINKS_OFF = re.compile(r"deepseek-v4-pro", re.IGNORECASE)  # thinks unless told not to
_FORMAT_WORDS = re.compile(r"response_format|json_schema|structured.output|guided_json|guided_decoding|"
                           r"response format", re.IGNORECASE)
_CLIENT_ERROR = re.compile(r"\b(?:400|422)\b|BadRequest|UnprocessableEntity|invalid_request", re.IGNORECASE)


def model_not_served(model: str, api_base: str | None, error: str) -> str | None:
    """A one-line explanation when `error` says the model is not served, else None."""
    if not _NOT_SERVED.search(error):
        return None
    where = api_base or "the provider's default endpoint"
    name = model.split("/", 1)[1] if "/" in model else model
    hint = f"; it was retired: use {RETIRED[name]}" if name in RETIRED else ""
    if model.lower().startswith("deepseek/") and _R1_NAME.search(name) and name not in RETIRED:
        hint = (f"; DeepSeek's API does not serve R1 (and {model!r} is OpenRouter's name for it): use "
                f"{_R1_ELSEWHERE}")
    return f"model {model!r} is not served by {where} ({error[:160]}){hint}"


def response_format_rejected(error: str) -> bool:
    """A 400/422 whose message names the structured-output parameter: the host does not take that format."""
    return bool(_CLIENT_ERROR.search(error) and _FORMAT_WORDS.search(error))


# Providers whose litellm chat config produces an OpenAI-format request and reply (sent by our own HTTP).
OPENAI_FORMAT = {
    "openai", "hosted_vllm", "deepseek", "openrouter", "together_ai", "fireworks_ai", "groq", "deepinfra",
    "mistral", "xai", "perplexity", "custom_openai", "lm_studio", "llamafile", "nvidia_nim", "dashscope",
    "moonshot", "volcengine",
}
THINKING_SETTINGS = ("auto", "on", "off")


def _thinking_switch(params: dict[str, Any]) -> bool | None:
    """What the request parameters say about thinking: True (asked for), False (turned off), None (silent).
    DeepSeek: `thinking.type`, `reasoning_effort`; Together/OpenRouter: `reasoning.enabled` / `reasoning.effort`;
    vLLM chat templates: `chat_template_kwargs.thinking` / `enable_thinking`."""
    thinking = params.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "disabled"):
        return thinking["type"] == "enabled"
    effort = params.get("reasoning_effort")
    if isinstance(effort, str) and effort:
        return effort.lower() != "none"
    reasoning = params.get("reasoning")
    if isinstance(reasoning, dict):
        if "enabled" in reasoning:
            return bool(reasoning["enabled"])
        if isinstance(reasoning.get("effort"), str):
            return reasoning["effort"].lower() != "none"
    kwargs = params.get("chat_template_kwargs")
    if isinstance(kwargs, dict):
        for key in ("thinking", "enable_thinking"):
            if key in kwargs:
                return bool(kwargs[key])
    return None


def route_thinks(model: str, params: dict[str, Any], setting: str = "auto") -> bool:
    """Does this route spend output tokens on a thought before answering? `setting` on/off overrides; `auto`:
    R1 and its distills always; DeepSeek's API and `deepseek-v4-pro` on any host unless the parameters turn it
    off; any other model when the parameters ask for it (reasoning_effort, thinking, reasoning)."""
    if setting not in THINKING_SETTINGS:
        raise ValueError(f"llm.thinking: {setting!r} is not one of {THINKING_SETTINGS}")
    if setting != "auto":
        return setting == "on"
    if _R1_NAME.search(model):
        return True
    switch = _thinking_switch(params)
    if switch is not None:
        return switch
    return model.lower().startswith("deepseek/") or bool(_ALWAYS_THINKS_OFF.search(model))


def structured_output_mode(model: str, mode: str, thinks: bool = False) -> str:
    """`auto` picks what the provider accepts: DeepSeek's API takes json_object (it rejects json_schema); a thinking
    route elsewhere gets none (`prompt`: the schema is in the prompt, the answer is validated), since a schema
    constrains the reply from its first token unless the host runs a reasoning parser; vLLM, llama.cpp and OpenAI
    take json_schema."""
    if mode != "auto":
        return mode
    if model.startswith("deepseek/"):
        return "json_object"
    return "prompt" if thinks else "json_schema"


def reasoning_of(get: Callable[[str], Any]) -> str | None:
    """A reply's reasoning field: DeepSeek sends `reasoning_content`, vLLM >= 0.11, OpenRouter and Together
    `reasoning`. `get(name)` reads a field of the message (a dict's get, or getattr on litellm's object)."""
    for name in ("reasoning_content", "reasoning"):
        value = get(name)
        if isinstance(value, str) and value:
            return value
    return None


def cost_map_names(model: str) -> tuple[str, ...]:
    """The names litellm's cost map may list a model under: with its provider prefix, then without."""
    return (model, model.split("/", 1)[-1])
