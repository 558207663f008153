"""Prompts as versioned files: linksyn_assets/prompts/<task>.<language>.md.

A file starts with `version: N`, then `## system`, `## user` and optional `## type <name>`
sections; `{name}` fields in them are filled with str.format_map. The prompt version used in LLM
request keys is `<task>.<language>-v<N>-<first 8 hex of the file's sha256>`, so editing a file
re-runs exactly the calls that used it, even if the declared version was not bumped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parent
LANGUAGES = ("en", "zh")


class PromptFileError(ValueError):
    pass


@dataclass(frozen=True)
class PromptFile:
    task: str
    language: str
    version: str
    system: str
    user: str
    types: dict[str, str] = field(default_factory=dict)

    def messages(self, **values: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system.format_map(values).strip()},
                {"role": "user", "content": self.user.format_map(values).strip()}]

    def type_rule(self, question_type: str) -> str:
        if question_type not in self.types:
            raise PromptFileError(f"{self.task}.{self.language}.md has no section '## type {question_type}'")
        return self.types[question_type]


def _parse(path: Path, task: str, language: str) -> PromptFile:
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\n")
    if not head.startswith("version:"):
        raise PromptFileError(f"{path}: first line must be 'version: N'")
    sections: dict[str, list[str]] = {}
    current = None
    for line in body.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    for needed in ("system", "user"):
        if needed not in sections:
            raise PromptFileError(f"{path}: missing section '## {needed}'")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    types = {name[5:].strip(): "\n".join(lines).strip() for name, lines in sections.items()
             if name.startswith("type ")}
    return PromptFile(task, language, f"{task}.{language}-v{head[8:].strip()}-{digest}",
                      "\n".join(sections["system"]), "\n".join(sections["user"]), types)


@cache
def prompt_file(task: str, language: str) -> PromptFile:
    """The prompt for a task in a language (English when the language has no file)."""
    lang = language if language in LANGUAGES else "en"
    path = PROMPT_DIR / f"{task}.{lang}.md"
    if not path.exists():
        raise PromptFileError(f"no prompt file {path}")
    return _parse(path, task, lang)
