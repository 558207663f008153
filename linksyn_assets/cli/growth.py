"""Rounds of new paths toward `dataset.target_rows` / `target_tokens` (used by `linksyn run`)."""

import argparse
from typing import Any

from linksyn_assets.cli.environment import build_resources_for
from linksyn_assets.cli.launch import failure_reasons, launch
from linksyn_assets.stages import PER_DISCIPLINE


def grow_to_target(args: argparse.Namespace, instance: Any, resources: dict[str, Any], disciplines: list[str],
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
            defs = build_definitions({**resources, "settings": build_resources_for(args, overrides)["settings"]})
            result = launch(defs, PER_DISCIPLINE, list(PER_DISCIPLINE.assets), s.discipline, instance, run_config)
            meta = materialized(result)
            for asset, values in meta.items():
                metadata[(asset, s.discipline)] = values
            if not result.success:
                why = failure_reasons(result)
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
