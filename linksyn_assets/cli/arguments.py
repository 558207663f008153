"""The command line: subcommands, flags and which assets `--select` picks."""

import argparse

from linksyn_assets.stages import STAGE_ORDER

DESCRIPTION = ("`linksyn run`: launch the code location's jobs (linksyn_ingest, linksyn_pipeline for every discipline, "
               "then linksyn_release) on a persistent DAGSTER_HOME, so `dagster dev -w workspace.yaml` afterwards "
               "shows the same jobs, runs and materializations the UI would have made.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="linksyn", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize the pipeline for every discipline partition")
    run.add_argument("--seeds", help="seed directory or file (default: the bundled sample seeds)")
    run.add_argument("--disciplines", help="comma-separated disciplines (default: all found)")
    run.add_argument("--paths-per-discipline", type=positive_int, help="walk paths per discipline (1 or more)")
    run.add_argument("--sample", type=positive_int, help="use only this many seeds per discipline, English and "
                     "Chinese taking turns (seeds.sample_per_discipline; a stable pick: a larger sample later "
                     "keeps these)")
    run.add_argument("--select", help=f"comma-separated assets (default: all of {','.join(STAGE_ORDER)})")
    run.add_argument("--data-dir", help="where tables and the dataset go (default: ./data or LINKSYN_DATA_DIR)")
    run.add_argument("--model", help="litellm model for every stage (default: embedded demo model)")
    run.add_argument("--target-rows", type=positive_int, help="grow the dataset in rounds of new paths until this "
                     "many rows pass QC in total (dataset.target_rows)")
    run.add_argument("--target-tokens", type=positive_int, help="the same in tokens (dataset.target_tokens)")
    disc = sub.add_parser("disciplines", help="list discipline partitions: active (in the seed source) and stale")
    disc.add_argument("--seeds", help="seed directory or file (default: LINKSYN_SEEDS or the bundled sample seeds)")
    disc.add_argument("--prune", action="store_true",
                      help="remove the partitions of disciplines that are no longer in the seed source "
                           "(their files under the data dir are kept)")
    sub.add_parser("settings", help="print the effective settings and where each value came from (a LINKSYN_* "
                   "variable, the settings file, or the default)")
    ui = sub.add_parser("ui", help="open the Dagster UI on the instance `linksyn run` writes to")
    ui.add_argument("--port", type=int, default=3000)
    return parser.parse_args(argv)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1 (0 paths would synthesize nothing)")
    return value


def selected_assets(args: argparse.Namespace) -> list[str]:
    if not args.select:
        return list(STAGE_ORDER)
    chosen = [s.strip() for s in args.select.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STAGE_ORDER))
    if unknown:
        raise SystemExit(f"linksyn: unknown asset(s) {unknown}; choose from {STAGE_ORDER}")
    return [s for s in STAGE_ORDER if s in chosen]
