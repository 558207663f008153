"""Offline token counts: cl100k_base as bundled with litellm (no download), or a user's
Hugging Face tokenizer.json."""

from __future__ import annotations

from pathlib import Path

import polars as pl


class TokenCounter:
    def __init__(self, tokenizer_json: str = "") -> None:
        if tokenizer_json:
            from tokenizers import Tokenizer  # installed with litellm

            path = Path(tokenizer_json)
            if not path.is_file():
                raise FileNotFoundError(f"tokenizer_json {path} does not exist")
            self._hf = Tokenizer.from_file(str(path))
            self.name = f"tokenizer.json:{path.name}"
        else:
            import importlib

            from linksyn_assets.llm.litellm_setup import litellm

            litellm()  # set up first: bundled encodings, nothing fetched
            encoding = importlib.import_module("litellm.litellm_core_utils.default_encoding").encoding
            self._tiktoken = encoding
            self._hf = None
            self.name = encoding.name

    def count(self, texts: pl.Series) -> pl.Series:
        items = texts.fill_null("").to_list()
        if self._hf is not None:
            lengths = [len(e.ids) for e in self._hf.encode_batch(items, add_special_tokens=False)]
        else:
            lengths = [len(t) for t in self._tiktoken.encode_ordinary_batch(items)]
        return pl.Series("tokens", lengths, dtype=pl.Int64)
