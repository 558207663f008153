"""Rounds of new paths toward `dataset.target_rows` / `target_tokens` (used by `linksyn run`).

walk_paths sizes each round itself from linkqa_dataset's last report (so a materialization from the UI, a
backfill or the growth sensor grows the same way); this loop only re-runs the disciplines still below their
share and says why each stopped.
"""

from collections.abc import Callable
from typing import Any

from linksyn_assets.cli.launch import failure_reasons, launch
from linksyn_assets.reports import DatasetReport, Report, WalkReport
from linksyn_assets.stages import PER_DISCIPLINE


def grow_to_target(instance: Any, resources: dict[str, Any], disciplines: list[str],
                   reports: dict[tuple[str, str], Report], run_config: dict,
                   budget_ended: set[str], stopped: Callable[[], bool] = lambda: False,
                   tags: dict[str, str] | None = None) -> tuple[list[str], list[str], list[str]]:
    """Rounds for the disciplines below their share of the target (rows or tokens that passed QC), until
    every share is met, a discipline's graph gives no new path, the budget ends, or the rounds are used up.
    budget_ended: disciplines whose budget ended in the run's first pass. Returns (failed runs, reasons, one
    report line per discipline)."""
    import polars as pl

    from linksyn_assets.assets.metadata import latest_report, run_reports
    from linksyn_assets.location import build_definitions
    from linksyn_assets.release.targets import TargetStatus, split_target
    from linksyn_assets.walks.plan import discipline_targets

    plain = resources["settings"].plain()
    params = plain.dataset
    if not params.target_rows and not params.target_tokens:
        return [], [], []
    measure = "rows" if params.target_rows else "tokens"
    seeds = pl.DataFrame({"discipline": disciplines,
                          "seeds": [reports[("seeds", d)].rows if ("seeds", d) in reports else 0
                                    for d in disciplines]})
    shares = split_target(int(params.target_rows or params.target_tokens), discipline_targets(seeds, plain.walk))

    def latest(asset: str, d: str) -> Report | None:  # this run's report, else the instance's latest
        return reports.get((asset, d)) or latest_report(instance, asset, d)

    def have(d: str) -> int:
        report = latest("linkqa_dataset", d)
        return report.measure(measure) if isinstance(report, DatasetReport) else 0

    status = {d: TargetStatus(d, shares.get(d, 0), have(d), getattr(latest("walk_paths", d), "rows", 0))
              for d in disciplines}
    for d in budget_ended:
        status[d].state = "budget ended"
    defs = build_definitions(resources)
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
            if stopped():
                break
            result = launch(defs, PER_DISCIPLINE, list(PER_DISCIPLINE.assets), s.discipline, instance, run_config,
                            tags)
            for asset, report in run_reports(result).items():
                reports[(asset, s.discipline)] = report
            if not result.success:
                why = failure_reasons(result)
                s.state = "budget ended" if any("budget" in r for r in why) else "failed"
                if s.state == "failed":
                    failed.append(f"{s.discipline}: target round {round_no} (run {result.run_id})")
                    reasons += [f"{s.discipline}: {r}" for r in why]
                continue
            walk = reports.get(("walk_paths", s.discipline))
            s.paths = walk.rows if walk is not None else s.paths
            s.have = have(s.discipline)
            if s.have >= s.target:
                s.state = "reached"
            elif not isinstance(walk, WalkReport) or walk.paths_new == 0:
                s.state = "graph exhausted"  # the walk found no new path with enough seeds
    for s in status.values():
        if s.state == "growing":
            s.state = "reached" if s.have >= s.target else "rounds used up"
    return failed, reasons, [s.line() for s in status.values()]
