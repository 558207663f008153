"""Every provider quirk LinkSyn knows, in one place: which providers speak the OpenAI format, which
structured-output mode each accepts, where a reply keeps its reasoning, how a model is named in litellm's
cost map, and what a provider says when a model is not served.

Not served: DeepSeek's API answers a retired or unknown name (`deepseek-chat` and `deepseek-reasoner` since
2026-07-24) with HTTP 400 "Model Not Exist"; OpenAI-compatible hosts and vLLM answer 404
"model ... does not exist" / "model_not_found". Retrying cannot help, and every other request of
the batch would fail the same way, so the batch stops at the first such answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_NOT_SERVED = re.compile(r"model not exist|model_not_found|model .{0,120}does not exist|no such model|"
                         r"unknown model|NotFoundError", re.IGNORECASE)
RETIRED = {
    "deepseek-chat": 'deepseek/deepseek-v4-flash (thinking off: request_params {"thinking": {"type": "disabled"}})',
    "deepseek-reasoner": "deepseek/deepseek-v4-pro (thinking mode, the successor of R1)",
}


def model_not_served(model: str, api_base: str | None, error: str) -> str | None:
    """A one-line explanation when `error` says the model is not served, else None."""
    if not _NOT_SERVED.search(error):
        return None
    where = api_base or "the provider's default endpoint"
    name = model.split("/", 1)[1] if "/" in model else model
    hint = f"; it was retired: use {RETIRED[name]}" if name in RETIRED else ""
    return f"model {model!r} is not served by {where} ({error[:160]}){hint}"


# Providers whose litellm chat config produces an OpenAI-format request and reply (sent by our own HTTP).
OPENAI_FORMAT = {
    "openai", "hosted_vllm", "deepseek", "openrouter", "together_ai", "fireworks_ai", "groq", "deepinfra",
    "mistral", "xai", "perplexity", "custom_openai", "lm_studio", "llamafile", "nvidia_nim", "dashscope",
    "moonshot", "volcengine",
}


def structured_output_mode(model: str, mode: str) -> str:
    """`auto` picks what the provider accepts: DeepSeek's API rejects json_schema; vLLM, llama.cpp and OpenAI
    take it."""
    if mode != "auto":
        return mode
    return "json_object" if model.startswith("deepseek/") else "json_schema"


def reasoning_of(get: Callable[[str], Any]) -> str | None:
    """A reply's reasoning text: DeepSeek and R1 hosts send `reasoning_content`, vLLM and others `reasoning`.
    `get(name)` reads a field of the message (a dict's get, or getattr on litellm's object)."""
    return get("reasoning_content") or get("reasoning") or None


def cost_map_names(model: str) -> tuple[str, ...]:
    """The names litellm's cost map may list a model under: with its provider prefix, then without."""
    return (model, model.split("/", 1)[-1])
