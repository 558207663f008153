"""The quality report as a person reads it: the dataset card's "Quality" section, the comparison with the
previous release for the changelog (better / worse per measure), and the plots for the Dagster UI."""

from __future__ import annotations

from pydantic import BaseModel

from linksyn_assets.quality.report import MEASURES, QualityReport
from linksyn_assets.records import DIFFICULTY_LEVELS
from linksyn_assets.svg_chart import bar_chart

SAME = 1e-4  # a change smaller than this (measures are rounded to 4 places) is no change


class Comparison(BaseModel):
    measure: str
    before: float | None
    after: float | None
    verdict: str  # better, worse, same, new (no value before), gone (no value now)


def compare(before: QualityReport, after: QualityReport) -> list[Comparison]:
    out = []
    for path, label, direction in MEASURES:
        a, b = before.value(path), after.value(path)
        if a is None or b is None:
            verdict = "same" if a is None and b is None else ("new" if a is None else "gone")
        elif abs(b - a) < SAME:
            verdict = "same"
        else:
            verdict = "better" if (b - a) * direction > 0 else "worse"
        out.append(Comparison(measure=label, before=a, after=b, verdict=verdict))
    return out


def _num(v: float | None) -> str:
    return "-" if v is None else (f"{v:,.0f}" if v == int(v) and abs(v) >= 10 else f"{v:.4g}")


def comparison_markdown(previous_version: int, rows: list[Comparison]) -> str:
    counts = {v: sum(r.verdict == v for r in rows) for v in ("better", "worse")}
    lines = [f"Quality since v{previous_version}: {counts['better']} measure(s) better, {counts['worse']} worse.",
             "", f"| measure | v{previous_version} | now | |", "|---|---:|---:|---|"]
    lines += [f"| {r.measure} | {_num(r.before)} | {_num(r.after)} | {r.verdict} |" for r in rows]
    return "\n".join(lines)


def _levels(values: list[float] | None) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "-"


def _per_discipline(reports: dict[str, QualityReport]) -> str:
    if not reports:
        return ""
    lines = ["", "Per discipline (its dataset partition's report, before duplicates across disciplines are removed):",
             "", "| discipline | rows | solve agrees | distinct-2 | near-paraphrases of own seeds | KP coverage | "
             "difficulty KL (labels) | hard gain |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for d, r in sorted(reports.items()):
        lines.append(f"| {d} | {r.rows:,} | {_num(r.correctness.agreement)} | {_num(r.diversity.distinct_2)} | "
                     f"{_num(r.novelty.own_paraphrase_share)} | {_num(r.knowledge.coverage)} | "
                     f"{_num(r.difficulty.kl_labeled)} | {_num(r.difficulty.hard_gain)} |")
    return "\n".join(lines) + "\n"


def quality_markdown(report: QualityReport, per_discipline: dict[str, QualityReport] | None = None) -> str:
    """The card's Quality section (Chinese is measured on characters, English on words), with a line per discipline
    from its dataset partition's report when given."""
    c, n, k, d = report.correctness, report.novelty, report.knowledge, report.difficulty
    by_level = ", ".join(f"level {lvl}: {_num(a)}" for lvl, a in c.by_difficulty.items()) or "-"
    by_discipline = ", ".join(f"{disc}: {_num(a)}" for disc, a in c.by_discipline.items()) or "-"
    rows = [(label, _num(report.value(path))) for path, label, _ in MEASURES]
    table = "\n".join(["| measure | value |", "|---|---:|", *(f"| {a} | {b} |" for a, b in rows)])
    return f"""Measured on the {report.rows:,} released rows' questions (English in words, Chinese in characters).

{table}

- Correctness: {c.verified_rows:,} rows got an independent solve; agreement by discipline: {by_discipline};
  by difficulty: {by_level} (a level the solver always gets right is not hard).
- Novelty: overlap is the Jaccard of the sets of tokens and token pairs (words and word pairs, Chinese
  characters and character pairs) with the closest seed; a near-paraphrase has {n.paraphrase_threshold:.2f} or more.
  Rows per overlap bin of 0.1 (own seeds): {n.own_histogram}; (any seed): {n.any_histogram}.
- Diversity, on {report.diversity.sample_rows:,} rows (an even sample of at most 100,000): distinct-n = distinct
  n-grams / all n-grams; compression ratio = raw / zlib size (higher is more repetitive); a long n-gram is 10
  words or 20 Chinese characters (a hard variant and its source question are one family).
- Knowledge spread: {k.kps_used:,} KPs used; evenness is the entropy of KP use over the log of the graph's KPs;
  the correlation is Spearman's between KP use and the KP's seed count (the value function works against it).
- Difficulty, shares of levels 0-4: target {_levels(d.target)}; labels {_levels(d.labeled)}; judged
  {_levels(d.judged)} ({d.judged_rows:,} rows rated by the judge); hard variants rated {d.hard_rated:,},
  mean gain {_num(d.hard_gain)} levels.
{_per_discipline(per_discipline or {})}"""


def quality_plots(report: QualityReport) -> dict[str, str]:
    """Two SVG plots: difficulty (target, labels, judged, solve agreement per level) and seed overlap."""
    d, c, n = report.difficulty, report.correctness, report.novelty
    levels = [f"level {i}" for i in range(DIFFICULTY_LEVELS)]

    def by_level(values: list[float] | None) -> dict[str, float]:
        return dict(zip(levels, values, strict=True)) if values else {}

    difficulty_plot = bar_chart({
        "target": by_level(d.target), "labels": by_level(d.labeled), "judged": by_level(d.judged),
        "solve agrees": {f"level {k}": v for k, v in c.by_difficulty.items() if v is not None}},
        "Difficulty: target vs realized shares, and solve agreement per level", "share")
    bins = [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(10)]
    overlap_plot = bar_chart({"own seeds": {b: float(x) for b, x in zip(bins, n.own_histogram, strict=False)},
                              "any seed": {b: float(x) for b, x in zip(bins, n.any_histogram, strict=False)}},
                             f"Overlap with seeds (near-paraphrase from {n.paraphrase_threshold:.2f})", "rows")
    return {"quality_difficulty_plot": difficulty_plot, "quality_overlap_plot": overlap_plot}
