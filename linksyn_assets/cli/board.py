"""The overall progress view of `linksyn run` (stage x discipline) built for a run."""

from typing import Any

from linksyn_assets.run_board import RunBoard
from linksyn_assets.stages import INGEST, RELEASE, Stage

# The overall view's columns: what each job does, in the user's words.
BOARD_LABELS = {"ingest": "seeds + KP extraction", "discipline": "graph, walks, synthesis, QC",
                "release": "release"}


def progress_board(seed_source: Any, sample: int | None, stages: list[Stage], disciplines: list[str],
           with_release: bool) -> RunBoard:
    """The run's overall progress view; ingestion's cells are weighted by their seed counts."""
    from linksyn_assets.seeds.sample import sample_seeds

    counts = sample_seeds(seed_source.load().seeds, sample).group_by("discipline").len()
    ingest = BOARD_LABELS[INGEST.name]
    weights = {(ingest, d): max(float(n), 1.0) for d, n in counts.iter_rows()}
    board = RunBoard([BOARD_LABELS[s.name] for s in stages], list(disciplines), weights)
    if with_release:
        board.add_stage(BOARD_LABELS[RELEASE.name])
    return board
