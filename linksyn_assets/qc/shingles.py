"""The texts near-duplicate removal compares, as normalized bytes and their shingles.

Normalization (polars, Rust): traditional Chinese folded to simplified, NFKC, lowercase, the minus sign to
`-`; LaTeX commands (`\\frac`, `\\sin`), numbers and operators (`+ - * / ^ = < > | %` and their Unicode
relatives) kept as tokens of their own, other punctuation and brackets dropped, every Han character a
token. What makes two formula questions different stays in the text.

Symbols: a Latin word of two or more ASCII letters is spelled out letter by letter, with a space symbol
between tokens; a Han character, a number, a LaTeX command, an operator or any other token is one symbol,
and Han characters follow each other without a space. Shingles are symbol trigrams (SHINGLE_SYMBOLS), so a
changed letter or character changes at most three shingles and adds three. A text shorter than one
shingle is its own only shingle.

The formula key of a text is a hash of its numbers, LaTeX commands and operators, counted (in sorted order,
so reordered options keep it): `2 kg ... 0.2` and `4 kg ... 0.2` differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import polars as pl

from linksyn_assets.qc.fingerprints import chunks
from linksyn_assets.text.chinese_script import simplified
from linksyn_assets.walks.rng_streams import mix

SHINGLE_SYMBOLS = 3
_OPERATORS = r"+\-*/^=<>|%≤≥≠±×÷√∞∫∑∏∈∉⊂⊆⊃⊇∪∩→←⇒⇔↔∠⊥∥°·∧∨¬≡⊕∀∃"
FORMULA_TOKEN = rf"\\[a-z]+|[0-9]+|[{_OPERATORS}]"
_SPACE, _NEWLINE, _BACKSLASH = 32, 10, 92
_SPACE_SYMBOL = np.uint64(0x5EED5EED5EED5EED)


def dedup_normalized(texts: pl.Expr) -> pl.Expr:
    return (simplified(texts.fill_null("")).str.normalize("NFKC").str.to_lowercase()
            .str.replace_all("\u2212", "-", literal=True)
            .str.replace_all(r"(\\[a-z]+)", " $1 ")
            .str.replace_all(rf"([0-9]+|[{_OPERATORS}])", " $1 ")
            .str.replace_all(rf"[^\p{{L}}\p{{N}}\\{_OPERATORS}]+|_|\\(?:[^a-z]|$)", " ")
            .str.replace_all(r"(\p{Han})", " $1 ")
            .str.replace_all(r"\s+", " ").str.strip_chars())


@numba.njit(cache=True, inline="always")
def _is_han(buf: np.ndarray, start: int, length: int) -> bool:
    """A CJK ideograph in UTF-8 (U+3400-U+9FFF, compatibility U+F900-U+FAFF, supplementary U+20000-U+3FFFF)."""
    first = buf[start]
    if length == 3:
        return (0xE3 <= first <= 0xE9) or (first == 0xEF and 0xA4 <= buf[start + 1] <= 0xAB)
    return length == 4 and first == 0xF0 and 0xA0 <= buf[start + 1] <= 0xB3


@numba.njit(cache=True, inline="always")
def _spelled(buf: np.ndarray, start: int, length: int) -> bool:
    if length < 2:
        return False
    for k in range(start, start + length):  # noqa: SIM110 -- a plain loop compiles tighter in numba
        if not (97 <= buf[k] <= 122):
            return False
    return True


@numba.njit(cache=True, inline="always")
def _token_hash(buf: np.ndarray, start: int, length: int) -> np.uint64:
    h = np.uint64(0xCBF29CE484222325)
    for k in range(start, start + length):
        h = (h ^ np.uint64(buf[k])) * np.uint64(0x100000001B3)
    return mix(h)


@numba.njit(cache=True, inline="always")
def _next_token(buf: np.ndarray, i: int, hi: int) -> tuple[int, int]:
    """(start, end) of the first token at or after i; start == hi when none is left."""
    while i < hi and buf[i] == _SPACE:
        i += 1
    end = i
    while end < hi and buf[end] != _SPACE:
        end += 1
    return i, end


@numba.njit(cache=True, inline="always")
def _push(out: np.ndarray, written: int, s0: np.uint64, s1: np.uint64, count: int,
          sym: np.uint64) -> tuple[int, np.uint64, np.uint64, int]:
    """One more symbol: a shingle once three are there. Returns (written, s0, s1, count)."""
    count += 1
    if count >= SHINGLE_SYMBOLS:
        out[written] = mix(mix(s0 * np.uint64(31) ^ s1) ^ sym)
        written += 1
    return written, s1, sym, count


@numba.njit(cache=True)
def text_shingles(buf: np.ndarray, lo: int, hi: int, out: np.ndarray) -> int:
    """Shingle hashes of the text buf[lo:hi] into out (at least 2 * (hi - lo) + 1 long); returns how many."""
    s0, s1 = np.uint64(0), np.uint64(0)
    count, written, prev_han = 0, 0, False
    i, end = _next_token(buf, lo, hi)
    while i < hi:
        han = _is_han(buf, i, end - i)
        if count > 0 and not (han and prev_han):
            written, s0, s1, count = _push(out, written, s0, s1, count, _SPACE_SYMBOL)
        if _spelled(buf, i, end - i):
            for k in range(i, end):
                letter = mix(np.uint64(buf[k]) + np.uint64(0x9E3779B97F4A7C15))
                written, s0, s1, count = _push(out, written, s0, s1, count, letter)
        else:
            written, s0, s1, count = _push(out, written, s0, s1, count, _token_hash(buf, i, end - i))
        prev_han = han
        i, end = _next_token(buf, end, hi)
    if written == 0 and count > 0:
        out[0] = mix(s0 * np.uint64(31) ^ s1 ^ np.uint64(count))
        written = 1
    return written


@numba.njit(cache=True)
def _han_share(buf: np.ndarray, lo: int, hi: int) -> float:
    """Han characters among Han characters and Latin words (numbers and formula symbols say nothing)."""
    han, words = 0, 0
    i, end = _next_token(buf, lo, hi)
    while i < hi:
        if _is_han(buf, i, end - i):
            han += 1
        elif _spelled(buf, i, end - i):
            words += 1
        i, end = _next_token(buf, end, hi)
    return han / max(han + words, 1)


@numba.njit(cache=True)
def _line_bounds(buf: np.ndarray, n_texts: int) -> np.ndarray:
    bounds = np.empty(n_texts + 1, np.int64)
    bounds[0], t = 0, 1
    for i in range(buf.size):
        if buf[i] == _NEWLINE:
            bounds[t] = i + 1
            t += 1
    bounds[n_texts] = buf.size + 1
    return bounds


@dataclass
class NormalizedTexts:
    """Normalized texts as one byte buffer per chunk; text t of a chunk is buf[bounds[t]:bounds[t + 1] - 1]."""

    buffers: list[np.ndarray]
    bounds: list[np.ndarray]
    formulas: np.ndarray  # uint64 per text: hash of its formula tokens, counted, in sorted order
    han_share: np.ndarray

    @property
    def count(self) -> int:
        return int(self.formulas.size)

    def lengths(self) -> np.ndarray:
        """Bytes per normalized text (0: nothing left to compare)."""
        parts = [np.diff(bounds) - 1 for bounds in self.bounds]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def text(self, index: int) -> str:
        """One normalized text (for reports and tests)."""
        offset = 0
        for buf, bounds in zip(self.buffers, self.bounds, strict=True):
            if index < offset + bounds.size - 1:
                k = index - offset
                return bytes(buf[bounds[k]:bounds[k + 1] - 1]).decode("utf-8")
            offset += bounds.size - 1
        raise IndexError(index)


@numba.njit(cache=True, parallel=True)
def _chunk_han_share(buf: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    n = bounds.size - 1
    out = np.empty(n)
    for t in numba.prange(n):
        out[t] = _han_share(buf, bounds[t], bounds[t + 1] - 1)
    return out


def normalized_texts(texts: pl.Series) -> NormalizedTexts:
    buffers, bounds, formulas, shares = [], [], [], []
    for chunk in chunks(texts):
        frame = chunk.to_frame("t").select(dedup_normalized(pl.col("t")).alias("t"))
        formulas.append(frame.select(pl.col("t").str.extract_all(FORMULA_TOKEN).list.sort()
                                     .list.join(" ").hash(seed=7))["t"].to_numpy())
        buf = np.frombuffer("\n".join(frame["t"].to_list()).encode("utf-8"), dtype=np.uint8)
        line_bounds = _line_bounds(buf, frame.height)
        buffers.append(buf)
        bounds.append(line_bounds)
        shares.append(_chunk_han_share(buf, line_bounds))
    if not buffers:
        return NormalizedTexts([], [], np.zeros(0, np.uint64), np.zeros(0))
    return NormalizedTexts(buffers, bounds, np.concatenate(formulas).astype(np.uint64), np.concatenate(shares))


@dataclass
class ShingleSets:
    """Sorted, distinct shingle hashes of some texts, flat: set k is shingles[ptr[k]:ptr[k + 1]]."""

    shingles: np.ndarray
    ptr: np.ndarray


@numba.njit(cache=True)
def _sets(buf: np.ndarray, bounds: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = 0
    for k in range(which.size):
        total += 2 * (bounds[which[k] + 1] - 1 - bounds[which[k]]) + 1
    out = np.empty(total, np.uint64)
    ptr = np.zeros(which.size + 1, np.int64)
    pos = 0
    for k in range(which.size):
        t = which[k]
        n = text_shingles(buf, bounds[t], bounds[t + 1] - 1, out[pos:])
        unique = np.unique(out[pos:pos + n])
        out[pos:pos + unique.size] = unique
        pos += unique.size
        ptr[k + 1] = pos
    return out[:pos].copy(), ptr


def shingle_sets(texts: NormalizedTexts, which: np.ndarray) -> ShingleSets:
    """The shingle sets of the texts numbered in `which` (ascending), in that order."""
    parts, ptrs, offset, base = [], [np.zeros(1, np.int64)], 0, 0
    for buf, bounds in zip(texts.buffers, texts.bounds, strict=True):
        n = bounds.size - 1
        local = which[(which >= base) & (which < base + n)] - base
        shingles, ptr = _sets(buf, bounds, local.astype(np.int64))
        parts.append(shingles)
        ptrs.append(ptr[1:] + offset)
        offset += shingles.size
        base += n
    flat = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    return ShingleSets(flat, np.concatenate(ptrs))


@numba.njit(cache=True)
def token_bigrams(buf: np.ndarray, lo: int, hi: int, out: np.ndarray) -> int:
    """Hashes of the token bigrams of buf[lo:hi] into out (at least hi - lo + 1 long); a one-token text is its
    token. Candidates come from these: unlike letter trigrams, which any two English texts share by the
    hundred, two unrelated texts rarely share a bigram of words, so LSH stays selective at a million rows."""
    prev, tokens, written = np.uint64(0), 0, 0
    i, end = _next_token(buf, lo, hi)
    while i < hi:
        token = _token_hash(buf, i, end - i)
        if tokens > 0:
            out[written] = mix(prev * np.uint64(31) ^ token)
            written += 1
        prev, tokens = token, tokens + 1
        i, end = _next_token(buf, end, hi)
    if written == 0 and tokens == 1:
        out[0] = prev
        written = 1
    return written


@numba.njit(cache=True, parallel=True)
def chunk_signatures(buf: np.ndarray, bounds: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures of a chunk's texts over their token bigrams, hashed on the fly."""
    n = bounds.size - 1
    sig = np.full((n, a.size), np.uint32(0xFFFFFFFF), np.uint32)
    for t in numba.prange(n):
        lo, hi = bounds[t], bounds[t + 1] - 1
        tmp = np.empty(hi - lo + 1, np.uint64)
        for i in range(token_bigrams(buf, lo, hi, tmp)):
            s = tmp[i]
            for k in range(a.size):
                v = np.uint32((s * a[k] + b[k]) >> np.uint64(32))
                if v < sig[t, k]:
                    sig[t, k] = v
    return sig
