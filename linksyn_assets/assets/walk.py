"""`walk_paths`: value-guided walks over the KP graph and the seeds chosen along each path."""


import dagster as dg
import numpy as np
import polars as pl

from resources.pipeline_settings import LinkSynSettingsResource

from ..kp_graph import GraphTables
from ..partitions import discipline_partitions
from ..walk_report import walk_report
from ..walks import WalkGraph, difficulty_target, paths_wanted, sample_paths
from .metadata import json_meta, preview

PATH_SCHEMA: dict[str, pl.DataType] = {
    "path_id": pl.String(), "discipline": pl.String(), "path_index": pl.Int32(),
    "kp_ids": pl.List(pl.String()), "kp_names": pl.List(pl.String()), "seed_ids": pl.List(pl.String()),
    "target_difficulty": pl.Int8(), "cross_steps": pl.Int16(), "values": pl.List(pl.Float64()),
    "rng_seed": pl.Int64(),
}


@dg.asset(partitions_def=discipline_partitions, group_name="knowledge", kinds={"numpy"},
          description="Paths drawn with V(v) = p(v)^alpha (1+n(v))^-beta and P(u->v) ~ w^gamma V(v); "
                      "2-4 seeds chosen along each path for synthesis.")
def walk_paths(context: dg.AssetExecutionContext, kp_graph: dict[str, pl.DataFrame],
               settings: LinkSynSettingsResource) -> dg.Output[pl.DataFrame]:
    discipline = context.partition_key
    params = settings.plain().walk
    tables = GraphTables.from_dict(kp_graph)
    graph = WalkGraph.from_tables(tables)
    wanted = paths_wanted(discipline, tables.discipline_stats, params)
    home_seeds = tables.kp_seeds.filter(pl.col("seed_discipline") == discipline).unique("seed_id")
    hist = difficulty_target(params, home_seeds["difficulty"].to_list())
    result = sample_paths(graph, discipline, wanted, params, hist)
    table = pl.DataFrame([p.model_dump() for p in result.paths], schema=PATH_SCHEMA) if result.paths \
        else pl.DataFrame(schema=PATH_SCHEMA)
    if len(result.paths) < wanted:
        context.log.warning(f"{discipline}: drew {len(result.paths)} of {wanted} paths "
                            f"({result.too_few_seeds} draws had fewer than {params.min_seeds} seeds)")
    report = walk_report(tables, graph, result, hist, params.rng_seed)
    return dg.Output(table, metadata={
        "rows": table.height, "paths_wanted": wanted, "draws": result.draws,
        "draws_with_too_few_seeds": result.too_few_seeds,
        "mean_path_length": round(float(np.mean([len(p.kp_ids) for p in result.paths])), 3)
        if result.paths else 0.0,
        **{k: v for k, v in report.items() if not isinstance(v, dict | list | str)},
        "coverage_curve": dg.MetadataValue.md(report["coverage_curve"]),
        "difficulty_target": json_meta([round(float(x), 4) for x in hist]),
        "difficulty_realized": json_meta(report["difficulty_realized"]),
        "params": json_meta(params.model_dump(mode="json")),
        "preview": preview(table, ["kp_names", "seed_ids", "target_difficulty"]),
    })
