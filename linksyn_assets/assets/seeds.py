"""`seeds`: one discipline's normalized seed QA, plus its quarantine table."""


import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import catalog, counts, preview
from linksyn_assets.assets.unchanged import made, recipe, reusable, reused
from linksyn_assets.layout import SKIPPED_SEED_FILES, asset_file, seed_quarantine_file
from linksyn_assets.partitions import discipline_partitions
from linksyn_assets.reports import SeedsReport
from linksyn_assets.seeds.disciplines import name_mapping
from linksyn_assets.seeds.fingerprint import discipline_fingerprint
from linksyn_assets.seeds.readers import skip_summary, skipped_files_table
from linksyn_assets.seeds.sample import sample_seeds
from linksyn_assets.stages import group_of
from linksyn_assets.storage import Stored, write_parquet_atomic
from resources.pipeline_settings import LinkSynSettingsResource
from resources.seed_source import SeedSourceResource


@dg.asset(partitions_def=discipline_partitions, group_name=group_of("seeds"), kinds={"polars"},
          description="Normalized seed QA of one discipline (stable seed_id, NFKC text). Bad rows go to "
                      "<data dir>/quarantine/seeds/<discipline>.parquet with file, row and reason.")
def seeds(context: dg.AssetExecutionContext, seed_source: SeedSourceResource,
          settings: LinkSynSettingsResource) -> dg.Output[pl.DataFrame]:
    discipline = context.partition_key
    made_from = recipe(context, source=seed_source.model_dump(), files=seed_source.fingerprint(),
                       settings=settings.plain().model_dump(mode="json"))
    prior = reusable(context, made_from, [asset_file("seeds", discipline), seed_quarantine_file(discipline),
                                          seed_quarantine_file(SKIPPED_SEED_FILES)])
    if prior is not None:
        return dg.Output(Stored(), **reused(prior))
    load = seed_source.load_discipline(discipline)  # the source is parsed once, not once per partition
    sample = settings.plain().seeds.sample_per_discipline
    table, quarantine = sample_seeds(load.seeds, sample), load.quarantine
    if table.height < load.seeds.height:
        context.log.info(f"{discipline}: a sample of {table.height} of {load.seeds.height} seeds "
                         f"(seeds.sample_per_discipline={sample})")
    quarantine_path = seed_quarantine_file(discipline)
    write_parquet_atomic(quarantine, quarantine_path)
    if quarantine.height:
        context.log.warning(f"{quarantine.height} row(s) quarantined for {discipline}; first: "
                            f"{quarantine['source_file'][0]} row {quarantine['source_row'][0]}: "
                            f"{quarantine['reason'][0]}")
    skipped = skipped_files_table(load.skipped_files)
    skipped_path = seed_quarantine_file(SKIPPED_SEED_FILES)
    write_parquet_atomic(skipped, skipped_path)
    if skipped.height:
        context.log.warning(f"seed source: {skip_summary(load.skipped_files)} (listed in {skipped_path})")
    names = name_mapping(table["discipline_name"].drop_nulls().unique().to_list())
    report = SeedsReport(rows=table.height, seeds_in_source=load.seeds.height, quarantined=quarantine.height,
                         source_files=sum(fmt != "skipped" for fmt in load.files.values()),
                         files_skipped=len(load.skipped_files),
                         files_skipped_reasons=skip_summary(load.skipped_files) or "none",
                         rows_read_all_disciplines=load.rows_read,
                         duplicates_collapsed_all_disciplines=load.duplicates_collapsed,
                         fingerprint=discipline_fingerprint(load.seeds, load.quarantine, discipline),
                         links_outside_source=load.outside_links)
    if load.outside_links:
        context.log.warning(f"seed source: {len(load.outside_links)} file(s) reached through links leading outside "
                            f"{seed_source.root()} ({'refused' if seed_source.outside_links == 'refuse' else 'read'};"
                            f" source.outside_links): {load.outside_links}")
    return dg.Output(table, **made(made_from, catalog(report, table, {
        "quarantine_path": dg.MetadataValue.path(str(quarantine_path)),
        **({"quarantine_preview": preview(quarantine, ["source_file", "source_row", "reason"])}
           if quarantine.height else {}),
        "preview": preview(table, ["seed_id", "question", "answer", "difficulty", "language"]),
    }, {
        "quarantine_reasons": counts(quarantine, "reason"),
        "languages": counts(table, "language"),
        "difficulty": counts(table.with_columns(pl.col("difficulty").cast(pl.String).fill_null("unknown")),
                             "difficulty"),
        "sources": counts(table, "source"),
        "seed_source": str(seed_source.root()),
        "files_skipped_path": str(skipped_path),
        "discipline_names": names,
    }), table))
