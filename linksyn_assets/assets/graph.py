"""`kp_graph`: nodes, weighted co-occurrence edges, kp->seed index (bridges included)."""


import dagster as dg
import polars as pl

from ..kp_graph import build_graph_tables, degree_histogram, graph_summary
from ..partitions import discipline_partitions
from ..svg_chart import chart, markdown_image
from .metadata import preview


@dg.asset(partitions_def=discipline_partitions, group_name="knowledge", kinds={"polars", "rustworkx"},
          ins={"seed_kps": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
          description="KP co-occurrence graph of one discipline, built from every discipline's seed_kps "
                      "so that KPs shared with other disciplines are kept as bridges.")
def kp_graph(context: dg.AssetExecutionContext, seed_kps: pl.DataFrame) -> dg.Output[dict[str, pl.DataFrame]]:
    tables = build_graph_tables(seed_kps, context.partition_key)
    summary = graph_summary(tables)
    top = tables.nodes.filter(pl.col("in_discipline")).sort("popularity", "kp_id", descending=[True, False])
    hist = degree_histogram(tables)
    degree_plot = chart({"KPs": (hist["degree"].to_list(), hist["kps"].to_list())}, "Degree distribution (log-log)",
                        "degree", "number of KPs", log=True, points=True)
    return dg.Output(tables.as_dict(), metadata={
        "rows": tables.nodes.height,  # nodes; the edge and index tables are counted below
        **summary,
        "kp_seed_links": tables.kp_seeds.height,
        "top_kps": preview(top, ["name", "popularity", "disciplines", "is_bridge"], rows=15),
        "degree_distribution": dg.MetadataValue.md(markdown_image(degree_plot, "degree distribution")),
        "aliases": tables.aliases.height,
    })
