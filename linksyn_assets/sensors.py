"""Incremental seed updates (register new disciplines, re-run the ones whose seeds changed) and growth toward
the dataset target."""


import json

import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import latest_report
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.release.targets import next_round, split_target
from linksyn_assets.reports import DatasetReport, SeedsReport, WalkReport
from linksyn_assets.seeds.fingerprint import discipline_fingerprint
from linksyn_assets.walks.plan import discipline_targets
from resources.pipeline_settings import LinkSynSettingsResource
from resources.seed_source import SeedSourceResource


def discipline_fingerprints(seed_source: SeedSourceResource) -> dict[str, str]:
    """discipline -> hash of its seed ids and quarantined rows: changes when its seeds change."""
    load = seed_source.load()
    return {d: discipline_fingerprint(load.seeds, load.quarantine, d) for d in seed_source.disciplines()}


def ingested_fingerprint(instance: dg.DagsterInstance, discipline: str) -> str | None:
    """The fingerprint the `seeds` asset recorded when it last ingested the discipline (None: never, or before
    it recorded one)."""
    report = latest_report(instance, "seeds", discipline)
    if not isinstance(report, SeedsReport) or not report.fingerprint:
        return None
    return report.fingerprint


@dg.sensor(job_name="linksyn_ingest", minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Watches the seed source; registers new discipline partitions and runs ingestion "
                       "(linksyn_ingest) for disciplines whose seeds changed (unchanged LLM work is cached). "
                       "With linksyn_automation on, the later stages follow in dependency order.")
def seed_source_sensor(context: dg.SensorEvaluationContext, seed_source: SeedSourceResource) -> dg.SensorResult:
    previous: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    current = discipline_fingerprints(seed_source)
    known = set(context.instance.get_dynamic_partitions(discipline_partitions.name))
    new = sorted(set(current) - known)
    # a discipline the cursor has not seen yet (a first tick, e.g. after `linksyn run`) is compared with what
    # was last ingested, so work already done is not requested again
    changed = sorted(d for d, fp in current.items()
                     if (previous[d] if d in previous else ingested_fingerprint(context.instance, d)) != fp)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=d, run_key=f"{d}:{current[d]}") for d in changed],
        dynamic_partitions_requests=[discipline_partitions.build_add_request(new)] if new else [],
        cursor=json.dumps(current, sort_keys=True),
    )


@dg.sensor(job_name="linksyn_pipeline", minimum_interval_seconds=120,
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Grows the dataset toward dataset.target_rows / target_tokens outside `linksyn run`: for "
                       "each discipline below its share whose last round is complete, runs linksyn_pipeline once "
                       "more (walk_paths sizes the round from the measured pass rate), at most "
                       "dataset.target_rounds times; says per discipline why it stopped.")
def dataset_target_sensor(context: dg.SensorEvaluationContext, settings: LinkSynSettingsResource,
                          seed_source: SeedSourceResource) -> dg.SensorResult | dg.SkipReason:
    plain = settings.plain()
    total = plain.dataset.target_rows or plain.dataset.target_tokens
    if not total:
        return dg.SkipReason("dataset.target_rows / target_tokens are not set")
    measure = "rows" if plain.dataset.target_rows else "tokens"
    registered = set(context.instance.get_dynamic_partitions(discipline_partitions.name))
    disciplines = sorted(registered & set(seed_source.disciplines()))
    seeds = {d: latest_report(context.instance, "seeds", d) for d in disciplines}
    stats = pl.DataFrame({"discipline": disciplines, "seeds": [r.rows if r else 0 for r in seeds.values()]},
                         schema={"discipline": pl.String, "seeds": pl.Int64})
    shares = split_target(int(total), discipline_targets(stats, plain.walk))
    cursor = json.loads(context.cursor) if context.cursor else {}
    # rounds per discipline toward this target; a new target starts the count again
    rounds: dict[str, int] = cursor.get("rounds", {}) if cursor.get("target") == [measure, total] else {}
    requests, states = [], {}
    for d in disciplines:
        dataset, walk = latest_report(context.instance, "linkqa_dataset", d), latest_report(context.instance,
                                                                                            "walk_paths", d)
        dataset = dataset if isinstance(dataset, DatasetReport) else None
        walk = walk if isinstance(walk, WalkReport) else None
        states[d] = next_round(shares.get(d, 0), dataset.measure(measure) if dataset else None,
                               dataset.paths if dataset else None, walk.rows if walk else None,
                               walk.paths_new if walk else None, rounds.get(d, 0), plain.dataset.target_rounds)
        if states[d] == "reached":
            rounds.pop(d, None)
        elif states[d] == "grow":
            rounds[d] = rounds.get(d, 0) + 1
            # one request per walk size: a tick before the round's walk ran does not ask twice
            requests.append(dg.RunRequest(partition_key=d, run_key=f"grow:{d}:{walk.rows if walk else 0}",
                                          tags={"linksyn/target_round": str(rounds[d])}))
    said = ", ".join(f"{d} {s}" for d, s in states.items())
    return dg.SensorResult(run_requests=requests, skip_reason=None if requests else f"no discipline to grow: {said}",
                           cursor=json.dumps({"target": [measure, total], "rounds": rounds}, sort_keys=True))


# Declarative automation (assets/policies.py: AUTOMATED) runs only while this sensor is on. On its first tick
# after being off it requests every partition whose inputs changed meanwhile, still in dependency order.
linksyn_automation = dg.AutomationConditionSensorDefinition(
    "linksyn_automation", target=dg.AssetSelection.all(), minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs seed_kps when a discipline's seeds change, and the graph, walks, synthesis, dataset and "
                "release once every input they read is up to date and none is in progress.")

ALL_SENSORS = [seed_source_sensor, dataset_target_sensor, linksyn_automation]
