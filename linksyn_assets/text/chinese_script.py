"""Traditional -> simplified Chinese folding (OpenCC), so the two scripts of one text compare equal
in partition keys, near-duplicate and contamination fingerprints."""

from __future__ import annotations

from functools import cache
from typing import Any

import polars as pl


@cache
def _converter() -> Any:
    import opencc  # the dictionaries ship inside the wheel: nothing is downloaded

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _converter().convert(text) if text else text


def _fold(texts: pl.Series) -> pl.Series:
    """One converter call for the rows that hold Han characters; the others are left as they are."""
    han = texts.str.contains(r"\p{Han}").fill_null(False)
    if not han.any():
        return texts
    rows = texts.filter(han).str.replace_all("\x1e", " ").to_list()  # U+001E separates the rows below
    parts = _converter().convert("\x1e".join(rows)).split("\x1e")
    if len(parts) != len(rows):  # the converter changed a separator: convert row by row
        parts = [to_simplified(r) for r in rows]
    return texts.scatter(han.arg_true(), pl.Series(texts.name, parts, dtype=pl.String))


def simplified(texts: pl.Expr) -> pl.Expr:
    """The same folding as a polars expression (one converter call per chunk of rows)."""
    return texts.map_batches(_fold, return_dtype=pl.String)
