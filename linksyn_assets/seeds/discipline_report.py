"""What landed in each discipline: its seeds, the discipline names the source wrote for it, and the subjects,
so a user checks the subject -> discipline mapping at a glance (`linksyn disciplines`)."""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel


class DisciplineContents(BaseModel):
    discipline: str
    seeds: int
    names: list[str]  # the discipline (or, without one, subject) names the source wrote
    subjects: list[tuple[str, int]]  # subject, seeds; most seeds first


def discipline_contents(seeds: pl.DataFrame) -> list[DisciplineContents]:
    grouped = (seeds.group_by("discipline")
               .agg(pl.len().alias("seeds"), pl.col("discipline_name").drop_nulls().unique().sort().alias("names"),
                    pl.col("subject").fill_null("(none)").value_counts(sort=True).alias("subjects"))
               .sort("discipline"))
    return [DisciplineContents(
        discipline=row["discipline"], seeds=row["seeds"],
        names=row["names"],
        subjects=[(s["subject"], s["count"]) for s in row["subjects"]])
        for row in grouped.iter_rows(named=True)]


def contents_lines(contents: list[DisciplineContents], max_subjects: int = 12) -> list[str]:
    lines = []
    for c in contents:
        lines.append(f"  {c.discipline:<28} {c.seeds:>8,} seeds  <- {', '.join(c.names) or '(no name given)'}")
        shown = ", ".join(f"{s} {n:,}" for s, n in c.subjects[:max_subjects])
        more = f", ... {len(c.subjects) - max_subjects} more" if len(c.subjects) > max_subjects else ""
        lines.append(f"  {'':<28} subjects: {shown}{more}")
    return lines
