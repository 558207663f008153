"""Live progress of an LLM batch: reported to the run's overall board (run_board.py) and drawn as one line on
the terminal of `linksyn run`.

Dagster captures a step's stdout/stderr for its compute logs, so the line goes to a duplicate of the
terminal's file descriptor that `linksyn run` makes before any run starts.
"""

import os
from collections.abc import Callable
from typing import TextIO

from linksyn_assets import run_board
from linksyn_assets.llm.records import BatchStats

ENV_FD = "LINKSYN_PROGRESS_FD"
_streams: dict[int, TextIO] = {}


def export_terminal() -> None:
    """Called by the CLI: remember the terminal (if stderr is one) for progress lines."""
    if os.isatty(2) and ENV_FD not in os.environ:
        os.environ[ENV_FD] = str(os.dup(2))


def _terminal() -> TextIO | None:
    raw = os.environ.get(ENV_FD)
    if not raw or not raw.isdigit() or not os.isatty(int(raw)):
        return None
    fd = int(raw)
    if fd not in _streams:
        _streams[fd] = os.fdopen(fd, "w", closefd=False)
    return _streams[fd]


def batch_progress(stage: str, partition: str) -> Callable[[BatchStats, int | None], None] | None:
    """A callback for the batch's progress, or None when there is neither a board nor a terminal."""
    out, board = _terminal(), run_board.active()
    if out is None and board is None:
        return None

    def report(stats: BatchStats, total: int | None) -> None:
        if board is not None:
            board.batch(stage, partition, stats.done, total)
        if out is None:
            return
        width = 20
        filled = int(width * stats.done / total) if total else 0
        line = stats.progress_line(f"{stage} {partition}", total)
        overall = f"{board.headline()} | " if board is not None else ""
        out.write(f"\r{overall}[{'#' * filled}{'-' * (width - filled)}] {line}"[:200] + "\x1b[K")
        if total and stats.done >= total:
            out.write("\n")
        out.flush()

    return report
