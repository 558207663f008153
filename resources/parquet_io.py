"""Our own Parquet IO manager for polars (dagster-polars 0.27 cannot read with polars 2.x).

Where a table lives is linksyn_assets/layout.py's to say (asset_file, asset_folder):
- pl.DataFrame output: <data dir>/assets/<asset>/<partition>.parquet (linkqa_dataset stores its own shards in
  dataset/<partition>/ and is read here as their live rows)
- dict[str, pl.DataFrame] output: <data dir>/assets/<asset>/<partition>/<table>.parquet
Writes go to a temporary file that is renamed into place (linksyn_assets/storage.py), so a crash never
leaves half a table.
Inputs typed pl.LazyFrame are scanned, not read. An output that is `Stored` (a materialization that reused the
stored table) is not written again.
"""


import typing

import dagster as dg
import polars as pl

from linksyn_assets.dataset_store.manifest import live_rows, read_manifest
from linksyn_assets.layout import DATASET_ASSET, asset_file, asset_folder, asset_table, dataset_folder
from linksyn_assets.storage import Stored, read_parquet, scan_parquet, write_parquet_atomic

UNPARTITIONED = "__all__"


class ParquetIOManager(dg.ConfigurableIOManager):
    """Tables under LINKSYN_DATA_DIR, where the layout puts them."""

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None or isinstance(obj, Stored):
            return
        partition = context.partition_key if context.has_partition_key else UNPARTITIONED
        asset = context.asset_key.to_user_string()
        if isinstance(obj, pl.DataFrame):
            path = asset_file(asset, partition)
            write_parquet_atomic(obj, path)
        elif isinstance(obj, dict) and all(isinstance(v, pl.DataFrame) for v in obj.values()):
            path = asset_folder(asset, partition)
            for name, frame in obj.items():
                if not isinstance(frame, Stored):
                    write_parquet_atomic(frame, asset_table(asset, partition, name))
        else:
            raise TypeError(f"{context.asset_key.to_user_string()}: ParquetIOManager stores polars "
                            f"DataFrames or dicts of them, not {type(obj).__name__}")
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> object:
        key = context.asset_key
        asset = key.to_user_string()
        # sorted: an input over many partitions reads them in one order, whatever order Dagster lists them in
        partitions = sorted(context.asset_partition_keys) if context.has_asset_partitions else [UNPARTITIONED]
        wanted = context.dagster_type.typing_type
        if typing.get_origin(wanted) is dict or wanted is dict:
            tables: dict[str, list[pl.DataFrame]] = {}
            for partition in partitions:
                folder = asset_folder(asset, partition)
                if not folder.is_dir():
                    raise FileNotFoundError(f"{key.to_user_string()} partition {partition!r} has no data "
                                            f"at {folder}: materialize it first")
                for file in sorted(folder.glob("*.parquet")):
                    tables.setdefault(file.stem, []).append(read_parquet(file))
            return {name: pl.concat(parts, how="diagonal_relaxed") for name, parts in tables.items()}
        if asset == DATASET_ASSET:
            return self._load_dataset(context, partitions, wanted)
        files = {p: asset_file(asset, p) for p in partitions}
        missing = [p for p, f in files.items() if not f.exists()]
        # Reading all partitions (AllPartitionMapping) works with the ones materialized so far.
        if missing and (len(files) == 1 or len(missing) == len(files)):
            raise FileNotFoundError(f"{asset}: no data for partition(s) {missing} "
                                    f"({files[missing[0]].parent}): materialize them first")
        if missing:
            context.log.warning(f"{asset}: partitions {missing} are not materialized yet; reading the others")
        present = [f for p, f in files.items() if p not in missing]
        if wanted is pl.LazyFrame:
            return scan_parquet(present)
        frames = [read_parquet(f) for f in present]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")

    @staticmethod
    def _load_dataset(context: dg.InputContext, partitions: list[str], wanted: object) -> object:
        """linkqa_dataset: each discipline's live rows (shards minus tombstones, dataset_store/manifest.py)."""
        folders = {p: dataset_folder(p) for p in partitions}
        missing = [p for p, f in folders.items() if read_manifest(f) is None]
        if missing and (len(folders) == 1 or len(missing) == len(folders)):
            raise FileNotFoundError(f"{DATASET_ASSET}: no data for partition(s) {missing} "
                                    f"({folders[missing[0]]}): materialize them first")
        if missing:
            context.log.warning(f"{DATASET_ASSET}: partitions {missing} are not materialized yet; reading the others")
        frames = [live_rows(f) for p, f in folders.items() if p not in missing]
        frames = [f for f in frames if f.collect_schema().names()]  # a dataset with no rows yet has no columns
        lazy = pl.concat(frames, how="diagonal_relaxed") if frames else pl.LazyFrame()
        return lazy if wanted is pl.LazyFrame else lazy.collect()
