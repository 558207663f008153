"""`.json` files: a list of records, or an object holding lists of records under keys (the way exam
benchmarks ship them: `{"keywords": "2010-2022_Math_II_MCQs", "example": [{...}, ...]}`).

Every list of objects under a top-level key is read, in file order, rows numbered on across them.
What the file says about a list is given to each of its records: the subject (a top-level `subject` or
`keywords` string when there is one list; the key itself when there are several, or when the one key
is not a container name such as `data` or `example`) and provenance (that string, the key, and the
record's place, `example[3]`). An object with no list of records is NotSeeds, with the keys it has.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from linksyn_assets.seeds.files import EmptyFile, NotSeeds, decoded_text
from linksyn_assets.seeds.formats.jsonl import FileRows, converted

CONTAINER_KEYS = frozenset({"data", "example", "examples", "records", "items", "questions", "rows", "train",
                            "test", "dev", "validation", "val", "samples", "instances"})
_SUBJECT_KEYS = ("subject", "keywords")


_SAMPLE = 1000  # the records the format is told apart by (its first 20 dicts decide)


def _record_lists(data: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The top-level lists whose items are mostly objects (a stray non-object becomes that row's error)."""
    return [(str(key), value) for key, value in data.items()
            if isinstance(value, list) and value and sum(isinstance(v, dict) for v in value) * 2 > len(value)]


def _group(data: dict[str, Any], key: str, several: bool) -> dict[str, Any]:
    named = next((data[k] for k in _SUBJECT_KEYS if isinstance(data.get(k), str) and data[k].strip()), None)
    subject = key if several or key.casefold() not in CONTAINER_KEYS else named
    provenance = {"group": key, **({"keywords": named} if named else {})}
    return {"subject": subject, "provenance": provenance}


def read_json_document(path: Path, name: str) -> FileRows:
    text = decoded_text(path.read_bytes(), name)
    if not text.strip():
        raise EmptyFile
    data = json.loads(text)
    if isinstance(data, list):
        if not data:
            raise EmptyFile
        return converted(path, [(i, r, r) for i, r in enumerate(data, 1)], data[:_SAMPLE])
    if not isinstance(data, dict):
        raise NotSeeds(f"top level is a {type(data).__name__}, not a list of records or an object holding one")
    lists = _record_lists(data)
    if not lists:
        keys = ", ".join(list(map(str, data))[:8]) or "none"
        raise NotSeeds(f"top level is an object with no list of records under any key (keys: {keys})")
    formats: list[str] = []
    parts: list[Iterator[tuple[int, Any, Any]]] = []
    offset = 0
    for key, records in lists:
        group = _group(data, key, len(lists) > 1)
        fmt, rows = converted(path, [(offset + i, r, r) for i, r in enumerate(records, 1)], records[:_SAMPLE],
                              group)
        parts.append(_with_place(rows, key, offset))
        formats.append(fmt)
        offset += len(records)
    return "+".join(dict.fromkeys(formats)), (row for part in parts for row in part)


def _with_place(rows: Iterator[tuple[int, Any, Any]], key: str, offset: int) -> Iterator[tuple[int, Any, Any]]:
    for i, raw, parsed in rows:
        place = f"{key}[{i - offset - 1}]"
        for fields in parsed if isinstance(parsed, list) else [parsed]:
            if isinstance(fields, dict):
                fields.setdefault("provenance", {})["record"] = place
        yield i, raw, parsed
