"""Text as a reader sees it, for matching markup: invisible format characters dropped, compatibility forms
folded (NFKC: fullwidth and mathematical letters), and the Cyrillic and Greek letters that look like Latin ones
mapped to them, so `<\u200bseed>` or `</ѕeed>` (Cyrillic dze) read as the tags they imitate."""

from __future__ import annotations

import unicodedata

# Letters drawn like Latin ones in common fonts (Unicode's confusables for a-z), lower and upper case.
_LOOKALIKES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "ѕ": "s", "і": "i", "ј": "j", "к": "k", "у": "y",
    "х": "x", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ո": "n", "ս": "u",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T",
    "Χ": "X", "Υ": "Y", "Ζ": "Z",
})


def invisible(char: str) -> bool:
    """Format characters (zero-width space/joiners, bidi controls, soft hyphen, BOM): drawn as nothing."""
    return unicodedata.category(char) == "Cf"


def fold_lookalikes(text: str) -> str:
    """`text` as it reads: invisible characters removed, NFKC applied, look-alike letters made Latin."""
    visible = "".join(c for c in text if not invisible(c))
    return unicodedata.normalize("NFKC", visible).translate(_LOOKALIKES)
