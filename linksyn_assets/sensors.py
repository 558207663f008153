"""Incremental seed updates: register new disciplines and re-run the ones whose seeds changed."""


import json

import dagster as dg
import polars as pl

from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.text.normalize import content_hash
from resources.seed_source import SeedSourceResource


def discipline_fingerprints(seed_source: SeedSourceResource) -> dict[str, str]:
    """discipline -> hash of its seed ids and quarantined rows: changes when its seeds change."""
    load = seed_source.load()
    prints: dict[str, str] = {}
    for discipline in seed_source.disciplines():
        ids = load.seeds.filter(pl.col("discipline") == discipline)["seed_id"].sort().to_list()
        bad = load.quarantine.filter(pl.col("discipline") == discipline).select("source_file", "source_row")
        prints[discipline] = content_hash(ids, bad.rows())
    return prints


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
    changed = sorted(d for d, fp in current.items() if previous.get(d) != fp)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=d, run_key=f"{d}:{current[d]}") for d in changed],
        dynamic_partitions_requests=[discipline_partitions.build_add_request(new)] if new else [],
        cursor=json.dumps(current, sort_keys=True),
    )


# Declarative automation (assets/policies.py: AUTOMATED) runs only while this sensor is on. On its first tick
# after being off it requests every partition whose inputs changed meanwhile, still in dependency order.
linksyn_automation = dg.AutomationConditionSensorDefinition(
    "linksyn_automation", target=dg.AssetSelection.all(), minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs seed_kps when a discipline's seeds change, and the graph, walks, synthesis, dataset and "
                "release once every input they read is up to date and none is in progress.")

ALL_SENSORS = [seed_source_sensor, linksyn_automation]
