"""Seed parsing memory: one large JSONL seed file (English and Chinese rows, a few malformed ones and exact
duplicates) parsed the way the `seeds` asset parses a source (SeedSourceResource.parsed(): streamed, written in
chunks), in a fresh process whose peak RSS is read from the kernel. Baseline in the same run: the same source
read whole into memory (read_seed_dir, the in-memory reader tests use) on a file a tenth of the size.

    .venv/bin/python bench/seed_parsing.py [--size-mb 2048] [--baseline-mb 200]

Last line: key=value (peak_rss_mb_2gb, mb_per_s, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EN = ["Which law relates force, mass and acceleration in classical mechanics", "What is the derivative of x^2",
      "Which organelle carries out photosynthesis in plant cells", "What does GDP measure in an economy"]
ZH = ["牛顿第二定律描述了力、质量和加速度之间的什么关系", "函数 x^2 的导数是什么", "植物细胞中进行光合作用的细胞器是",
      "国内生产总值衡量的是什么"]
DISCIPLINES = ["physics", "mathematics", "biology", "economics", "物理学", "数学"]

CHILD = """
import json, resource, sys, time
from pathlib import Path
mode, source, data = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
import os
os.environ["LINKSYN_DATA_DIR"] = data
started = time.perf_counter()
if mode == "stream":
    from resources.seed_source import SeedSourceResource
    from linksyn_assets.seeds.parsed_cache import read_meta
    meta = read_meta(SeedSourceResource(path=str(source)).parsed())
    seeds, quarantined = meta["seeds"], None
else:
    from linksyn_assets.seeds.readers import read_seed_dir
    load = read_seed_dir(source)
    seeds, quarantined = load.seeds.height, load.quarantine.height
print(json.dumps({"seconds": time.perf_counter() - started, "seeds": seeds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_source(folder: Path, size_mb: int, seed: int = 7) -> int:
    """A JSONL file of about size_mb: returns its rows. 1 row in 500 is malformed, 1 in 200 a duplicate."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path, target, rows = folder / "seeds.jsonl", size_mb * 1_000_000, 0
    with path.open("w", encoding="utf-8") as out:
        last = ""
        while out.tell() < target:
            rows += 1
            if rows % 500 == 0:
                out.write('{"question": "broken row", "answer": \n')
                continue
            if rows % 200 == 0 and last:
                out.write(last)
                continue
            zh = rng.random() < 0.5
            stem = rng.choice(ZH if zh else EN)
            filler = ("，并说明理由" if zh else ", and explain why") * rng.randint(1, 12)
            options = [f"{c} {rng.randint(0, 10**6)}" for c in "ABCD"]
            why = ("因为" if zh else "Because ") + "x" * rng.randint(20, 400)
            row = {"question": f"{stem} #{rows}{filler}?", "options": options, "answer": rng.choice("ABCD"),
                   "explanation": why,
                   "discipline": rng.choice(DISCIPLINES), "difficulty": rng.randint(0, 4),
                   "language": "zh" if zh else "en", "source": "bench"}
            last = json.dumps(row, ensure_ascii=False) + "\n"
            out.write(last)
    return rows


def measure(mode: str, source: Path, data: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(source), str(data)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=7200)
    if out.returncode != 0:
        raise SystemExit(f"{mode} parse failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--baseline-mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        small_rows = write_source(base / "small", args.baseline_mb)
        whole = measure("memory", base / "small", str(base / "data_memory"))
        streamed_small = measure("stream", base / "small", str(base / "data_small"))
        started = time.perf_counter()
        rows = write_source(base / "large", args.size_mb)
        written_s = time.perf_counter() - started
        size = (base / "large" / "seeds.jsonl").stat().st_size / 1e6
        big = measure("stream", base / "large", str(base / "data_large"))
    per_byte_whole = whole["peak_rss_mb"] / args.baseline_mb
    per_byte_stream = streamed_small["peak_rss_mb"] / args.baseline_mb
    print(f"in memory, {args.baseline_mb} MB ({small_rows} rows): peak RSS {whole['peak_rss_mb']:.0f} MB, "
          f"{whole['seconds']:.0f}s; streamed: {streamed_small['peak_rss_mb']:.0f} MB, "
          f"{streamed_small['seconds']:.0f}s")
    print(f"streamed, {size:.0f} MB ({rows} rows, {big['seeds']} seeds, written in {written_s:.0f}s): peak RSS "
          f"{big['peak_rss_mb']:.0f} MB in {big['seconds']:.0f}s")
    print(f"peak_rss_mb_2gb={big['peak_rss_mb']:.0f} mb_per_s={size / big['seconds']:.1f} "
          f"source_mb={size:.0f} rss_mb_per_source_mb_memory={per_byte_whole:.2f} "
          f"rss_mb_per_source_mb_stream={per_byte_stream:.2f} "
          f"memory_over_stream_ratio={whole['peak_rss_mb'] / streamed_small['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
