"""The overall progress view of `linksyn run`: cells, done/total and the ETA model."""

from linksyn_assets.run_board import RunBoard


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _board(clock: Clock) -> RunBoard:
    return RunBoard(["ingest", "walks"], ["physics", "化学"], {("ingest", "physics"): 10, ("ingest", "化学"): 30},
                    clock=clock)


def test_eta_scales_finished_cells_by_weight_and_counts_the_release():
    clock = Clock()
    board = _board(clock)
    board.add_stage("release")
    board.start("ingest", "physics")
    clock.now = 20.0
    board.finish("ingest", "physics", ok=True, rows=12)
    left, known = board.eta()
    # 2 s per seed from physics' 10 seeds -> 60 s for 化学's 30; walks and the release have nothing to go on
    assert left == 60.0 and not known
    assert board.counts() == (1, 5)
    assert "ETA over 1m00s" in board.headline()
    board.start("ingest", "化学")
    clock.now = 80.0
    board.finish("ingest", "化学", ok=True)
    assert "ETA unknown" in board.headline()  # only stages with nothing to go on are left


def test_running_batch_extrapolates_until_a_cell_of_the_stage_finishes():
    clock = Clock()
    board = _board(clock)
    for d in ("physics", "化学"):
        board.start("ingest", d)
        clock.now += 10
        board.finish("ingest", d, ok=True)
    board.start("walks", "physics")
    clock.now += 30
    board.batch("synthesize", "physics", 1, 4)  # a quarter done in 30 s -> 90 s more
    left, known = board.eta()
    assert not known  # 化学's walks cell has no estimate yet
    assert left == 90.0
    clock.now += 90
    board.finish("walks", "physics", ok=False)
    left, known = board.eta()
    assert known and left == 120.0  # the finished (failed) cell took 120 s: the same for 化学
    table = board.render()
    assert "failed 120s" in table and "化学" in table and "ok 10s" in table


def test_batch_progress_shows_in_the_running_cell_only():
    clock = Clock()
    board = _board(clock)
    board.start("ingest", "化学")
    clock.now = 5
    board.batch("extract", "化学", 7, 30)
    text = board.render()
    row = next(line for line in text.splitlines() if "化学" in line)
    assert "running 5s extract 7/30" in row
    physics = next(line for line in text.splitlines() if "physics" in line)
    assert "extract" not in physics and physics.split()[1:] == [".", "."]


def test_a_progress_sink_draws_on_its_own_terminal_and_board_and_a_bare_one_draws_nothing():
    """The sink `linksyn run` hands to its runs (the `progress` resource): the batch's cell on the board and one
    line on the terminal it was given; the code location's sink has neither, so a batch gets no callback."""
    import io

    from linksyn_assets.llm.progress import ProgressSink
    from linksyn_assets.llm.records import BatchStats

    clock = Clock()
    board = _board(clock)
    board.start("ingest", "化学")
    out = io.StringIO()
    report = ProgressSink(board, out).for_batch("extract", "化学")
    assert report is not None
    stats = BatchStats(stage="extract")
    stats.done = 30
    report(stats, 30)
    assert "extract 30/30" in board.render()
    line = out.getvalue()
    assert line.startswith("\r") and "[extract 化学] 30/30 done" in line and line.endswith("\n")
    assert ProgressSink().for_batch("extract", "physics") is None
