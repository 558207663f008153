"""Readers that turn a directory of seed files into one normalized seed table.

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

import csv
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from linksyn_assets.records import DIFFICULTY_LEVELS, BenchmarkItem, QuarantineRow, SeedRecord
from linksyn_assets.seeds.disciplines import difficulty_for_subject, discipline_for_subject, discipline_key
from linksyn_assets.text.normalize import content_hash, detect_language, normalize_text

SEED_SCHEMA: dict[str, pl.DataType] = {
    "seed_id": pl.String(), "question": pl.String(), "options": pl.List(pl.String()),
    "answer": pl.String(), "explanation": pl.String(), "discipline": pl.String(),
    "subject": pl.String(), "difficulty": pl.Int8(), "language": pl.String(),
    "source": pl.String(), "source_file": pl.String(), "source_row": pl.Int64(),
    "kp_routes": pl.List(pl.String()), "discipline_name": pl.String(),
}
BENCHMARK_ITEM_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(), "source_row": pl.Int64(), "question": pl.String(), "options": pl.List(pl.String()),
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(), "source_row": pl.Int64(), "reason": pl.String(),
    "raw": pl.String(), "discipline": pl.String(),
}
SEED_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
_RAW_PREVIEW = 500
_OPTION_LABEL = re.compile(r"^\s*([\(（])?([A-Za-z])(?(1)[\)）]|[\.．、:：\)）])\s*")
# Long enough for the longest real exam passage (AGIEval's are under 8k characters), short enough that
# one runaway field cannot cost a million prompt tokens.
MAX_FIELD_CHARS = 20_000
# csv's own 128 KB field limit raises out of the reader; fields are capped after parsing instead.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
_SPLIT_SUFFIX = re.compile(r"_(dev|val|validation|test|train)$")
_LANGUAGE_ALIASES = {"en": "en", "english": "en", "eng": "en", "zh": "zh", "chinese": "zh",
                     "zh-cn": "zh", "zh_cn": "zh", "cn": "zh", "中文": "zh"}


NO_ANSWER_COLUMN = "_no_answer_column"  # set on rows of files whose header has no answer column


class RowError(ValueError):
    """A row that cannot become a seed; the message is the quarantine reason."""


@dataclass
class SeedLoad:
    seeds: pl.DataFrame
    quarantine: pl.DataFrame
    files: dict[str, str] = field(default_factory=dict)  # file -> detected format
    skipped_files: dict[str, str] = field(default_factory=dict)  # file -> why not read
    rows_read: int = 0
    duplicates_collapsed: int = 0


# ---------------------------------------------------------------- decoding and raw rows


def _utf16_without_bom(data: bytes) -> str | None:
    """'UTF-16-LE'/'UTF-16-BE' when most bytes at odd/even offsets are NUL (ASCII or CJK in UTF-16
    has them); GB18030 would otherwise decode such a file into garbage with NULs."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "UTF-16-LE"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "UTF-16-BE"
    return None


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    guess = _utf16_without_bom(data)
    if guess:
        raise RowError(f"{name}: encoded as {guess} without a byte-order mark; save it as UTF-8 (or UTF-16 "
                       "with a BOM)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            error = exc
    raise RowError(f"{name}: neither UTF-8 nor GB18030 (byte 0x{data[error.start]:02x} at offset {error.start}; "
                   "Latin-1/Windows-1252 or another legacy encoding?); save it as UTF-8")


def _file_subject(path: Path) -> str:
    stem = path.stem.removeprefix("gaokao-")
    return _SPLIT_SUFFIX.sub("", stem)


def _iter_jsonl(text: str) -> Iterator[tuple[int, str, Any]]:
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield line_no, line, json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, line, RowError(f"invalid JSON: {exc.msg} at column {exc.colno}")


def _jsonl_format(records: list[Any]) -> str:
    sample = [r for r in records if isinstance(r, dict)][:20]
    if not sample:
        return "canonical"
    keys = Counter(k for r in sample for k in r)
    n = len(sample)
    if keys["problem"] == n and keys["answer_option_list"] == n:
        return "tal-scq5k"
    if keys["passage"] == n and keys["label"] == n and keys["other"] == n:
        return "agieval"
    if set(keys) == {"question", "answer"} and all("####" in str(r.get("answer", "")) for r in sample):
        return "gsm8k"
    return "canonical"


def _csv_layout(first: list[str]) -> str:
    """Told apart by what the first row says: a header names a question column; MMLU's headerless
    rows are six cells ending in an answer letter (a C-Eval test header also ends in 'D')."""
    header = [h.strip().casefold() for h in first]
    if "question" in header:
        return "cmmlu-ceval" if {"a", "b"} <= set(header) else "canonical"
    if len(first) == 6 and first[5].strip().upper() in {"A", "B", "C", "D"}:
        return "mmlu"
    return "unknown"


def _csv_records(text: str, width: int | None = None) -> Iterator[tuple[int, list[str], str]]:
    """(physical line, cells, raw text) per CSV record. A record whose cell count is off and that
    spans several lines is an unbalanced quote: only its first line is given back as that record
    (it will be quarantined), and reading resumes on the next line, so one stray quote cannot
    swallow the rest of the file."""
    lines = io.StringIO(text, newline="").readlines()  # \n, \r\n or \r only: not U+2028 inside a field
    start = 0
    while start < len(lines):
        reader = csv.reader(lines[start:])
        consumed = 0
        restart = False
        for cells in reader:
            first_line = start + consumed + 1
            span = reader.line_num - consumed
            raw = "".join(lines[start + consumed:start + reader.line_num])
            consumed = reader.line_num
            if width is None:
                width = len(cells)
            # A stray quote swallows later records into one field: the cell count comes out off. (Counting
            # commas inside a field would misfire on real passages, which have many.)
            if span > 1 and len(cells) != width:
                yield first_line, ["\x00unbalanced"], lines[first_line - 1]
                start = first_line
                restart = True
                break
            yield first_line, cells, raw.rstrip("\r\n")
        if not restart:
            return


# ---------------------------------------------------------------- format -> canonical fields


def _strip_option_prefixes(options: list[str]) -> list[str]:
    """Drop '(A)'/'A.'/'（A）'-style labels only when the options carry the sequence A, B, C, ... in
    order, one per option (or a, b, c, ...). A letter that is part of the text ('(s)he', 'U.S. GDP',
    Roman numerals 'I、II', drive letters 'C:') never starts such a sequence, so it stays."""
    if len(options) < 2:
        return options
    matches = [_OPTION_LABEL.match(o) for o in options]
    if not all(matches):
        return options
    letters = "".join(m.group(2) for m in matches if m)
    if not (letters.isupper() or letters.islower()):
        return options
    positions = [ord(c.upper()) - ord("A") for c in letters]
    # Upstream exam files have typos (A, B, C, C): a sequence starts at A, never goes back, and at most
    # one label is off its position.
    in_place = sum(p == i for i, p in enumerate(positions))
    if positions[0] != 0 or positions != sorted(positions) or in_place < len(options) - 1:
        return options
    return [o[m.end():] for o, m in zip(options, matches, strict=True) if m]


def _from_mmlu(cells: list[str], subject: str) -> dict[str, Any]:
    if len(cells) != 6:
        raise RowError(f"expected 6 columns (question, A-D, answer), found {len(cells)}")
    return {"question": cells[0], "options": cells[1:5], "answer": cells[5], "subject": subject,
            "source": "mmlu"}


def _from_cmmlu_ceval(row: dict[str, str], subject: str) -> dict[str, Any]:
    lower = {k.strip().casefold(): v for k, v in row.items() if k is not None}
    letters = [c for c in "abcdefgh" if c in lower]
    if "answer" not in lower:
        return {"question": lower.get("question"), "options": [lower[c] for c in letters],
                NO_ANSWER_COLUMN: True, "subject": subject, "source": "cmmlu-ceval"}
    return {"question": lower.get("question"), "options": [lower[c] for c in letters],
            "answer": lower.get("answer"), "explanation": lower.get("explanation"),
            "subject": subject, "source": "cmmlu-ceval"}


def _from_gsm8k(rec: dict[str, Any]) -> dict[str, Any]:
    answer_text = str(rec.get("answer") or "")
    work, _, final = answer_text.rpartition("####")
    return {"question": rec.get("question"), "answer": final.strip() or None,
            "explanation": work.strip() or None, "discipline": "mathematics",
            "subject": "grade_school_math", "source": "gsm8k"}


def _from_tal(rec: dict[str, Any], file_name: str) -> dict[str, Any]:
    options: list[str] = []
    for group in rec.get("answer_option_list") or []:
        for opt in group if isinstance(group, list) else [group]:
            if isinstance(opt, dict):
                options.append(str(opt.get("content", "")))
    analysis = rec.get("answer_analysis")
    if isinstance(analysis, list):
        analysis = "\n".join(str(a) for a in analysis if a)
    return {"question": rec.get("problem"), "options": options, "answer": rec.get("answer_value"),
            "explanation": analysis, "discipline": "mathematics", "subject": "competition_math",
            "difficulty": rec.get("difficulty"), "source": "tal-scq5k",
            "language": "zh" if file_name.startswith("ch_") else "en",
            "kp_routes": [str(r) for r in rec.get("knowledge_point_routes") or []]}


def _from_agieval(rec: dict[str, Any], subject: str) -> dict[str, Any]:
    other = rec.get("other") if isinstance(rec.get("other"), dict) else {}
    passage, question = rec.get("passage"), rec.get("question")
    if passage and question:
        question = f"{passage}\n\n{question}"
    label = rec.get("label")
    answer = "".join(sorted(label)) if isinstance(label, list) else (label or rec.get("answer"))
    level = other.get("level")
    if subject == "math":
        subject = str(other.get("type") or "competition_math")
    return {"question": question, "options": rec.get("options") or [], "answer": answer,
            "explanation": other.get("solution"), "subject": subject,
            "discipline": "mathematics" if other.get("type") else None,
            "difficulty": (int(level) - 1) if isinstance(level, int) else None,
            "source": f"agieval:{other['source']}" if other.get("source") else "agieval"}


def _from_canonical(rec: dict[str, Any]) -> dict[str, Any]:
    options = rec.get("options")
    if isinstance(options, str):
        stripped = options.strip()
        if not stripped:
            options = []
        else:
            try:
                options = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise RowError("options is a string but not a JSON array") from exc
    if options is not None and not isinstance(options, list):
        raise RowError(f"options must be a list, got {type(options).__name__}")
    routes = rec.get("kp_routes") or []
    return {**{k: rec.get(k) for k in ("question", "answer", "explanation", "discipline",
                                         "subject", "difficulty", "language", "source")},
            "options": options or [], "kp_routes": routes if isinstance(routes, list) else []}


# ---------------------------------------------------------------- validation


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from pandas-written files
        return None
    text = normalize_text(str(value))
    return text or None


def _difficulty(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise RowError(f"difficulty {value!r} is not a number 0-{DIFFICULTY_LEVELS - 1}") from exc
    if number != int(number) or not 0 <= number < DIFFICULTY_LEVELS:
        raise RowError(f"difficulty {value!r} is not an integer 0-{DIFFICULTY_LEVELS - 1}")
    return int(number)


def _mc_answer(answer: str, options: list[str]) -> str:
    """Multiple-choice answers become option letters; an answer given as option text maps too."""
    letters = answer.replace(",", "").replace(" ", "").upper()
    valid = {chr(ord("A") + i) for i in range(len(options))}
    if letters and all(c in valid for c in letters):
        return "".join(sorted(set(letters)))
    folded = [o.casefold() for o in options]
    if answer.casefold() in folded:
        return chr(ord("A") + folded.index(answer.casefold()))
    raise RowError(f"answer {answer!r} is not one of the {len(options)} options (A-{max(valid)})")


def _capped(fields: dict[str, Any], max_chars: int) -> None:
    for name in ("question", "answer", "explanation"):
        value = fields.get(name)
        if isinstance(value, str) and len(value) > max_chars:
            raise RowError(f"field {name!r} has {len(value):,} characters, over the cap of {max_chars:,} "
                           "(seed_source max_field_chars)")
    for option in fields.get("options") or []:
        if isinstance(option, str) and len(option) > max_chars:
            raise RowError(f"an option has {len(option):,} characters, over the cap of {max_chars:,} "
                           "(seed_source max_field_chars)")


def _question_and_options(fields: dict[str, Any]) -> tuple[str, list[str]]:
    question = _text(fields.get("question"))
    if not question:
        raise RowError("missing question")
    options = _strip_option_prefixes([_text(o) or "" for o in fields.get("options") or []])
    if any(not o for o in options):
        raise RowError("an option is empty")
    return question, options


def to_seed(fields: dict[str, Any], source_file: str, source_row: int, default_discipline: str,
            max_field_chars: int = MAX_FIELD_CHARS) -> SeedRecord:
    _capped(fields, max_field_chars)
    question, options = _question_and_options(fields)
    if fields.get(NO_ANSWER_COLUMN):
        raise RowError("no answer column: the file's header has no 'answer' column (a test split without "
                       "answers can be a benchmark file, not a seed file)")
    answer = _text(fields.get("answer"))
    if not answer:
        raise RowError("missing answer")
    if options:
        answer = _mc_answer(answer, options)
    subject = _text(fields.get("subject"))
    named = _text(fields.get("discipline"))
    if named:
        discipline, discipline_name = discipline_key(named), named
    elif subject:
        discipline, discipline_name = discipline_for_subject(subject), subject
    else:
        discipline, discipline_name = discipline_key(default_discipline), default_discipline
    difficulty = _difficulty(fields.get("difficulty"))
    if difficulty is None and subject:
        difficulty = difficulty_for_subject(subject)
    language = _text(fields.get("language"))
    language = _LANGUAGE_ALIASES.get(language.casefold()) if language else None
    language = language or detect_language(question)
    try:
        return SeedRecord(
            seed_id=content_hash(question, options, answer, prefix="s_"),
            question=question, options=options, answer=answer,
            explanation=_text(fields.get("explanation")), discipline=discipline, subject=subject,
            difficulty=difficulty, language=language,
            source=_text(fields.get("source")) or "user", source_file=source_file,
            source_row=source_row,
            kp_routes=[r for r in (_text(x) for x in fields.get("kp_routes") or []) if r],
            discipline_name=discipline_name,
        )
    except ValidationError as exc:
        raise RowError("; ".join(e["msg"] for e in exc.errors())) from exc


def to_item(fields: dict[str, Any], source_file: str, source_row: int, max_field_chars: int) -> BenchmarkItem:
    """A benchmark item: only the question (and options) matter; an answer is optional."""
    _capped(fields, max_field_chars)
    question, options = _question_and_options(fields)
    return BenchmarkItem(question=question, options=options, source_file=source_file, source_row=source_row)


# ---------------------------------------------------------------- per-file reading


def _raw_preview(raw: Any) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text[:_RAW_PREVIEW]


def _csv_file_rows(path: Path, text: str, subject: str) -> tuple[str, Iterator[tuple[int, Any, Any]]]:
    records = _csv_records(text)
    first = next(records, None)
    if first is None:
        raise _EmptyFile
    layout = _csv_layout(first[1])
    if layout == "mmlu":
        everything = [first, *records]
        return layout, ((i, raw, _guard(_from_mmlu, cells, subject) if cells != ["\x00unbalanced"]
                         else _unbalanced(line))
                        for i, (line, cells, raw) in enumerate((r for r in everything if any(c.strip() for c in r[1])),
                                                               1))
    if layout == "unknown":
        raise RowError(f"{path.name}: unrecognized CSV layout: the first row {first[1][:8]} names no 'question' "
                       "column and is not MMLU's six cells ending in an answer letter")
    header = first[1]
    folded = [h.strip().casefold() for h in header]
    repeated = sorted({h for h in folded if folded.count(h) > 1})
    if repeated:
        raise RowError(f"{path.name}: duplicate header column(s) {repeated}: which one holds the data is ambiguous")
    convert = _from_cmmlu_ceval if layout == "cmmlu-ceval" else _from_canonical
    no_answer = "answer" not in folded

    def rows() -> Iterator[tuple[int, Any, Any]]:
        data = (r for r in records if any(c.strip() for c in r[1]))
        for i, (line, cells, raw) in enumerate(data, 1):
            if cells == ["\x00unbalanced"]:
                yield i, raw, _unbalanced(line)
                continue
            parsed = _guard_csv(convert, header, cells, subject)
            if no_answer and isinstance(parsed, dict):
                parsed[NO_ANSWER_COLUMN] = True
            yield i, raw, parsed
    return layout, rows()


def _unbalanced(line: int) -> RowError:
    return RowError(f"unbalanced quote at line {line}: the quoted field never closes; reading resumed on the "
                    "next line")


def _file_rows(path: Path, text: str | None) -> tuple[str, Iterator[tuple[int, Any, Any]]]:
    """(format, iterator of (row, raw, fields-or-RowError)) for one file."""
    subject = _file_subject(path)
    suffix = path.suffix.casefold()
    if suffix == ".parquet":
        frame = pl.read_parquet(path)
        if frame.is_empty():
            raise _EmptyFile
        records = frame.to_dicts()
        return "canonical", ((i, r, _guard(_from_canonical, r)) for i, r in enumerate(records, 1))
    assert text is not None
    if not text.strip():
        raise _EmptyFile
    if suffix == ".csv":
        return _csv_file_rows(path, text, subject)
    if suffix == ".json":
        data = json.loads(text)
        if not isinstance(data, list):
            raise _NotSeeds("top level is not a list of records")
        if not data:
            raise _EmptyFile
        items: list[tuple[int, Any, Any]] = [(i, r, r) for i, r in enumerate(data, 1)]
    else:
        items = list(_iter_jsonl(text))
    fmt = _jsonl_format([parsed for _, _, parsed in items])
    convert_by_format = {
        "tal-scq5k": lambda r: _from_tal(r, path.name), "gsm8k": lambda r: _from_gsm8k(r),
        "agieval": lambda r: _from_agieval(r, subject), "canonical": lambda r: _from_canonical(r),
    }
    convert = convert_by_format[fmt]
    return fmt, ((i, raw, parsed if isinstance(parsed, RowError) else _guard(convert, parsed))
                 for i, raw, parsed in items)


class _NotSeeds(Exception):
    """A file with a seed suffix that holds no seed records (e.g. a mapping file)."""


class _EmptyFile(Exception):
    """A file with no data rows at all."""


def _guard(fn: Any, record: Any, *args: Any) -> Any:
    expected = list if fn is _from_mmlu else dict
    if not isinstance(record, expected):
        return RowError(f"record is {type(record).__name__}, not an object")
    try:
        return fn(record, *args)
    except RowError as exc:
        return exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return RowError(f"unexpected record shape: {exc}")


def _guard_csv(fn: Any, header: list[str], cells: list[str], subject: str) -> Any:
    if len(cells) != len(header):
        return RowError(f"expected {len(header)} columns as in the header, found {len(cells)}")
    row = dict(zip(header, cells, strict=True))
    return _guard(fn, row, subject) if fn is _from_cmmlu_ceval else _guard(fn, row)


# ---------------------------------------------------------------- the directory


def seed_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.casefold() in SEED_SUFFIXES)


@dataclass
class _FileResult:
    fmt: str
    records: list[Any]  # SeedRecord or BenchmarkItem
    bad: list[tuple[int, str, str, str | None]]  # row, reason, raw preview, discipline the row names
    rows: int


def _read_file(path: Path, name: str, convert: Any) -> _FileResult:
    """Every row of one file; raises for a file that cannot be read at all."""
    text = None if path.suffix.casefold() == ".parquet" else _decode(path.read_bytes(), name)
    fmt, rows = _file_rows(path, text)
    out = _FileResult(fmt, [], [], 0)
    for row_no, raw, parsed in rows:
        out.rows += 1
        try:
            if isinstance(parsed, RowError):
                raise parsed
            out.records.append(convert(parsed, name, row_no))
        except RowError as exc:
            own = parsed.get("discipline") if isinstance(parsed, dict) else None
            out.bad.append((row_no, str(exc), _raw_preview(raw), own if isinstance(own, str) and own else None))
    return out


def _each_file(root: Path, convert: Any) -> Iterator[tuple[str, _FileResult | Exception]]:
    """(name, result or the reason the whole file was not read) per file under root."""
    if not root.exists():
        raise FileNotFoundError(f"seed source {root} does not exist")
    base = root if root.is_dir() else root.parent
    for path in seed_files(root):
        name = str(path.relative_to(base))
        try:
            yield name, _read_file(path, name, convert)
        except Exception as exc:  # noqa: BLE001 -- one file must never stop the others; the reason is kept
            yield name, exc


def _file_reason(exc: Exception) -> str:
    if isinstance(exc, _EmptyFile):
        return "empty file: no data rows"
    if isinstance(exc, RowError | UnicodeDecodeError):
        return f"file unreadable: {exc}"
    return f"file unreadable: {type(exc).__name__}: {exc}"


def read_seed_dir(root: Path, default_discipline: str = "general",
                  max_field_chars: int = MAX_FIELD_CHARS) -> SeedLoad:
    """Read every seed file under root; never raises for bad content, only for a missing root."""
    seeds: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    load = SeedLoad(seeds=pl.DataFrame(), quarantine=pl.DataFrame())
    fallback_default = discipline_key(default_discipline)

    def convert(fields: dict[str, Any], name: str, row: int) -> SeedRecord:
        return to_seed(fields, name, row, default_discipline, max_field_chars)

    for name, result in _each_file(root, convert):
        if isinstance(result, _NotSeeds):
            load.skipped_files[name] = str(result)
            continue
        if isinstance(result, Exception):
            load.files[name] = "empty" if isinstance(result, _EmptyFile) else "unreadable"
            quarantine.append(QuarantineRow(source_file=name, source_row=0, reason=_file_reason(result), raw="",
                                            discipline=fallback_default).model_dump())
            continue
        load.files[name] = result.fmt
        load.rows_read += result.rows
        file_disciplines = Counter(seed.discipline for seed in result.records)
        # A bad row is filed under its file's main discipline, so its partition shows it.
        fallback = file_disciplines.most_common(1)[0][0] if file_disciplines else fallback_default
        seeds.extend(seed.model_dump() for seed in result.records)
        quarantine.extend(QuarantineRow(source_file=name, source_row=row, reason=reason, raw=raw,
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

    for name, result in _each_file(root, convert):
        if isinstance(result, _NotSeeds):
            skipped[name] = str(result)
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
