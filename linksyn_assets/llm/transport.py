"""How a request reaches the model, with litellm as the router.

litellm resolves the provider, maps the parameters (dropping what a provider rejects), and builds
the URL, auth headers and request body. For providers that speak the OpenAI chat format that work
is done once per route, and each request only swaps in its messages and max_tokens and goes out on
one shared aiohttp session: litellm.acompletion costs about 3 ms of CPU per call (logging, cost
and response objects), which caps a process at a few hundred requests/s. Other providers go
through litellm.acompletion itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from linksyn_assets.llm.litellm_setup import litellm  # set up before any litellm module loads (local cost map)
from linksyn_assets.llm.providers import OPENAI_FORMAT, reasoning_of


def _retryable() -> tuple[type[Exception], ...]:
    lib = litellm()
    return (lib.RateLimitError, lib.Timeout, lib.APIConnectionError, lib.InternalServerError,
            lib.ServiceUnavailableError, lib.BadGatewayError)

_MAX_TOKEN_KEYS = ("max_tokens", "max_completion_tokens")


class Retryable(Exception):
    """Worth another attempt: 429, 5xx, timeout, connection trouble."""

    def __init__(self, message: str, retry_after: float | None = None, throttled: bool = False,
                 unreachable: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.throttled = throttled
        self.unreachable = unreachable  # no connection could be opened (refused, no such host): nobody answered


class PermanentError(Exception):
    """A request that retrying will not fix (bad key, unknown model, bad request)."""


@dataclass
class Reply:
    content: str | None
    reasoning: str | None
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass
class PreparedRoute:
    """URL, headers and body template of an OpenAI-format route (headers hold the key: never log)."""

    url: str
    headers: dict[str, str] = field(repr=False)
    template: dict[str, Any] = field(repr=False)
    max_tokens_key: str = "max_tokens"

    def body(self, messages: list[dict[str, str]], max_tokens: int) -> bytes:
        return json.dumps({**self.template, "messages": messages, self.max_tokens_key: max_tokens},
                          ensure_ascii=False).encode("utf-8")


def prepare_route(model: str, api_base: str | None, api_key: str | None, temperature: float, max_tokens: int,
                  response_format: dict[str, Any] | None, request_params: dict[str, Any] | None = None
                  ) -> PreparedRoute | None:
    """litellm's routing for this model, computed once; None when the provider is not OpenAI-format."""
    lib = litellm()
    name, provider, dynamic_key, base = lib.get_llm_provider(model=model, api_base=api_base)
    if provider not in OPENAI_FORMAT:
        return None
    key = api_key or dynamic_key
    config = lib.utils.ProviderConfigManager.get_provider_chat_config(
        model=name, provider=lib.types.utils.LlmProviders(provider))
    if config is None:
        return None
    params = lib.utils.get_optional_params(model=name, custom_llm_provider=provider, temperature=temperature,
                                 max_tokens=max_tokens, response_format=response_format, drop_params=True)
    extra = params.pop("extra_body", None) or {}
    probe = [{"role": "user", "content": "-"}]
    headers = config.validate_environment(headers={}, model=name, messages=probe, optional_params=params,
                                          litellm_params={}, api_key=key, api_base=base)
    url = config.get_complete_url(api_base=base, api_key=key, model=name, optional_params=params,
                                  litellm_params={}, stream=False)
    template = dict(config.transform_request(model=name, messages=probe, optional_params=params,
                                             litellm_params={}, headers=headers))
    template.pop("messages", None)
    template.update(extra)
    template.update(request_params or {})  # the user's own parameters win (e.g. thinking, reasoning_effort)
    template["stream"] = False
    max_key = next((k for k in _MAX_TOKEN_KEYS if k in template), "max_tokens")
    return PreparedRoute(url=url, headers=dict(headers), template=template, max_tokens_key=max_key)


def new_session(concurrency: int, timeout_s: float) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s))


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_text(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        err = data.get("error", data) if isinstance(data, dict) else data
        return str(err.get("message", err) if isinstance(err, dict) else err)[:300]
    except (ValueError, AttributeError):
        return raw[:300].decode("utf-8", "replace")


def parse_reply(data: dict[str, Any]) -> Reply:
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = data.get("usage") or {}
    details = usage.get("completion_tokens_details") or {}
    return Reply(content=message.get("content"),
                 reasoning=reasoning_of(message.get),
                 finish_reason=choice.get("finish_reason"),
                 prompt_tokens=int(usage.get("prompt_tokens") or 0),
                 completion_tokens=int(usage.get("completion_tokens") or 0),
                 reasoning_tokens=int(details.get("reasoning_tokens") or 0))


async def send_prepared(session: aiohttp.ClientSession, route: PreparedRoute, messages: list[dict[str, str]],
                        max_tokens: int) -> Reply:
    try:
        async with session.post(route.url, data=route.body(messages, max_tokens), headers=route.headers) as resp:
            raw = await resp.read()
            if resp.status == 429:
                raise Retryable(f"429 rate limited: {_error_text(raw)}", _retry_after(resp.headers), throttled=True)
            if resp.status >= 500 or resp.status in (408, 409):
                raise Retryable(f"HTTP {resp.status}: {_error_text(raw)}", _retry_after(resp.headers))
            if resp.status >= 400:
                raise PermanentError(f"HTTP {resp.status}: {_error_text(raw)}")
    except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
        raise Retryable(f"{type(exc).__name__}: {exc}",
                        unreachable=isinstance(exc, aiohttp.ClientConnectorError)) from exc
    try:
        return parse_reply(json.loads(raw))
    except (ValueError, TypeError, AttributeError) as exc:
        raise Retryable(f"unreadable reply body: {exc}") from exc


async def send_litellm(model: str, api_base: str | None, api_key: str | None, messages: list[dict[str, str]],
                       temperature: float, max_tokens: int, response_format: dict[str, Any] | None,
                       timeout_s: float, request_params: dict[str, Any] | None = None) -> Reply:
    try:
        # extra_body reaches the provider as is; litellm's drop_params would drop what it does not know
        response = await litellm().acompletion(
            model=model, messages=messages, api_base=api_base, api_key=api_key, temperature=temperature,
            max_tokens=max_tokens, timeout=timeout_s, num_retries=0, max_retries=0,
            **({"response_format": response_format} if response_format else {}),
            **({"extra_body": request_params} if request_params else {}))
    except _retryable() as exc:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        raise Retryable(f"{type(exc).__name__}: {exc}", _retry_after(headers),
                        throttled=isinstance(exc, litellm().RateLimitError),
                        unreachable=isinstance(exc, litellm().APIConnectionError)) from exc
    except Exception as exc:  # 4xx and the like
        raise PermanentError(f"{type(exc).__name__}: {exc}") from exc
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    details = getattr(usage, "completion_tokens_details", None)
    return Reply(content=choice.message.content,
                 reasoning=reasoning_of(lambda name: getattr(choice.message, name, None)),
                 finish_reason=choice.finish_reason,
                 prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                 completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                 reasoning_tokens=int(getattr(details, "reasoning_tokens", 0) or 0))
