"""The back half at scale: `linkqa_dataset`'s QC, token counting and shard writes for one discipline, cold and
after an update of +1% rows (issue 31).

Rows are synthetic but shaped like real output: 62.5% English, 37.5% Chinese (the pooled seeds' share is
37%), a question of 18-30 words or 30-50 Han characters (drawn from the words and characters of the bundled
sample seeds, so they tokenize like real text), four options, a solution of several hundred tokens and a
reasoning of about 1 KB (both drawn from a pool of 4,000 texts, so every row's token count is real work for
the tokenizer); the mean tokens per row is printed. Each size runs the library
function the asset calls (`dataset_store.update.update_dataset`: every QC step, the persistent index, token
counts, shard writes) in a child process, so its peak RSS (VmHWM) is the step's own; the independent solve
is not sent anywhere (every row gets its own answer back: on a re-run the ledger answers the same way).

    python bench/backhalf_scale.py            # 100k, 1M and 3M rows, each cold then +1%
    python bench/backhalf_scale.py --quick    # 100k rows and its +1% update

Per size: cold wall seconds, peak RSS, bytes written; the update's wall, peak RSS and bytes written; then two
releases (`release.build`: cross-discipline near-duplicates through the datasets' persisted indexes, Parquet files
linked from a shared store, JSONL as --release-jsonl, default sharded): v1 of the cold build and v2 of the updated
dataset, their wall, peak RSS and the bytes each version added. Last line key=value: rss_mb_<size>,
cold_s_<size>, update_rss_mb_<size>, release_rss_mb_<size> (the larger of the two releases) and release_s_<size>
(v1) per size, then for the largest size update_bytes_ratio (bytes the update wrote / the partition's bytes after
the cold build), update_time_ratio (update wall / cold wall) and release_update_bytes_ratio (bytes v2 added / bytes
v1 wrote), all measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from peak_memory import peak_rss_mb  # noqa: E402

from linksyn_assets.synthesis.tables import SYNTH_SCHEMA  # noqa: E402

CHUNK = 100_000
POOL = 4_000
SAMPLES = Path(__file__).resolve().parent.parent / "linksyn_assets" / "sample_seeds"


def _vocabulary() -> tuple[np.ndarray, np.ndarray]:
    """English words and Han characters of the bundled sample seeds: real text tokenizes like real text."""
    text = " ".join(Path(p).read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.jsonl")))
    words = sorted({w.lower() for w in re.findall(r"[A-Za-z]{2,}", text)})
    han = sorted(set(re.findall(r"[\u4e00-\u9fff]", text)))
    return np.array(words, dtype=object), np.array(han, dtype=object)


def _han(rng: np.random.Generator, han: np.ndarray, n: int) -> str:
    return "".join(rng.choice(han, n))


def _pools(rng: np.random.Generator, vocab: np.ndarray, han: np.ndarray) -> dict[str, list[str]]:
    en_solution = [" ".join(rng.choice(vocab, 660)) + "." for _ in range(POOL // 2)]
    zh_solution = ["，".join(_han(rng, han, 20) for _ in range(24)) + "。" for _ in range(POOL // 2)]
    reasoning = [" ".join(rng.choice(vocab, 150)) for _ in range(POOL // 4)]
    options = [" ".join(rng.choice(vocab, int(rng.integers(2, 6)))) for _ in range(20_000)]
    return {"en": en_solution, "zh": zh_solution, "reasoning": reasoning, "options": options}


def write_rows(path: Path, total: int, seed: int = 31) -> None:
    """`total` synthesized_qa rows of one discipline, written chunk by chunk."""
    rng = np.random.default_rng(seed)
    vocab, han = _vocabulary()
    pools = _pools(rng, vocab, han)
    parts = []
    for start in range(0, total, CHUNK):
        n = min(CHUNK, total - start)
        ids = np.arange(start, start + n)
        zh = (ids % 8) < 3
        questions = [
            (f"第{i}题：" + _han(rng, han, int(rng.integers(30, 50))) + "？") if z
            else f"Question {i}: " + " ".join(rng.choice(vocab, int(rng.integers(18, 30)))) + "?"
            for i, z in zip(ids.tolist(), zh.tolist(), strict=True)]
        pick = rng.integers(0, POOL // 2, n)
        solutions = [pools["zh" if z else "en"][p] for z, p in zip(zh.tolist(), pick.tolist(), strict=True)]
        options = np.array(pools["options"], dtype=object)[rng.integers(0, len(pools["options"]), (n, 4))]
        frame = pl.DataFrame({
            "qa_id": [f"physics-qa-{i:08d}" for i in ids.tolist()], "discipline": "physics",
            "path_id": [f"physics-p{i // 3:07d}" for i in ids.tolist()], "item_index": (ids % 3).astype(np.int16),
            "question": questions, "options": options.tolist(),
            "answer": np.array(list("ABCD"))[rng.integers(0, 4, n)], "solution": solutions,
            "kp_names_used": [[]] * n, "kp_ids": [[f"kp{i % 5000}", f"kp{(i * 7) % 5000}"] for i in ids.tolist()],
            "seed_ids": [[f"s{i % 20000}"] for i in ids.tolist()], "difficulty": (ids % 5 + 1).astype(np.int8),
            "language": np.where(zh, "zh", "en"), "question_type": "multiple_choice", "copy_seed_id": None,
            "copy_similarity": 0.0, "model": "deepseek-r1", "prompt_version": "bench", "reasoning":
            [pools["reasoning"][p % len(pools["reasoning"])] for p in pick.tolist()], "prompt_tokens": 900,
            "completion_tokens": 1500, "cost_usd": 0.0, "status": "ok", "error": None,
        }, schema=SYNTH_SCHEMA)
        part = path.with_name(f"{path.stem}.{start // CHUNK:05d}.parquet")
        frame.write_parquet(part, row_group_size=20_000)
        parts.append(part)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def worker(spec: dict) -> None:
    """One update of the dataset folder with the first `rows` input rows; prints wall, peak RSS, bytes."""
    from linksyn_assets.dataset_store.manifest import read_manifest
    from linksyn_assets.dataset_store.update import UpdatePlan, update_dataset
    from linksyn_assets.qc.benchmarks import Benchmarks
    from linksyn_assets.qc.rules import assemble, with_verification
    from linksyn_assets.qc.steps import contamination_step, row_rule_steps
    from linksyn_assets.qc.token_count import TokenCounter
    from linksyn_assets.settings import DatasetParams
    from linksyn_assets.synthesis.tables import HARD_SCHEMA

    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    before = {p: p.stat().st_size for p in folder.iterdir()}
    params = DatasetParams(qc_batch_rows=spec["batch_rows"])

    def verify(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[str | None], float, set[str]]:
        solved = dict(zip(rows["record_id"], rows["answer"], strict=True))
        return (*with_verification(rows, solved, "flag"), 0.0, set())

    plan = UpdatePlan(qc_recipe="bench", run_id=f"bench-{os.getpid()}", params=params,
                      row_steps=row_rule_steps(params, 1.0),
                      contamination=contamination_step(Benchmarks.load([], params.decontamination_ngram,
                                                                       params.contamination_containment)),
                      verify=verify, counter=TokenCounter(), batch_rows=spec["batch_rows"])
    synth = pl.scan_parquet(spec["input"]).head(spec["rows"])
    started = time.monotonic()
    result = update_dataset(folder, assemble(synth, pl.DataFrame(schema=HARD_SCHEMA).lazy()), plan, None)
    wall = time.monotonic() - started
    written = sum(p.stat().st_size for p in folder.iterdir() if before.get(p) != p.stat().st_size)
    manifest = read_manifest(folder)
    print(json.dumps({"wall_s": round(wall, 1), "peak_rss_mb": round(peak_rss_mb()), "written": written,
                      "folder_bytes": _folder_bytes(folder), "rows": manifest.rows, "rows_new": result.rows_new,
                      "tokens_per_row": round(manifest.tokens / max(manifest.rows, 1))}))


def release_worker(spec: dict) -> None:
    """A release of the dataset folders in spec["datasets"] (discipline -> folder) into spec["out"], linking
    the files that did not change from the store spec["store"] (as the asset does on a local disk)."""
    from linksyn_assets.release.build import cross_discipline_removed, live_dataset_shards, write_release
    from linksyn_assets.settings import DatasetParams

    params = DatasetParams()
    out, store = Path(spec["out"]), Path(spec["store"])
    before = _folder_bytes(store) if store.exists() else 0
    started = time.monotonic()
    shards = live_dataset_shards({d: Path(f) for d, f in spec["datasets"].items()})
    removed = cross_discipline_removed(shards, params)
    written = write_release(shards, removed, out, params.release_shard_rows, params.keep_reasoning,
                            spec["jsonl"], store)
    wall = time.monotonic() - started
    # bytes this version added: the store's growth plus what is not a link (card, manifest, single JSONL)
    own = sum(f.stat().st_size for f in out.rglob("*") if f.is_file() and f.stat().st_nlink == 1)
    print(json.dumps({"wall_s": round(wall, 1), "peak_rss_mb": round(peak_rss_mb()), "rows": written.rows,
                      "removed": removed.height, "written": _folder_bytes(store) - before + own,
                      "files_written": written.files_written, "files": len(written.shards)}))


def _run(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                         check=False)
    if out.returncode:
        raise SystemExit(f"worker failed ({spec}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="100000,1000000,3000000")
    parser.add_argument("--batch-rows", type=int, default=50_000)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--release-jsonl", default="sharded", choices=["single", "sharded", "none"])
    parser.add_argument("--worker", default=None)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        (release_worker if "datasets" in spec else worker)(spec)
        return
    sizes = [100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="backhalf-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    write_rows(work / "synth.parquet", max(sizes) + max(sizes) // 100)
    inputs = str(work / "synth.*.parquet")
    print(f"input: {max(sizes) + max(sizes) // 100:,} rows in {time.monotonic() - started:.0f}s", flush=True)
    keys: dict[str, object] = {}
    for n in sizes:
        folder = work / f"dataset-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        spec = {"input": inputs, "folder": str(folder), "batch_rows": args.batch_rows}
        cold = _run({**spec, "rows": n})
        cold_copy = work / f"dataset-{n}-cold"  # the cold build as it was, for the first release (hard links)
        shutil.rmtree(cold_copy, ignore_errors=True)
        shutil.copytree(folder, cold_copy, copy_function=os.link)
        update = _run({**spec, "rows": n + n // 100})
        label = _label(n)
        print(f"{label}: cold {cold['wall_s']}s peak {cold['peak_rss_mb']} MB wrote {cold['written'] / 1e6:.0f} MB "
              f"({cold['rows']:,} rows kept, {cold['tokens_per_row']} tokens/row); +1% update "
              f"{update['wall_s']}s peak {update['peak_rss_mb']} MB wrote {update['written'] / 1e6:.1f} MB "
              f"({update['rows_new']:,} new rows)", flush=True)
        keys[f"rss_mb_{label}"] = cold["peak_rss_mb"]
        keys[f"cold_s_{label}"] = cold["wall_s"]
        keys[f"update_rss_mb_{label}"] = update["peak_rss_mb"]
        store = work / f"release-store-{n}"
        shutil.rmtree(store, ignore_errors=True)
        release = {"datasets": {"physics": str(folder)}, "store": str(store), "jsonl": args.release_jsonl}
        # the release of the cold build, then of the updated dataset (a new version: only changed files written)
        first = _run({**release, "datasets": {"physics": str(cold_copy)}, "out": str(work / f"release-{n}-v1")})
        second = _run({**release, "out": str(work / f"release-{n}-v2")})
        print(f"{label}: release v1 {first['wall_s']}s peak {first['peak_rss_mb']} MB wrote "
              f"{first['written'] / 1e6:.0f} MB ({first['rows']:,} rows, {first['files']} files); v2 after +1% "
              f"{second['wall_s']}s peak {second['peak_rss_mb']} MB wrote {second['written'] / 1e6:.1f} MB "
              f"({second['files_written']} of {second['files']} files)", flush=True)
        keys[f"release_rss_mb_{label}"] = max(first["peak_rss_mb"], second["peak_rss_mb"])
        keys[f"release_s_{label}"] = first["wall_s"]
        keys["release_update_bytes_ratio"] = round(second["written"] / max(first["written"], 1), 4)
        for name in (f"release-{n}-v1", f"release-{n}-v2", f"release-store-{n}"):
            shutil.rmtree(work / name, ignore_errors=True)
        shutil.rmtree(cold_copy, ignore_errors=True)
        keys["update_bytes_ratio"] = round(update["written"] / cold["folder_bytes"], 4)
        keys["update_time_ratio"] = round(update["wall_s"] / cold["wall_s"], 4)
        keys["tokens_per_row"] = cold["tokens_per_row"]
        shutil.rmtree(folder, ignore_errors=True)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    print(" ".join(f"{k}={v}" for k, v in keys.items()))


if __name__ == "__main__":
    main()
