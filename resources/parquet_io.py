"""Our own Parquet IO manager for polars (dagster-polars 0.27 cannot read with polars 2.x).

Layout under <data dir>/assets/<asset>/:
- pl.DataFrame output: <partition>.parquet
- dict[str, pl.DataFrame] output: <partition>/<table>.parquet
Writes go to a temporary file that is renamed into place (linksyn_assets/storage.py), so a crash never
leaves half a table.
Inputs typed pl.LazyFrame are scanned, not read.
"""


import typing
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from linksyn_assets.layout import assets_dir
from linksyn_assets.storage import as_path, read_parquet, scan_parquet, write_parquet_atomic

UNPARTITIONED = "__all__"


class ParquetIOManager(dg.ConfigurableIOManager):
    base_dir: str = Field("", description="empty = <LINKSYN_DATA_DIR>/assets")

    def _root(self, key: dg.AssetKey) -> Path:
        base = as_path(self.base_dir) if self.base_dir else assets_dir()
        return base.joinpath(*key.path)

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:
            return
        partition = context.partition_key if context.has_partition_key else UNPARTITIONED
        root = self._root(context.asset_key)
        if isinstance(obj, pl.DataFrame):
            path = root / f"{partition}.parquet"
            write_parquet_atomic(obj, path)
        elif isinstance(obj, dict) and all(isinstance(v, pl.DataFrame) for v in obj.values()):
            path = root / partition
            for name, frame in obj.items():
                write_parquet_atomic(frame, path / f"{name}.parquet")
        else:
            raise TypeError(f"{context.asset_key.to_user_string()}: ParquetIOManager stores polars "
                            f"DataFrames or dicts of them, not {type(obj).__name__}")
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> object:
        key = context.asset_key
        partitions = context.asset_partition_keys if context.has_asset_partitions else [UNPARTITIONED]
        root = self._root(key)
        wanted = context.dagster_type.typing_type
        if typing.get_origin(wanted) is dict or wanted is dict:
            tables: dict[str, list[pl.DataFrame]] = {}
            for partition in partitions:
                folder = root / partition
                if not folder.is_dir():
                    raise FileNotFoundError(f"{key.to_user_string()} partition {partition!r} has no data "
                                            f"at {folder}: materialize it first")
                for file in sorted(folder.glob("*.parquet")):
                    tables.setdefault(file.stem, []).append(read_parquet(file))
            return {name: pl.concat(parts, how="diagonal_relaxed") for name, parts in tables.items()}
        files = [root / f"{p}.parquet" for p in partitions]
        missing = [f for f in files if not f.exists()]
        # Reading all partitions (AllPartitionMapping) works with the ones materialized so far.
        if missing and (len(files) == 1 or len(missing) == len(files)):
            raise FileNotFoundError(f"{key.to_user_string()}: no data for partition(s) "
                                    f"{[f.stem for f in missing]} under {root}: materialize them first")
        if missing:
            context.log.warning(f"{key.to_user_string()}: partitions {[f.stem for f in missing]} are not "
                                "materialized yet; reading the others")
            files = [f for f in files if f.exists()]
        if wanted is pl.LazyFrame:
            return scan_parquet(files)
        frames = [read_parquet(f) for f in files]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
