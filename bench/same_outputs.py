"""Does a refactor change what LinkSyn makes? `linksyn run` on the bundled sample seeds against the stub LLM,
once with an earlier commit's code and once with this tree's, each on a fresh data dir and Dagster home; then
every table and the ledger's request keys are compared.

Tables are matched by where they live (a table a refactor moved is named in MOVED), version folders of the
content-addressed corpus by their place (their names hash the reader code), and compared row for row after
dropping the columns that name a run (`retired_at`). Files only one side has are listed, and the KP coverage of
both release cards is printed. Last line: key=value.

    .venv/bin/python bench/same_outputs.py --base ad15117 [--paths 4]
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stub_llm_server import StubServer  # noqa: E402

VOLATILE = {"retired_at"}  # the run id that retired a row
# where a table lived before -> where it lives now (issue 28: linkqa_dataset is stored once, in dataset/)
MOVED = {r"^assets/linkqa_dataset/(.+)\.parquet$": r"dataset/\1.parquet"}
_VERSION = re.compile(r"^(corpus/[^/]+)/[0-9a-f]{8,}/")


def run_tree(tree: Path, work: Path, paths: int, stub: StubServer) -> Path:
    """`linksyn run` with the code of `tree` (first on sys.path) against the stub (one server for both trees:
    its URL is part of the route's identity, so of every request key); returns the data dir."""
    data = work / "data"
    stub.reset()
    env = {**os.environ, "PYTHONPATH": str(tree), "LINKSYN_DATA_DIR": str(data),
           "DAGSTER_HOME": str(work / "home"), "LINKSYN_MODEL": "openai/stub-model",
           "LINKSYN_API_BASE": stub.url, "LINKSYN_API_KEY_ENV": "SAME_OUTPUTS_KEY",
           "SAME_OUTPUTS_KEY": "sk-same-outputs", "LINKSYN_SETTINGS": str(work / "settings.json")}
    code = "from linksyn_assets.cli import main; raise SystemExit(main())"
    out = subprocess.run([sys.executable, "-c", code, "run", "--paths-per-discipline", str(paths)],
                         cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"linksyn run failed on {tree}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    print(f"{tree.name}: {stub.count} stub requests; {out.stdout.strip().splitlines()[-1][:100]}", flush=True)
    return data


def files(data: Path, moved: bool) -> dict[str, list[Path]]:
    """relative name -> the files under it (version folders collapsed, moved tables renamed: a table the base
    kept twice has two files under one name, each compared with this tree's one)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        rel = path.relative_to(data).as_posix()
        if rel.startswith("spool/") or "/." in rel or rel.startswith(".") or rel.endswith((".lock", ".tmp")):
            continue
        rel = _VERSION.sub(r"\1/<version>/", rel)
        if moved:
            for old, new in MOVED.items():
                rel = re.sub(old, new, rel)
        found.setdefault(rel, []).append(path)
    return found


def card_coverage(data: Path) -> str:
    """The KP coverage block of the newest release's card (the bug issue 28 fixed printed `{}`)."""
    card = (data / "release" / "latest" / "README.md").read_text(encoding="utf-8")
    tail = card.split("KP coverage", 1)[1] if "KP coverage" in card else ""
    return " ".join(tail.split())[:160]


def request_keys(data: Path) -> set[str]:
    with sqlite3.connect(data / "llm_ledger.sqlite") as db:
        return {key for (key,) in db.execute("SELECT key FROM requests")}


def same(a: Path, b: Path) -> str | None:
    """None when the tables hold the same rows; otherwise what differs."""
    left, right = pl.read_parquet(a), pl.read_parquet(b)
    left = left.drop([c for c in left.columns if c in VOLATILE])
    right = right.drop([c for c in right.columns if c in VOLATILE])
    if left.columns != right.columns:
        return f"columns {sorted(set(left.columns) ^ set(right.columns))}"
    if left.height != right.height:
        return f"rows {left.height} vs {right.height}"
    if not left.equals(right):
        differing = [c for c in left.columns if not left[c].equals(right[c])]
        return f"values in {differing}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the earlier commit")
    parser.add_argument("--paths", type=int, default=4, help="walk paths per discipline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, StubServer() as stub:
        base_tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), args.base], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            base = run_tree(base_tree, Path(tmp) / "base-work", args.paths, stub)
            new = run_tree(ROOT, Path(tmp) / "new-work", args.paths, stub)
            before, after = files(base, moved=True), files(new, moved=False)
            both = sorted(n for n in set(before) & set(after) if n.endswith(".parquet"))
            differing = {f"{name} ({old.relative_to(base)})": why for name in both for old in before[name]
                         if (why := same(old, after[name][0])) is not None}
            only_before, only_after = sorted(set(before) - set(after)), sorted(set(after) - set(before))
            keys_before, keys_after = request_keys(base), request_keys(new)
            coverage = (card_coverage(base), card_coverage(new))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, capture_output=True)
    for name, why in differing.items():
        print(f"differs: {name}: {why}")
    for name in only_before:
        print(f"only in {args.base}: {name}")
    for name in only_after:
        print(f"only in this tree: {name}")
    print(f"request keys: {len(keys_before)} vs {len(keys_after)}, {len(keys_before ^ keys_after)} in one only")
    print(f"release card KP coverage, {args.base}: {coverage[0]}")
    print(f"release card KP coverage, this tree: {coverage[1]}")
    compared = sum(len(before[n]) for n in both)
    print(f"tables_compared={compared} tables_differing={len(differing)} files_only_before={len(only_before)} "
          f"files_only_after={len(only_after)} request_keys_identical={int(keys_before == keys_after)}")


if __name__ == "__main__":
    main()
