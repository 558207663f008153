"""Benchmark files for decontamination: read, indexed once per process and settings, and checked against a
QA table (plain functions, no Dagster).

The text checked for contamination is the whole record (question, options, answer, solution), against
benchmark items' question + options. Contamination is checked first, so a planted benchmark question is
reported as contamination, not as a duplicate of another planted copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from linksyn_assets.qc.decontamination import EXACT, BenchmarkIndex, Contamination, check
from linksyn_assets.qc.dedup import question_text, record_text
from linksyn_assets.qc.fingerprints import chunks, token_hashes
from linksyn_assets.seeds.readers import read_benchmark_dir, source_files
from linksyn_assets.storage import file_stamps

MIN_INDEXED_SHARE = 0.5


@dataclass
class Benchmarks:
    index: BenchmarkIndex
    items: pl.DataFrame  # source_file, source_row, question: what a contaminated row matched
    files: dict[str, dict]  # file -> format, data_rows, items, not_indexed (reason -> rows); or format
    # "skipped" and the reason the file was not read

    def skipped(self) -> dict[str, str]:
        return {name: f["skipped"] for name, f in self.files.items() if f.get("format") == "skipped"}

    @classmethod
    def load(cls, paths: list[str | Path], n: int, containment: float) -> Benchmarks:
        """Benchmark files or folders, read with the seed readers (MMLU, CMMLU, C-Eval, GSM8K, ...); every
        question counts, with or without an answer. A file that gives no item, or fewer than
        MIN_INDEXED_SHARE of its rows, is an error naming it: a card must never claim a check that did
        not happen."""
        frames, files = [], {}
        for path in paths:
            load = read_benchmark_dir(Path(path))
            if not load.files:
                raise ValueError(f"benchmark source {path} has no benchmark files "
                                 f"(skipped: {load.skipped_files or 'none'})")
            for f in load.files:
                usable = f.items + f.not_indexed.get("exact duplicate", 0)
                if f.data_rows == 0 or usable < MIN_INDEXED_SHARE * f.data_rows:
                    raise ValueError(f"benchmark file {Path(path) / f.file if Path(path).is_dir() else path}: "
                                     f"{f.items} of {f.data_rows} rows indexed (format {f.format}; not indexed: "
                                     f"{f.not_indexed or 'none'})")
                files[f"{path}:{f.file}"] = {"format": f.format, "data_rows": f.data_rows, "items": f.items,
                                             "not_indexed": f.not_indexed}
            # a file that is not benchmark data (a README, a mapping) is reported, never passed over in silence
            files.update({f"{path}:{name}": {"format": "skipped", "skipped": reason}
                          for name, reason in load.skipped_files.items()})
            frames.append(load.items)
        items = pl.concat(frames) if frames else pl.DataFrame(
            schema={"source_file": pl.String, "source_row": pl.Int64, "question": pl.String,
                    "options": pl.List(pl.String)})
        # each item twice: with its options, and its question alone (a leak may drop the options)
        n_items = items.height
        items = pl.concat([items.with_columns(text=question_text()), items.with_columns(text=pl.col("question"))])
        tokens = token_hashes(items["text"]) if items.height else None
        groups = np.tile(np.arange(n_items), 2)
        index = BenchmarkIndex.build(tokens, n, containment, groups) if tokens is not None else None
        return cls(index, items.drop("options", "text"), files)  # type: ignore[arg-type]

    @staticmethod
    def version(paths: list[str], n: int, containment: float) -> tuple:
        """What a loaded index depends on: the files (by size and mtime) and the index settings."""
        return tuple((p, file_stamps(source_files(Path(p)))) for p in paths), n, containment

    def check(self, rows: pl.DataFrame) -> Contamination:
        if self.index is None or rows.is_empty():
            n = rows.height
            return Contamination(np.full(n, -1, np.int64), np.zeros(n, np.int8), np.zeros(n))
        parts = [check(self.index, token_hashes(chunk.select(record_text())["question"])) for chunk in chunks(rows)]
        return Contamination(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("item", "kind", "score")))

    def describe(self, found: Contamination) -> list[str | None]:
        """A reason per row: which benchmark item it matched and how."""
        hit = found.item >= 0
        reasons: list[str | None] = [None] * found.item.size
        if not hit.any():
            return reasons
        matched = self.items[found.item[hit]]
        for slot, (file, row), kind, score in zip(np.flatnonzero(hit), matched.select("source_file", "source_row")
                                                  .iter_rows(), found.kind[hit], found.score[hit], strict=True):
            how = "a shared long n-gram" if kind == EXACT else f"{score:.0%} of its trigrams"
            reasons[slot] = f"benchmark contamination: {file} row {row} ({how})"
        return reasons
