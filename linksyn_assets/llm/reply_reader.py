"""Reading a reasoning model's reply: where its thought is, where its answer is, and the JSON in the answer.

Reasoning models return their chain of thought in one of three places (llm/providers.py cites who does what):
a field beside the content (`reasoning_content` on DeepSeek's API, `reasoning` on vLLM >= 0.11 with a reasoning
parser, OpenRouter, Together's hybrid models); inside the content as `<think> ... </think>` and then the answer
(R1 on Together, SambaNova, Azure AI Foundry, vLLM or SGLang without a reasoning parser, Ollama before 0.9); or
inside the content with only the closing tag, because R1's chat template opens `<think>` itself. A thought about
STEM is full of LaTeX braces and often drafts the JSON before the real one, so the JSON is read only from the
answer: what follows the last closing tag.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

# The tag names hosts and models use for the thought, any case; a tag may carry attributes (`<think lang="en">`).
_OPEN = re.compile(r"<\s*(?:think|thinking|reasoning)(?:\s[^<>]*)?>", re.IGNORECASE)
_CLOSE = re.compile(r"<\s*/\s*(?:think|thinking|reasoning)\s*>", re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|Json)?[ \t]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder(strict=False)  # raw newlines inside strings are common
_MAX_OBJECT_STARTS = 64  # braces tried as the start of the answer's JSON object (prose before it may hold a few)


class BlankReply(ValueError):
    """The reply has no answer text at all (DeepSeek's JSON mode may return whitespace with finish_reason=stop):
    a new sample may well answer, a repair turn has nothing to repair."""


@dataclass(frozen=True)
class SplitReply:
    answer: str  # the text after the thought: what the JSON is read from, and all a repair turn sends back
    reasoning: str | None  # the thought, from the field or from the content
    thought_open: bool  # the content opens a thought it never closes: the reply stopped inside the thought


def split_reply(content: str | None, reasoning_field: str | None = None) -> SplitReply:
    """The answer and the thought of one reply, whichever way the host returned the thought."""
    text = content or ""
    field = reasoning_field if reasoning_field and reasoning_field.strip() else None
    if "<" not in text:  # the common case (a field, or no thought): no tag to look for
        return SplitReply(text, field, False)
    closes = list(_CLOSE.finditer(text))
    if closes:
        # Everything before the last closing tag is thought (an explicit opening or the template's implicit one).
        head = text[:closes[-1].start()]
        if len(closes) == 1:  # the common case: one block, its opening (if any) found without a rewrite
            opening = _OPEN.search(head)
            thought = head if opening is None else head[:opening.start()] + head[opening.end():]
        else:
            thought = _OPEN.sub("", _CLOSE.sub("\n", head))
        return SplitReply(text[closes[-1].end():], _joined(field, thought.strip()), False)
    opening = _OPEN.search(text)
    if opening:
        return SplitReply(text[:opening.start()], _joined(field, text[opening.end():].strip()), True)
    return SplitReply(text, field, False)


def _joined(field: str | None, thought: str) -> str | None:
    parts = [p for p in (field, thought) if p]
    return "\n\n".join(parts) if parts else None


def answer_after_first_close(content: str | None) -> str | None:
    """The text after the first closing tag, when there are several: a closing tag may sit inside the answer (a
    question about markup), so the reader falls back to this when the answer after the last one does not parse."""
    closes = list(_CLOSE.finditer(content or ""))
    return content[closes[0].end():] if content and len(closes) > 1 else None


def answer_json(split: SplitReply, content: str | None, output: type[BaseModel]) -> dict[str, Any]:
    """The validated JSON of a split reply; when the answer after the last closing tag does not parse and there were
    several closing tags, the text after the first one (a closing tag inside the answer itself)."""
    if split.thought_open and not split.answer.strip():
        raise BlankReply("the reply stopped inside its thought (no answer after it)")
    try:
        return read_json_answer(split.answer, output)
    except BlankReply:
        raise
    except ValueError:
        fallback = answer_after_first_close(content)
        if fallback is None:
            raise
        return read_json_answer(fallback, output)


def read_json_answer(answer: str, output: type[BaseModel]) -> dict[str, Any]:
    """The answer's JSON object, validated against `output`; raises ValueError with a reason a model can act on
    (BlankReply when there is no answer text at all).

    The answer may be the bare object, a fenced block with prose before it, or an object inside prose; when several
    objects are found, the last one that validates wins (a model drafts before it answers)."""
    text = answer.strip()
    if not text:
        raise BlankReply("blank reply (no answer text)")
    if text[0] == "{" and text[-1] == "}":  # the common case: the bare object
        try:
            data = _DECODER.decode(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return _validated(data, output)
    candidates = [*(_objects(block) for block in reversed(_FENCE.findall(text))), _objects(text)]
    found = [obj for group in candidates for obj in reversed(group)]
    if not found:
        start, end = text.find("{"), text.rfind("}")
        if start < 0:
            raise ValueError("no JSON object in the reply")
        try:  # why the object that starts at the first brace does not parse
            _DECODER.decode(text[start:end + 1] if end > start else text[start:])
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON: {exc.msg}") from exc
        raise ValueError("no JSON object in the reply")
    first_problem: ValueError | None = None
    for data in found:
        try:
            return _validated(data, output)
        except ValueError as exc:
            first_problem = first_problem or exc
    broken = _outer_error(text)
    if broken:  # the objects found sit inside an outer one that does not parse: that is what to fix
        raise ValueError(f"invalid JSON: {broken}")
    raise first_problem  # type: ignore[misc]  # found is not empty


def _outer_error(text: str) -> str | None:
    """Why the object that starts at the text's first brace does not parse, if it does not."""
    start = text.find("{")
    try:
        _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return exc.msg
    return None


def _objects(text: str) -> list[dict[str, Any]]:
    """Top-level JSON objects in `text`, in order (an object inside another is not listed on its own)."""
    out: list[dict[str, Any]] = []
    position, tries = text.find("{"), 0
    while position >= 0 and tries < _MAX_OBJECT_STARTS:
        tries += 1
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            out.append(value)
        position = text.find("{", end)
    return out


def _validated(data: dict[str, Any], output: type[BaseModel]) -> dict[str, Any]:
    try:
        return output.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'root'}: {e['msg']}" for e in exc.errors()[:5])
        raise ValueError(f"schema mismatch: {problems}") from exc


def reasoning_share(reasoning: str | None, answer: str) -> float:
    """The thought's share of the reply's characters: splits completion tokens into reasoning and answer when the
    host reports no reasoning-token count (a thought inside the content is billed as completion tokens)."""
    thought = len(reasoning or "")
    total = thought + len(answer)
    return thought / total if total else 0.0
