"""`linkqa_release`: the whole dataset as one release folder with a dataset card."""


import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import catalog, data_versions, latest_report, quality_plot_metadata
from linksyn_assets.assets.policies import RELEASE_INPUTS
from linksyn_assets.assets.unchanged import made_as, recipe, reusable, reused
from linksyn_assets.dataset_store.manifest import all_rejects, read_manifest
from linksyn_assets.kps.corpus_store import home_kp_count
from linksyn_assets.layout import (
    RELEASE_REJECTS,
    asset_table,
    dataset_dir,
    dataset_folder,
    rejects_file,
    release_dir,
    release_version_dir,
    retired_file,
)
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.qc.token_count import TokenCounter
from linksyn_assets.quality.card import Comparison, compare, comparison_markdown, quality_markdown
from linksyn_assets.quality.inputs import mixed_target, quality_of
from linksyn_assets.quality.report import QUALITY_COLUMNS, QualityReport
from linksyn_assets.release.build import (
    LiveShard,
    content_digest,
    cross_discipline_removed,
    live_dataset_shards,
    version_ids,
    write_release,
)
from linksyn_assets.release.files import ReleaseInputs, StageSpend, card_numbers, dataset_card
from linksyn_assets.release.versions import (
    MANIFEST,
    STORE,
    changelog,
    changes,
    no_changes,
    prune_versions,
    publish_version,
    stored_digest,
    versions,
    write_changes,
)
from linksyn_assets.reports import DatasetReport, LLMBatchReport, ReleaseReport, Report, WalkReport
from linksyn_assets.seeds.disciplines import stale_disciplines
from linksyn_assets.stages import group_of
from linksyn_assets.storage import (
    as_path,
    is_local,
    read_if_present,
    read_parquet,
    staging_dir,
    write_parquet_atomic,
)
from linksyn_assets.svg_chart import bar_chart, markdown_image
from resources.pipeline_settings import LinkSynSettingsResource
from resources.seed_source import SeedSourceResource

# stage -> (asset whose materialization records it, nested metadata key or None)
STAGE_METADATA = {"extract": ("seed_kps", None), "synthesize": ("synthesized_qa", None), "harden": ("hard_qa", None),
                  "judge": ("hard_qa", "judge"), "verify": ("linkqa_dataset", "verifier")}


Latest = dict[tuple[str, str], Report]


def _latest_reports(instance: dg.DagsterInstance, disciplines: list[str]) -> Latest:
    """(asset, discipline) -> report of that partition's latest materialization."""
    latest = {}
    for d in disciplines:
        for asset in {a for a, _ in STAGE_METADATA.values()} | {"walk_paths"}:  # walk_paths: the mix target
            report = latest_report(instance, asset, d)
            if report is not None:
                latest[(asset, d)] = report
    return latest


def _stage_spend(latest: Latest) -> dict[str, StageSpend]:
    spend = {stage: StageSpend(set(), set(), 0.0) for stage in STAGE_METADATA}
    for (asset, _), report in latest.items():
        for stage, (source, key) in STAGE_METADATA.items():
            block = getattr(report, key, None) if key else report
            if source != asset or not isinstance(block, LLMBatchReport) or block.model is None:
                continue  # another asset, or skipped (hard_qa outside hard_disciplines)
            spend[stage].models.add(block.model)
            if block.prompt_version:
                spend[stage].prompt_versions.add(block.prompt_version)
            spend[stage].cost_usd += block.data_cost_usd
            spend[stage].price_unknown |= block.llm_price_source == "none"
    return spend


def _benchmark_files(latest: Latest) -> dict[str, dict]:
    files: dict[str, dict] = {}
    for report in latest.values():
        if isinstance(report, DatasetReport):
            files.update(report.benchmark_files)
    return dict(sorted(files.items()))


def _read_inputs(disciplines: list[str], latest: Latest) -> ReleaseInputs:
    """The release's inputs besides the rows: the current disciplines' rejects, and the KPs of each
    discipline's graph from the corpus graph's stored summaries."""
    manifests = {d: read_manifest(dataset_folder(d)) for d in disciplines}
    missing = [d for d, m in manifests.items() if m is None]
    rejects, home = [], {}
    for d, manifest in manifests.items():
        if manifest is None:
            continue
        if manifest.shards:
            rejects.append(all_rejects(dataset_folder(d), manifest).select("discipline", "reason").collect())
        reference = asset_table("kp_graph", d, "corpus")
        count = home_kp_count(read_parquet(reference), d) if reference.exists() else None
        if count is not None:  # the KPs of the corpus graph the discipline's paths were walked on
            home[d] = count
    removed = (pl.concat(rejects) if rejects
               else pl.DataFrame(schema={"discipline": pl.String, "reason": pl.String}))
    return ReleaseInputs(removed, home, _stage_spend(latest), _benchmark_files(latest), missing)


def _plots(numbers: dict, latest: Latest, disciplines: list[str]) -> dict[str, dg.MetadataValue]:
    """What a person would rather look at than read: the discipline mix (target vs released), removals by
    reason and the LLM cost by stage."""
    rows = dict(numbers["by_discipline"].select("discipline", "rows").iter_rows())
    total = sum(rows.values()) or 1
    walks = {d: latest.get(("walk_paths", d)) for d in disciplines}
    target = {d: w.discipline_target_share if isinstance(w, WalkReport) else 0.0 for d, w in walks.items()}
    charts = {
        "discipline_mix_plot": (bar_chart({"target": target, "released": {d: rows.get(d, 0) / total
                                                                          for d in disciplines}},
                                          "Discipline mix: target vs released rows", "share"), "discipline mix"),
        "removed_by_reason_plot": (bar_chart({"rows": {k: float(v) for k, v in numbers["removed_by_reason"].items()}},
                                             "Rows removed, by reason", "rows"), "removed by reason"),
        "cost_by_stage_plot": (bar_chart({"USD": numbers["cost_usd"]}, _cost_title(numbers["cost_unknown"]), "USD"),
                               "cost by stage"),
    }
    return {key: dg.MetadataValue.md(markdown_image(svg, alt)) for key, (svg, alt) in charts.items()}


QUALITY = "quality.json"  # the version's quality report, read back for the next version's changelog


def _stored_quality(folder: Path) -> QualityReport | None:
    """The quality report a version stored (None for versions made before reports were stored)."""
    try:
        return QualityReport.model_validate_json((folder / QUALITY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _partition_quality(latest: Latest) -> dict[str, QualityReport]:
    """discipline -> the quality report of its latest linkqa_dataset materialization."""
    return {d: r.quality for (a, d), r in latest.items()
            if a == "linkqa_dataset" and isinstance(r, DatasetReport) and r.quality is not None}


def _release_quality(shards: list[LiveShard], duplicates: pl.DataFrame, disciplines: list[str], latest: Latest,
                     by_discipline: dict[str, int], settings: LinkSynSettingsResource) -> QualityReport:
    """The report of the released rows: every live dataset row but the cross-discipline duplicates."""
    rows = (pl.concat([s.rows(QUALITY_COLUMNS) for s in shards], how="vertical_relaxed") if shards
            else pl.DataFrame(schema=dict.fromkeys(QUALITY_COLUMNS, pl.String)))
    rows = rows.join(duplicates.select("record_id"), on="record_id", how="anti")
    walks = {d: latest.get(("walk_paths", d)) for d in disciplines}
    target = mixed_target({d: w.difficulty_target if isinstance(w, WalkReport) else None for d, w in walks.items()},
                          by_discipline)
    return quality_of(rows.lazy(), disciplines, disciplines, target, settings.plain().quality)


def _cost_title(unknown: list[str]) -> str:
    """A zero that means "no price known" must not read as "free"."""
    if unknown:
        return f"LLM cost by stage: no price known for {', '.join(unknown)} (shown as 0; set LINKSYN_PRICE_*)"
    return "LLM cost by stage (answers reused count at first cost)"


def _leave_reasons(disciplines: list[str], release_rejects: pl.DataFrame) -> pl.DataFrame:
    """record_id -> why a row left: retired with its path or by QC (linkqa_dataset), or a duplicate of a row
    in another discipline (the release's own dedup)."""
    frames = [release_rejects.select("record_id", "reason")]
    for d in disciplines:
        retired = read_if_present(retired_file("linkqa_dataset", d))
        if retired is not None:
            frames.append(retired.select("record_id", pl.col("retired_reason").alias("reason")))
    return pl.concat(frames)


@dg.asset(ins={"linkqa_dataset": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
          automation_condition=RELEASE_INPUTS, group_name=group_of("linkqa_release"), kinds={"parquet"},
          description="Every discipline's linkqa_dataset as one release: near-duplicates across disciplines "
                      "removed once, Parquet shards + JSONL and a dataset card (README.md) in <data dir>/release.")
def linkqa_release(context: dg.AssetExecutionContext, linkqa_dataset: pl.LazyFrame,
                   settings: LinkSynSettingsResource, seed_source: SeedSourceResource) -> dg.MaterializeResult:
    params = settings.plain().dataset
    registered = context.instance.get_dynamic_partitions(discipline_partitions.name)
    active = set(seed_source.disciplines())
    stale = stale_disciplines(registered, active)
    if stale:
        context.log.warning(f"left out of the release, no longer in the seed source: {stale} "
                            "(`linksyn disciplines --prune` removes their partitions)")
    disciplines = sorted(set(registered) & active)
    latest = _latest_reports(context.instance, disciplines)
    # the other assets' reports it shows (spend, target mix), as data: equal whether fresh or reused
    shown = {f"{a}/{d}": r.reused("").model_dump(mode="json", exclude={"unchanged_since_run"})
             for (a, d), r in latest.items()}
    made_from = recipe(context, settings=settings.plain().model_dump(mode="json"), disciplines=disciplines,
                       stale=stale, reports=shown,  # and the graphs the card's KP coverage is counted on
                       graphs=data_versions(context.instance, "kp_graph", disciplines))
    prior = reusable(context, made_from, [rejects_file(RELEASE_REJECTS)])
    if prior is not None and isinstance(prior.report, ReleaseReport) and as_path(prior.report.release).exists():
        return dg.MaterializeResult(**reused(prior))
    inputs = _read_inputs(disciplines, latest)
    if not [d for d in disciplines if d not in inputs.missing]:
        raise dg.Failure(f"no linkqa_dataset partition of the current seed source's disciplines has been "
                         f"materialized (disciplines: {disciplines})")
    # the rows are read shard by shard from the datasets' folders (the input stays for lineage)
    shards = live_dataset_shards({d: dataset_folder(d) for d in disciplines if d not in inputs.missing})
    duplicates = cross_discipline_removed(shards, params)
    write_parquet_atomic(duplicates, rejects_file(RELEASE_REJECTS))
    root = release_dir()
    earlier = versions(root)
    version = (earlier[-1] if earlier else 0) + 1
    tmp = staging_dir(release_version_dir(version))
    # on a local disk the release's files are content-named in one store and linked into each version
    store = root / STORE if is_local(root) else None
    written = write_release(shards, duplicates, tmp, params.release_shard_rows, params.keep_reasoning,
                            params.release_jsonl, store)
    empty_note = None
    if not written.rows:  # an honest outcome (e.g. the demo model's rows all fail QC), said plainly
        empty_note = (f"every linkqa_dataset partition is empty ({len(disciplines) - len(inputs.missing)} "
                      f"discipline(s), 0 rows): QC removed every row or no row was synthesized; see removed by "
                      f"reason below and the rejects (*.rejects.parquet) in {dataset_dir()}/<discipline>/")
        context.log.warning(f"the release is empty: {empty_note}")
    removed = pl.concat([inputs.rejects, duplicates.select("discipline", "reason")])
    numbers = card_numbers(written.card_rows, removed, inputs)
    last = release_version_dir(earlier[-1]) if earlier else None
    # the last version's digest from its manifest (its rows are read only when they changed, for the changelog)
    last_digest = stored_digest(last) if last is not None else None
    if last is not None and last_digest is None:  # a version made before manifests recorded it
        found = version_ids(last)
        last_digest = content_digest(*found) if found is not None else None
    by_discipline = dict(numbers["by_discipline"].select("discipline", "rows").iter_rows())
    comparison: list[Comparison] = []
    if last_digest is not None and last_digest == written.digest():
        shutil.rmtree(tmp, ignore_errors=True)
        version = earlier[-1]
        out_dir = release_version_dir(version)
        context.log.info(f"release unchanged: {written.rows} rows, still v{version} ({out_dir})")
        change = no_changes(version)
        quality = _stored_quality(out_dir) or _release_quality(shards, duplicates, disciplines, latest,
                                                                by_discipline, settings)
    else:
        quality = _release_quality(shards, duplicates, disciplines, latest, by_discipline, settings)
        before = _stored_quality(last) if last is not None else None
        comparison = compare(before, quality) if before is not None else []
        previous = version_ids(last) if last is not None else None
        change = changes(earlier[-1] if earlier else None, previous[0] if previous else None, written.ids,
                         _leave_reasons(disciplines, duplicates))
        write_changes(change, tmp)
        (tmp / QUALITY).write_text(quality.model_dump_json(indent=1), encoding="utf-8")
        log = changelog(change) + (f"\n\n{comparison_markdown(earlier[-1], comparison)}" if comparison else "")
        (tmp / MANIFEST).write_text(json.dumps(change.manifest(version, written.rows, written.shards,
                                                               written.digest()), indent=1), encoding="utf-8")
        (tmp / "README.md").write_text(dataset_card(numbers, written.shards, TokenCounter(params.tokenizer_json).name,
                                                    inputs.missing, empty_note, version, log,
                                                    quality_markdown(quality, _partition_quality(latest))),
                                       encoding="utf-8")
        out_dir = publish_version(tmp, root, version)
        context.log.info(f"release v{version}: {written.rows} rows in {out_dir} ({change.added.height} added, "
                         f"{change.retired.height} retired since the previous version; {written.files_written} of "
                         f"{len(written.shards)} files written, the rest linked from {STORE}/)")
        pruned = prune_versions(root, params.release_keep_versions)
        if pruned:
            context.log.info(f"release versions deleted (release_keep_versions={params.release_keep_versions}): "
                             f"{', '.join(f'v{v}' for v in pruned)}")
    report = ReleaseReport(
        version=version, rows=written.rows, tokens=numbers["tokens"], rows_added=change.added.height,
        rows_retired=change.retired.height, empty_release=empty_note, release=str(out_dir),
        cross_discipline_duplicates=duplicates.height, removed_by_reason=numbers["removed_by_reason"],
        by_discipline=by_discipline, quality=quality,
        quality_since_previous={c.measure: c.verdict for c in comparison},
        kp_coverage=numbers["kp_coverage"], cost_usd_by_stage=numbers["cost_usd"], models_by_stage=numbers["models"],
        missing_disciplines=inputs.missing, stale_disciplines_excluded=stale)
    return dg.MaterializeResult(**made_as(written.digest(), made_from, catalog(report, None, {
        **_plots(numbers, latest, disciplines),
        **quality_plot_metadata(quality),
        "release": dg.MetadataValue.path(str(out_dir)),
        "card": dg.MetadataValue.md((out_dir / "README.md").read_text(encoding="utf-8")),
    }, {
        "settings": settings.plain().model_dump(mode="json"),
    })))
