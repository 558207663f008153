"""What providers say when a model is not served, turned into one message a user can act on.

DeepSeek's API answers a retired or unknown name (`deepseek-chat` and `deepseek-reasoner` since
2026-07-24) with HTTP 400 "Model Not Exist"; OpenAI-compatible hosts and vLLM answer 404
"model ... does not exist" / "model_not_found". Retrying cannot help, and every other request of
the batch would fail the same way, so the batch stops at the first such answer.
"""

from __future__ import annotations

import re

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
