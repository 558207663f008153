"""Options written inside a question's text, the way exam benchmarks ship them: labelled lines or
segments (`A.` `A．` `A、` `A:` `(A)` `（A）`, one per line or several on a line).

Text is read after NFKC (full-width `．` `（` `：` are their ASCII forms). A label counts only where a
label can stand: at the start of a line, after whitespace or after closing punctuation, so `集合A、B`
or `f(x)=A.` never start one. A set is a run of labels A, B, C, ... in order (a letter out of that
order is text); every option of a set must have text, and a set needs two options. An option ends
where the next label starts; the last option of a set ends with its line.

Several sets in one text are several questions sharing a passage (an English reading passage with
questions 21-24, a cloze test with blanks 41-60). Each set's stem is the text between the previous
set's last line and its own first label; the first set's stem starts at the last numbered line
(`21.` `21．` `(1)`) before it, else at its last line, and what comes before is the passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LABEL = re.compile(
    r"(?:^|(?<=[\s\)\]】」。?!:;,，、.]))"
    r"(?:\(([A-H])\)|([A-H])[\.、:])", re.MULTILINE)
_NUMBERED = re.compile(r"^[ \t]*(?:\(\d{1,3}\)|\d{1,3}[\.、\)])", re.MULTILINE)


@dataclass(frozen=True)
class OptionSet:
    stem: str  # the text this set's question asks (for a single set: everything but the options)
    options: list[str]
    start: int  # offset of the set's first label
    end: int  # offset after the set's last line


@dataclass(frozen=True)
class InlineQuestions:
    passage: str  # text shared by every set (empty for one set)
    sets: list[OptionSet]
    trailing: str = ""  # text after the last of several sets (no question of its own)


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _runs(text: str) -> list[list[re.Match[str]]]:
    """Label runs A, B, C, ... in text order."""
    runs: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    for mark in _LABEL.finditer(text):
        letter = mark.group(1) or mark.group(2)
        if letter == "A":
            if len(current) >= 2:
                runs.append(current)
            current = [mark]
        elif current and ord(letter) - ord("A") == len(current):
            current.append(mark)
    if len(current) >= 2:
        runs.append(current)
    return runs


def _options(text: str, run: list[re.Match[str]]) -> tuple[list[str], int] | None:
    """The run's option texts and where its last line ends; None when an option is empty."""
    end = _line_end(text, run[-1].end())
    bounds = [m.end() for m in run]
    stops = [m.start() for m in run[1:]] + [end]
    options = [text[a:b].strip() for a, b in zip(bounds, stops, strict=True)]
    if any(not o for o in options):
        return None
    return options, end


def inline_questions(text: str) -> InlineQuestions | None:
    """The option sets written in text, or None when it holds none (see the module docstring)."""
    found: list[tuple[list[re.Match[str]], list[str], int]] = []
    for run in _runs(text):
        if found and run[0].start() < found[-1][2]:
            continue  # a run starting inside the previous set's last line is that option's text
        parsed = _options(text, run)
        if parsed is not None:
            found.append((run, *parsed))
    if not found:
        return None
    if len(found) == 1:
        run, options, end = found[0]
        stem = "\n".join(p for p in (text[:run[0].start()].strip(), text[end:].strip()) if p)
        return InlineQuestions("", [OptionSet(stem, options, run[0].start(), end)])
    first = found[0][0][0].start()
    numbered = [m.start() for m in _NUMBERED.finditer(text, 0, first)]
    stem_start = numbered[-1] if numbered else text.rfind("\n", 0, first) + 1
    if not text[stem_start:first].strip():  # the label sits alone on its line: the stem is the line before
        stem_start = text.rfind("\n", 0, max(0, stem_start - 1)) + 1
    sets, previous_end = [], stem_start
    for run, options, end in found:
        sets.append(OptionSet(text[previous_end:run[0].start()].strip(), options, run[0].start(), end))
        previous_end = end
    return InlineQuestions(text[:stem_start].strip(), sets, text[previous_end:].strip())
