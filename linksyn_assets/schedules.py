"""Scheduled incremental updates: once a day, the ingest stage for every registered discipline.

Seeds that did not change cost nothing (their extraction requests are answered by the ledger); new or
changed seeds are extracted. The later stages read every discipline's KPs, so they are not scheduled per
discipline here (run them with `linksyn run` or the linksyn_pipeline job once ingestion is done).
"""

import dagster as dg

from linksyn_assets.jobs import linksyn_ingest
from linksyn_assets.partitions import discipline_partitions


@dg.schedule(job=linksyn_ingest, cron_schedule="0 3 * * *", default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Daily at 03:00: ingest (seeds, seed_kps) for every discipline partition.")
def daily_ingest_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    disciplines = sorted(context.instance.get_dynamic_partitions(discipline_partitions.name))
    if not disciplines:
        return dg.SkipReason("no discipline partitions yet: run `linksyn run` or turn on seed_source_sensor")
    day = context.scheduled_execution_time.strftime("%Y-%m-%d") if context.scheduled_execution_time else "now"
    return [dg.RunRequest(partition_key=d, run_key=f"ingest:{d}:{day}") for d in disciplines]


ALL_SCHEDULES = [daily_ingest_schedule]
