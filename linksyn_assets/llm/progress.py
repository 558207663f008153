"""Live progress of LLM batches: reported to the run's overall board (run_board.py) and drawn as one line on
the terminal of `linksyn run`.

A ProgressSink lives as long as whoever made it: `linksyn run` makes one with its board and its terminal and
hands it to every run it launches (the `progress` resource); the code location the UI loads has one that draws
nothing. Dagster captures a step's stdout/stderr for its compute logs, so the terminal is a duplicate of the
terminal's file descriptor made before any run starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TextIO

from linksyn_assets.llm.records import BatchStats
from linksyn_assets.run_board import RunBoard


def terminal() -> TextIO | None:
    """A stream on a duplicate of stderr when it is a terminal (None otherwise), for progress lines."""
    if not os.isatty(2):
        return None
    return os.fdopen(os.dup(2), "w")


class ProgressSink:
    def __init__(self, board: RunBoard | None = None, out: TextIO | None = None) -> None:
        self.board, self.out = board, out

    def for_batch(self, stage: str, partition: str) -> Callable[[BatchStats, int | None], None] | None:
        """A callback for one batch's progress, or None when there is neither a board nor a terminal."""
        out, board = self.out, self.board
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

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
