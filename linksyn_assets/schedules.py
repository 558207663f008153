"""Scheduled incremental updates: the ingest stage for every registered discipline, daily at 03:00 unless
LINKSYN_INGEST_CRON or the settings file's schedule.ingest_cron says otherwise (read when the code location
loads: reload it in the UI after changing the file).

Seeds that did not change cost nothing (their extraction requests are answered by the ledger); new or
changed seeds are extracted. The later stages read every discipline's KPs, so they are not scheduled per
discipline here: with the linksyn_automation sensor on they follow once every discipline is ingested.
"""

import dagster as dg

from linksyn_assets.jobs import linksyn_ingest
from linksyn_assets.partitions import discipline_partitions
from resources import ingest_cron

INGEST_CRON = ingest_cron()


@dg.schedule(job=linksyn_ingest, cron_schedule=INGEST_CRON, default_status=dg.DefaultScheduleStatus.STOPPED,
             description=f"Ingest (seeds, seed_kps) for every discipline partition, cron {INGEST_CRON!r} "
                         "(LINKSYN_INGEST_CRON, or schedule.ingest_cron in the settings file).")
def daily_ingest_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    disciplines = sorted(context.instance.get_dynamic_partitions(discipline_partitions.name))
    if not disciplines:
        return dg.SkipReason("no discipline partitions yet: run `linksyn run` or turn on seed_source_sensor")
    day = context.scheduled_execution_time.strftime("%Y-%m-%d") if context.scheduled_execution_time else "now"
    return [dg.RunRequest(partition_key=d, run_key=f"ingest:{d}:{day}") for d in disciplines]


ALL_SCHEDULES = [daily_ingest_schedule]
