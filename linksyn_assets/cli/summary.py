"""What `linksyn run` prints at the end: rows per asset, seeds, LLM calls and cost, QC funnel, time by step."""

import json
from typing import Any

from linksyn_assets.stages import STAGE_ORDER

LLM_KEYS = ("llm_http_calls", "llm_cache_hits", "llm_failed", "prompt_tokens", "completion_tokens", "cost_usd",
            "llm_blank_retries", "llm_repaired", "llm_length_retries", "llm_format_switches")


def time_summary(timings: dict[str, float], seconds: float) -> None:
    """Where the run's time went, per asset over every discipline; the rest is start-up (the embedded model
    server, Dagster's runs) and the wait between steps."""
    if not timings:
        return
    parts = [f"{name} {timings[name]:.0f}s" for name in [*STAGE_ORDER, "checks"] if name in timings]
    other = max(seconds - sum(timings.values()), 0.0)
    print(f"Time per step (all disciplines): {', '.join(parts)}, other {other:.0f}s (start-up, runs, waits)")


def qc_summary(metadata: dict[tuple[str, str], dict[str, Any]], llm: Any) -> None:
    """Each QC step's pass rate over every discipline, and what the embedded model's rows are worth."""
    from linksyn_assets.llm.stage_config import STAGES as LLM_STAGES

    totals: dict[str, list[int]] = {}
    for (asset, _), meta in metadata.items():
        if asset != "linkqa_dataset":
            continue
        for step in meta.get("qc_steps") or []:
            entered, passed = totals.setdefault(step["step"], [0, 0])
            totals[step["step"]] = [entered + int(step["entered"]), passed + int(step["passed"])]
    if totals:
        cells = [f"{name} {p}/{e}" + (f" ({p / e:.0%})" if e else "") for name, (e, p) in totals.items()]
        print("QC pass rate per step: " + ", ".join(cells))
    if any(not (getattr(llm, f"{stage}_model") or llm.model) for stage in LLM_STAGES):
        print("     The rows above come from the bundled demo model (SmolLM2-135M, a 135M-parameter model on the "
              "CPU): they show every stage working,\n     not training data; expect wrong answers and shallow "
              "questions. For real data set LINKSYN_MODEL (README: \"Use DeepSeek or any litellm model\").")


def llm_blocks(metadata: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every LLM batch's stats: an asset's own, and nested ones (hard_qa's judge, linkqa_dataset's verifier)."""
    blocks = []
    for meta in metadata.values():
        blocks += [meta, *(v for v in meta.values() if isinstance(v, dict) and "llm_http_calls" in v)]
    return blocks


def tokens_by_stage(metadata: dict[tuple[str, str], dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    """stage -> (prompt, answer, reasoning) tokens sent this run; answer = completion minus reasoning."""
    out: dict[str, tuple[int, int, int]] = {}
    for block in llm_blocks(metadata):
        stage = str(block.get("llm_stage") or "")
        if not stage:
            continue
        prompt, answer, reasoning = out.get(stage, (0, 0, 0))
        thought = int(block.get("reasoning_tokens", 0) or 0)
        out[stage] = (prompt + int(block.get("prompt_tokens", 0) or 0),
                      answer + int(block.get("completion_tokens", 0) or 0) - thought, reasoning + thought)
    return out


def summary(selected: list[str], disciplines: list[str], metadata: dict[tuple[str, str], dict[str, Any]],
             seconds: float) -> None:
    from linksyn_assets.layout import SKIPPED_SEED_FILES, dataset_dir, rejects_dir, seed_quarantine_file

    width = max(len(d) for d in disciplines) if disciplines else 10
    print(f"\nRows per asset ({seconds:.0f}s):")
    print("  " + "discipline".ljust(width) + "".join(a.rjust(16) for a in selected))
    for d in disciplines:
        cells = [str(metadata.get((a, d), {}).get("rows", "-")) for a in selected]
        print("  " + d.ljust(width) + "".join(c.rjust(16) for c in cells))
    totals = {k: 0.0 for k in LLM_KEYS}
    for block in llm_blocks(metadata):
        for k in LLM_KEYS:
            totals[k] += float(block.get(k, 0) or 0)
    seed_meta = [m for (a, _), m in metadata.items() if a == "seeds"]
    quarantined = sum(int(m.get("quarantined", 0)) for m in seed_meta)
    if seed_meta:
        print(f"Seeds: {seed_meta[0]['rows_read_all_disciplines']} rows read from {seed_meta[0]['source_files']} "
              f"file(s) -> {sum(int(m['rows']) for m in seed_meta)} seeds in {len(seed_meta)} discipline(s), "
              f"{seed_meta[0]['duplicates_collapsed_all_disciplines']} exact duplicate(s) collapsed, "
              f"{quarantined} quarantined"
              + (f"; {seed_meta[0]['files_skipped_reasons']}" if int(seed_meta[0].get("files_skipped") or 0) else ""))
    bench_skipped = {str(m.get("benchmark_files_skipped")) for (a, _), m in metadata.items()
                     if a == "linkqa_dataset" and m.get("benchmark_files_skipped") not in (None, "none")}
    if bench_skipped:
        print(f"Benchmarks: {'; '.join(sorted(bench_skipped))}")
    unpriced = sorted({str(b.get("llm_stage") or "?") for b in llm_blocks(metadata)
                       if b.get("llm_price_source") == "none" and int(b.get("llm_http_calls", 0) or 0) > 0})
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
    by_stage = tokens_by_stage(metadata)
    if any(reasoning for _, _, reasoning in by_stage.values()):
        print("     completion tokens by stage, answer + reasoning: " + ", ".join(
            f"{stage} {answer} + {reasoning}" for stage, (_, answer, reasoning) in by_stage.items()))
    reasons: dict[str, int] = {}
    for block in llm_blocks(metadata):
        for reason, n in (block.get("llm_failed_by_reason") or {}).items():
            reasons[reason] = reasons.get(reason, 0) + int(n)
    if reasons:
        ranked = sorted(reasons.items(), key=lambda item: -item[1])
        print("     failed by reason: " + ", ".join(f"{reason} {n}" for reason, n in ranked))
    if totals["llm_http_calls"] == 0 and totals["llm_cache_hits"] > 0:
        print("     (no new LLM call: every answer came from the request ledger)")
    walks = [m for (a, _), m in metadata.items() if a == "walk_paths"]
    rows = [m for (a, _), m in metadata.items() if a == "linkqa_dataset"]
    if walks or rows:
        def total(blocks: list[dict[str, Any]], key: str) -> int:
            return sum(int(m.get(key, 0) or 0) for m in blocks)

        print(f"Update: paths {total(walks, 'paths_new')} new, {total(walks, 'paths_kept')} kept, "
              f"{total(walks, 'paths_retired')} retired; dataset rows {total(rows, 'rows_new')} new, "
              f"{total(rows, 'rows_kept')} kept, {total(rows, 'rows_retired')} retired (data/retired/ says why)")
        extract = [m for (a, _), m in metadata.items() if a == "seed_kps"]
        new_work = sum(int(b.get("llm_http_calls", 0) or 0) for b in llm_blocks(metadata))
        print(f"     LLM calls {new_work}: {total(extract, 'llm_http_calls')} for new or changed seeds' extraction, "
              f"{new_work - total(extract, 'llm_http_calls')} for the {total(walks, 'paths_new')} new path(s); "
              "earlier requests were answered by the ledger")
    release = metadata.get(("linkqa_release", "-"))
    if release:
        print(f"Release v{release.get('version', '?')}: {release['rows']} rows ({release.get('rows_added', 0)} added, "
              f"{release.get('rows_retired', 0)} retired since the previous version), {release['tokens']} tokens in "
              f"{release['release']}; removed by reason: "
              f"{json.dumps(release['removed_by_reason'], ensure_ascii=False)}")
        if release.get("empty_release"):
            print(f"     The release is empty: {release['empty_release']}")
    walk_meta = {d: m for (a, d), m in metadata.items() if a == "walk_paths"}
    if walk_meta:
        from linksyn_assets.walks.plan import mix_report

        mix = mix_report({d: float(m.get("discipline_target_share", 0.0)) for d, m in walk_meta.items()},
                         {d: int(m.get("rows", 0)) for d, m in walk_meta.items()})
        coverage = ", ".join(f"{d} {m.get('kp_coverage', 0):.2f} (uniform {m.get('kp_coverage_uniform', 0):.2f})"
                             for d, m in sorted(walk_meta.items()))
        print(f"Walks: KP coverage {coverage}; discipline mix KL(target||realized) "
              f"{mix['discipline_mix_kl']:.4f}")
    if quarantined:
        print(f"Quarantined seed rows: {quarantined} (see {seed_quarantine_file(SKIPPED_SEED_FILES).parent})")
    if "linkqa_dataset" in selected:
        print(f"Dataset: {dataset_dir()} (one Parquet + JSONL per discipline); rejects: {rejects_dir()}")
    print("Browse runs and metadata: linksyn ui   (dagster dev -w workspace.yaml on this DAGSTER_HOME)")
