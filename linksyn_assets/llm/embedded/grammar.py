"""Bounds for the embedded demo model's JSON grammar.

A 135M model under a JSON grammar often never closes a string: it repeats a word until max_tokens and the
reply is cut off (in the first demo runs, 3 of 8 extraction replies). llama.cpp's grammar enforces
`maxLength`, `maxItems` and `enum` but not an integer's `minimum`/`maximum` (the demo model rated questions 5
on a 0-4 scale). These bounds go into the embedded model's grammar only: the answers are still validated
against the unchanged pydantic models, and other models' requests (and their ledger keys) are untouched.
"""

from __future__ import annotations

import copy
from typing import Any

# Characters a field of the demo's answers may take; longer text from a 135M model is a loop, not content.
# Sized so the largest answer the grammar allows fits the stage's token cap (stage_config.EMBEDDED_MAX_TOKENS).
# Characters, not tokens: SmolLM2 spends 1.7 tokens on a Chinese character and 0.3 on an English one (measured on
# exam sentences), so these bounds are sized for Chinese: the largest answer they allow fits the stage's cap
# (stage_config.EMBEDDED_MAX_TOKENS); English answers end far below it.
STRING_CAPS = {"name": 24, "canonical_en": 24, "discipline": 24, "question": 100, "answer": 40, "solution": 100,
               "reason": 24, "options": 20, "knowledge_points_used": 16, "techniques": 16}
DEFAULT_STRING_CAP = 160
# Lower bounds where the row rules would reject less (a question of a few characters was the demo model's most
# common reject: 10 of 15 rows in one timed run); QC itself is unchanged.
STRING_MINS = {"question": 24, "solution": 16}
ARRAY_CAPS = {"knowledge_points": 3, "options": 4, "items": 1, "knowledge_points_used": 2, "techniques": 2}
DEFAULT_ARRAY_CAP = 4
MAX_ENUM = 16  # an integer range at most this wide becomes an enum


def bounded_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a pydantic JSON schema with every string, array and small integer range bounded."""
    out = copy.deepcopy(schema)
    _bound(out, "")
    for definition in out.get("$defs", {}).values():
        _bound(definition, "")
    return out


def _bound(node: Any, name: str) -> None:
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "string" and "maxLength" not in node and "enum" not in node:
        node["maxLength"] = STRING_CAPS.get(name, DEFAULT_STRING_CAP)
        if name in STRING_MINS:
            node["minLength"] = max(int(node.get("minLength", 0)), STRING_MINS[name])
    elif kind == "array":
        cap = ARRAY_CAPS.get(name, DEFAULT_ARRAY_CAP)
        node["maxItems"] = min(int(node.get("maxItems", cap)), cap)
        node["minItems"] = min(int(node.get("minItems", 0)), node["maxItems"])
        _bound(node.get("items"), name)
    elif kind == "integer" and "minimum" in node and "maximum" in node:
        low, high = int(node["minimum"]), int(node["maximum"])
        if high - low < MAX_ENUM:
            for key in ("minimum", "maximum", "type"):
                node.pop(key)
            node["enum"] = list(range(low, high + 1))
    for key, child in (node.get("properties") or {}).items():
        _bound(child, key)
    for alternative in node.get("anyOf") or []:
        _bound(alternative, name)
