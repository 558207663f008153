"""CSV: MMLU (headerless), CMMLU / C-Eval (Question, A, B, ... header) and canonical columns, told apart by
the first row; a stray quote costs only its own line."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from linksyn_assets.seeds.files import EmptyFile, RowError, decoded_text, file_subject
from linksyn_assets.seeds.formats.canonical import from_canonical, guarded
from linksyn_assets.seeds.validation import NO_ANSWER_COLUMN

FileRows = tuple[str, Iterator[tuple[int, Any, Any]]]
# csv's own 128 KB field limit raises out of the reader; fields are capped after parsing instead.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


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


def _unbalanced(line: int) -> RowError:
    return RowError(f"unbalanced quote at line {line}: the quoted field never closes; reading resumed on the "
                    "next line")


def _guard_csv(fn: Any, header: list[str], cells: list[str], subject: str) -> Any:
    if len(cells) != len(header):
        return RowError(f"expected {len(header)} columns as in the header, found {len(cells)}")
    row = dict(zip(header, cells, strict=True))
    return guarded(fn, row, subject) if fn is _from_cmmlu_ceval else guarded(fn, row)


def read_csv(path: Path, name: str) -> FileRows:
    text = decoded_text(path.read_bytes(), name)
    if not text.strip():
        raise EmptyFile
    return _csv_file_rows(path, text, file_subject(path))


def _csv_file_rows(path: Path, text: str, subject: str) -> tuple[str, Iterator[tuple[int, Any, Any]]]:
    records = _csv_records(text)
    first = next(records, None)
    if first is None:
        raise EmptyFile
    layout = _csv_layout(first[1])
    if layout == "mmlu":
        everything = [first, *records]
        return layout, ((i, raw, guarded(_from_mmlu, cells, subject, expected=list) if cells != ["\x00unbalanced"]
                         else _unbalanced(line))
                        for i, (line, cells, raw) in enumerate((r for r in everything if any(c.strip() for c in r[1])),
                                                               1))
    if layout == "unknown":
        # the row itself is not quoted: a file that is not seeds (a link to /etc/passwd) must not leak into reasons
        raise RowError(f"{path.name}: unrecognized CSV layout: the first row ({len(first[1])} cells) names no "
                       "'question' column and is not MMLU's six cells ending in an answer letter")
    header = first[1]
    folded = [h.strip().casefold() for h in header]
    repeated = sorted({h for h in folded if folded.count(h) > 1})
    if repeated:
        raise RowError(f"{path.name}: duplicate header column(s) {repeated}: which one holds the data is ambiguous")
    convert = _from_cmmlu_ceval if layout == "cmmlu-ceval" else from_canonical
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
