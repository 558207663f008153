"""Reading a directory of seed (or benchmark) files into one normalized table plus quarantine rows.

The formats are in seeds/formats/ (one module per family, a registry by suffix); turning a format's fields
into a seed is seeds/validation.py.

Formats (detected per file):
- canonical: JSONL / JSON array / CSV / Parquet with columns question, options, answer,
  explanation, discipline, subject, difficulty, language, source (question and answer required);
- MMLU CSV (no header: question, A, B, C, D, answer letter; subject from the file name);
- CMMLU / C-Eval CSV (header row with Question/A/B/C/D/Answer, index or id column first);
- GSM8K JSONL ({question, answer} with the final answer after '####');
- TAL-SCQ5K JSONL ({problem, answer_option_list, answer_value, difficulty, knowledge_point_routes});
- AGIEval JSONL ({passage, question, options, label, answer, other}).

Every input row becomes a seed or a quarantine row naming file, row and reason, and no file can
stop the others: any error while reading one file quarantines that file (row 0) with the error.
Row numbers are 1-based: the line for JSONL, the data row (header excluded) for CSV,
the record for JSON arrays and Parquet; 0 stands for the whole file.

Benchmark files (for decontamination) go through the same readers (read_benchmark_dir), where an
answer is optional: a test split without answers (C-Eval test: `id,question,A,B,C,D`) is still
every question.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from linksyn_assets.records import BenchmarkItem, QuarantineRow, SeedRecord
from linksyn_assets.seeds.disciplines import discipline_key
from linksyn_assets.seeds.files import EmptyFile, NotSeeds, RowError, raw_preview
from linksyn_assets.seeds.formats import SEED_SUFFIXES, file_rows
from linksyn_assets.seeds.validation import MAX_FIELD_CHARS, to_item, to_seed
from linksyn_assets.text.excerpt import excerpt

SEED_SCHEMA: dict[str, pl.DataType] = {
    "seed_id": pl.String(), "question": pl.String(), "options": pl.List(pl.String()),
    "answer": pl.String(), "explanation": pl.String(), "discipline": pl.String(),
    "subject": pl.String(), "difficulty": pl.Int8(), "language": pl.String(),
    "source": pl.String(), "source_file": pl.String(), "source_row": pl.Int64(),
    "kp_routes": pl.List(pl.String()), "discipline_name": pl.String(), "provenance": pl.String(),
}
BENCHMARK_ITEM_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(), "source_row": pl.Int64(), "question": pl.String(), "options": pl.List(pl.String()),
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(), "source_row": pl.Int64(), "reason": pl.String(),
    "raw": pl.String(), "discipline": pl.String(),
}
@dataclass
class SeedLoad:
    seeds: pl.DataFrame
    quarantine: pl.DataFrame
    files: dict[str, str] = field(default_factory=dict)  # file -> detected format ("skipped" for unused files)
    skipped_files: dict[str, str] = field(default_factory=dict)  # file -> why no row of it was used
    rows_read: int = 0
    duplicates_collapsed: int = 0
    outside_links: dict[str, str] = field(default_factory=dict)  # file -> where its link leads, outside the source
    disciplines: list[str] = field(default_factory=list)  # with seeds or quarantined rows
    seed_disciplines: list[str] = field(default_factory=list)  # with seeds
    seed_count: int = 0


OUTSIDE_LINKS = ("follow", "refuse")  # source.outside_links


def links_outside(root: Path) -> dict[str, str]:
    """file -> its resolved target, for files under root reached through a link that leads outside root (as an
    untrusted archive may hold: `data.csv -> /etc/passwd`)."""
    if root.is_file():
        return {}
    base = root.resolve()
    out = {}
    for path in source_files(root):
        target = path.resolve()
        if not target.is_relative_to(base):
            out[str(path.relative_to(root))] = str(target)
    return out


def source_files(root: Path) -> list[Path]:
    """Every file under root but hidden ones (`.git/`, `.DS_Store`): each is read or reported as skipped."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def skipped_files_table(skipped: dict[str, str]) -> pl.DataFrame:
    """One file-level quarantine row (source_row 0) per file no row was used from."""
    return pl.DataFrame([QuarantineRow(source_file=name, source_row=0, reason=reason, raw="").model_dump()
                         for name, reason in sorted(skipped.items())], schema=QUARANTINE_SCHEMA)


def skip_summary(skipped: dict[str, str]) -> str:
    """`N file(s) skipped: reason x n; ...` (empty when nothing was skipped)."""
    if not skipped:
        return ""
    reasons = Counter(skipped.values())
    return f"{len(skipped)} file(s) skipped: " + "; ".join(f"{reason} x {n}" for reason, n in reasons.most_common())


@dataclass
class _FileResult:
    fmt: str
    records: list[Any]  # SeedRecord or BenchmarkItem
    bad: list[tuple[int, str, str, str | None]]  # row, reason, raw preview, discipline the row names
    rows: int


Event = tuple[list[Any], tuple[int, str, str, str | None] | None]  # (records of a row, or why the row is bad)


def _row_events(path: Path, name: str, convert: Any) -> tuple[str, Iterator[Event]]:
    """The file's format and, row by row, its records (a record with several sub-questions gives one seed each,
    or none: one reason for the row) or the reason it is quarantined. Lazy: a reader that streams keeps memory
    to a row."""
    fmt, rows = file_rows(path, name)

    def events() -> Iterator[Event]:
        for row_no, raw, parsed in rows:
            try:
                if isinstance(parsed, RowError):
                    raise parsed
                yield ([convert(part, name, row_no) for part in parsed] if isinstance(parsed, list)
                       else [convert(parsed, name, row_no)]), None
            except RowError as exc:
                own = parsed.get("discipline") if isinstance(parsed, dict) else None
                yield [], (row_no, excerpt(str(exc), REASON_CHARS), raw_preview(raw),
                           own if isinstance(own, str) and own else None)

    return fmt, events()


def _read_file(path: Path, name: str, convert: Any) -> _FileResult:
    """Every row of one file, collected; raises for a file that cannot be read at all."""
    fmt, events = _row_events(path, name, convert)
    out = _FileResult(fmt, [], [], 0)
    for records, bad in events:
        out.rows += 1
        out.records.extend(records)
        if bad is not None:
            out.bad.append(bad)
    return out


def _sources(root: Path, refused: dict[str, str]) -> Iterator[tuple[str, Path | Exception]]:
    """(name, the file to read, or the reason it is not read) per file under root; `refused` files (links leading
    outside the source) are not opened."""
    if not root.exists():
        raise FileNotFoundError(f"seed source {root} does not exist")
    base = root if root.is_dir() else root.parent
    for path in source_files(root):
        name = str(path.relative_to(base))
        if name in refused:
            yield name, NotSeeds(f"a link leading outside the seed folder (to {refused[name]}); not read because "
                                 "source.outside_links = refuse")
        elif path.suffix.casefold() not in SEED_SUFFIXES:
            yield name, NotSeeds(f"not a seed file type ({path.suffix or 'no suffix'}; seed files end in "
                                 f"{', '.join(SEED_SUFFIXES)})")
        else:
            yield name, path


def _each_file(root: Path, convert: Any, refused: dict[str, str]) -> Iterator[tuple[str, _FileResult | Exception]]:
    """(name, result or the reason the whole file was not read) per file under root."""
    for name, source in _sources(root, refused):
        if isinstance(source, Exception):
            yield name, source
            continue
        try:
            yield name, _read_file(source, name, convert)
        except Exception as exc:  # noqa: BLE001 -- one file must never stop the others; the reason is kept
            yield name, exc


REASON_CHARS = 240


_QUOTED = re.compile("'[^']*'|\"[^\"]*\"")
_NAME = re.compile(r"""['"][A-Za-z_][A-Za-z0-9_ ]{0,23}['"]""")


def _reason_kind(reason: str) -> str:
    """A row reason without the row's content: quoted values are cut out (a quoted field name stays)."""
    return _QUOTED.sub(lambda m: m.group(0) if _NAME.fullmatch(m.group(0)) else "'…'", reason)[:REASON_CHARS]


def _file_reason(exc: Exception) -> str:
    if isinstance(exc, NotSeeds):
        return excerpt(f"not seeds: {exc}", REASON_CHARS)
    if isinstance(exc, EmptyFile):
        return "empty file: no data rows"
    if isinstance(exc, RowError | UnicodeDecodeError):
        return excerpt(f"file unreadable: {exc}", REASON_CHARS)
    return excerpt(f"file unreadable: {type(exc).__name__}: {exc}", REASON_CHARS)


SEED_CHUNK_ROWS = 20_000  # seeds handed to the writer at a time: parsing memory is a chunk, not the source


def _seed_row(seed: SeedRecord) -> dict[str, Any]:
    return {**seed.model_dump(), "provenance": json.dumps(seed.provenance, ensure_ascii=False, sort_keys=True)
            if seed.provenance else None}


class _Chunks:
    """Seeds and quarantine rows handed to `write` in chunks; an exact duplicate of an earlier seed (same
    seed_id, anywhere in the source) is counted and dropped, the first one kept."""

    def __init__(self, write: Callable[[str, pl.DataFrame], None], rows: int) -> None:
        self.write, self.rows = write, rows
        self.seeds: list[dict[str, Any]] = []
        self.quarantine: list[dict[str, Any]] = []
        self.seen: set[int] = set()  # seed ids are 64-bit hex: kept as ints (about 60 bytes per seed)
        self.kept = self.collapsed = 0
        self.disciplines: set[str] = set()
        self.seed_disciplines: set[str] = set()

    def seed(self, seed: SeedRecord) -> None:
        key = int(seed.seed_id.removeprefix("s_"), 16)
        if key in self.seen:
            self.collapsed += 1
            return
        self.seen.add(key)
        self.seeds.append(_seed_row(seed))
        if len(self.seeds) >= self.rows:
            self.flush()

    def quarantined(self, row: dict[str, Any]) -> None:
        self.quarantine.append(row)
        if len(self.quarantine) >= self.rows:
            self.flush()

    def flush(self) -> None:
        if self.seeds:
            frame = pl.DataFrame(self.seeds, schema=SEED_SCHEMA)
            self.kept += frame.height
            names = set(frame["discipline"].drop_nulls().unique().to_list())
            self.disciplines |= names
            self.seed_disciplines |= names
            self.write("seeds", frame)
            self.seeds = []
        if self.quarantine:
            frame = pl.DataFrame(self.quarantine, schema=QUARANTINE_SCHEMA)
            self.disciplines |= set(frame["discipline"].drop_nulls().unique().to_list())
            self.write("quarantine", frame)
            self.quarantine = []


def stream_seed_dir(root: Path, write: Callable[[str, pl.DataFrame], None], default_discipline: str = "general",
                    max_field_chars: int = MAX_FIELD_CHARS, outside_links: str = "follow",
                    chunk_rows: int = SEED_CHUNK_ROWS) -> SeedLoad:
    """Read every seed file under root, handing seeds and quarantined rows to `write("seeds" | "quarantine",
    frame)` in chunks, in source order; returns the counts and file reports (its frames empty). Never raises for
    bad content, only for a missing root. Files reached through links that lead outside root are listed
    (`outside_links`) and, under "refuse", not opened. Memory: a chunk and 60 bytes per distinct seed."""
    if outside_links not in OUTSIDE_LINKS:
        raise ValueError(f"source.outside_links must be one of {OUTSIDE_LINKS}, not {outside_links!r}")
    load = SeedLoad(seeds=pl.DataFrame(schema=SEED_SCHEMA), quarantine=pl.DataFrame(schema=QUARANTINE_SCHEMA),
                    outside_links=links_outside(root))
    fallback_default = discipline_key(default_discipline)
    chunks = _Chunks(write, chunk_rows)

    def convert(fields: dict[str, Any], name: str, row: int) -> SeedRecord:
        return to_seed(fields, name, row, default_discipline, max_field_chars)

    def skip(name: str, reason: str) -> None:
        # A file-level row belongs to no discipline: it is reported corpus-wide, not in a partition.
        load.files[name] = "skipped"
        load.skipped_files[name] = reason
        chunks.quarantined(QuarantineRow(source_file=name, source_row=0, reason=reason, raw="",
                                         discipline=None).model_dump())

    for name, source in _sources(root, load.outside_links if outside_links == "refuse" else {}):
        if isinstance(source, Exception):
            skip(name, _file_reason(source))
            continue
        file_disciplines: Counter[str] = Counter()
        bad: list[tuple[int, str, str, str | None]] = []
        rows = 0
        try:
            fmt, events = _row_events(source, name, convert)
            for records, reason in events:
                rows += 1
                for seed in records:
                    file_disciplines[seed.discipline] += 1
                    chunks.seed(seed)
                if reason is not None:
                    bad.append(reason)
        except Exception as exc:  # noqa: BLE001 -- one file must never stop the others; the reason is kept
            if not rows:
                skip(name, _file_reason(exc))
                continue
            # rows before the error stay; the error is the file's own row (a read error part way through)
            chunks.quarantined(QuarantineRow(source_file=name, source_row=0, raw="", discipline=None,
                                             reason=f"read stopped after row {rows}: {_file_reason(exc)}")
                               .model_dump())
            fmt = "partial"
        load.files[name] = fmt
        load.rows_read += rows
        seeds_here = sum(file_disciplines.values())
        # A bad row is filed under its file's main discipline, so its partition shows it.
        fallback = file_disciplines.most_common(1)[0][0] if file_disciplines else fallback_default
        if not seeds_here:
            load.skipped_files[name] = f"no row usable ({len(bad)} quarantined)"
        # a file with no usable row is not a seed file: none of its content is kept, only why each row failed
        for row, reason, raw, own in bad:
            chunks.quarantined(QuarantineRow(source_file=name, source_row=row,
                                             reason=reason if seeds_here else _reason_kind(reason),
                                             raw=raw if seeds_here else "",
                                             discipline=discipline_key(own) if own else fallback).model_dump())
    chunks.flush()
    load.duplicates_collapsed = chunks.collapsed
    load.disciplines = sorted(chunks.disciplines)
    load.seed_disciplines = sorted(chunks.seed_disciplines)
    load.seed_count = chunks.kept
    return load


def read_seed_dir(root: Path, default_discipline: str = "general",
                  max_field_chars: int = MAX_FIELD_CHARS, outside_links: str = "follow") -> SeedLoad:
    """Every seed file under root read into memory (stream_seed_dir keeps it to a chunk)."""
    frames: dict[str, list[pl.DataFrame]] = {"seeds": [], "quarantine": []}
    load = stream_seed_dir(root, lambda kind, frame: frames[kind].append(frame), default_discipline,
                           max_field_chars, outside_links)
    if frames["seeds"]:
        load.seeds = pl.concat(frames["seeds"])
    if frames["quarantine"]:
        load.quarantine = pl.concat(frames["quarantine"])
    return load


@dataclass
class BenchmarkFile:
    """What one benchmark file gave the decontamination index."""

    file: str
    format: str
    data_rows: int
    items: int
    not_indexed: dict[str, int]  # reason -> rows


@dataclass
class BenchmarkLoad:
    items: pl.DataFrame  # source_file, source_row, question, options (exact duplicates collapsed)
    files: list[BenchmarkFile]
    skipped_files: dict[str, str]


def read_benchmark_dir(root: Path, max_field_chars: int = 200_000) -> BenchmarkLoad:
    """Every question under root, with or without an answer; per file, what was indexed and why
    the rest was not."""
    frames: list[pl.DataFrame] = []
    files: list[BenchmarkFile] = []
    skipped: dict[str, str] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()

    def convert(fields: dict[str, Any], name: str, row: int) -> BenchmarkItem:
        return to_item(fields, name, row, max_field_chars)

    for name, result in _each_file(root, convert, {}):
        if isinstance(result, NotSeeds):
            skipped[name] = _file_reason(result)
            continue
        if isinstance(result, Exception):
            files.append(BenchmarkFile(name, "unreadable", 0, 0, {_file_reason(result): 1}))
            continue
        reasons = Counter(reason.split(":")[0] for _, reason, _, _ in result.bad)
        kept = []
        for item in result.records:
            key = (item.question, tuple(item.options))
            if key in seen:
                reasons["exact duplicate"] += 1
                continue
            seen.add(key)
            kept.append(item.model_dump())
        files.append(BenchmarkFile(name, result.fmt, result.rows, len(kept), dict(reasons)))
        if kept:
            frames.append(pl.DataFrame(kept, schema=BENCHMARK_ITEM_SCHEMA))
    items = pl.concat(frames) if frames else pl.DataFrame(schema=BENCHMARK_ITEM_SCHEMA)
    return BenchmarkLoad(items, files, skipped)
