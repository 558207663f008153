"""`linksyn disciplines`, `linksyn settings` and `linksyn ui`."""

import argparse
import json
import os
import sys
from pathlib import Path

from linksyn_assets.cli.environment import SetupError, build_resources_for, prepare_env, settings_error


def disciplines(args: argparse.Namespace) -> int:
    """Active vs registered discipline partitions; --prune removes the stale ones."""
    prepare_env(argparse.Namespace(data_dir=None, model=None))
    import dagster as dg

    from linksyn_assets.partitions import discipline_partitions
    from linksyn_assets.seeds.discipline_report import contents_lines, discipline_contents
    from linksyn_assets.seeds.disciplines import stale_disciplines
    from linksyn_assets.seeds.readers import skip_summary

    seed_source = build_resources_for(args)["seed_source"]
    try:
        active = seed_source.disciplines()
    except FileNotFoundError as exc:
        raise SetupError(str(exc)) from exc
    instance = dg.DagsterInstance.get()
    registered = instance.get_dynamic_partitions(discipline_partitions.name)
    stale = stale_disciplines(registered, set(active))
    contents = discipline_contents(seed_source.load().seeds)
    print(f"Seed source {seed_source.root()}: {len(active)} discipline(s) (seeds, the names the source gave, "
          "the subjects in each)")
    for line in contents_lines(contents):
        print(line)
    skipped = seed_source.skipped_files()
    if skipped:
        print(f"  {skip_summary(skipped)}")
    print(f"Registered partitions: {len(registered)}; stale (not in the seed source): {stale or 'none'}")
    if args.prune and stale:
        for key in stale:
            instance.delete_dynamic_partition(discipline_partitions.name, key)
        print(f"Removed {len(stale)} stale partition(s): {', '.join(stale)} (their files under the data dir are kept)")
    elif stale:
        print("Run `linksyn disciplines --prune` to remove them; runs and releases already leave them out.")
    return 0


def ui(args: argparse.Namespace) -> int:
    """`dagster dev -w workspace.yaml` with DAGSTER_HOME set to the project's instance."""
    from linksyn_assets.storage import PROJECT_ROOT

    prepare_env(argparse.Namespace(data_dir=None, model=None))
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster) if dagster.exists() else "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"),
           "-p", str(args.port)]
    print(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']} {' '.join(cmd)}", flush=True)
    os.chdir(PROJECT_ROOT)
    os.execvpe(cmd[0], cmd, os.environ)


def settings(args: argparse.Namespace) -> int:
    """The settings every entry point uses (CLI, the UI's code location, sensors, schedule), each with its
    origin. An API key is never shown: the settings name the variable that holds it."""
    from pydantic import ValidationError

    from resources import effective_settings

    try:
        rows = effective_settings()
    except ValidationError as exc:
        raise settings_error(exc) from exc
    except ValueError as exc:
        raise SetupError(str(exc).splitlines()[0]) from exc
    width = max(len(key) for key, _, _ in rows)
    for key, value, origin in rows:
        shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value or '""'
        print(f"{key.ljust(width)}  {shown}  ({origin})")
    return 0
