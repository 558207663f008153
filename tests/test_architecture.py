"""The layout's import rules (pyproject.toml [tool.importlinter]) hold, and would catch a violation."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
WIRING = {"assets", "jobs", "sensors", "schedules", "checks", "partitions", "cli", "location", "run_launcher"}


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy under test shadows the installed tree
    return subprocess.run([str(LINT), "--no-cache", "--config", str(root / "pyproject.toml")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept() -> None:
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "3 kept, 0 broken" in out.stdout


def test_every_module_is_either_library_or_wiring() -> None:
    """A new package cannot slip past the library contract by not being listed."""
    library = {m.split(".", 1)[1] for m in _contracts()["library"]["source_modules"]}
    children = {p.stem if p.suffix == ".py" else p.name for p in (ROOT / "linksyn_assets").iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert children == library | WIRING, children ^ (library | WIRING)
    assert not library & WIRING
    assert {m.split(".", 1)[1] for m in _contracts()["library"]["forbidden_modules"] if "." in m} == WIRING


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for name in ("linksyn_assets", "resources"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "sample_seeds"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _plant(root: Path, module: str, line: str) -> None:
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("linksyn_assets/walks/sum_tree.py", "import dagster  # noqa", "Library packages import neither Dagster"),
    ("linksyn_assets/qc/rules.py", "from resources.llm import LLMResource  # noqa", "Library packages"),
    ("resources/seed_source.py", "from linksyn_assets.jobs import ALL_JOBS  # noqa", "Resources wrap the library"),
    # seeds <- qc (benchmarks read benchmark files): an import back closes a cycle between the two packages
    ("linksyn_assets/seeds/files.py", "from linksyn_assets.qc import dedup  # noqa", "No import cycles"),
    # llm/client.py imports batch_loop at run time; batch_loop's import of the client is for types only
    ("linksyn_assets/llm/batch_loop.py", "from linksyn_assets.llm import client  # noqa", "No import cycles"),
])
def test_a_planted_violation_breaks_its_contract(tree_copy: Path, module: str, line: str, broken: str) -> None:
    _plant(tree_copy, module, line)
    out = _lint(tree_copy)
    assert out.returncode == 1, out.stdout[-2000:]
    broken_lines = [ln for ln in out.stdout.splitlines() if ln.rstrip().endswith("BROKEN")]
    assert any(ln.startswith(broken) for ln in broken_lines), broken_lines
    assert "1 broken" in out.stdout


# Top-level entries of the data dir (README: Data layout); only linksyn_assets/layout.py may name them in a path.
_DATA_ENTRIES = ("assets", "corpus", "dataset", "rejects", "quarantine", "retired", "release", "spool",
                 "settings.json", "llm_ledger.sqlite")


def _path_builders(source: str) -> list[str]:
    """Lines that build a path under the data dir: a call of data_dir()/scratch_dir(), or a data-dir entry name
    joined onto a path with `/` or joinpath."""
    entries = "|".join(re.escape(e) for e in _DATA_ENTRIES)
    pattern = re.compile(rf"\b(?:data_dir|scratch_dir)\(\)|/\s*[\"'](?:{entries})[\"'/]|joinpath\([\"'](?:{entries})")
    return [line.strip() for line in source.splitlines() if pattern.search(line) and not line.lstrip().startswith("#")]


def _offenders(finder: Callable[[str], list[str]], owners: set[Path],
               allowed: dict[Path, int] | None = None) -> dict[str, list[str]]:
    """Product modules (outside the owners) with more matching lines than they are allowed."""
    offenders = {}
    sources = [*(ROOT / "linksyn_assets").rglob("*.py"), *(ROOT / "resources").rglob("*.py"), ROOT / "definitions.py"]
    for path in sources:
        found = [] if path in owners else finder(path.read_text(encoding="utf-8"))
        if len(found) > (allowed or {}).get(path, 0):
            offenders[str(path.relative_to(ROOT))] = found
    return offenders


def test_only_the_layout_module_builds_data_dir_paths() -> None:
    owners = {ROOT / "linksyn_assets" / "layout.py", ROOT / "linksyn_assets" / "storage.py"}
    offenders = _offenders(_path_builders, owners)
    assert not offenders, offenders
    # the check itself catches the shapes it is meant to catch
    assert _path_builders('x = data_dir() / "dataset" / f"{d}.parquet"')
    assert _path_builders("root = base / 'assets' / 'kp_graph'")
    assert _path_builders('p = root.joinpath("rejects", name)')
    assert not _path_builders('print("release notes")')


def _metadata_readers(source: str) -> list[str]:
    """Lines that read an asset's metadata back: the event log's materializations, a materialization's or a
    check evaluation's metadata mapping, or the plain-values helper."""
    pattern = re.compile(r"fetch_materializations|get_asset_materialization_events|\.asset_materialization\b"
                         r"|\.metadata\s*(?:\.get\(|\[|\.items\(|\.value)|\bvalues\(\s*(?:mat|records?)\b"
                         r"|get_latest_materialization")
    return [line.strip() for line in source.splitlines() if pattern.search(line) and not line.lstrip().startswith("#")]


def test_only_the_report_reader_reads_metadata_back() -> None:
    """Asset numbers are read back as typed reports through assets/metadata.py (read_report, latest_report,
    run_reports), never by key elsewhere; graph.py asks the event log only for timestamps of its inputs."""
    owners = {ROOT / "linksyn_assets" / "assets" / "metadata.py"}
    allowed = {ROOT / "linksyn_assets" / "assets" / "graph.py": 1}  # input_states: materialization timestamps
    offenders = _offenders(_metadata_readers, owners, allowed)
    assert not offenders, offenders
    assert _metadata_readers('meta = instance.fetch_materializations(flt, limit=1).records')
    assert _metadata_readers('rows = mat.metadata["rows"].value')
    assert _metadata_readers('problems = check.metadata.get("problems")')
    assert _metadata_readers('for ev in result.get_asset_materialization_events():')
    assert not _metadata_readers('report = latest_report(instance, "walk_paths", d)')
