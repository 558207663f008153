"""`linksyn run`: launch the code location's jobs (linksyn_ingest, linksyn_pipeline for every discipline,
then linksyn_release) on a persistent DAGSTER_HOME, so `dagster dev -w workspace.yaml` afterwards shows the
same jobs, runs and materializations the UI would have made."""

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from linksyn_assets.cli.arguments import selected_assets
from linksyn_assets.cli.board import BOARD_LABELS, progress_board
from linksyn_assets.cli.environment import SetupError, build_resources_for, prepare_env, record_flags
from linksyn_assets.cli.growth import grow_to_target
from linksyn_assets.cli.interrupt import Stopped, StopSignals
from linksyn_assets.cli.launch import failure_reasons, launch, mark_abandoned_runs, stops_run
from linksyn_assets.cli.summary import qc_summary, summary, time_summary
from linksyn_assets.reports import Report
from linksyn_assets.run_board import RunBoard
from linksyn_assets.stages import INGEST, PER_DISCIPLINE, RELEASE, STAGE_ORDER, STAGES, Stage


@dataclass
class Outcome:
    """What the runs of one `linksyn run` made and how they ended."""

    reports: dict[tuple[str, str], Report] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    budget_ended: set[str] = field(default_factory=set)  # disciplines whose target round hit the budget

    def record(self, result: Any, instance: Any, key: str) -> None:
        from linksyn_assets.assets.metadata import check_problems, run_reports

        for check in result.get_asset_check_evaluations():
            if not check.passed:
                print(f"    check {check.asset_check_key.name} FAILED: {check_problems(check)}", flush=True)
        for asset, report in run_reports(result).items():
            self.reports[(asset, key)] = report
        add_step_seconds(self.timings, instance, result.run_id)

    def rows(self, asset: str, key: str) -> int | None:
        report = self.reports.get((asset, key))
        return report.rows if report is not None else None


def run(args: argparse.Namespace) -> int:
    prepare_env(args)
    import dagster as dg

    from linksyn_assets.llm.progress import ProgressSink, terminal
    from linksyn_assets.location import build_definitions

    selected = selected_assets(args)
    record_flags(args)
    overrides: dict[str, Any] = {}
    if args.paths_per_discipline is not None:
        overrides["walk"] = {"paths_per_discipline": args.paths_per_discipline}
    if args.sample is not None:
        overrides["seeds"] = {"sample_per_discipline": args.sample}
    resources = build_resources_for(args, overrides or None)
    unpriced = resources["llm"].unpriced_budget()
    if unpriced:  # a USD budget that could never bind: refuse before anything runs
        raise SetupError(unpriced)
    disciplines = chosen_disciplines(args, resources["seed_source"])
    if isinstance(disciplines, int):
        return disciplines
    instance = dg.DagsterInstance.get()
    abandoned = mark_abandoned_runs(instance)
    if abandoned:
        print(f"  {len(abandoned)} run(s) left STARTED by a killed linksyn run marked failed: "
              f"{', '.join(r[:8] for r in abandoned)}")
    register(instance, disciplines)
    stages = [(stage, [a for a in stage.assets if a in selected]) for stage in STAGES if stage.partitioned]
    release_stage = [a for a in RELEASE.assets if a in selected]
    board = progress_board(resources["seed_source"], resources["settings"].plain().seeds.sample_per_discipline,
                           [stage for stage, assets in stages if assets], disciplines, bool(release_stage))
    sink = ProgressSink(board, terminal())  # every run this command launches reports here
    resources["progress"] = dg.ResourceDefinition.hardcoded_resource(sink)
    defs = build_definitions(resources)
    dataset = resources["settings"].plain().dataset
    targeted = PER_DISCIPLINE.assets[-1] in selected and bool(dataset.target_rows or dataset.target_tokens)
    outcome = Outcome()
    started = time.monotonic()
    target_report: list[str] = []
    warmup = None
    with StopSignals() as stop:
        try:
            warmup = start_kernel_warmup(selected)
            tags = run_tags(args, disciplines)
            run_stages(defs, instance, [(s, a, d) for s, a in stages if a for d in disciplines], board, outcome,
                       targeted, warmup, stop, tags)
            if not outcome.failed and targeted and not stop.settle():
                failed, reasons, target_report = grow_to_target(
                    instance, resources, disciplines, outcome.reports, RUN_CONFIG, outcome.budget_ended,
                    lambda: stop.settle() is not None, tags)
                outcome.failed += failed
                outcome.reasons += reasons
            if release_stage and not outcome.failed and not stop.settle():
                run_release(defs, instance, release_stage, board, outcome, tags)
        except (Stopped, KeyboardInterrupt):
            stop.settle()
        finally:
            if warmup is not None and warmup.poll() is None:
                warmup.kill()
            sink.close()
    if stop.received is not None:
        summary(selected, disciplines, outcome.reports, time.monotonic() - started)
        print(f"Interrupted by {stop.received.name}: no further run was launched and the release was skipped. "
              "Run the same command again to resume: every answer so far is in the request ledger.")
        return stop.exit_code
    summary(selected, disciplines, outcome.reports, time.monotonic() - started)
    time_summary(outcome.timings, time.monotonic() - started)
    qc_summary(outcome.reports, resources["llm"])
    if target_report:
        print("Target:\n  " + "\n  ".join(target_report))
    if outcome.failed:
        print("Failed runs:\n  " + "\n  ".join(outcome.failed))
        if outcome.reasons:
            print("Why (first reasons):\n  " + "\n  ".join(list(dict.fromkeys(outcome.reasons))[:6]))
        print("Full logs: linksyn ui")
        return 1
    return 0


RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def run_tags(args: argparse.Namespace, disciplines: list[str]) -> dict[str, str]:
    """--disciplines on the runs: kp_graph then leaves out the other disciplines never extracted (and says so)
    instead of waiting for them."""
    from linksyn_assets.assets.graph import CHOSEN_DISCIPLINES_TAG

    return {CHOSEN_DISCIPLINES_TAG: ",".join(disciplines)} if args.disciplines else {}


def chosen_disciplines(args: argparse.Namespace, seed_source: Any) -> list[str] | int:
    """The disciplines this run works on (all in the source, or --disciplines), or the exit code of a run that
    cannot start, said on stderr."""
    from linksyn_assets.layout import SKIPPED_SEED_FILES, root, seed_quarantine_file
    from linksyn_assets.seeds.readers import skip_summary
    from linksyn_assets.text.excerpt import excerpt

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
    print(f"LinkSyn: {len(disciplines)} discipline(s) from {seed_source.root()}: {', '.join(disciplines)}")
    if skipped:
        print(f"  {skip_summary(skipped)}; listed in {seed_quarantine_file(SKIPPED_SEED_FILES)}")
        for name, reason in sorted(skipped.items())[:10]:
            print(f"    {name}: {reason}")
    outside = seed_source.outside()
    if outside:
        verb = "not read" if seed_source.outside_links == "refuse" else "read"
        print(f"  {len(outside)} file(s) reached through links leading outside {seed_source.root()}, {verb} "
              f"(source.outside_links = {seed_source.outside_links}):")
        for name, target in sorted(outside.items())[:10]:
            print(f"    {excerpt(name, 80)} -> {excerpt(target, 120)}")
    print(f"  data dir: {root()}   DAGSTER_HOME: {os.environ['DAGSTER_HOME']}")
    return disciplines


def register(instance: Any, disciplines: list[str]) -> None:
    """Add the disciplines' partitions the instance does not know yet."""
    from linksyn_assets.partitions import discipline_partitions

    known = set(instance.get_dynamic_partitions(discipline_partitions.name))
    new = [d for d in disciplines if d not in known]
    if new:
        instance.add_dynamic_partitions(discipline_partitions.name, new)


def run_stages(defs: Any, instance: Any, plan: list[tuple[Stage, list[str], str]], board: RunBoard,
               outcome: Outcome, targeted: bool, warmup: subprocess.Popen[str] | None, stop: StopSignals,
               tags: dict[str, str]) -> None:
    """Each stage job for each discipline, in stage order; stops early on a stop signal or when the embedded
    model's server died."""
    from linksyn_assets.jobs import STAGE_JOBS
    from linksyn_assets.llm.embedded.process import server_failure

    for i, (stage, assets, discipline) in enumerate(plan, 1):
        t0 = time.monotonic()
        print(f"[{i}/{len(plan)}] {discipline}: {STAGE_JOBS[stage.name].name} ({', '.join(assets)}) ...",
              flush=True)
        if stage is not INGEST:
            warmup = finish_kernel_warmup(warmup)
        board.start(BOARD_LABELS[stage.name], discipline)
        result = launch(defs, stage, assets, discipline, instance, RUN_CONFIG, tags)
        outcome.record(result, instance, discipline)
        board.finish(BOARD_LABELS[stage.name], discipline, result.success, outcome.rows(assets[-1], discipline))
        print(f"    {'ok' if result.success else 'FAILED'} in {time.monotonic() - t0:.1f}s "
              f"(run {result.run_id[:8]})", flush=True)
        if stop.settle() is not None:
            print(f"    {stop.received.name if stop.received else 'a signal'} received: stopping", flush=True)
            outcome.failed.append(f"{discipline}: {', '.join(assets)} (run {result.run_id}): interrupted")
            return
        print(board.render(), flush=True)
        why = [] if result.success else failure_reasons(result)
        if why and stage is PER_DISCIPLINE and targeted and any("budget" in r for r in why):
            outcome.budget_ended.add(discipline)  # its walk was sized for the target; the Target lines say so
        elif not result.success:
            outcome.failed.append(f"{discipline}: {', '.join(assets)} (run {result.run_id})")
            outcome.reasons += [f"{discipline}: {r}" for r in why]
            dead = server_failure()
            if dead:  # every later step would meet the same dead (or faulting) model server
                print(f"    stopping the run: {dead.splitlines()[0]}", flush=True)
                outcome.reasons.insert(0, dead)
                break
            if stops_run(result):  # the ledger, a full disk: every later run would fail the same way
                print(f"    stopping the run: {why[0] if why else 'a failure every run would meet'}", flush=True)
                break
    finish_kernel_warmup(warmup)


def run_release(defs: Any, instance: Any, assets: list[str], board: RunBoard, outcome: Outcome,
                tags: dict[str, str]) -> None:
    from linksyn_assets.layout import release_dir, root
    from linksyn_assets.storage import is_local

    print(f"[release] linksyn_release ({', '.join(assets)}) ...", flush=True)
    board.start(BOARD_LABELS[RELEASE.name], "-")
    result = launch(defs, RELEASE, assets, None, instance, RUN_CONFIG, tags)
    outcome.record(result, instance, "-")
    board.finish(BOARD_LABELS[RELEASE.name], "-", result.success, outcome.rows(assets[-1], "-"))
    print(board.render(), flush=True)
    if result.success:
        latest = "latest" if is_local(root()) else "latest.json"  # no symlinks on an object store
        print(f"    release: {release_dir() / latest} (card: README.md)", flush=True)
    else:
        outcome.failed.append(f"linkqa_release (run {result.run_id})")
        outcome.reasons += failure_reasons(result)


def start_kernel_warmup(selected: list[str]) -> subprocess.Popen[str] | None:
    """Compile the walk and QC kernels into numba's cache in a process of its own while extraction keeps the LLM
    busy (a few seconds once cached); None when the run has no ingestion to overlap with. Not niced: at the
    lowest priority it got almost no CPU beside the model's threads and the walks then waited for it."""
    if INGEST.assets[-1] not in selected:
        return None
    from linksyn_assets.llm.owned_process import owned_command

    # owned: it exits with this process, even when this one is killed
    return subprocess.Popen(owned_command("linksyn_assets.kernel_warmup", []), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)


def finish_kernel_warmup(proc: subprocess.Popen[str] | None) -> None:
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


def add_step_seconds(timings: dict[str, float], instance: Any, run_id: str) -> None:
    """Seconds per asset step of one run added into `timings`; other steps (asset checks) count as "checks"."""
    for key, seconds in step_seconds(instance, run_id).items():
        name = key if key in STAGE_ORDER else "checks"
        timings[name] = timings.get(name, 0.0) + seconds
