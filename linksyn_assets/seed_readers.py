"""Readers that turn a directory of seed files into one normalized seed table.

Formats (detected per file):
- canonical: JSONL / JSON array / CSV / Parquet with columns question, options, answer,
  explanation, discipline, subject, difficulty, language, source (question and answer required);
- MMLU CSV (no header: question, A, B, C, D, answer letter; subject from the file name);
- CMMLU / C-Eval CSV (header row with Question/A/B/C/D/Answer, index or id column first);
- GSM8K JSONL ({question, answer} with the final answer after '####');
- TAL-SCQ5K JSONL ({problem, answer_option_list, answer_value, difficulty, knowledge_point_routes});
- AGIEval JSONL ({passage, question, options, label, answer, other}).

Every input row becomes a seed or a quarantine row naming file, row and reason.
Row numbers are 1-based: the line for JSONL, the data row (header excluded) for CSV,
the record for JSON arrays and Parquet; 0 stands for the whole file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from .disciplines import canonical_discipline, difficulty_for_subject, discipline_for_subject
from .records import DIFFICULTY_LEVELS, QuarantineRow, SeedRecord
from .text_normalize import content_hash, detect_language, normalize_text

SEED_SCHEMA: dict[str, pl.DataType] = {
    "seed_id": pl.String(), "question": pl.String(), "options": pl.List(pl.String()),
    "answer": pl.String(), "explanation": pl.String(), "discipline": pl.String(),
    "subject": pl.String(), "difficulty": pl.Int8(), "language": pl.String(),
    "source": pl.String(), "source_file": pl.String(), "source_row": pl.Int64(),
    "kp_routes": pl.List(pl.String()),
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(), "source_row": pl.Int64(), "reason": pl.String(),
    "raw": pl.String(), "discipline": pl.String(),
}
SEED_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
_RAW_PREVIEW = 500
_OPTION_PREFIX = re.compile(r"^\s*[\(（]?([A-Za-z])[\)）\.．、:：]\s*")
_SPLIT_SUFFIX = re.compile(r"_(dev|val|validation|test|train)$")
_LANGUAGE_ALIASES = {"en": "en", "english": "en", "eng": "en", "zh": "zh", "chinese": "zh",
                     "zh-cn": "zh", "zh_cn": "zh", "cn": "zh", "中文": "zh"}


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


def _decode(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RowError(f"{name}: cannot decode as UTF-8 or GB18030")


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


def _csv_layout(rows: list[list[str]]) -> str:
    if not rows:
        return "empty"
    header = [h.strip().casefold() for h in rows[0]]
    if {"question", "a", "b", "answer"} <= set(header):
        return "cmmlu-ceval"
    if {"question", "answer"} <= set(header):
        return "canonical"
    if len(rows[0]) == 6 and rows[0][5].strip().upper() in {"A", "B", "C", "D"}:
        return "mmlu"
    return "unknown"


# ---------------------------------------------------------------- format -> canonical fields


def _strip_option_prefixes(options: list[str]) -> list[str]:
    """Drop '(A)'/'A.'-style labels when every option carries one (letters are positional;
    some upstream files repeat or skip a letter)."""
    matches = [_OPTION_PREFIX.match(o) for o in options]
    if options and all(matches):
        return [o[m.end():] for o, m in zip(options, matches, strict=True) if m]
    return options


def _from_mmlu(cells: list[str], subject: str) -> dict[str, Any]:
    if len(cells) != 6:
        raise RowError(f"expected 6 columns (question, A-D, answer), found {len(cells)}")
    return {"question": cells[0], "options": cells[1:5], "answer": cells[5], "subject": subject,
            "source": "mmlu"}


def _from_cmmlu_ceval(row: dict[str, str], subject: str) -> dict[str, Any]:
    lower = {k.strip().casefold(): v for k, v in row.items() if k is not None}
    letters = [c for c in "abcdefgh" if c in lower]
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


def to_seed(fields: dict[str, Any], source_file: str, source_row: int,
            default_discipline: str) -> SeedRecord:
    question = _text(fields.get("question"))
    if not question:
        raise RowError("missing question")
    answer = _text(fields.get("answer"))
    if not answer:
        raise RowError("missing answer")
    options = [_text(o) or "" for o in fields.get("options") or []]
    options = _strip_option_prefixes(options)
    if any(not o for o in options):
        raise RowError("an option is empty")
    if options:
        answer = _mc_answer(answer, options)
    subject = _text(fields.get("subject"))
    discipline = _text(fields.get("discipline"))
    if discipline:
        discipline = canonical_discipline(discipline)
    elif subject:
        discipline = discipline_for_subject(subject)
    else:
        discipline = canonical_discipline(default_discipline)
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
        )
    except ValidationError as exc:
        raise RowError("; ".join(e["msg"] for e in exc.errors())) from exc


# ---------------------------------------------------------------- per-file reading


def _raw_preview(raw: Any) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text[:_RAW_PREVIEW]


def _file_rows(path: Path, text: str | None) -> tuple[str, Iterator[tuple[int, Any, Any]]]:
    """(format, iterator of (row, raw, fields-or-RowError)) for one file."""
    subject = _file_subject(path)
    suffix = path.suffix.casefold()
    if suffix == ".parquet":
        frame = pl.read_parquet(path)
        records = frame.to_dicts()
        return "canonical", ((i, r, _guard(_from_canonical, r)) for i, r in enumerate(records, 1))
    assert text is not None
    if suffix == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        layout = _csv_layout(rows)
        if layout == "mmlu":
            return layout, ((i, ",".join(r), _guard(_from_mmlu, r, subject))
                            for i, r in enumerate(rows, 1) if any(c.strip() for c in r))
        if layout in {"cmmlu-ceval", "canonical"}:
            header = rows[0]
            convert = _from_cmmlu_ceval if layout == "cmmlu-ceval" else _from_canonical
            body = ((i, r) for i, r in enumerate(rows[1:], 1) if any(c.strip() for c in r))
            return layout, ((i, ",".join(r), _guard_csv(convert, header, r, subject))
                            for i, r in body)
        raise RowError(f"{path.name}: unrecognized CSV layout (header {rows[0][:8] if rows else []})")
    if suffix == ".json":
        data = json.loads(text)
        if not isinstance(data, list):
            raise _NotSeeds("top level is not a list of records")
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


def read_seed_dir(root: Path, default_discipline: str = "general") -> SeedLoad:
    """Read every seed file under root; never raises for bad content, only for a missing root."""
    if not root.exists():
        raise FileNotFoundError(f"seed source {root} does not exist")
    seeds: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    load = SeedLoad(seeds=pl.DataFrame(), quarantine=pl.DataFrame())
    base = root if root.is_dir() else root.parent
    for path in seed_files(root):
        name = str(path.relative_to(base))
        try:
            text = None if path.suffix.casefold() == ".parquet" else _decode(path.read_bytes(), name)
            fmt, rows = _file_rows(path, text)
            file_quarantine: list[dict[str, Any]] = []
            file_disciplines: Counter[str] = Counter()
            for row_no, raw, parsed in rows:
                load.rows_read += 1
                try:
                    if isinstance(parsed, RowError):
                        raise parsed
                    seed = to_seed(parsed, name, row_no, default_discipline)
                except RowError as exc:
                    own = parsed.get("discipline") if isinstance(parsed, dict) else None
                    file_quarantine.append(QuarantineRow(
                        source_file=name, source_row=row_no, reason=str(exc), raw=_raw_preview(raw),
                        discipline=canonical_discipline(own) if isinstance(own, str) and own else None,
                    ).model_dump())
                    continue
                file_disciplines[seed.discipline] += 1
                seeds.append(seed.model_dump())
            # A bad row is filed under its file's main discipline, so its partition shows it.
            fallback = (file_disciplines.most_common(1)[0][0] if file_disciplines
                        else canonical_discipline(default_discipline))
            for q in file_quarantine:
                q["discipline"] = q["discipline"] or fallback
            quarantine.extend(file_quarantine)
            load.files[name] = fmt
        except _NotSeeds as exc:
            load.skipped_files[name] = str(exc)
        except (RowError, json.JSONDecodeError, pl.exceptions.PolarsError, OSError) as exc:
            load.files[name] = "unreadable"
            quarantine.append(QuarantineRow(
                source_file=name, source_row=0, reason=f"file unreadable: {exc}", raw="",
                discipline=canonical_discipline(default_discipline)).model_dump())
    frame = pl.DataFrame(seeds, schema=SEED_SCHEMA) if seeds else pl.DataFrame(schema=SEED_SCHEMA)
    load.seeds = frame.unique(subset="seed_id", keep="first", maintain_order=True)
    load.duplicates_collapsed = frame.height - load.seeds.height
    load.quarantine = (pl.DataFrame(quarantine, schema=QUARANTINE_SCHEMA) if quarantine
                       else pl.DataFrame(schema=QUARANTINE_SCHEMA))
    return load
