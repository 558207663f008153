"""`linksyn run`: launch the code location's jobs (linksyn_ingest, linksyn_pipeline for every discipline,
then linksyn_release) on a persistent DAGSTER_HOME, so `dagster dev -w workspace.yaml` afterwards shows the
same jobs, runs and materializations the UI would have made."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from linksyn_assets.run_board import RunBoard, activate
from linksyn_assets.stages import INGEST, PER_DISCIPLINE, RELEASE, STAGE_ORDER, STAGES, Stage

# Steps in the `llm` pool (assets/policies.py) that may run at once across every run of this instance:
# two keeps a local model or a small provider quota from being overrun by parallel runs and backfills.
INSTANCE_YAML = """telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 2
    granularity: op
"""
LLM_KEYS = ("llm_http_calls", "llm_cache_hits", "llm_failed", "prompt_tokens", "completion_tokens", "cost_usd",
            "llm_blank_retries", "llm_repaired", "llm_length_retries", "llm_format_switches")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="linksyn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize the pipeline for every discipline partition")
    run.add_argument("--seeds", help="seed directory or file (default: the bundled sample seeds)")
    run.add_argument("--disciplines", help="comma-separated disciplines (default: all found)")
    run.add_argument("--paths-per-discipline", type=_positive_int, help="walk paths per discipline (1 or more)")
    run.add_argument("--sample", type=_positive_int, help="use only this many seeds per discipline, English and "
                     "Chinese taking turns (seeds.sample_per_discipline; a stable pick: a larger sample later "
                     "keeps these)")
    run.add_argument("--select", help=f"comma-separated assets (default: all of {','.join(STAGE_ORDER)})")
    run.add_argument("--data-dir", help="where tables and the dataset go (default: ./data or LINKSYN_DATA_DIR)")
    run.add_argument("--model", help="litellm model for every stage (default: embedded demo model)")
    run.add_argument("--target-rows", type=_positive_int, help="grow the dataset in rounds of new paths until this "
                     "many rows pass QC in total (dataset.target_rows)")
    run.add_argument("--target-tokens", type=_positive_int, help="the same in tokens (dataset.target_tokens)")
    disc = sub.add_parser("disciplines", help="list discipline partitions: active (in the seed source) and stale")
    disc.add_argument("--seeds", help="seed directory or file (default: LINKSYN_SEEDS or the bundled sample seeds)")
    disc.add_argument("--prune", action="store_true",
                      help="remove the partitions of disciplines that are no longer in the seed source "
                           "(their files under the data dir are kept)")
    ui = sub.add_parser("ui", help="open the Dagster UI on the instance `linksyn run` writes to")
    ui.add_argument("--port", type=int, default=3000)
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1 (0 paths would synthesize nothing)")
    return value


class SetupError(Exception):
    """A problem with the environment or settings, reported as one line before anything runs."""


def _writable_dir(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".linksyn-write-check-{os.getpid()}"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except Exception as exc:  # noqa: BLE001 -- object stores raise their own errors (credentials, bucket)
        reason = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
        raise SetupError(f"{what} {path} is not a writable directory ({reason})") from exc


def _build(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
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
        source = f"LINKSYN_SETTINGS={os.environ['LINKSYN_SETTINGS']}" if os.environ.get("LINKSYN_SETTINGS") \
            else "settings"
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise SetupError(f"{source}: {key}: {first['msg']} (got {first.get('input')!r})") from exc
    except ValueError as exc:
        raise SetupError(str(exc).splitlines()[0]) from exc
    return resources


def _failure_reasons(result: Any) -> list[str]:
    """The first line of each failed step's error, for the summary."""
    reasons = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        message = (error.message if error else "unknown error").strip()
        cause = error.cause.message.strip() if error and error.cause else ""
        text = message.splitlines()[0] if message else cause.splitlines()[0] if cause else "unknown error"
        reasons.append(f"{event.step_key}: {text[:400]}")
    return reasons


RUN_TAGS = {"linksyn/launched_by": "linksyn run"}


def _launch(defs: Any, stage: Stage, assets: list[str], partition: str | None, instance: Any,
            run_config: dict) -> Any:
    """One run of the stage's job (as the UI launches it), for the chosen assets and their checks."""
    import dagster as dg

    from linksyn_assets.jobs import STAGE_JOBS

    job = defs.resolve_job_def(STAGE_JOBS[stage.name].name)
    selection = None if list(assets) == list(stage.assets) else [dg.AssetKey(a) for a in assets]
    return job.execute_in_process(partition_key=partition, instance=instance, run_config=run_config,
                                  asset_selection=selection, tags=RUN_TAGS, raise_on_error=False)


def _grow_to_target(args: argparse.Namespace, instance: Any, resources: dict[str, Any], disciplines: list[str],
                    metadata: dict[tuple[str, str], dict[str, Any]], run_config: dict
                    ) -> tuple[list[str], list[str], list[str]]:
    """Rounds of new paths for the disciplines below their share of the target (rows or tokens that passed
    QC), until every share is met, a discipline's graph gives no new path, the budget ends, or the rounds
    are used up. Returns (failed runs, reasons, one report line per discipline)."""
    import polars as pl

    from linksyn_assets.assets.metadata import materialized
    from linksyn_assets.location import build_definitions
    from linksyn_assets.release.targets import TargetStatus, paths_for_round, split_target
    from linksyn_assets.walks.plan import discipline_targets

    params = resources["settings"].plain().dataset
    rows, tokens = args.target_rows or params.target_rows, args.target_tokens or params.target_tokens
    if not rows and not tokens:
        return [], [], []
    measure = "rows" if rows else "tokens"
    seeds = pl.DataFrame({"discipline": disciplines,
                          "seeds": [int(metadata.get(("seeds", d), {}).get("rows", 0)) for d in disciplines]})
    shares = split_target(int(rows or tokens), discipline_targets(seeds, resources["settings"].plain().walk))
    status = {d: TargetStatus(d, shares.get(d, 0), int(metadata.get(("linkqa_dataset", d), {}).get(measure, 0)),
                              int(metadata.get(("walk_paths", d), {}).get("rows", 0))) for d in disciplines}
    failed: list[str] = []
    reasons: list[str] = []
    for round_no in range(1, params.target_rounds + 1):
        growing = [s for s in status.values() if s.state == "growing" and s.have < s.target]
        for s in status.values():
            if s.state == "growing" and s.have >= s.target:
                s.state = "reached"
        if not growing:
            break
        print(f"[target round {round_no}] {measure} so far: "
              + ", ".join(f"{s.discipline} {s.have}/{s.target}" for s in growing), flush=True)
        for s in growing:
            wanted = paths_for_round(s.have, s.target, s.paths)
            overrides = {"walk": {"paths_per_discipline": wanted}}
            defs = build_definitions({**resources, "settings": _build(args, overrides)["settings"]})
            result = _launch(defs, PER_DISCIPLINE, list(PER_DISCIPLINE.assets), s.discipline, instance, run_config)
            meta = materialized(result)
            for asset, values in meta.items():
                metadata[(asset, s.discipline)] = values
            if not result.success:
                why = _failure_reasons(result)
                s.state = "budget ended" if any("budget" in r for r in why) else "failed"
                if s.state == "failed":
                    failed.append(f"{s.discipline}: target round {round_no} (run {result.run_id})")
                    reasons += [f"{s.discipline}: {r}" for r in why]
                continue
            walk = meta.get("walk_paths", {})
            s.paths = int(walk.get("rows", s.paths))
            s.have = int(meta.get("linkqa_dataset", {}).get(measure, s.have))
            if s.have >= s.target:
                s.state = "reached"
            elif int(walk.get("paths_new", 0)) == 0:
                s.state = "graph exhausted"  # the walk found no new path with enough seeds
    for s in status.values():
        if s.state == "growing":
            s.state = "reached" if s.have >= s.target else "rounds used up"
    return failed, reasons, [s.line() for s in status.values()]


def disciplines(args: argparse.Namespace) -> int:
    """Active vs registered discipline partitions; --prune removes the stale ones."""
    _prepare_env(argparse.Namespace(data_dir=None, model=None))
    import dagster as dg

    from linksyn_assets.partitions import discipline_partitions
    from linksyn_assets.seeds.discipline_report import contents_lines, discipline_contents
    from linksyn_assets.seeds.disciplines import stale_disciplines
    from linksyn_assets.seeds.readers import skip_summary

    seed_source = _build(args)["seed_source"]
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

    _prepare_env(argparse.Namespace(data_dir=None, model=None))
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster) if dagster.exists() else "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"),
           "-p", str(args.port)]
    print(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']} {' '.join(cmd)}", flush=True)
    os.chdir(PROJECT_ROOT)
    os.execvpe(cmd[0], cmd, os.environ)


def _prepare_env(args: argparse.Namespace) -> None:
    from linksyn_assets.layout import root
    from linksyn_assets.storage import dagster_home

    os.environ.setdefault("DAGSTER_HOME", str(dagster_home()))
    home = Path(os.environ["DAGSTER_HOME"])
    _writable_dir(home, "DAGSTER_HOME")
    if args.data_dir:
        os.environ["LINKSYN_DATA_DIR"] = args.data_dir if "://" in args.data_dir else str(Path(args.data_dir).resolve())
    _writable_dir(root(), "data dir (LINKSYN_DATA_DIR / --data-dir)")
    config = home / "dagster.yaml"
    if not config.exists():  # a project-local instance: SQLite storage, no usage reporting, the llm pool limit
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    if args.model:
        os.environ["LINKSYN_MODEL"] = args.model
    from linksyn_assets.llm.progress import export_terminal

    export_terminal()


def _record_flags(args: argparse.Namespace) -> None:
    """Flags that change what a run makes go into the settings file, so the UI, the sensor and the schedule
    run with them too (and reproduce this run's outputs from the ledger)."""
    from linksyn_assets.layout import settings_file
    from linksyn_assets.storage import write_atomic

    changes = {("walk", "paths_per_discipline"): args.paths_per_discipline, ("llm", "model"): args.model,
               ("seeds", "sample_per_discipline"): args.sample}
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


def _select(args: argparse.Namespace) -> list[str]:
    if not args.select:
        return list(STAGE_ORDER)
    chosen = [s.strip() for s in args.select.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STAGE_ORDER))
    if unknown:
        raise SystemExit(f"linksyn: unknown asset(s) {unknown}; choose from {STAGE_ORDER}")
    return [s for s in STAGE_ORDER if s in chosen]


def run(args: argparse.Namespace) -> int:
    _prepare_env(args)
    import dagster as dg

    from linksyn_assets.assets.metadata import materialized
    from linksyn_assets.jobs import STAGE_JOBS
    from linksyn_assets.layout import SKIPPED_SEED_FILES, release_dir, root, seed_quarantine_file
    from linksyn_assets.llm.embedded_model import server_failure
    from linksyn_assets.location import build_definitions
    from linksyn_assets.partitions import discipline_partitions
    from linksyn_assets.seeds.readers import skip_summary
    from linksyn_assets.storage import is_local

    selected = _select(args)
    _record_flags(args)
    overrides: dict[str, Any] = {}
    if args.paths_per_discipline is not None:
        overrides["walk"] = {"paths_per_discipline": args.paths_per_discipline}
    if args.sample is not None:
        overrides["seeds"] = {"sample_per_discipline": args.sample}
    resources = _build(args, overrides or None)
    unpriced = resources["llm"].unpriced_budget()
    if unpriced:  # a USD budget that could never bind: refuse before anything runs
        raise SetupError(unpriced)
    seed_source = resources["seed_source"]
    try:
        found = seed_source.disciplines()
    except FileNotFoundError as exc:
        print(f"linksyn: {exc}", file=sys.stderr)
        return 2
    skipped = seed_source.skipped_files()
    if not found:
        print(f"linksyn: no seeds in {seed_source.root()}" + (f": {skip_summary(skipped)}" if skipped else ""),
              file=sys.stderr)
        return 2
    disciplines = found
    if args.disciplines:
        disciplines = [d.strip() for d in args.disciplines.split(",") if d.strip()]
        missing = sorted(set(disciplines) - set(found))
        if missing:
            print(f"linksyn: no seeds for discipline(s) {missing} in {seed_source.root()}; found: {found}",
                  file=sys.stderr)
            return 2
    instance = dg.DagsterInstance.get()
    known = set(instance.get_dynamic_partitions(discipline_partitions.name))
    new = [d for d in disciplines if d not in known]
    if new:
        instance.add_dynamic_partitions(discipline_partitions.name, new)
    print(f"LinkSyn: {len(disciplines)} discipline(s) from {seed_source.root()}: {', '.join(disciplines)}")
    if skipped:
        print(f"  {skip_summary(skipped)}; listed in {seed_quarantine_file(SKIPPED_SEED_FILES)}")
        for name, reason in sorted(skipped.items())[:10]:
            print(f"    {name}: {reason}")
    print(f"  data dir: {root()}   DAGSTER_HOME: {os.environ['DAGSTER_HOME']}")

    defs = build_definitions(resources)
    warmup = _start_kernel_warmup(selected)
    stages = [(stage, [a for a in stage.assets if a in selected]) for stage in STAGES if stage.partitioned]
    release_stage = [a for a in RELEASE.assets if a in selected]
    plan = [(stage, assets, d) for stage, assets in stages if assets for d in disciplines]
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    board = _board(seed_source, resources["settings"].plain().seeds.sample_per_discipline,
                   [stage for stage, assets in stages if assets], disciplines, bool(release_stage))
    metadata: dict[tuple[str, str], dict[str, Any]] = {}
    timings: dict[str, float] = {}
    failed: list[str] = []
    reasons: list[str] = []
    started = time.monotonic()
    for i, (stage, assets, discipline) in enumerate(plan, 1):
        t0 = time.monotonic()
        print(f"[{i}/{len(plan)}] {discipline}: {STAGE_JOBS[stage.name].name} ({', '.join(assets)}) ...",
              flush=True)
        if stage is not INGEST:
            warmup = _finish_kernel_warmup(warmup)
        board.start(BOARD_LABELS[stage.name], discipline)
        result = _launch(defs, stage, assets, discipline, instance, run_config)
        for check in result.get_asset_check_evaluations():
            if not check.passed:
                problems = check.metadata.get("problems")
                print(f"    check {check.asset_check_key.name} FAILED: {problems.value if problems else ''}",
                      flush=True)
        for asset, meta in materialized(result).items():
            metadata[(asset, discipline)] = meta
        _add_step_seconds(timings, instance, result.run_id)
        status = "ok" if result.success else "FAILED"
        rows = metadata.get((assets[-1], discipline), {}).get("rows")
        board.finish(BOARD_LABELS[stage.name], discipline, result.success, int(rows) if rows is not None else None)
        print(f"    {status} in {time.monotonic() - t0:.1f}s (run {result.run_id[:8]})", flush=True)
        print(board.render(), flush=True)
        if not result.success:
            failed.append(f"{discipline}: {', '.join(assets)} (run {result.run_id})")
            reasons += [f"{discipline}: {r}" for r in _failure_reasons(result)]
            dead = server_failure()
            if dead:  # every later step would meet the same dead (or faulting) model server
                print(f"    stopping the run: {dead.splitlines()[0]}", flush=True)
                reasons.insert(0, dead)
                break
    _finish_kernel_warmup(warmup)
    target_report: list[str] = []
    if not failed and PER_DISCIPLINE.assets[-1] in selected:
        failed, reasons, target_report = _grow_to_target(args, instance, resources, disciplines, metadata,
                                                         run_config)
    if release_stage and not failed:
        print(f"[release] linksyn_release ({', '.join(release_stage)}) ...", flush=True)
        board.start(BOARD_LABELS[RELEASE.name], "-")
        result = _launch(defs, RELEASE, release_stage, None, instance, run_config)
        for asset, meta in materialized(result).items():
            metadata[(asset, "-")] = meta
        _add_step_seconds(timings, instance, result.run_id)
        rows = metadata.get((release_stage[-1], "-"), {}).get("rows")
        board.finish(BOARD_LABELS[RELEASE.name], "-", result.success, int(rows) if rows is not None else None)
        print(board.render(), flush=True)
        if result.success:
            latest = "latest" if is_local(root()) else "latest.json"  # no symlinks on an object store
            print(f"    release: {release_dir() / latest} (card: README.md)", flush=True)
        else:
            failed.append(f"linkqa_release (run {result.run_id})")
            reasons += _failure_reasons(result)
    activate(None)
    _summary(selected, disciplines, metadata, time.monotonic() - started)
    _time_summary(timings, time.monotonic() - started)
    _qc_summary(metadata, resources["llm"])
    if target_report:
        print("Target:\n  " + "\n  ".join(target_report))
    if failed:
        print("Failed runs:\n  " + "\n  ".join(failed))
        if reasons:
            print("Why (first reasons):\n  " + "\n  ".join(list(dict.fromkeys(reasons))[:6]))
        print("Full logs: linksyn ui")
        return 1
    return 0


def _start_kernel_warmup(selected: list[str]) -> subprocess.Popen[str] | None:
    """Compile the walk and QC kernels into numba's cache in a process of its own while extraction keeps the LLM
    busy (a few seconds once cached); None when the run has no ingestion to overlap with. Not niced: at the
    lowest priority it got almost no CPU beside the model's threads and the walks then waited for it."""
    if INGEST.assets[-1] not in selected:
        return None
    from linksyn_assets.llm.owned_process import owned_command

    # owned: it exits with this process, even when this one is killed
    return subprocess.Popen(owned_command("linksyn_assets.kernel_warmup", []), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)


def _finish_kernel_warmup(proc: subprocess.Popen[str] | None) -> None:
    """Wait for the warm-up (the walks would otherwise compile the same kernels beside it) and say how it went;
    a failed warm-up only means the kernels compile when first used."""
    if proc is None:
        return None
    waited = time.monotonic()
    out, _ = proc.communicate()
    lines = [line for line in (out or "").splitlines() if line.strip()]
    wait = time.monotonic() - waited
    note = f" (waited {wait:.0f}s for it)" if wait >= 1 else ""
    if proc.returncode == 0 and lines:
        print(f"  {lines[-1]}{note}", flush=True)
    else:
        print(f"  numba kernel warm-up failed (exit {proc.returncode}); kernels compile on first use: "
              f"{lines[-1] if lines else 'no output'}", flush=True)
    return None


def step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Seconds per step key of one run, from its STEP_START and STEP_SUCCESS/FAILURE events."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    starts: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type=kinds):
        key = entry.step_key or "?"
        if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
            starts[key] = entry.timestamp
        elif key in starts:
            seconds[key] = seconds.get(key, 0.0) + entry.timestamp - starts.pop(key)
    return seconds


def _add_step_seconds(timings: dict[str, float], instance: Any, run_id: str) -> None:
    """Seconds per asset step of one run added into `timings`; other steps (asset checks) count as "checks"."""
    for key, seconds in step_seconds(instance, run_id).items():
        name = key if key in STAGE_ORDER else "checks"
        timings[name] = timings.get(name, 0.0) + seconds


def _time_summary(timings: dict[str, float], seconds: float) -> None:
    """Where the run's time went, per asset over every discipline; the rest is start-up (the embedded model
    server, Dagster's runs) and the wait between steps."""
    if not timings:
        return
    parts = [f"{name} {timings[name]:.0f}s" for name in [*STAGE_ORDER, "checks"] if name in timings]
    other = max(seconds - sum(timings.values()), 0.0)
    print(f"Time per step (all disciplines): {', '.join(parts)}, other {other:.0f}s (start-up, runs, waits)")


def _qc_summary(metadata: dict[tuple[str, str], dict[str, Any]], llm: Any) -> None:
    """Each QC step's pass rate over every discipline, and what the embedded model's rows are worth."""
    from linksyn_assets.llm.stage_config import STAGES as LLM_STAGES

    totals: dict[str, list[int]] = {}
    for (asset, _), meta in metadata.items():
        if asset != "linkqa_dataset":
            continue
        for step in meta.get("qc_steps") or []:
            entered, passed = totals.setdefault(step["step"], [0, 0])
            totals[step["step"]] = [entered + int(step["entered"]), passed + int(step["passed"])]
    if totals:
        cells = [f"{name} {p}/{e}" + (f" ({p / e:.0%})" if e else "") for name, (e, p) in totals.items()]
        print("QC pass rate per step: " + ", ".join(cells))
    if any(not (getattr(llm, f"{stage}_model") or llm.model) for stage in LLM_STAGES):
        print("     The rows above come from the bundled demo model (SmolLM2-135M, a 135M-parameter model on the "
              "CPU): they show every stage working,\n     not training data; expect wrong answers and shallow "
              "questions. For real data set LINKSYN_MODEL (README: \"Use DeepSeek or any litellm model\").")


# The overall view's columns: what each job does, in the user's words.
BOARD_LABELS = {"ingest": "seeds + KP extraction", "discipline": "graph, walks, synthesis, QC",
                "release": "release"}


def _board(seed_source: Any, sample: int | None, stages: list[Stage], disciplines: list[str],
           with_release: bool) -> RunBoard:
    """The run's overall progress view; ingestion's cells are weighted by their seed counts."""
    from linksyn_assets.seeds.sample import sample_seeds

    counts = sample_seeds(seed_source.load().seeds, sample).group_by("discipline").len()
    ingest = BOARD_LABELS[INGEST.name]
    weights = {(ingest, d): max(float(n), 1.0) for d, n in counts.iter_rows()}
    board = RunBoard([BOARD_LABELS[s.name] for s in stages], list(disciplines), weights)
    if with_release:
        board.add_stage(BOARD_LABELS[RELEASE.name])
    activate(board)
    return board


def _llm_blocks(metadata: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every LLM batch's stats: an asset's own, and nested ones (hard_qa's judge, linkqa_dataset's verifier)."""
    blocks = []
    for meta in metadata.values():
        blocks += [meta, *(v for v in meta.values() if isinstance(v, dict) and "llm_http_calls" in v)]
    return blocks


def _tokens_by_stage(metadata: dict[tuple[str, str], dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    """stage -> (prompt, answer, reasoning) tokens sent this run; answer = completion minus reasoning."""
    out: dict[str, tuple[int, int, int]] = {}
    for block in _llm_blocks(metadata):
        stage = str(block.get("llm_stage") or "")
        if not stage:
            continue
        prompt, answer, reasoning = out.get(stage, (0, 0, 0))
        thought = int(block.get("reasoning_tokens", 0) or 0)
        out[stage] = (prompt + int(block.get("prompt_tokens", 0) or 0),
                      answer + int(block.get("completion_tokens", 0) or 0) - thought, reasoning + thought)
    return out


def _summary(selected: list[str], disciplines: list[str], metadata: dict[tuple[str, str], dict[str, Any]],
             seconds: float) -> None:
    from linksyn_assets.layout import SKIPPED_SEED_FILES, dataset_dir, rejects_dir, seed_quarantine_file

    width = max(len(d) for d in disciplines) if disciplines else 10
    print(f"\nRows per asset ({seconds:.0f}s):")
    print("  " + "discipline".ljust(width) + "".join(a.rjust(16) for a in selected))
    for d in disciplines:
        cells = [str(metadata.get((a, d), {}).get("rows", "-")) for a in selected]
        print("  " + d.ljust(width) + "".join(c.rjust(16) for c in cells))
    totals = {k: 0.0 for k in LLM_KEYS}
    for block in _llm_blocks(metadata):
        for k in LLM_KEYS:
            totals[k] += float(block.get(k, 0) or 0)
    seed_meta = [m for (a, _), m in metadata.items() if a == "seeds"]
    quarantined = sum(int(m.get("quarantined", 0)) for m in seed_meta)
    if seed_meta:
        print(f"Seeds: {seed_meta[0]['rows_read_all_disciplines']} rows read from {seed_meta[0]['source_files']} "
              f"file(s) -> {sum(int(m['rows']) for m in seed_meta)} seeds in {len(seed_meta)} discipline(s), "
              f"{seed_meta[0]['duplicates_collapsed_all_disciplines']} exact duplicate(s) collapsed, "
              f"{quarantined} quarantined"
              + (f"; {seed_meta[0]['files_skipped_reasons']}" if int(seed_meta[0].get("files_skipped") or 0) else ""))
    bench_skipped = {str(m.get("benchmark_files_skipped")) for (a, _), m in metadata.items()
                     if a == "linkqa_dataset" and m.get("benchmark_files_skipped") not in (None, "none")}
    if bench_skipped:
        print(f"Benchmarks: {'; '.join(sorted(bench_skipped))}")
    unpriced = sorted({str(b.get("llm_stage") or "?") for b in _llm_blocks(metadata)
                       if b.get("llm_price_source") == "none" and int(b.get("llm_http_calls", 0) or 0) > 0})
    cost = (f"cost unknown: no price known for {', '.join(unpriced)} (set LINKSYN_PRICE_INPUT_PER_MTOK / "
            f"LINKSYN_PRICE_OUTPUT_PER_MTOK)" if unpriced else f"cost ${totals['cost_usd']:.4f}")
    print(f"LLM: {int(totals['llm_http_calls'])} HTTP calls, {int(totals['llm_cache_hits'])} answered from "
          f"cache, {int(totals['llm_failed'])} failed; tokens {int(totals['prompt_tokens'])} prompt + "
          f"{int(totals['completion_tokens'])} completion; {cost}")
    turns = [f"{int(totals[key])} {label}" for key, label in (
        ("llm_blank_retries", "blank replies asked again"), ("llm_repaired", "repaired"),
        ("llm_length_retries", "cut off and asked again with more room"),
        ("llm_format_switches", "json_schema rejected, json_object used")) if totals[key]]
    if turns:
        print("     " + ", ".join(turns))
    by_stage = _tokens_by_stage(metadata)
    if any(reasoning for _, _, reasoning in by_stage.values()):
        print("     completion tokens by stage, answer + reasoning: " + ", ".join(
            f"{stage} {answer} + {reasoning}" for stage, (_, answer, reasoning) in by_stage.items()))
    reasons: dict[str, int] = {}
    for block in _llm_blocks(metadata):
        for reason, n in (block.get("llm_failed_by_reason") or {}).items():
            reasons[reason] = reasons.get(reason, 0) + int(n)
    if reasons:
        ranked = sorted(reasons.items(), key=lambda item: -item[1])
        print("     failed by reason: " + ", ".join(f"{reason} {n}" for reason, n in ranked))
    if totals["llm_http_calls"] == 0 and totals["llm_cache_hits"] > 0:
        print("     (no new LLM call: every answer came from the request ledger)")
    walks = [m for (a, _), m in metadata.items() if a == "walk_paths"]
    rows = [m for (a, _), m in metadata.items() if a == "linkqa_dataset"]
    if walks or rows:
        def total(blocks: list[dict[str, Any]], key: str) -> int:
            return sum(int(m.get(key, 0) or 0) for m in blocks)

        print(f"Update: paths {total(walks, 'paths_new')} new, {total(walks, 'paths_kept')} kept, "
              f"{total(walks, 'paths_retired')} retired; dataset rows {total(rows, 'rows_new')} new, "
              f"{total(rows, 'rows_kept')} kept, {total(rows, 'rows_retired')} retired (data/retired/ says why)")
        extract = [m for (a, _), m in metadata.items() if a == "seed_kps"]
        new_work = sum(int(b.get("llm_http_calls", 0) or 0) for b in _llm_blocks(metadata))
        print(f"     LLM calls {new_work}: {total(extract, 'llm_http_calls')} for new or changed seeds' extraction, "
              f"{new_work - total(extract, 'llm_http_calls')} for the {total(walks, 'paths_new')} new path(s); "
              "earlier requests were answered by the ledger")
    release = metadata.get(("linkqa_release", "-"))
    if release:
        print(f"Release v{release.get('version', '?')}: {release['rows']} rows ({release.get('rows_added', 0)} added, "
              f"{release.get('rows_retired', 0)} retired since the previous version), {release['tokens']} tokens in "
              f"{release['release']}; removed by reason: "
              f"{json.dumps(release['removed_by_reason'], ensure_ascii=False)}")
        if release.get("empty_release"):
            print(f"     The release is empty: {release['empty_release']}")
    walk_meta = {d: m for (a, d), m in metadata.items() if a == "walk_paths"}
    if walk_meta:
        from linksyn_assets.walks.plan import mix_report

        mix = mix_report({d: float(m.get("discipline_target_share", 0.0)) for d, m in walk_meta.items()},
                         {d: int(m.get("rows", 0)) for d, m in walk_meta.items()})
        coverage = ", ".join(f"{d} {m.get('kp_coverage', 0):.2f} (uniform {m.get('kp_coverage_uniform', 0):.2f})"
                             for d, m in sorted(walk_meta.items()))
        print(f"Walks: KP coverage {coverage}; discipline mix KL(target||realized) "
              f"{mix['discipline_mix_kl']:.4f}")
    if quarantined:
        print(f"Quarantined seed rows: {quarantined} (see {seed_quarantine_file(SKIPPED_SEED_FILES).parent})")
    if "linkqa_dataset" in selected:
        print(f"Dataset: {dataset_dir()} (one Parquet + JSONL per discipline); rejects: {rejects_dir()}")
    print("Browse runs and metadata: linksyn ui   (dagster dev -w workspace.yaml on this DAGSTER_HOME)")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    commands = {"run": run, "ui": ui, "disciplines": disciplines}
    try:
        return commands[args.command](args)
    except SetupError as exc:
        print(f"linksyn: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
