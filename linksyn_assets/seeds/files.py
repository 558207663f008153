"""What every seed reader shares: file-level errors, decoding, and the names a file gives its rows."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any

from linksyn_assets.text.excerpt import excerpt

RAW_PREVIEW = 160  # characters of a quarantined row kept for a person to recognise it (escaped, text/excerpt.py)


_SPLIT_SUFFIX = re.compile(r"_(dev|val|validation|test|train)$")


class RowError(ValueError):
    """A row that cannot become a seed; the message is the quarantine reason."""


class NotSeeds(Exception):
    """A file with a seed suffix that holds no seed records (e.g. a mapping file)."""


class EmptyFile(Exception):
    """A file with no data rows at all."""


def _utf16_without_bom(data: bytes) -> str | None:
    """'UTF-16-LE'/'UTF-16-BE' when most bytes at odd/even offsets are NUL (ASCII or CJK in UTF-16
    has them); GB18030 would otherwise decode such a file into garbage with NULs."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "UTF-16-LE"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "UTF-16-BE"
    return None


_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
_BLOCK = 1 << 20


def _unicode_bom(head: bytes, name: str) -> str | None:
    """"utf-16" for a file with a UTF-16 byte-order mark; raises for UTF-16 without one."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    guess = _utf16_without_bom(head)
    if guess:
        raise RowError(f"{name}: encoded as {guess} without a byte-order mark; save it as UTF-8 (or UTF-16 "
                       "with a BOM)")
    return None


def _undecodable(name: str, byte: int, offset: int) -> RowError:
    return RowError(f"{name}: neither UTF-8 nor GB18030 (byte 0x{byte:02x} at offset {offset}; "
                    "Latin-1/Windows-1252 or another legacy encoding?); save it as UTF-8")


def decoded_text(data: bytes, name: str) -> str:
    if _unicode_bom(data, name):
        return data.decode("utf-16")
    for encoding in _TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            error = exc
    raise _undecodable(name, data[error.start], error.start)


def file_encoding(path: Path, name: str) -> str:
    """The encoding `decoded_text` would pick for the whole file, found by decoding it block by block (memory: one
    block), so the file can then be read line by line."""
    with path.open("rb") as handle:
        if _unicode_bom(handle.read(4096), name):
            return "utf-16"
    failure: tuple[int, int] = (0, 0)
    for encoding in _TEXT_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            with path.open("rb") as handle:
                while block := handle.read(_BLOCK):
                    decoder.decode(block)
                    offset += len(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            # the decoder may hold a few bytes of the previous block: its error offsets are into what it was given
            failure = (exc.object[exc.start], offset + exc.start - (len(exc.object) - len(block or b"")))
    raise _undecodable(name, *failure)


def file_subject(path: Path) -> str:
    stem = path.stem.removeprefix("gaokao-")
    return _SPLIT_SUFFIX.sub("", stem)


def raw_preview(raw: Any) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return excerpt(text, RAW_PREVIEW)
