"""`kp_graph`: nodes, weighted co-occurrence edges, kp->seed index (bridges included)."""


import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import json_meta, preview, table_metadata
from linksyn_assets.assets.policies import AUTOMATED
from linksyn_assets.kps.graph_tables import build_graph_tables, degree_histogram, graph_summary
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.seeds.disciplines import stale_disciplines
from linksyn_assets.svg_chart import chart, markdown_image
from resources.seed_source import SeedSourceResource


@dg.asset(partitions_def=discipline_partitions, automation_condition=AUTOMATED,
          group_name="knowledge", kinds={"polars", "rustworkx"},
          ins={"seed_kps": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
          description="KP co-occurrence graph of one discipline, built from every discipline's seed_kps "
                      "so that KPs shared with other disciplines are kept as bridges.")
def kp_graph(context: dg.AssetExecutionContext, seed_kps: pl.DataFrame,
             seed_source: SeedSourceResource) -> dg.Output[dict[str, pl.DataFrame]]:
    active = set(seed_source.disciplines())
    if context.partition_key not in active:
        raise dg.Failure(f"discipline {context.partition_key!r} is not in the current seed source "
                         f"{seed_source.root()}; remove its partition with `linksyn disciplines --prune`")
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
    return dg.Output(tables.as_dict(), metadata={
        **table_metadata(tables.nodes),
        "rows": tables.nodes.height,  # nodes; the edge and index tables are counted below
        **summary,
        "kp_seed_links": tables.kp_seeds.height,
        "top_kps": preview(top, ["name", "popularity", "disciplines", "is_bridge"], rows=15),
        "degree_distribution": dg.MetadataValue.md(markdown_image(degree_plot, "degree distribution")),
        "aliases": tables.aliases.height,
        "stale_disciplines_excluded": json_meta(stale),
    })
