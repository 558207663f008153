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


def simplified(texts: pl.Expr) -> pl.Expr:
    """The same folding as a polars expression (one converter call per chunk of rows)."""
    return texts.map_batches(lambda s: pl.Series(s.name, _converter().convert("\x1e".join(s.fill_null("")
                                                                                       .to_list())).split("\x1e"),
                                                 dtype=pl.String), return_dtype=pl.String)
