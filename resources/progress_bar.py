"""A one-line live progress bar on the terminal (used by `linksyn run`)."""

import os
import sys
from collections.abc import Callable

from .llm_client import BatchStats

ENV_FLAG = "LINKSYN_PROGRESS_BAR"


def terminal_progress(stage: str, partition: str) -> Callable[[BatchStats, int | None], None] | None:
    """A callback drawing a bar on stderr, or None when not asked for or not a terminal."""
    if os.environ.get(ENV_FLAG) != "1" or not sys.stderr.isatty():
        return None

    def draw(stats: BatchStats, total: int | None) -> None:
        width = 30
        share = stats.done / total if total else 0.0
        bar = "#" * int(width * share) + "-" * (width - int(width * share))
        line = stats.progress_line(f"{stage} {partition}", total)
        sys.stderr.write(f"\r[{bar}] {line[:110]}\x1b[K")
        if total and stats.done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return draw
