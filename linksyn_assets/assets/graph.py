"""`kp_graph`: nodes, weighted co-occurrence edges, kp->seed index (bridges included)."""


import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import catalog, preview
from linksyn_assets.assets.policies import ACROSS_DISCIPLINES
from linksyn_assets.kps.graph_tables import build_graph_tables, degree_histogram, graph_summary
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.seeds.disciplines import stale_disciplines
from linksyn_assets.svg_chart import chart, markdown_image
from resources.seed_source import SeedSourceResource

IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED]


def unready_inputs(instance: dg.DagsterInstance, disciplines: list[str], run_id: str) -> dict[str, str]:
    """discipline -> why its seed_kps cannot be read yet: never materialized, older than its seeds, or being
    materialized by another run right now."""
    def latest(asset: str, discipline: str) -> float | None:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey(asset), asset_partitions=[discipline]), limit=1).records
        return records[0].timestamp if records else None

    busy = {run.tags.get("dagster/partition") for run in instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS))
            if run.run_id != run_id and dg.AssetKey("seed_kps") in (run.asset_selection or set())}
    waiting: dict[str, str] = {}
    for discipline in disciplines:
        kps, seeds = latest("seed_kps", discipline), latest("seeds", discipline)
        if kps is None:
            waiting[discipline] = "seed_kps never materialized"
        elif seeds is not None and seeds > kps:
            waiting[discipline] = "its seeds changed after its seed_kps"
        elif discipline in busy:
            waiting[discipline] = "seed_kps is being materialized by another run"
    return waiting


@dg.asset(partitions_def=discipline_partitions, automation_condition=ACROSS_DISCIPLINES,
          group_name="knowledge", kinds={"polars", "rustworkx"},
          ins={"seed_kps": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
          description="KP co-occurrence graph of one discipline, built from every discipline's seed_kps "
                      "so that KPs shared with other disciplines are kept as bridges.")
def kp_graph(context: dg.AssetExecutionContext, seed_kps: pl.DataFrame,
             seed_source: SeedSourceResource) -> dg.Output[dict[str, pl.DataFrame]]:
    active = set(seed_source.disciplines())
    if context.partition_key not in active:
        raise dg.Failure(f"discipline {context.partition_key!r} is not in the current seed source "
                         f"{seed_source.root()}; remove its partition with `linksyn disciplines --prune`",
                         allow_retries=False)
    waiting = unready_inputs(context.instance, sorted(active), context.run_id)
    if waiting:  # a graph from a partial set would depend on timing and nothing would refresh it
        raise dg.Failure("kp_graph reads every discipline's seed_kps, and these are not ready: "
                         + "; ".join(f"{d}: {why}" for d, why in waiting.items())
                         + ". Run the linksyn_ingest job for them first (or use the asset backfill or the "
                           "automation sensor, which order the stages).", allow_retries=False)
    stale = stale_disciplines(seed_kps["discipline"].unique().to_list(), active)
    if stale:
        context.log.warning(f"seed_kps of {len(stale)} discipline(s) no longer in the seed source are left out of "
                            f"the graph: {stale} (`linksyn disciplines --prune` removes their partitions)")
    tables = build_graph_tables(seed_kps.filter(pl.col("discipline").is_in(sorted(active))), context.partition_key)
    summary = graph_summary(tables)
    top = tables.nodes.filter(pl.col("in_discipline")).sort("popularity", "kp_id", descending=[True, False])
    hist = degree_histogram(tables)
    degree_plot = chart({"KPs": (hist["degree"].to_list(), hist["kps"].to_list())}, "Degree distribution (log-log)",
                        "degree", "number of KPs", log=True, points=True)
    return dg.Output(tables.as_dict(), metadata=catalog(tables.nodes, {
        "rows": tables.nodes.height,  # nodes; the edge and index tables are counted in details
        "top_kps": preview(top, ["name", "popularity", "disciplines", "is_bridge"], rows=15),
        "degree_distribution": dg.MetadataValue.md(markdown_image(degree_plot, "degree distribution")),
    }, {
        **summary,
        "kp_seed_links": tables.kp_seeds.height,
        "aliases": tables.aliases.height,
        "stale_disciplines_excluded": stale,
        "input_disciplines": sorted(set(seed_kps["discipline"].unique().to_list()) & active),
    }))
