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
from collections import Counter
from collections.abc import Iterator
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


def _read_file(path: Path, name: str, convert: Any) -> _FileResult:
    """Every row of one file; raises for a file that cannot be read at all."""
    fmt, rows = file_rows(path, name)
    out = _FileResult(fmt, [], [], 0)
    for row_no, raw, parsed in rows:
        out.rows += 1
        try:
            if isinstance(parsed, RowError):
                raise parsed
            # a record with several sub-questions gives one seed each, or none (one reason for the row)
            out.records.extend([convert(part, name, row_no) for part in parsed] if isinstance(parsed, list)
                               else [convert(parsed, name, row_no)])
        except RowError as exc:
            own = parsed.get("discipline") if isinstance(parsed, dict) else None
            out.bad.append((row_no, excerpt(str(exc), REASON_CHARS), raw_preview(raw),
                            own if isinstance(own, str) and own else None))
    return out


def _each_file(root: Path, convert: Any, refused: dict[str, str]) -> Iterator[tuple[str, _FileResult | Exception]]:
    """(name, result or the reason the whole file was not read) per file under root; `refused` files (links
    leading outside the source) are not opened."""
    if not root.exists():
        raise FileNotFoundError(f"seed source {root} does not exist")
    base = root if root.is_dir() else root.parent
    for path in source_files(root):
        name = str(path.relative_to(base))
        if name in refused:
            yield name, NotSeeds(f"a link leading outside the seed folder (to {refused[name]}); not read because "
                                 "source.outside_links = refuse")
            continue
        if path.suffix.casefold() not in SEED_SUFFIXES:
            yield name, NotSeeds(f"not a seed file type ({path.suffix or 'no suffix'}; seed files end in "
                                 f"{', '.join(SEED_SUFFIXES)})")
            continue
        try:
            yield name, _read_file(path, name, convert)
        except Exception as exc:  # noqa: BLE001 -- one file must never stop the others; the reason is kept
            yield name, exc


REASON_CHARS = 240


def _reason_kind(reason: str) -> str:
    """A row reason without the row's content: what went wrong, up to the first quote or colon."""
    cut = min((i for i in (reason.find("'"), reason.find('"'), reason.find(":")) if i >= 0), default=len(reason))
    return reason[:min(cut, 60)].strip() or "unusable row"


def _file_reason(exc: Exception) -> str:
    if isinstance(exc, NotSeeds):
        return excerpt(f"not seeds: {exc}", REASON_CHARS)
    if isinstance(exc, EmptyFile):
        return "empty file: no data rows"
    if isinstance(exc, RowError | UnicodeDecodeError):
        return excerpt(f"file unreadable: {exc}", REASON_CHARS)
    return excerpt(f"file unreadable: {type(exc).__name__}: {exc}", REASON_CHARS)


def read_seed_dir(root: Path, default_discipline: str = "general",
                  max_field_chars: int = MAX_FIELD_CHARS, outside_links: str = "follow") -> SeedLoad:
    """Read every seed file under root; never raises for bad content, only for a missing root. Files reached
    through links that lead outside root are listed (`outside_links`) and, under "refuse", not opened."""
    if outside_links not in OUTSIDE_LINKS:
        raise ValueError(f"source.outside_links must be one of {OUTSIDE_LINKS}, not {outside_links!r}")
    seeds: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    load = SeedLoad(seeds=pl.DataFrame(), quarantine=pl.DataFrame(), outside_links=links_outside(root))
    refused = load.outside_links if outside_links == "refuse" else {}
    fallback_default = discipline_key(default_discipline)

    def convert(fields: dict[str, Any], name: str, row: int) -> SeedRecord:
        return to_seed(fields, name, row, default_discipline, max_field_chars)

    for name, result in _each_file(root, convert, refused):
        if isinstance(result, Exception):
            # A file-level row belongs to no discipline: it is reported corpus-wide, not in a partition.
            load.files[name] = "skipped"
            load.skipped_files[name] = _file_reason(result)
            quarantine.append(QuarantineRow(source_file=name, source_row=0, reason=_file_reason(result), raw="",
                                            discipline=None).model_dump())
            continue
        load.files[name] = result.fmt
        load.rows_read += result.rows
        file_disciplines = Counter(seed.discipline for seed in result.records)
        # A bad row is filed under its file's main discipline, so its partition shows it.
        fallback = file_disciplines.most_common(1)[0][0] if file_disciplines else fallback_default
        if not result.records:
            load.skipped_files[name] = f"no row usable ({len(result.bad)} quarantined)"
        seeds.extend({**seed.model_dump(), "provenance": json.dumps(seed.provenance, ensure_ascii=False,
                                                                     sort_keys=True) if seed.provenance else None}
                     for seed in result.records)
        # a file with no usable row is not a seed file: none of its content is kept, only why each row failed
        quarantine.extend(QuarantineRow(source_file=name, source_row=row, reason=reason if result.records else
                                        _reason_kind(reason), raw=raw if result.records else "",
                                        discipline=discipline_key(own) if own else fallback).model_dump()
                          for row, reason, raw, own in result.bad)
    frame = pl.DataFrame(seeds, schema=SEED_SCHEMA) if seeds else pl.DataFrame(schema=SEED_SCHEMA)
    load.seeds = frame.unique(subset="seed_id", keep="first", maintain_order=True)
    load.duplicates_collapsed = frame.height - load.seeds.height
    load.quarantine = (pl.DataFrame(quarantine, schema=QUARANTINE_SCHEMA) if quarantine
                       else pl.DataFrame(schema=QUARANTINE_SCHEMA))
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
