"""Offline token counts: cl100k_base as bundled with litellm (no download), or a user's
Hugging Face tokenizer.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

COUNT_BATCH = 2048  # texts encoded at once: their token ids are the step's largest transient state


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
        """Tokens per text (null = 0). Encoded a batch at a time: the token ids of a batch are Python ints
        (about 28 bytes each), so only the lengths outlive it."""
        lengths = np.zeros(texts.len(), np.int64)
        for start in range(0, texts.len(), COUNT_BATCH):
            items = texts.slice(start, COUNT_BATCH).fill_null("").to_list()
            if self._hf is not None:
                counted = [len(e.ids) for e in self._hf.encode_batch(items, add_special_tokens=False)]
            else:
                counted = [len(t) for t in self._tiktoken.encode_ordinary_batch(items)]
            lengths[start:start + len(counted)] = counted
        return pl.Series("tokens", lengths, dtype=pl.Int64)
