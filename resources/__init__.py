"""Every resource LinkSyn uses, built in one place from the environment.

LLM: every LLMResource field from LINKSYN_<FIELD> (LLM_ENV below, derived from the fields; a few
documented names differ: LLM_ENV_NAMES), e.g. LINKSYN_MODEL, LINKSYN_API_BASE, LINKSYN_API_KEY_ENV.
Other: LINKSYN_SEEDS (seed dir), LINKSYN_MAX_FIELD_CHARS (seed field cap), LINKSYN_SETTINGS (the JSON settings
file; default <data dir>/settings.json, which `linksyn run` writes its flags into), LINKSYN_DATA_DIR.
The settings file's sections: seeds, walk, synthesis, dataset, difficulty, quality (the pipeline knobs), llm
(LLMResource fields), source (SeedSourceResource fields: path, default_discipline, max_field_chars) and schedule
(ingest_cron).
Environment variables win over the file, the file over the defaults (`linksyn settings` shows which is which).
"""

from __future__ import annotations

import json
import math
import os
import typing
from typing import Any

import dagster as dg

from linksyn_assets.layout import settings_file
from linksyn_assets.llm.progress import ProgressSink
from linksyn_assets.settings import LinkSynSettings
from resources.llm import LLMResource
from resources.parquet_io import ParquetIOManager
from resources.pipeline_settings import LinkSynSettingsResource
from resources.seed_source import SeedSourceResource


class SettingsError(ValueError):
    """The settings file cannot be used: one line naming the file and the key."""


def settings_document() -> dict[str, Any]:
    """The settings file as JSON ({} when there is none yet); sections walk, synthesis, dataset and llm."""
    path = settings_file()
    if not os.environ.get("LINKSYN_SETTINGS") and not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SettingsError(f"settings file {path}: cannot read settings JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"settings file {path}: the settings must be a JSON object")
    for section, values in raw.items():
        if section not in SECTIONS:
            raise SettingsError(f"settings file {path}: {section}: unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(values, dict):
            raise SettingsError(f"settings file {path}: {section}: must be a JSON object of settings, got "
                             f"{json.dumps(values, ensure_ascii=False)[:80]}")
    return raw


RESOURCE_SECTIONS = ("llm", "source", "schedule")  # sections that configure something other than the pipeline knobs
SECTIONS = (*LinkSynSettings.model_fields, *RESOURCE_SECTIONS)
SOURCE_ENV = {"path": "LINKSYN_SEEDS", "max_field_chars": "LINKSYN_MAX_FIELD_CHARS"}
DEFAULT_INGEST_CRON = "0 3 * * *"


def settings_from_env(overrides: dict[str, Any] | None = None) -> LinkSynSettingsResource:
    raw = {k: dict(v) for k, v in settings_document().items() if k not in RESOURCE_SECTIONS}
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    return LinkSynSettingsResource(**raw)


# Every LLMResource field has an env var: LINKSYN_<FIELD>, except these documented names.
LLM_ENV_NAMES: dict[str, str] = {
    "budget_usd_per_run": "LINKSYN_BUDGET_USD", "budget_tokens_per_run": "LINKSYN_BUDGET_TOKENS",
    "transport": "LINKSYN_LLM_TRANSPORT", "workers": "LINKSYN_LLM_WORKERS",
}


def llm_env_var(field: str) -> str:
    return LLM_ENV_NAMES.get(field, f"LINKSYN_{field.upper()}")


def _parser(annotation: Any) -> Any:
    """str / int / float / bool from a field's type (optional numbers included)."""
    kinds = set(typing.get_args(annotation)) - {type(None)} or {annotation}
    kind = next(iter(kinds))
    if kind is bool:
        return lambda v: v.strip().lower() in {"1", "true", "yes", "on"}
    return kind


# env var -> (LLMResource field, parser), derived from the fields so that none can lack its variable
LLM_ENV: dict[str, tuple[str, Any]] = {
    llm_env_var(name): (name, _parser(info.annotation)) for name, info in LLMResource.model_fields.items()
}


def llm_from_env() -> LLMResource:
    """The settings file's `llm` section, with LINKSYN_* variables over it."""
    fields: dict[str, Any] = dict(settings_document().get("llm") or {})
    for var, (name, parse) in LLM_ENV.items():
        value = os.environ.get(var)
        if value:
            try:
                fields[name] = parse(value)
            except ValueError as exc:
                raise ValueError(f"{var}={value!r}: {exc}") from exc
    for name, value in fields.items():  # 1e999 parses as infinity: not a temperature, price or budget
        if isinstance(value, float) and not math.isfinite(value):
            where = next((f"{var}={os.environ[var]!r}" for var, (n, _) in LLM_ENV.items()
                          if n == name and os.environ.get(var)), f"settings file {settings_file()}: llm.{name}")
            raise SettingsError(f"{where}: must be a finite number (got {value})")
    return LLMResource(**fields)


def source_from_env(seeds_path: str | None = None) -> SeedSourceResource:
    """The settings file's `source` section, with LINKSYN_SEEDS / LINKSYN_MAX_FIELD_CHARS over it and an explicit
    path (a flag) over both."""
    fields: dict[str, Any] = dict(settings_document().get("source") or {})
    for name, var in SOURCE_ENV.items():
        if os.environ.get(var):
            fields[name] = os.environ[var]
    if seeds_path is not None:
        fields["path"] = seeds_path
    return SeedSourceResource(**fields)


def ingest_cron() -> str:
    """LINKSYN_INGEST_CRON, else the settings file's schedule.ingest_cron, else 03:00 daily."""
    section = settings_document().get("schedule") or {}
    return os.environ.get("LINKSYN_INGEST_CRON") or str(section.get("ingest_cron") or DEFAULT_INGEST_CRON)


def build_resources(seeds_path: str | None = None,
                    settings_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "io_manager": ParquetIOManager(),
        "seed_source": source_from_env(seeds_path),
        "llm": llm_from_env(),
        "settings": settings_from_env(settings_overrides),
        # where LLM batches report progress: nowhere here; `linksyn run` puts its board and terminal in
        "progress": dg.ResourceDefinition.hardcoded_resource(ProgressSink()),
    }


def effective_settings() -> list[tuple[str, Any, str]]:
    """Every setting as (section.key, effective value, where it came from: a LINKSYN_* variable, the settings
    file, or the default), for `linksyn settings`."""
    document = settings_document()
    where = f"settings file {settings_file()}"

    def origin(section: str, key: str, var: str | None) -> str:
        if var and os.environ.get(var):
            return f"env {var}"
        return where if key in (document.get(section) or {}) else "default"

    rows: list[tuple[str, Any, str]] = []
    for section, values in settings_from_env().plain().model_dump(mode="json").items():
        rows += [(f"{section}.{key}", value, origin(section, key, None)) for key, value in values.items()]
    llm = llm_from_env().model_dump()
    rows += [(f"llm.{name}", llm[name], origin("llm", name, llm_env_var(name))) for name in LLMResource.model_fields]
    source = source_from_env().model_dump()
    rows += [(f"source.{name}", source[name], origin("source", name, SOURCE_ENV.get(name)))
             for name in SeedSourceResource.model_fields]
    rows.append(("schedule.ingest_cron", ingest_cron(), origin("schedule", "ingest_cron", "LINKSYN_INGEST_CRON")))
    return rows
