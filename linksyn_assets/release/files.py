"""The release's inputs and its dataset card, whose numbers are computed from the rows written (the rows
themselves are written by release/build.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from linksyn_assets.qc.rules import reason_counts


@dataclass
class StageSpend:
    """One LLM stage over every discipline: its models, prompt versions and what its answers cost."""

    models: set[str]
    prompt_versions: set[str]
    cost_usd: float
    price_unknown: bool = False  # a batch of the stage ran on a route with no known price: its cost is unknown


@dataclass
class ReleaseInputs:
    rejects: pl.DataFrame  # rows removed per discipline (linkqa_dataset)
    home_kps: dict[str, int]  # KPs per discipline graph, for coverage
    spend: dict[str, StageSpend]  # extract, synthesize, harden, judge, verify
    benchmark_files: dict[str, dict]  # what linkqa_dataset decontaminated against: file -> rows, items, not indexed
    missing: list[str]  # disciplines without a dataset file


def _table(frame: pl.DataFrame, key: str) -> str:
    lines = [f"| {key} | rows | tokens |", "|---|---:|---:|"]
    for row in frame.iter_rows(named=True):
        lines.append(f"| {row[key]} | {row['rows']:,} | {row['tokens']:,} |")
    return "\n".join(lines)


def card_numbers(kept: pl.DataFrame, removed: pl.DataFrame, inputs: ReleaseInputs) -> dict:
    """kept: the released rows' card columns (release/build.py CARD_COLUMNS, reasoning when shipped)."""
    coverage = {}
    for d, total in sorted(inputs.home_kps.items()):
        used = kept.filter(pl.col("discipline") == d)["kp_ids"].explode().drop_nulls().n_unique() if kept.height else 0
        coverage[d] = round(min(used, total) / total, 4) if total else 0.0
    return {
        "rows": kept.height, "tokens": int(kept["tokens"].sum()) if kept.height else 0,
        "by_discipline": kept.group_by("discipline").agg(rows=pl.len(), tokens=pl.col("tokens").sum())
        .sort("discipline"),
        "by_difficulty": kept.group_by("difficulty").agg(rows=pl.len(), tokens=pl.col("tokens").sum())
        .sort("difficulty"),
        "by_kind": dict(kept.group_by("kind").len().sort("kind").iter_rows()),
        "verification": dict(kept.group_by("verification").len().sort("verification").iter_rows()),
        "removed_by_reason": reason_counts(removed),
        "kp_coverage": coverage,
        "models": {stage: sorted(s.models) for stage, s in inputs.spend.items()},
        "prompt_versions": sorted({v for joined in set(kept["prompt_version"].drop_nulls().unique().to_list())
                                   .union(*(s.prompt_versions for s in inputs.spend.values()))
                                   for v in joined.split("+")}),  # a batch's versions are joined by "+"
        "cost_usd": {stage: round(s.cost_usd, 6) for stage, s in inputs.spend.items()},
        "cost_unknown": sorted(stage for stage, s in inputs.spend.items() if s.price_unknown),
        "reasoning": (int(kept["reasoning"].is_not_null().sum()) if "reasoning" in kept.columns and kept.height
                      else (0 if "reasoning" in kept.columns else None)),
        "benchmark_files": inputs.benchmark_files,
    }


def _benchmark_list(files: dict[str, dict]) -> str:
    if not files:
        return "no benchmark (set `dataset.benchmark_files` to check for leaked evaluation questions)"
    lines = []
    for name, f in files.items():
        if not isinstance(f, dict):  # metadata written before per-file counts existed
            lines.append(f"\n  - `{name}`")
            continue
        if f.get("format") == "skipped":
            lines.append(f"\n  - `{name}`: not read ({f.get('skipped')})")
            continue
        skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(f.get("not_indexed", {}).items())) or "none"
        lines.append(f"\n  - `{name}`: {f.get('data_rows', 0):,} data rows, {f.get('items', 0):,} items indexed, "
                     f"not indexed: {skipped}")
    return "".join(lines)


def _cost_line(numbers: dict) -> str:
    unknown = set(numbers.get("cost_unknown") or [])
    stages = ", ".join(f"{stage} " + ("unknown (no price known)" if stage in unknown else f"${cost:.4f}")
                       for stage, cost in numbers["cost_usd"].items()) or "no LLM stage recorded"
    total = "unknown" if unknown else f"${sum(numbers['cost_usd'].values()):.4f}"
    return f"{total} ({stages})"


def _reasoning_line(numbers: dict) -> str:
    have = numbers.get("reasoning")
    if have is None:
        return "not included (`dataset.keep_reasoning` is off)"
    return (f"column `reasoning` holds the model's worked reasoning (its thought before the answer) for "
            f"{have:,} of {numbers['rows']:,} rows; empty where the model returned none")


def dataset_card(numbers: dict, shards: list[str], tokenizer: str, missing: list[str],
                 empty_note: str | None = None, version: int = 1, changes: str = "First version.",
                 quality: str = "Not measured.") -> str:
    files = ", ".join(f"`{s}`" for s in shards)
    return f"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---
# LinkSyn LinkQA dataset (v{version})
{f"{chr(10)}**This release is empty:** {empty_note}.{chr(10)}" if empty_note else ""}
Knowledge-dense QA synthesized with LinkSyn (the LinkQA method): new questions written from
several seed questions linked along paths of a knowledge-point graph, plus harder variants.

- Rows: {numbers['rows']:,}; tokens ({tokenizer}, column `text`): {numbers['tokens']:,}
- Files: {files}; the same rows as `train.jsonl`.
  Load with `datasets.load_dataset("parquet", data_files="data/*.parquet")`.
- Rows by kind: {json.dumps(numbers['by_kind'])}
- Answer verification (independent solve): {json.dumps(numbers['verification'])}
- Decontaminated against: {_benchmark_list(numbers['benchmark_files'])}
- LLM cost of the inputs (cache hits counted at what they first cost): {_cost_line(numbers)}
- Reasoning: {_reasoning_line(numbers)}
{f"- Disciplines without a dataset yet (not included): {', '.join(missing)}" if missing else ""}

## Changes

{changes}

## Quality

{quality}

## Per discipline

{_table(numbers['by_discipline'], 'discipline')}

## Per difficulty (0 = recall .. 4 = expert)

{_table(numbers['by_difficulty'], 'difficulty')}

## KP coverage (share of each discipline's graph KPs used by released rows)

{json.dumps(numbers['kp_coverage'], indent=1)}

## Removed rows by reason

{json.dumps(numbers['removed_by_reason'], indent=1)}

## Models and prompt versions

- Models by stage: {'; '.join(f"{stage}: {', '.join(m) or '-'}" for stage, m in numbers['models'].items()) or '-'}
- Prompt versions: {', '.join(numbers['prompt_versions']) or '-'}

## Columns

`text` is the pre-training view: question, lettered options, answer and solution in one field.
Provenance: `seed_ids`, `kp_ids`, `path_id`, `parent_qa_id` (for hard variants), `model`,
`prompt_version`; `rating_before` / `rating_after` are the judge's difficulty ratings of hard
variants; `verification` is agree / disagree / unclear / unverified; `reasoning` (when included) is the
generating model's thought before its answer (reasoning models such as DeepSeek-R1), kept out of `text`.
"""
