"""`linkqa_dataset`: checked, deduplicated rows with provenance, exported as Parquet + JSONL."""


import dagster as dg
import polars as pl

from resources.parquet_io import write_parquet_atomic
from resources.pipeline_settings import LinkSynSettingsResource
from resources.project_paths import data_dir

from ..dataset_qc import assemble, export, quality_check
from ..partitions import discipline_partitions
from .metadata import counts, json_meta, preview


@dg.asset(partitions_def=discipline_partitions, group_name="release", kinds={"polars", "parquet"},
          description="Released rows after schema check and exact dedup; every removed row is in "
                      "<data dir>/rejects/<discipline>.parquet with its reason.")
def linkqa_dataset(context: dg.AssetExecutionContext, synthesized_qa: pl.DataFrame, hard_qa: pl.DataFrame,
                   settings: LinkSynSettingsResource) -> dg.Output[pl.DataFrame]:
    discipline = context.partition_key
    qc = quality_check(assemble(synthesized_qa, hard_qa), settings.plain().dataset)
    paths = export(qc.kept, data_dir() / "dataset", discipline)
    rejects_path = data_dir() / "rejects" / f"{discipline}.parquet"
    write_parquet_atomic(qc.rejects, rejects_path)
    return dg.Output(qc.kept, metadata={
        "rows": qc.kept.height,
        "by_kind": json_meta(counts(qc.kept, "kind")),
        "removed": qc.rejects.height,
        "removed_by_reason": json_meta(qc.reasons()),
        "parquet": dg.MetadataValue.path(str(paths["parquet"])),
        "jsonl": dg.MetadataValue.path(str(paths["jsonl"])),
        "rejects": dg.MetadataValue.path(str(rejects_path)),
        "preview": preview(qc.kept, ["kind", "question", "answer", "difficulty"]),
    })
