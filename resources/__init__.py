"""Every resource LinkSyn uses, built in one place from the environment.

LLM (see LLM_ENV below): LINKSYN_MODEL and LINKSYN_{EXTRACT,SYNTHESIZE,HARDEN}_MODEL (litellm model
strings; unset = the embedded demo model), LINKSYN_API_BASE, LINKSYN_API_KEY_ENV (the name of the env
var holding the key), LINKSYN_MAX_CONCURRENCY, LINKSYN_RETRY_FAILED, prices and budgets.
Other: LINKSYN_SEEDS (seed dir), LINKSYN_MAX_FIELD_CHARS (seed field cap), LINKSYN_SETTINGS (a JSON file of
pipeline settings), LINKSYN_DATA_DIR.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .llm import LLMResource
from .parquet_io import ParquetIOManager
from .pipeline_settings import LinkSynSettingsResource
from .seed_source import SeedSourceResource


def settings_from_env(overrides: dict[str, Any] | None = None) -> LinkSynSettingsResource:
    raw: dict[str, Any] = {}
    path = os.environ.get("LINKSYN_SETTINGS")
    if path:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"LINKSYN_SETTINGS={path}: cannot read settings JSON: {exc}") from exc
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    return LinkSynSettingsResource(**raw)


# env var -> (LLMResource field, parser)
LLM_ENV: dict[str, tuple[str, Any]] = {
    "LINKSYN_MODEL": ("model", str), "LINKSYN_EXTRACT_MODEL": ("extract_model", str),
    "LINKSYN_SYNTHESIZE_MODEL": ("synthesize_model", str), "LINKSYN_HARDEN_MODEL": ("harden_model", str),
    "LINKSYN_API_BASE": ("api_base", str), "LINKSYN_API_KEY_ENV": ("api_key_env", str),
    "LINKSYN_MAX_CONCURRENCY": ("max_concurrency", int), "LINKSYN_TIMEOUT_S": ("timeout_s", float),
    "LINKSYN_MAX_RETRIES": ("max_retries", int),
    "LINKSYN_RETRY_FAILED": ("retry_failed", lambda v: v.lower() in {"1", "true", "yes"}),
    "LINKSYN_PRICE_INPUT_PER_MTOK": ("price_input_per_mtok", float),
    "LINKSYN_PRICE_OUTPUT_PER_MTOK": ("price_output_per_mtok", float),
    "LINKSYN_BUDGET_USD": ("budget_usd_per_run", float), "LINKSYN_BUDGET_TOKENS": ("budget_tokens_per_run", int),
    "LINKSYN_BUDGET_USD_PER_PARTITION": ("budget_usd_per_partition", float),
    "LINKSYN_BUDGET_TOKENS_PER_PARTITION": ("budget_tokens_per_partition", int),
    "LINKSYN_LLM_TRANSPORT": ("transport", str), "LINKSYN_LLM_WORKERS": ("workers", int),
    "LINKSYN_JUDGE_MODEL": ("judge_model", str), "LINKSYN_VERIFY_MODEL": ("verify_model", str),
    "LINKSYN_STRUCTURED_OUTPUT": ("structured_output", str), "LINKSYN_REQUEST_PARAMS": ("request_params", str),
    "LINKSYN_EXTRACT_REQUEST_PARAMS": ("extract_request_params", str),
    "LINKSYN_SYNTHESIZE_REQUEST_PARAMS": ("synthesize_request_params", str),
    "LINKSYN_HARDEN_REQUEST_PARAMS": ("harden_request_params", str),
    "LINKSYN_JUDGE_REQUEST_PARAMS": ("judge_request_params", str),
    "LINKSYN_VERIFY_REQUEST_PARAMS": ("verify_request_params", str),
    "LINKSYN_MAX_FAILED_SHARE": ("max_failed_share", float),
}


def llm_from_env() -> LLMResource:
    fields: dict[str, Any] = {}
    for var, (name, parse) in LLM_ENV.items():
        value = os.environ.get(var)
        if value:
            try:
                fields[name] = parse(value)
            except ValueError as exc:
                raise ValueError(f"{var}={value!r}: {exc}") from exc
    return LLMResource(**fields)


def build_resources(seeds_path: str | None = None,
                    settings_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    env = os.environ.get
    return {
        "io_manager": ParquetIOManager(),
        "seed_source": SeedSourceResource(path=seeds_path if seeds_path is not None else env("LINKSYN_SEEDS", ""),
                                          **({"max_field_chars": int(env("LINKSYN_MAX_FIELD_CHARS", ""))}
                                             if env("LINKSYN_MAX_FIELD_CHARS") else {})),
        "llm": llm_from_env(),
        "settings": settings_from_env(settings_overrides),
    }
