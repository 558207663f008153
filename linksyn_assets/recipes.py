"""What a materialization is made from, as one hash, and what it holds, as another.

An asset partition's recipe is a hash of everything that decides its output: the code (every source file of
LinkSyn and the versions of the libraries that compute tables), the effective settings, the model routes, and
the content versions of the inputs it reads. Its content version (the Dagster data version) is a digest of the
table it wrote. When the recipe of a new materialization equals the one of the last and that one is complete
(every LLM request answered), the stored table is the answer: the asset does no work beyond this check, and
downstream recipes, built on content versions, stay equal too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import polars as pl

from linksyn_assets.storage import PROJECT_ROOT

# The packages whose code decides a table's content (a new polars may hash or sort differently).
_LIBRARIES = ("polars", "numpy", "numba", "rustworkx", "litellm", "tokenizers", "tiktoken", "datasketch")
_CODE_DIRS = ("linksyn_assets", "resources")
_CODE_SUFFIXES = {".py", ".md", ".json", ".gbnf", ".txt"}
_NOT_CODE = {"sample_seeds", "__pycache__"}


@cache
def code_digest() -> str:
    """One hash of LinkSyn's code (its .py files and prompt texts) and of the library versions: any change of
    either makes every recipe new. Computed once per process (about 100 small files)."""
    digest = hashlib.sha256()
    for folder in _CODE_DIRS:
        for path in sorted((PROJECT_ROOT / folder).rglob("*")):
            rel = path.relative_to(PROJECT_ROOT)
            if path.is_file() and path.suffix in _CODE_SUFFIXES and not _NOT_CODE & set(rel.parts):
                digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}=={version(name)}\0".encode())
        except PackageNotFoundError:
            digest.update(f"{name} absent\0".encode())
    return digest.hexdigest()


def recipe_hash(parts: Mapping[str, Any]) -> str:
    """A stable hash of JSON-able parts (keys sorted, so the order they were gathered in does not matter)."""
    text = json.dumps({"code": code_digest(), **parts}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def table_digest(*frames: pl.DataFrame) -> str:
    """A digest of tables' content: schema, row order and values (polars' row hash with fixed seeds, stable
    for one polars version, which the code digest pins)."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(json.dumps([[name, str(dtype)] for name, dtype in frame.schema.items()]).encode())
        digest.update(frame.height.to_bytes(8, "little"))
        if frame.height and frame.width:
            digest.update(frame.hash_rows(seed=7).to_numpy().tobytes())
    return digest.hexdigest()[:32]
