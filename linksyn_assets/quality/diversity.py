"""How varied the questions are: distinct-n, compression ratio, and the share of rows that share a long run
of text with a row of another question family (units: English words, Chinese characters)."""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

from linksyn_assets.qc.fingerprints import TokenHashes
from linksyn_assets.quality.grams import fixed_grams, long_grams

# a "long n-gram": 10 English words or 20 Chinese characters (about the same amount of text)
LONG_WORDS, LONG_HAN = 10, 20


def distinct_n(tokens: TokenHashes, n: int) -> float:
    """Distinct n-grams over all n-grams of every text (1.0: no n-gram repeats; near 0: copies)."""
    grams = fixed_grams(tokens, n).grams
    return pl.Series(grams).n_unique() / grams.size if grams.size else 0.0


COMPRESSION_SAMPLE = 50_000  # rows compressed at most (every k-th row): zlib sees 32 KB at a time anyway


def compression_ratio(texts: pl.Series) -> float:
    """Raw bytes over zlib-compressed bytes of the texts joined (higher: more repetitive). zlib's window is 32 KB,
    so this measures repetition among a few hundred rows at a time; above COMPRESSION_SAMPLE rows, every k-th
    row is taken, an even sample of the whole set."""
    step = max(1, -(-texts.len() // COMPRESSION_SAMPLE))
    raw = "\n".join(texts.gather_every(step).fill_null("").to_list()).encode("utf-8")
    return len(raw) / len(zlib.compress(raw, 6)) if raw else 0.0


def repeated_long_gram_share(tokens: TokenHashes, family: np.ndarray) -> float:
    """Share of texts with a long n-gram that a text of another family also has. family[i]: the question family
    of text i (a hard variant and the question it was made from are one family: it is written from it)."""
    grams = long_grams(tokens, LONG_WORDS, LONG_HAN)
    if not grams.grams.size:
        return 0.0
    text = grams.text_of()
    pairs = pl.DataFrame({"g": grams.grams, "text": text, "family": family[text]})
    shared = pairs.group_by("g").agg(pl.col("family").n_unique().alias("families")).filter(pl.col("families") > 1)
    texts = pairs.join(shared.select("g"), on="g", how="semi")["text"].n_unique()
    return texts / (tokens.ptr.size - 1)
