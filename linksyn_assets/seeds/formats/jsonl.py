"""JSON Lines: canonical records, GSM8K, TAL-SCQ5K and AGIEval, told apart by their keys (json_document.py
reads `.json` files through the same converters)."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from linksyn_assets.seeds.files import EmptyFile, RowError, file_encoding, file_subject
from linksyn_assets.seeds.formats.canonical import from_canonical, guarded

FileRows = tuple[str, Iterator[tuple[int, Any, Any]]]


def _iter_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, str, Any]]:
    for line_no, line in enumerate(lines, start=1):
        line = line.removesuffix("\n")
        if not line.strip():
            continue
        try:
            yield line_no, line, json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, line, RowError(f"invalid JSON: {exc.msg} at column {exc.colno}")


_SAMPLE_LINES = 1000  # rows read ahead to tell the format apart (its first 20 records decide)


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


def converted(path: Path, items: Iterable[tuple[int, Any, Any]], sample: list[Any],
              group: dict[str, Any] | None = None) -> FileRows:
    """The rows of one list of records, told apart by the keys of `sample` (the first records); `group` is what
    the file says about all of them (subject, provenance: see json_document.py)."""
    fmt = _jsonl_format(sample)
    subject = file_subject(path)
    convert_by_format = {
        "tal-scq5k": lambda r: _from_tal(r, path.name), "gsm8k": lambda r: _from_gsm8k(r),
        "agieval": lambda r: _from_agieval(r, subject), "canonical": lambda r: from_canonical(r, group),
    }
    convert = convert_by_format[fmt]
    return fmt, ((i, raw, parsed if isinstance(parsed, RowError) else guarded(convert, parsed))
                 for i, raw, parsed in items)


def read_jsonl(path: Path, name: str) -> FileRows:
    """Rows read line by line (memory: the look-ahead, not the file): a 2 GB file parses in bounded memory."""
    encoding = file_encoding(path, name)

    def lines() -> Iterator[str]:
        with path.open(encoding=encoding, newline="\n") as handle:
            yield from handle

    rows = _iter_jsonl(lines())
    ahead = list(itertools.islice(rows, _SAMPLE_LINES))
    if not ahead:
        raise EmptyFile
    return converted(path, itertools.chain(ahead, rows), [parsed for _, _, parsed in ahead])
