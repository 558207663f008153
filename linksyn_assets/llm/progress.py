"""A one-line live progress bar on the terminal of `linksyn run`.

Dagster captures a step's stdout/stderr for its compute logs, so the bar writes to a duplicate of
the terminal's file descriptor that `linksyn run` makes before any run starts.
"""

import os
from collections.abc import Callable
from typing import TextIO

from linksyn_assets.llm.records import BatchStats

ENV_FD = "LINKSYN_PROGRESS_FD"
_streams: dict[int, TextIO] = {}


def export_terminal() -> None:
    """Called by the CLI: remember the terminal (if stderr is one) for progress bars."""
    if os.isatty(2) and ENV_FD not in os.environ:
        os.environ[ENV_FD] = str(os.dup(2))


def terminal_progress(stage: str, partition: str) -> Callable[[BatchStats, int | None], None] | None:
    """A callback drawing a bar on the terminal, or None when there is no terminal to draw on."""
    raw = os.environ.get(ENV_FD)
    if not raw or not raw.isdigit() or not os.isatty(int(raw)):
        return None
    fd = int(raw)
    if fd not in _streams:
        _streams[fd] = os.fdopen(fd, "w", closefd=False)
    out = _streams[fd]

    def draw(stats: BatchStats, total: int | None) -> None:
        width = 30
        filled = int(width * stats.done / total) if total else 0
        line = stats.progress_line(f"{stage} {partition}", total)
        out.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {line[:110]}\x1b[K")
        if total and stats.done >= total:
            out.write("\n")
        out.flush()

    return draw
