"""`kp_graph`: a discipline's view of the corpus KP graph (nodes, weighted co-occurrence edges, kp->seed
index, bridges included), the corpus built once for every discipline."""

import time
from collections.abc import Iterator

import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import catalog, preview, table_metadata
from linksyn_assets.assets.policies import GRAPH_INPUTS
from linksyn_assets.assets.unchanged import made, recipe, reusable, reused
from linksyn_assets.checks import kp_graph_has_discipline_kps, kp_graph_result
from linksyn_assets.kps.corpus_store import DONE, corpus_partition
from linksyn_assets.kps.graph_tables import NODE_SCHEMA
from linksyn_assets.layout import asset_file, asset_table, corpus_dir
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.reports import GraphReport
from linksyn_assets.seeds.disciplines import stale_disciplines
from linksyn_assets.stages import group_of
from linksyn_assets.storage import Stored, folder_mb
from linksyn_assets.svg_chart import chart, markdown_image
from resources.seed_source import SeedSourceResource

# Set by `linksyn run --disciplines a,b` on its runs: the graph is built without the disciplines never extracted.
CHOSEN_DISCIPLINES_TAG = "linksyn/disciplines"
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED]

BUSY = "seed_kps is being materialized by another run"
BUSY_WAIT_S = 1800.0  # how long kp_graph waits for other runs making seed_kps before it fails (retryable)
BUSY_POLL_S = 5.0


def input_states(instance: dg.DagsterInstance, disciplines: list[str],
                 run_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """(waiting, held back): disciplines whose seed_kps cannot be read yet and may still come (never
    materialized, older than their seeds, or being materialized by another run), and those whose last ingest
    ended without them (a failed blocking check, a failed extraction): those are left out of the graph."""
    def latest(asset: str, discipline: str) -> float | None:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey(asset), asset_partitions=[discipline]), limit=1).records
        return records[0].timestamp if records else None

    busy = {run.tags.get("dagster/partition") for run in instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS))
            if run.run_id != run_id and dg.AssetKey("seed_kps") in (run.asset_selection or set())}
    waiting: dict[str, str] = {}
    held: dict[str, str] = {}
    for discipline in disciplines:
        kps, seeds = latest("seed_kps", discipline), latest("seeds", discipline)
        if discipline in busy:
            waiting[discipline] = BUSY
            continue
        if kps is None:
            problem = "seed_kps never materialized"
        elif seeds is not None and seeds > kps:
            problem = "its seeds changed after its seed_kps"
        else:
            continue
        status = instance.get_status_by_partition(dg.AssetKey("seed_kps"), [discipline], discipline_partitions)
        if status.get(discipline) == dg.AssetPartitionStatus.FAILED:  # settled: no new attempt is under way
            held[discipline] = (f"{problem}: its last attempt failed (a blocking check on its seeds, e.g. "
                                "seeds_well_formed, or the extraction)")
        else:
            waiting[discipline] = problem
    return waiting, held


@dg.asset(partitions_def=discipline_partitions, automation_condition=GRAPH_INPUTS,
          group_name=group_of("kp_graph"), kinds={"polars", "rustworkx"}, check_specs=[kp_graph_has_discipline_kps],
          deps=[dg.AssetDep("seed_kps", partition_mapping=dg.AllPartitionMapping())],  # read by file, hashed
          description="KP co-occurrence graph of one discipline: its KPs, every edge touching them and the KPs "
                      "of other disciplines at their far ends (bridges). A view of the corpus graph, which is "
                      "built once per content version of every discipline's seed_kps and shared by all partitions "
                      "(<data dir>/corpus/kp_graph/<version>/); the partition stores which version it reads.")
def kp_graph(context: dg.AssetExecutionContext,
             seed_source: SeedSourceResource) -> Iterator[dg.Output | dg.AssetCheckResult]:
    discipline = context.partition_key
    active = set(seed_source.disciplines())
    if discipline not in active:
        raise dg.Failure(f"discipline {discipline!r} is not in the current seed source "
                         f"{seed_source.root()}; remove its partition with `linksyn disciplines --prune`",
                         allow_retries=False)
    waiting, held = input_states(context.instance, sorted(active), context.run_id)
    deadline = time.monotonic() + BUSY_WAIT_S
    # another run is making a discipline's seed_kps right now (e.g. the retry of a run whose worker died):
    # wait for it rather than fail a backfill that only has to be patient
    while waiting and all(why == BUSY for why in waiting.values()) and time.monotonic() < deadline:
        context.log.info(f"waiting for other runs to finish seed_kps of {sorted(waiting)}")
        time.sleep(BUSY_POLL_S)
        waiting, held = input_states(context.instance, sorted(active), context.run_id)
    chosen = context.run.tags.get(CHOSEN_DISCIPLINES_TAG)
    if chosen is not None:  # `linksyn run --disciplines`: the others count only with KPs already extracted
        picked = set(chosen.split(","))
        for other in [d for d, why in waiting.items() if d not in picked and "never materialized" in why]:
            held[other] = "not among the chosen disciplines (--disciplines) and never extracted"
            del waiting[other]
    if discipline in held:
        raise dg.Failure(f"{discipline} is held back: {held[discipline]}. Fix its seeds (the seeds_well_formed "
                         "check and the quarantine say what is wrong) or the extraction, then run linksyn_ingest "
                         "for it; the other disciplines go on without it.", allow_retries=False)
    if waiting:  # a graph from a partial set would depend on timing and nothing would refresh it
        raise dg.Failure("kp_graph reads every discipline's seed_kps, and these are not ready: "
                         + "; ".join(f"{d}: {why}" for d, why in waiting.items())
                         + ". Run the linksyn_ingest job for them first (or use the asset backfill or the "
                           "automation sensor, which order the stages).",
                         allow_retries=all(why == BUSY for why in waiting.values()))
    registered = context.instance.get_dynamic_partitions(discipline_partitions.name)
    stale = stale_disciplines(registered, active)
    if stale:
        context.log.warning(f"seed_kps of {len(stale)} discipline(s) no longer in the seed source are left out of "
                            f"the graph: {stale} (`linksyn disciplines --prune` removes their partitions)")
    if held:  # a broken discipline holds back only itself: the graph is built from the others, and says so
        context.log.warning(f"left out of the graph: {held}")
    inputs = [(d, asset_file("seed_kps", d)) for d in sorted(active - set(held))]
    lost = [d for d, path in inputs if not path.exists()]
    if lost:
        raise dg.Failure(f"seed_kps of {lost} were materialized but their files are gone from "
                         f"{asset_file('seed_kps', lost[0]).parent}: re-run linksyn_ingest for them",
                         allow_retries=False)
    made_from = recipe(context, active=sorted(active), held=held, stale=stale)
    prior = reusable(context, made_from, [asset_table("kp_graph", discipline, "corpus")])
    if prior is not None and isinstance(prior.report, GraphReport) and (
            corpus_dir("kp_graph") / prior.report.corpus_version / DONE).exists():
        yield dg.Output({"corpus": Stored()}, **reused(prior))
        yield kp_graph_result(prior.report, set(seed_source.seed_disciplines()) - set(held))
        return
    started = time.perf_counter()
    part = corpus_partition(inputs, discipline, corpus_dir("kp_graph"))
    version, folder, built, summary = part.version, part.folder, part.built, dict(part.summary)
    context.log.info(f"corpus graph {version} {'built' if built else 'reused'} in "
                     f"{time.perf_counter() - started:.1f}s ({folder})")
    hist = summary.pop("degree_histogram", {})
    top = pl.DataFrame(summary.pop("top_kps", []), schema={"name": pl.String, "popularity": pl.Int64,
                                                          "disciplines": pl.List(pl.String), "is_bridge": pl.Boolean})
    degree_plot = chart({"KPs": ([int(d) for d in hist], list(hist.values()))}, "Degree distribution (log-log)",
                        "degree", "number of KPs", log=True, points=True)
    schema = pl.DataFrame(schema=NODE_SCHEMA)
    report = GraphReport.model_validate({**summary, "rows": int(summary.get("nodes", 0)), "corpus_version": version,
                                         "input_disciplines": sorted(set(part.disciplines) & active),
                                         "left_out": held})
    shown = {**table_metadata(schema), "dagster/row_count": dg.MetadataValue.int(report.rows)}
    # rows: nodes of the discipline's view; edges and more in details
    yield dg.Output({"corpus": part.reference}, **made(made_from, {**shown, **catalog(report, None, {
        "top_kps": preview(top, ["name", "popularity", "disciplines", "is_bridge"], rows=15),
        "degree_distribution": dg.MetadataValue.md(markdown_image(degree_plot, "degree distribution")),
        "corpus": dg.MetadataValue.path(str(folder)),
    }, {
        **summary,
        "corpus_built_here": built,
        "corpus_mb": round(folder_mb(folder), 3),
        "stale_disciplines_excluded": stale,
    })}, part.reference))
    yield kp_graph_result(report, set(seed_source.seed_disciplines()) - set(held))
