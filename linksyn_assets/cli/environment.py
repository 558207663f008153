"""Where a run happens: DAGSTER_HOME and the data dir checked, the settings file written with the run's
flags, and the resources built from them."""

import argparse
import json
import os
from pathlib import Path
from typing import Any

# Steps in the `llm` pool (assets/policies.py) that may run at once across every run of this instance:
# two keeps a local model or a small provider quota from being overrun by parallel runs and backfills.
INSTANCE_YAML = """telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 2
    granularity: op
"""


class SetupError(Exception):
    """A problem with the environment or settings, reported as one line before anything runs."""


def writable_dir(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".linksyn-write-check-{os.getpid()}"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except Exception as exc:  # noqa: BLE001 -- object stores raise their own errors (credentials, bucket)
        reason = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
        raise SetupError(f"{what} {path} is not a writable directory ({reason})") from exc


def build_resources_for(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The resources, with settings and LLM config errors as one line naming the source and key."""
    from pydantic import ValidationError

    from linksyn_assets.llm.providers import route_thinks
    from linksyn_assets.llm.stage_config import STAGES as LLM_STAGES
    from resources import build_resources

    try:
        resources = build_resources(seeds_path=getattr(args, "seeds", None), settings_overrides=overrides)
        for stage in LLM_STAGES:  # request params' JSON and the thinking setting, up front
            route_thinks("", resources["llm"].request_params_for(stage), resources["llm"].thinking)
    except ValidationError as exc:
        raise settings_error(exc) from exc
    except ValueError as exc:
        raise SetupError(str(exc).splitlines()[0]) from exc
    return resources


def settings_error(exc: Any) -> SetupError:
    """A pydantic ValidationError of the settings as one line naming the file and the key."""
    from linksyn_assets.layout import settings_file

    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    return SetupError(f"settings file {settings_file()}: {key}: {first['msg']} (got {first.get('input')!r})")


def prepare_env(args: argparse.Namespace) -> None:
    from linksyn_assets.layout import root
    from linksyn_assets.storage import dagster_home

    os.environ.setdefault("DAGSTER_HOME", str(dagster_home()))
    home = Path(os.environ["DAGSTER_HOME"])
    writable_dir(home, "DAGSTER_HOME")
    if args.data_dir:
        os.environ["LINKSYN_DATA_DIR"] = args.data_dir if "://" in args.data_dir else str(Path(args.data_dir).resolve())
    writable_dir(root(), "data dir (LINKSYN_DATA_DIR / --data-dir)")
    config = home / "dagster.yaml"
    if not config.exists():  # a project-local instance: SQLite storage, no usage reporting, the llm pool limit
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    if args.model:
        os.environ["LINKSYN_MODEL"] = args.model


def record_flags(args: argparse.Namespace) -> None:
    """Flags that change what a run makes go into the settings file, so the UI, the sensor and the schedule
    run with them too (and reproduce this run's outputs from the ledger)."""
    from linksyn_assets.layout import settings_file
    from linksyn_assets.storage import write_atomic

    changes = {("walk", "paths_per_discipline"): args.paths_per_discipline, ("llm", "model"): args.model,
               ("seeds", "sample_per_discipline"): args.sample, ("dataset", "target_rows"): args.target_rows,
               ("dataset", "target_tokens"): args.target_tokens,
               ("source", "path"): str(Path(args.seeds).expanduser().resolve()) if args.seeds else None}
    changes = {key: value for key, value in changes.items() if value is not None}
    if not changes:
        return
    path = settings_file()
    try:
        document = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise SetupError(f"settings file {path}: cannot read it ({exc})") from exc
    for (section, key), value in changes.items():
        document.setdefault(section, {})[key] = value
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n",
                                                   encoding="utf-8"))
    print(f"  settings: {', '.join(f'{s}.{k}={v}' for (s, k), v in changes.items())} written to {path} "
          "(the UI, sensor and schedule use them too)")
