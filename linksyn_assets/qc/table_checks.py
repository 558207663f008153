"""Checks of a whole table, run by Dagster after an asset is written (checks.py) and usable anywhere:
ids unique, required text present, every row in the partition's discipline."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from linksyn_assets.quality.report import QualityReport
from linksyn_assets.settings import QualityParams


@dataclass
class TableCheck:
    passed: bool
    problems: dict[str, int] = field(default_factory=dict)  # what is wrong -> rows
    examples: list[str] = field(default_factory=list)  # a few ids of offending rows
    values: dict[str, float] = field(default_factory=dict)  # measured shares, shown with the result

    def __and__(self, other: TableCheck) -> TableCheck:
        return TableCheck(self.passed and other.passed, {**self.problems, **other.problems},
                          self.examples + other.examples, {**self.values, **other.values})


def well_formed(table: pl.DataFrame | pl.LazyFrame, id_column: str, required_text: list[str],
                discipline: str | None = None, examples: int = 5) -> TableCheck:
    """Unique non-null ids; non-empty text in every required column; and, when given, one discipline. A lazy
    table is judged as it streams: only the ids and one flag per problem are held."""
    problems: dict[str, pl.Expr] = {
        f"{id_column} missing": pl.col(id_column).is_null(),
        f"{id_column} repeated": pl.col(id_column).is_duplicated() & pl.col(id_column).is_not_null(),
    }
    for column in required_text:
        problems[f"{column} empty"] = pl.col(column).fill_null("").str.strip_chars() == ""
    if discipline is not None:
        problems[f"discipline is not {discipline}"] = pl.col("discipline").fill_null("") != discipline
    flags = table.lazy().select(pl.col(id_column).alias("_id"), **problems).collect()
    counts = {name: int(flags[name].sum()) for name in problems if flags[name].any()}
    bad = flags.filter(pl.any_horizontal(pl.col(list(problems)))) if counts else flags.clear()
    return TableCheck(passed=not counts, problems=counts,
                      examples=[str(v) for v in bad["_id"].head(examples).to_list()])


def share_within(name: str, count: int, total: int, at_most: float | None = None,
                 at_least: float | None = None) -> TableCheck:
    """count / total against a bound; an empty total passes only a bound from above."""
    share = count / total if total else 0.0
    low = at_least is not None and (share < at_least or total == 0)
    high = at_most is not None and share > at_most
    problems = {}
    if low or high:
        bound = f"at least {at_least:.0%}" if low else f"at most {at_most:.0%}"
        problems[f"{name} {share:.1%} ({count} of {total}), expected {bound}"] = count
    return TableCheck(not problems, problems, [], {name: round(share, 4)})


MIN_PATHS_TO_JUDGE = 50  # below this, KL and coverage differences are sampling noise


def walk_within_targets(paths: int, difficulty_kl: float, coverage: float, coverage_uniform: float,
                        paths_wanted: int | None = None, max_kl: float = 0.05, coverage_slack: float = 0.05,
                        min_share_of_wanted: float = 0.95) -> TableCheck:
    """The realized difficulty histogram within max_kl of its target, KP coverage not below the uniform walk's
    at the same number of paths (less a slack), and the discipline's share of the mix: at least
    min_share_of_wanted of the paths it was given. KL and coverage are not judged on fewer than
    MIN_PATHS_TO_JUDGE paths."""
    values = {"paths": float(paths), "difficulty_kl": difficulty_kl, "kp_coverage": coverage,
              "kp_coverage_uniform": coverage_uniform}
    problems = {}
    if paths_wanted:
        values["share_of_wanted_paths"] = round(paths / paths_wanted, 4)
        if paths < min_share_of_wanted * paths_wanted:
            problems[f"{paths} of {paths_wanted} wanted paths: the discipline falls short of its share of the "
                     "mix (too few linked seeds?)"] = paths_wanted - paths
    if paths < MIN_PATHS_TO_JUDGE:
        return TableCheck(not problems, problems, [], values)
    if difficulty_kl > max_kl:
        problems[f"difficulty KL {difficulty_kl:.3f} over {max_kl}"] = paths
    if coverage < coverage_uniform - coverage_slack:
        problems[f"KP coverage {coverage:.3f} below the uniform walk's {coverage_uniform:.3f}"] = paths
    return TableCheck(not problems, problems, [], values)


MIN_VERIFIED_TO_JUDGE = 20  # below this, an agreement rate says little


def dataset_clean(rows: int, contaminated: list[str], duplicates: list[str], agree: int, verified: int,
                  max_duplicate_share: float, min_agreement: float) -> TableCheck:
    """The final table, rechecked: no row contaminated by a benchmark, near-duplicates within their share,
    and the verifier's agreement rate at least min_agreement (judged from MIN_VERIFIED_TO_JUDGE rows on).
    contaminated / duplicates: the ids of the offending rows."""
    check = TableCheck(not contaminated, {f"{len(contaminated)} row(s) contaminated by a benchmark":
                                          len(contaminated)} if contaminated else {}, contaminated[:5],
                       {"contaminated_rows": float(len(contaminated))})
    check &= share_within("duplicate_share", len(duplicates), rows, at_most=max_duplicate_share)
    check.examples += duplicates[:5]
    if verified >= MIN_VERIFIED_TO_JUDGE:
        return check & share_within("verification_agreement", agree, verified, at_least=min_agreement)
    return check & TableCheck(True, values={"verification_agreement": round(agree / verified, 4) if verified
                                            else 0.0})


def inputs_complete(read: set[str], expected: set[str]) -> TableCheck:
    """A cross-discipline table built from every expected discipline's input (e.g. the KP graph from every
    discipline with seeds)."""
    absent = sorted(expected - read)
    return TableCheck(not absent, {f"built without the seed_kps of {absent}": len(absent)} if absent else {},
                      absent[:5], {"input_disciplines": float(len(read))})


def quality_within(report: QualityReport | None, limits: QualityParams) -> TableCheck:
    """The quality report against the thresholds of settings `quality` (judged from limits.min_rows rows on):
    near-paraphrases of own seeds, repeated long n-grams, distinct-2 and, when set, the difficulty KL."""
    if report is None:
        return TableCheck(True, values={"rows": 0.0})
    shown = {"rows": float(report.rows), "own_paraphrase_share": report.novelty.own_paraphrase_share,
             "any_paraphrase_share": report.novelty.any_paraphrase_share,
             "repeated_ngram_share": report.diversity.repeated_ngram_share,
             "distinct_2": report.diversity.distinct_2,
             **({"difficulty_kl_labeled": report.difficulty.kl_labeled}
                if report.difficulty.kl_labeled is not None else {})}
    if report.rows < limits.min_rows:
        return TableCheck(True, {}, [], shown)
    problems: dict[str, int] = {}
    n = report.rows

    def above(value: float, limit: float | None, what: str, fmt: str = "{:.1%}") -> None:
        if limit is not None and value > limit:
            problems[f"{what} {fmt.format(value)}, expected at most {fmt.format(limit)}"] = round(value * n)

    above(report.novelty.own_paraphrase_share, limits.max_paraphrase_share,
          f"near-paraphrases of their own seeds (overlap >= {limits.paraphrase_overlap})")
    above(report.diversity.repeated_ngram_share, limits.max_repeated_ngram_share,
          "rows sharing a long n-gram with another question")
    if report.diversity.distinct_2 < limits.min_distinct_2:
        problems[f"distinct-2 {report.diversity.distinct_2:.3f}, expected at least {limits.min_distinct_2:.3f}"] = n
    if report.difficulty.kl_labeled is not None:
        above(report.difficulty.kl_labeled, limits.max_difficulty_kl, "difficulty KL to the target", "{:.3f}")
    return TableCheck(not problems, problems, [], shown)
