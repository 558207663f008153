"""A short, escaped excerpt of untrusted text for reasons, logs and metadata: control, format (zero-width,
bidi) and line-breaking characters are shown as escapes, so an excerpt can neither hide text, reorder a line in
a terminal or the UI, nor forge another line; long text is cut."""

from __future__ import annotations

import unicodedata

EXCERPT_CHARS = 160


def _shown(char: str) -> str:
    if char in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn"):
        return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"
    return char


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most `limit` characters of `text` as shown (escapes count), `…` marking a cut."""
    out: list[str] = []
    size = 0
    for char in text:
        shown = _shown(char)
        if size + len(shown) > limit:
            return "".join(out) + "…"
        out.append(shown)
        size += len(shown)
    return "".join(out)
