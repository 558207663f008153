"""Every resource LinkSyn uses, built in one place from the environment.

LINKSYN_MODEL / LINKSYN_EXTRACT_MODEL / LINKSYN_SYNTHESIZE_MODEL / LINKSYN_HARDEN_MODEL: litellm model
strings (unset = the embedded demo model); LINKSYN_API_BASE; LINKSYN_API_KEY_ENV (name of the env var
that holds the key); LINKSYN_MAX_CONCURRENCY; LINKSYN_RETRY_FAILED=1 (re-ask requests whose reply was unusable); LINKSYN_SEEDS (seed dir); LINKSYN_SETTINGS (a JSON file
of pipeline settings); LINKSYN_DATA_DIR.
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


def build_resources(seeds_path: str | None = None,
                    settings_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    env = os.environ.get
    return {
        "io_manager": ParquetIOManager(),
        "seed_source": SeedSourceResource(path=seeds_path if seeds_path is not None else env("LINKSYN_SEEDS", "")),
        "llm": LLMResource(
            model=env("LINKSYN_MODEL", ""), extract_model=env("LINKSYN_EXTRACT_MODEL", ""),
            synthesize_model=env("LINKSYN_SYNTHESIZE_MODEL", ""), harden_model=env("LINKSYN_HARDEN_MODEL", ""),
            api_base=env("LINKSYN_API_BASE", ""), api_key_env=env("LINKSYN_API_KEY_ENV", ""),
            max_concurrency=int(env("LINKSYN_MAX_CONCURRENCY", "8")),
            retry_failed=env("LINKSYN_RETRY_FAILED", "") in {"1", "true", "yes"},
        ),
        "settings": settings_from_env(settings_overrides),
    }
