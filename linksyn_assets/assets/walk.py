"""`walk_paths`: value-guided walks over the KP graph and the seeds chosen along each path."""

import time
from collections.abc import Iterator

import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import catalog, latest_report, preview
from linksyn_assets.assets.policies import AUTOMATED
from linksyn_assets.assets.unchanged import made, recipe, reusable, reused
from linksyn_assets.checks import walk_paths_result, walk_paths_within_targets
from linksyn_assets.kps.corpus_store import read_partition
from linksyn_assets.layout import asset_file, retired_file
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.release.targets import target_share, walk_round
from linksyn_assets.reports import DatasetReport, WalkReport
from linksyn_assets.stages import group_of
from linksyn_assets.storage import Stored, read_if_present, write_parquet_atomic
from linksyn_assets.svg_chart import bar_chart, markdown_image
from linksyn_assets.walks.csr_graph import WalkGraph
from linksyn_assets.walks.engine import WalkEngine, path_table
from linksyn_assets.walks.history import carry_over
from linksyn_assets.walks.plan import difficulty_target, discipline_targets, paths_wanted
from linksyn_assets.walks.report import walk_report
from resources.pipeline_settings import LinkSynSettingsResource


@dg.asset(partitions_def=discipline_partitions, automation_condition=AUTOMATED,
          group_name=group_of("walk_paths"), kinds={"numpy", "numba"}, check_specs=[walk_paths_within_targets],
          description="Paths drawn with V(v) = p(v)^alpha (1+n(v))^-beta and P(u->v) ~ w^gamma V(v) by the "
                      "batched engine; 2-4 seeds chosen along each path for synthesis. Append-only: earlier "
                      "paths are kept while their KPs and seeds exist (retired with the reason otherwise), "
                      "and only the paths still missing are drawn. With dataset.target_rows/target_tokens set, "
                      "the path count is sized from linkqa_dataset's last pass rate to reach the discipline's "
                      "share of the target.")
def walk_paths(context: dg.AssetExecutionContext, kp_graph: dict[str, pl.DataFrame],
               settings: LinkSynSettingsResource) -> Iterator[dg.Output | dg.AssetCheckResult]:
    discipline = context.partition_key
    params = settings.plain().walk
    dataset = settings.plain().dataset
    growing = dataset.target_rows is not None or dataset.target_tokens is not None
    measured = latest_report(context.instance, "linkqa_dataset", discipline) if growing else None
    assert measured is None or isinstance(measured, DatasetReport)
    made_from = recipe(context, settings=settings.plain().model_dump(mode="json"),
                       measured=measured.model_dump(include={"rows", "tokens", "paths"}) if measured else None)
    prior = reusable(context, made_from, [asset_file("walk_paths", discipline)])
    if prior is not None and isinstance(prior.report, WalkReport):
        yield dg.Output(Stored(), **reused(prior))
        yield walk_paths_result(prior.report)
        return
    tables = read_partition(kp_graph["corpus"], discipline)
    graph = WalkGraph.from_tables(tables)
    shares = discipline_targets(tables.discipline_stats, params)
    target = target_share(dataset.target_rows or dataset.target_tokens, shares, discipline)
    default = paths_wanted(discipline, tables.discipline_stats, params)
    measured = measured if target is not None else None
    # growth toward the target is sized here, so the UI, backfills, the sensors and `linksyn run` all honour it
    wanted = walk_round(target, measured.measure("rows" if dataset.target_rows else "tokens") if measured else None,
                        measured.paths if measured else 0, default)
    home_seeds = tables.kp_seeds.filter(pl.col("seed_discipline") == discipline).unique("seed_id")
    hist = difficulty_target(params, home_seeds["difficulty"].to_list(), settings.plain().difficulty)
    retired_path = retired_file("walk_paths", discipline)
    earlier_retired = read_if_present(retired_path)
    history = carry_over(read_if_present(asset_file("walk_paths", discipline)), graph, params.max_length,
                         params.redraw, earlier_retired)
    missing = max(0, wanted - history.kept.height)
    started = time.perf_counter()
    engine = WalkEngine(graph, params)
    result = engine.run(discipline, missing, hist, history=history.nodes, first_index=history.next_index)
    seconds = time.perf_counter() - started
    new = path_table(graph, result, discipline, params, first_index=history.next_index)
    table = pl.concat([history.kept, new]) if history.kept.height else new
    if history.retired.height:
        retired = history.retired.with_columns(retired_at=pl.lit(context.run_id))
        write_parquet_atomic(pl.concat([earlier_retired, retired], how="diagonal_relaxed")
                             if earlier_retired is not None else retired, retired_path)
        context.log.warning(f"{discipline}: {history.retired.height} earlier path(s) retired "
                            f"({history.retired_reasons}); their rows leave the dataset")
    if result.count < missing:
        context.log.warning(f"{discipline}: drew {result.count} of {missing} missing paths "
                            f"({result.too_few_seeds} draws had fewer than {params.min_seeds} seeds)")
    context.log.info(f"{discipline}: {result.count} paths in {seconds:.2f}s, {result.stats.batches} batches of at "
                     f"most {result.batch}; acceptance {result.stats.acceptance:.3f}, {result.stats.exact_scans} scans")
    stats = walk_report(tables, graph, result, hist, params.rng_seed)
    scalars = {k: v for k, v in stats.items() if not isinstance(v, dict | list | str)}
    report = WalkReport.model_validate({
        **scalars, "rows": table.height, "paths_new": new.height, "paths_kept": history.kept.height,
        "paths_retired": history.retired.height, "paths_wanted": wanted,
        "paths_for_target": wanted if target is not None else None,
        "discipline_target_share": round(shares.get(discipline, 0.0), 4),
        "difficulty_target": [round(float(x), 4) for x in hist]})
    difficulty_plot = bar_chart({"target": {f"level {i}": round(float(x) * max(1, result.count), 2)
                                            for i, x in enumerate(hist)},
                                 "realized": {f"level {i}": float(x)
                                              for i, x in enumerate(stats["difficulty_realized"])}},
                                f"Difficulty of the {result.count} new paths: target vs realized", "paths")
    yield dg.Output(table, **made(made_from, catalog(report, table, {
        "coverage_curve": dg.MetadataValue.md(stats["coverage_curve"]),
        "difficulty_mix": dg.MetadataValue.md(markdown_image(difficulty_plot, "difficulty target vs realized")),
        "preview": preview(table, ["kp_names", "seed_ids", "target_difficulty"]),
    }, {
        "paths_default": default, "retired_reasons": history.retired_reasons, "retired_path": str(retired_path),
        "draws": result.draws, "draws_with_too_few_seeds": result.too_few_seeds,
        "mean_path_length": round(float(result.lengths.mean()), 3) if result.count else 0.0,
        **scalars,
        "difficulty_target": [round(float(x), 4) for x in hist],
        "difficulty_realized": stats["difficulty_realized"],
        "batch_paths_max": result.batch, "engine_batches": result.stats.batches, "engine_seconds": round(seconds, 3),
        "engine_acceptance": round(result.stats.acceptance, 4), "engine_exact_scans": result.stats.exact_scans,
        "engine_rows_rebuilt": result.stats.rows_rebuilt,
        "settings": settings.plain().model_dump(mode="json"),  # the effective settings of the run
    }), table))
    yield walk_paths_result(report)
