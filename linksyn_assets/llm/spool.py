"""Results of a running batch, spooled to Parquet shards so memory stays O(concurrency).

Each shard is written to a temporary file and renamed into place; the asset reads the shards back
(compacts them) when the batch is over and then removes the spool folder.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from linksyn_assets.llm.records import CallResult
from linksyn_assets.storage import write_parquet_atomic


class ResultShards:
    def __init__(self, folder: Path, rows_per_shard: int = 2000) -> None:
        shutil.rmtree(folder, ignore_errors=True)  # a previous attempt's spool; its answers are in the ledger
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.rows_per_shard = rows_per_shard
        self._buffer: list[dict[str, Any]] = []
        self.shards = 0
        self.rows = 0

    def __call__(self, result: CallResult) -> None:
        row = result.model_dump()
        row["data"] = json.dumps(row["data"], ensure_ascii=False) if row["data"] is not None else None
        self._buffer.append(row)
        if len(self._buffer) >= self.rows_per_shard:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.shards += 1
            write_parquet_atomic(pl.DataFrame(self._buffer, infer_schema_length=None),
                                 self.folder / f"shard-{self.shards:06d}.parquet")
            self.rows += len(self._buffer)
            self._buffer.clear()

    def read(self) -> Iterator[CallResult]:
        self.flush()
        for shard in sorted(self.folder.glob("shard-*.parquet")):
            for row in pl.read_parquet(shard).iter_rows(named=True):
                row["data"] = json.loads(row["data"]) if row["data"] is not None else None
                yield CallResult(**row)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
