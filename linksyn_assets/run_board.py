"""The overall progress view of a `linksyn run`: one cell per stage and discipline, with done/total and an
ETA for the whole run, not only for the LLM batch in flight.

The ETA of a stage's waiting cells comes from its finished cells (seconds per seed for ingestion, whose work
grows with the seeds; seconds per cell otherwise). A stage with no finished cell yet is estimated from its
running LLM batch (elapsed / share done); without either, the ETA says it is a lower bound ("+").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

WAITING, RUNNING, OK, FAILED = "waiting", "running", "ok", "failed"


@dataclass
class Cell:
    state: str = WAITING
    weight: float = 1.0
    started: float = 0.0
    seconds: float = 0.0
    step: str = ""  # the LLM step in flight (extract, synthesize, ...)
    done: int = 0
    total: int | None = None
    rows: int | None = None

    def text(self, now: float) -> str:
        if self.state == WAITING:
            return "."
        if self.state in (OK, FAILED):
            rows = f" {self.rows} rows" if self.rows is not None else ""
            return f"{self.state} {self.seconds:.0f}s{rows}"
        of = f"/{self.total}" if self.total else ""
        step = f" {self.step} {self.done}{of}" if self.step else ""
        return f"running {now - self.started:.0f}s{step}"


@dataclass
class RunBoard:
    """Stages in run order; `weights[(stage, discipline)]` scales a cell's expected cost (default 1), e.g.
    ingestion by the discipline's seed count."""

    stages: list[str]
    disciplines: list[str]
    weights: dict[tuple[str, str], float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    cells: dict[tuple[str, str], Cell] = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.cells = {(s, d): Cell(weight=float(self.weights.get((s, d), 1.0)))
                      for s in self.stages for d in self.disciplines}

    def add_stage(self, stage: str, discipline: str = "-") -> None:
        """An unpartitioned stage (the release) or a later round: one more cell."""
        if stage not in self.stages:
            self.stages.append(stage)
        self.cells.setdefault((stage, discipline), Cell())

    def start(self, stage: str, discipline: str) -> None:
        cell = self.cells[(stage, discipline)]
        cell.state, cell.started, cell.step, cell.done, cell.total = RUNNING, self.clock(), "", 0, None

    def batch(self, step: str, discipline: str, done: int, total: int | None) -> None:
        """Progress of the LLM batch of the running cell of `discipline`."""
        for (_, d), cell in self.cells.items():
            if d == discipline and cell.state == RUNNING:
                cell.step, cell.done, cell.total = step, done, total

    def finish(self, stage: str, discipline: str, ok: bool, rows: int | None = None) -> None:
        cell = self.cells[(stage, discipline)]
        cell.state, cell.seconds, cell.rows = (OK if ok else FAILED), self.clock() - cell.started, rows

    def counts(self) -> tuple[int, int]:
        done = sum(c.state in (OK, FAILED) for c in self.cells.values())
        return done, len(self.cells)

    def eta(self) -> tuple[float, bool]:
        """(seconds left, whether that is exact within the model, i.e. every stage had something to go on)."""
        now, left, known = self.clock(), 0.0, True
        for stage in self.stages:
            cells = [c for (s, _), c in self.cells.items() if s == stage]
            finished = [c for c in cells if c.state in (OK, FAILED)]
            per_weight = (sum(c.seconds for c in finished) / sum(c.weight for c in finished)) if finished else None
            for cell in cells:
                if cell.state in (OK, FAILED):
                    continue
                elapsed = now - cell.started if cell.state == RUNNING else 0.0
                if per_weight is not None:
                    left += max(per_weight * cell.weight - elapsed, 0.0)
                elif cell.state == RUNNING and cell.total and cell.done:
                    left += elapsed * (cell.total - cell.done) / cell.done
                else:
                    known = False
        return left, known

    def headline(self) -> str:
        done, total = self.counts()
        left, known = self.eta()
        if known:
            eta = f"ETA {_clock(left)}"
        else:  # a stage without a finished or measurable cell adds an unknown amount
            eta = f"ETA over {_clock(left)}" if left >= 1 else "ETA unknown until a step of each stage has run"
        return f"run {done}/{total} steps done, {_clock(self.clock() - self.started)} elapsed, {eta}"

    def render(self) -> str:
        now = self.clock()
        discs = sorted({d for (_, d) in self.cells}, key=lambda d: (d == "-", self._order(d)))
        width = max([len(d) for d in discs] + [10]) + 2
        col = max([len(s) for s in self.stages] + [22]) + 2
        lines = [self.headline(), "  " + "discipline".ljust(width) + "".join(s.ljust(col) for s in self.stages)]
        for d in discs:
            row = [self.cells[(s, d)].text(now) if (s, d) in self.cells else "" for s in self.stages]
            lines.append("  " + (d if d != "-" else "(all)").ljust(width) + "".join(c.ljust(col) for c in row).rstrip())
        return "\n".join(lines)

    def _order(self, discipline: str) -> int:
        return self.disciplines.index(discipline) if discipline in self.disciplines else len(self.disciplines)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
