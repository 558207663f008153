"""README command 1 timed the way a new user meets it: a fresh clone, a fresh venv, pip's cache warm (the
llama-cpp-python wheel built once before), nothing else set up. Prints where the time went:

  install, seeds, extraction, graph and walks, synthesis, hardening and judging, verification, release,
  other (Python and Dagster start-up, the embedded model's start, asset checks, waits between runs)

from the clone's own Dagster instance (step start/end events of every run), and how the embedded model
spent its time (prompt evaluation, generation, grammar checks, the rest) from its server's per-request
lines. The command is read from the README of the clone, so the bench times what the README says.

    python3 bench/first_run.py                       # this checkout's HEAD
    python3 bench/first_run.py --before 1febd87      # and an older commit, in the same run, for the ratio
    python3 bench/first_run.py --cold                # the very first install on a machine: pip's cache and
                                                     # LinkSyn's wheel folder empty (llama.cpp built from source)

Last line: key=value (with --before: ratio_pipeline = before / after).
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The split the issue asks for, from Dagster step keys (asset names); anything else is an asset check.
PARTS = {"seeds": ("seeds",), "extraction": ("seed_kps",), "graph and walks": ("kp_graph", "walk_paths"),
         "synthesis": ("synthesized_qa",), "hardening and judging": ("hard_qa",),
         "verification": ("linkqa_dataset",), "release": ("linkqa_release",)}


def readme_command(clone: Path) -> tuple[str, str]:
    """(install part, run part) of README command 1: the line after the `# 1.` comment."""
    lines = (clone / "README.md").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("# 1."))
    command = lines[at + 1].strip()
    install, sep, run = command.rpartition(" && ")
    if not sep or "linksyn run" not in run:
        raise SystemExit(f"README command 1 is not `<install> && <linksyn run ...>`: {command!r}")
    return install, run


def timed(command: str, cwd: Path, env: dict[str, str], log: Path) -> tuple[float, int]:
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(command, shell=True, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    return time.monotonic() - started, code


def step_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per step key, summed over every run in the instance."""
    import dagster as dg

    from linksyn_assets.cli.runner import step_seconds as run_step_seconds

    out: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in instance.get_runs():
            for key, seconds in run_step_seconds(instance, run.run_id).items():
                out[key] = out.get(key, 0.0) + seconds
    return out


def llm_split(server_log: Path) -> dict[str, float]:
    if not server_log.exists():
        return {}
    rows = [json.loads(line) for line in server_log.read_text().splitlines() if line.startswith('{"event": "comp')]
    keys = ("wall_s", "prompt_eval_s", "generation_s", "grammar_s", "other_s", "prompt_tokens",
            "prompt_tokens_evaluated", "completion_tokens")
    return {"requests": len(rows), **{k: round(sum(r[k] for r in rows), 1) for k in keys}}


def measure(rev: str, workdir: Path, cold: bool = False) -> dict[str, object]:
    clone = workdir / f"clone-{rev}"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", rev], check=True)
    install, run = readme_command(clone)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINKSYN_", "DAGSTER_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env["LINKSYN_EMBEDDED_LOG"] = str(clone / "embedded-server.log")  # where the server's timing lines go
    if cold:  # nothing built or downloaded before: pip's cache off, an empty wheel folder for deploy/install.sh
        env["PIP_NO_CACHE_DIR"] = "1"
        env["LINKSYN_WHEEL_DIR"] = str(workdir / f"wheels-{rev}")
        shutil.rmtree(env["LINKSYN_WHEEL_DIR"], ignore_errors=True)
    print(f"[{rev}] install: {install}", flush=True)
    install_s, code = timed(install, clone, env, clone / "install.log")
    if code:
        raise SystemExit(f"[{rev}] install failed (exit {code}); see {clone / 'install.log'}")
    print(f"[{rev}] install {install_s:.0f}s; run: {run}", flush=True)
    run_s, code = timed(run, clone, env, clone / "run.log")
    if code:
        print(f"[{rev}] run exited {code}; see {clone / 'run.log'}", flush=True)
    steps = step_seconds(clone / ".dagster_home")
    split = {"install": install_s}
    for part, keys in PARTS.items():
        split[part] = sum(v for k, v in steps.items() if k in keys)
    known = {k for keys in PARTS.values() for k in keys}
    split["other"] = run_s - sum(v for k, v in split.items() if k != "install")
    checks = sum(v for k, v in steps.items() if k not in known)
    tail = [line for line in (clone / "run.log").read_text(errors="replace").splitlines()
            if line.startswith(("Release v", "LLM:", "QC pass rate", "Rows per asset"))]
    built = re.search(r"llama\.cpp built in (\d+) s", (clone / "install.log").read_text(errors="replace"))
    return {"rev": rev, "command": f"{install} && {run}", "install_s": install_s, "pipeline_s": run_s,
            "llama_build_s": float(built.group(1)) if built else 0.0,
            "exit": code, "split": split, "checks_s": checks, "llm": llm_split(clone / "embedded-server.log"),
            "summary": tail}


def report(result: dict[str, object]) -> None:
    split = result["split"]
    assert isinstance(split, dict)
    print(f"\n[{result['rev']}] {result['command']}")
    print(f"  total {result['install_s'] + result['pipeline_s']:.0f}s = install {result['install_s']:.0f}s (of it "
          f"building llama.cpp {result['llama_build_s']:.0f}s) + pipeline {result['pipeline_s']:.0f}s "
          f"(exit {result['exit']})")
    for part, seconds in split.items():
        print(f"  {part:<24}{seconds:8.1f}s")
    print(f"  (asset checks, inside 'other': {result['checks_s']:.1f}s)")
    llm = result["llm"]
    if llm:
        print(f"  embedded model: {llm['requests']} requests, {llm['wall_s']}s of request time (summed over "
              f"instances): prompt evaluation {llm['prompt_eval_s']}s ({llm['prompt_tokens_evaluated']} of "
              f"{llm['prompt_tokens']} prompt tokens evaluated, the rest reused from the KV cache), generation "
              f"{llm['generation_s']}s ({llm['completion_tokens']} tokens), grammar {llm['grammar_s']}s, "
              f"other {llm['other_s']}s")
    for line in result["summary"]:  # type: ignore[union-attr]
        print(f"  | {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--before", help="an older commit to time in the same run (the baseline)")
    parser.add_argument("--workdir", help="where the clones go (default: a temp dir, removed unless --keep)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--cold", action="store_true", help="pip's cache disabled and no wheel built before")
    args = parser.parse_args()
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.rev], check=True,
                         capture_output=True, text=True).stdout.strip()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="linksyn-first-run-"))
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.2f} at start; workdir {workdir}", flush=True)
    results = [measure(rev, workdir, args.cold)]
    if args.before:
        results.append(measure(args.before, workdir, args.cold))
    for result in results:
        report(result)
    after = results[0]
    values = {"cold": int(args.cold), "install_s": round(after["install_s"]),
              "llama_build_s": round(after["llama_build_s"]), "pipeline_s": round(after["pipeline_s"]),
              "total_s": round(after["install_s"] + after["pipeline_s"])}
    values.update({re.sub(r"\W+", "_", k) + "_s": round(v) for k, v in after["split"].items() if k != "install"})
    if args.before:
        values["before_pipeline_s"] = round(results[1]["pipeline_s"])
        values["ratio_pipeline"] = round(results[1]["pipeline_s"] / after["pipeline_s"], 2)
    if not args.keep and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print(" ".join(f"{k}={v}" for k, v in values.items()))
    return 0 if after["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
