"""The canonical layout (question, options, answer, explanation, discipline, subject, difficulty, language,
source, kp_routes), shared by the JSONL, JSON, CSV and Parquet readers, and the guard every converter runs
under (a converter's error becomes that row's RowError, never the file's)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from linksyn_assets.seeds.files import RowError


def from_canonical(rec: dict[str, Any]) -> dict[str, Any]:
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


def guarded(convert: Callable[..., dict[str, Any]], record: Any, *args: Any, expected: type = dict) -> Any:
    """convert(record, *args), or the RowError that explains why the row cannot be read."""
    if not isinstance(record, expected):
        return RowError(f"record is {type(record).__name__}, not an object")
    try:
        return convert(record, *args)
    except RowError as exc:
        return exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return RowError(f"unexpected record shape: {exc}")
