"""What `linksyn run` prints at the end: rows per asset, seeds, LLM calls and cost, QC funnel, time by step."""

import json
from typing import Any, TypeVar

from linksyn_assets.quality.report import QualityReport
from linksyn_assets.reports import (
    DatasetReport,
    ExtractionReport,
    LLMBatchReport,
    ReleaseReport,
    Report,
    SeedsReport,
    WalkReport,
    llm_batches,
)
from linksyn_assets.stages import STAGE_ORDER

R = TypeVar("R", bound=Report)

LLM_KEYS = ("llm_http_calls", "llm_cache_hits", "llm_failed", "prompt_tokens", "completion_tokens", "cost_usd",
            "llm_blank_retries", "llm_repaired", "llm_length_retries", "llm_format_switches")
Reports = dict[tuple[str, str], Report]


def _of(reports: Reports, kind: type[R]) -> dict[str, R]:
    """discipline -> report, for the reports of one kind."""
    return {d: r for (_, d), r in reports.items() if isinstance(r, kind)}


def _batches(reports: Reports) -> list[LLMBatchReport]:
    return [batch for report in reports.values() for batch in llm_batches(report)]


def quality_line(q: QualityReport, since: dict[str, str]) -> str:
    """The release's quality in one line (the card has all of it), and how many measures moved since the last."""
    agree = "-" if q.correctness.agreement is None else f"{q.correctness.agreement:.2f}"
    moved = (f"; since the previous version {sum(v == 'better' for v in since.values())} measures better, "
             f"{sum(v == 'worse' for v in since.values())} worse" if since else "")
    coverage, gain = q.knowledge.coverage, q.difficulty.hard_gain
    return (f"Quality: solve agrees {agree}, distinct-2 {q.diversity.distinct_2:.3f}, near-paraphrases of own seeds "
            f"{q.novelty.own_paraphrase_share:.1%}, KP coverage {'-' if coverage is None else coverage}, hard "
            f"variants' rated gain {'-' if gain is None else gain}{moved} (the card's Quality section has the rest)")


def time_summary(timings: dict[str, float], seconds: float) -> None:
    """Where the run's time went, per asset over every discipline; the rest is start-up (the embedded model
    server, Dagster's runs) and the wait between steps."""
    if not timings:
        return
    parts = [f"{name} {timings[name]:.0f}s" for name in [*STAGE_ORDER, "checks"] if name in timings]
    other = max(seconds - sum(timings.values()), 0.0)
    print(f"Time per step (all disciplines): {', '.join(parts)}, other {other:.0f}s (start-up, runs, waits)")


def qc_summary(reports: Reports, llm: Any) -> None:
    """Each QC step's pass rate over every discipline, and what the embedded model's rows are worth."""
    from linksyn_assets.llm.stage_config import STAGES as LLM_STAGES

    totals: dict[str, list[int]] = {}
    for report in _of(reports, DatasetReport).values():
        for step in report.qc_steps:
            entered, passed = totals.setdefault(step.step, [0, 0])
            totals[step.step] = [entered + step.entered, passed + step.passed]
    if totals:
        cells = [f"{name} {p}/{e}" + (f" ({p / e:.0%})" if e else "") for name, (e, p) in totals.items()]
        print("QC pass rate per step: " + ", ".join(cells))
    if any(not (getattr(llm, f"{stage}_model") or llm.model) for stage in LLM_STAGES):
        print("     The rows above come from the bundled demo model (SmolLM2-135M, a 135M-parameter model on the "
              "CPU): they show every stage working,\n     not training data; expect wrong answers and shallow "
              "questions. For real data set LINKSYN_MODEL (README: \"Use DeepSeek or any litellm model\").")


def tokens_by_stage(reports: Reports) -> dict[str, tuple[int, int, int]]:
    """stage -> (prompt, answer, reasoning) tokens sent this run; answer = completion minus reasoning."""
    out: dict[str, tuple[int, int, int]] = {}
    for block in _batches(reports):
        if not block.llm_stage:
            continue
        prompt, answer, reasoning = out.get(block.llm_stage, (0, 0, 0))
        out[block.llm_stage] = (prompt + block.prompt_tokens,
                                answer + block.completion_tokens - block.reasoning_tokens,
                                reasoning + block.reasoning_tokens)
    return out


def summary(selected: list[str], disciplines: list[str], reports: Reports, seconds: float) -> None:
    from linksyn_assets.layout import SKIPPED_SEED_FILES, dataset_dir, seed_quarantine_file

    width = max(len(d) for d in disciplines) if disciplines else 10
    print(f"\nRows per asset ({seconds:.0f}s):")
    print("  " + "discipline".ljust(width) + "".join(a.rjust(16) for a in selected))
    for d in disciplines:
        cells = [str(reports[(a, d)].rows) if (a, d) in reports else "-" for a in selected]
        print("  " + d.ljust(width) + "".join(c.rjust(16) for c in cells))
    batches = _batches(reports)
    totals = {k: sum(float(getattr(b, k)) for b in batches) for k in LLM_KEYS}
    seeds = list(_of(reports, SeedsReport).values())
    quarantined = sum(m.quarantined for m in seeds)
    if seeds:
        first = seeds[0]
        print(f"Seeds: {first.rows_read_all_disciplines} rows read from {first.source_files} file(s) -> "
              f"{sum(m.rows for m in seeds)} seeds in {len(seeds)} discipline(s), "
              f"{first.duplicates_collapsed_all_disciplines} exact duplicate(s) collapsed, {quarantined} quarantined"
              + (f"; {first.files_skipped_reasons}" if first.files_skipped else ""))
    datasets = _of(reports, DatasetReport)
    bench_skipped = {m.benchmark_files_skipped for m in datasets.values() if m.benchmark_files_skipped != "none"}
    if bench_skipped:
        print(f"Benchmarks: {'; '.join(sorted(bench_skipped))}")
    unpriced = sorted({b.llm_stage or "?" for b in batches if not b.priced})
    cost = (f"cost unknown: no price known for {', '.join(unpriced)} (set LINKSYN_PRICE_INPUT_PER_MTOK / "
            f"LINKSYN_PRICE_OUTPUT_PER_MTOK)" if unpriced else f"cost ${totals['cost_usd']:.4f}")
    print(f"LLM: {int(totals['llm_http_calls'])} HTTP calls, {int(totals['llm_cache_hits'])} answered from "
          f"cache, {int(totals['llm_failed'])} failed; tokens {int(totals['prompt_tokens'])} prompt + "
          f"{int(totals['completion_tokens'])} completion; {cost}")
    turns = [f"{int(totals[key])} {label}" for key, label in (
        ("llm_blank_retries", "blank replies asked again"), ("llm_repaired", "repaired"),
        ("llm_length_retries", "cut off and asked again with more room"),
        ("llm_format_switches", "json_schema rejected, json_object used")) if totals[key]]
    if turns:
        print("     " + ", ".join(turns))
    by_stage = tokens_by_stage(reports)
    if any(reasoning for _, _, reasoning in by_stage.values()):
        print("     completion tokens by stage, answer + reasoning: " + ", ".join(
            f"{stage} {answer} + {reasoning}" for stage, (_, answer, reasoning) in by_stage.items()))
    reasons: dict[str, int] = {}
    for block in batches:
        for reason, n in block.llm_failed_by_reason.items():
            reasons[reason] = reasons.get(reason, 0) + n
    if reasons:
        ranked = sorted(reasons.items(), key=lambda item: -item[1])
        print("     failed by reason: " + ", ".join(f"{reason} {n}" for reason, n in ranked))
    if totals["llm_http_calls"] == 0 and totals["llm_cache_hits"] > 0:
        print("     (no new LLM call: every answer came from the request ledger)")
    unchanged = [key for key, report in reports.items() if report.unchanged_since_run]
    if unchanged:
        print(f"Unchanged: {len(unchanged)} of {len(reports)} asset partitions had the same inputs, settings and "
              "code as their last materialization and reused its stored table (nothing recomputed)")
    walks = _of(reports, WalkReport)
    if walks or datasets:
        extraction = sum(m.llm_http_calls for m in _of(reports, ExtractionReport).values())
        new_work = int(totals["llm_http_calls"])
        paths_new = sum(m.paths_new for m in walks.values())
        print(f"Update: paths {paths_new} new, {sum(m.paths_kept for m in walks.values())} kept, "
              f"{sum(m.paths_retired for m in walks.values())} retired; dataset rows "
              f"{sum(m.rows_new for m in datasets.values())} new, {sum(m.rows_kept for m in datasets.values())} "
              f"kept, {sum(m.rows_retired for m in datasets.values())} retired (data/retired/ says why)")
        print(f"     LLM calls {new_work}: {extraction} for new or changed seeds' extraction, "
              f"{new_work - extraction} for the {paths_new} new path(s); earlier requests were answered by the ledger")
    release = _of(reports, ReleaseReport).get("-")
    if release:
        print(f"Release v{release.version}: {release.rows} rows ({release.rows_added} added, {release.rows_retired} "
              f"retired since the previous version), {release.tokens} tokens in {release.release}; removed by "
              f"reason: {json.dumps(release.removed_by_reason, ensure_ascii=False)}")
        if release.empty_release:
            print(f"     The release is empty: {release.empty_release}")
        if release.quality is not None and release.rows:
            print("     " + quality_line(release.quality, release.quality_since_previous))
    if walks:
        from linksyn_assets.walks.plan import mix_report

        mix = mix_report({d: m.discipline_target_share for d, m in walks.items()},
                         {d: m.rows for d, m in walks.items()})
        coverage = ", ".join(f"{d} {m.kp_coverage:.2f} (uniform {m.kp_coverage_uniform:.2f})"
                             for d, m in sorted(walks.items()))
        print(f"Walks: KP coverage {coverage}; discipline mix KL(target||realized) "
              f"{mix['discipline_mix_kl']:.4f}")
    if quarantined:
        print(f"Quarantined seed rows: {quarantined} (see {seed_quarantine_file(SKIPPED_SEED_FILES).parent})")
    if "linkqa_dataset" in selected:
        print(f"Dataset: {dataset_dir()} (one folder of Parquet shards per discipline, listed in its "
              "manifest.json, rejects beside them as *.rejects.parquet; the release has JSONL)")
    print("Browse runs and metadata: linksyn ui   (dagster dev -w workspace.yaml on this DAGSTER_HOME)")
