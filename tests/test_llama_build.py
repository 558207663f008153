"""The installed llama.cpp runs on any x86-64 CPU with AVX2: no AMX tile code, no AVX-512, no instructions the
build machine happened to have (deploy/install.sh builds it portably; README command 1 and .ci/run use it).

A llama.cpp built with -march=native on a CPU that reports AMX faults at `ldtilecfg` on machines that do not grant
AMX tiles: the server answers /v1/models and dies on its first completion. This test reads the instructions of the
installed CPU library itself, so a wheel built elsewhere (pip's cache, another image) cannot slip through.
LINKSYN_LLAMA_CPU_LIB points it at another library (how the closing note showed it failing on an AMX build).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

# Beyond x86-64-v3 (AVX2, FMA, F16C, BMI1/2): AMX tiles, AVX-512 (zmm and mask registers, EVEX-only mnemonics)
# and VNNI dot products (AVX-VNNI or AVX512-VNNI), which a native build on a newer CPU emits.
FOREIGN = {
    "AMX": re.compile(r"\b(?:ldtilecfg|sttilecfg|tileloadd\w*|tilestored|tilerelease|tilezero|tdpb\w+|tdpfp16ps)\b"),
    "AVX-512": re.compile(r"%zmm\d+|\{%k[1-7]\}|\bk(?:mov|and|andn|or|xor|xnor|not|test|ortest|shiftl|shiftr|add)"
                          r"[bwdq]\b|\bvpternlog[dq]\b|\bvpermt2\w+\b"),
    "VNNI": re.compile(r"\bvpdp(?:bu|ws)sds?\b"),
}


def installed_cpu_library() -> Path:
    override = os.environ.get("LINKSYN_LLAMA_CPU_LIB")
    if override:
        return Path(override)
    from importlib.metadata import distribution

    return Path(str(distribution("llama-cpp-python").locate_file("llama_cpp/lib/libggml-cpu.so")))


def instruction_families(library: Path) -> Counter[str]:
    """How many instructions of each foreign family the library's code holds, plus AVX2 (ymm) and FMA uses."""
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True,
                             text=True, check=True).stdout
    found: Counter[str] = Counter()
    for line in listing.splitlines():
        if "\t" not in line:
            continue
        for family, pattern in FOREIGN.items():
            if pattern.search(line):
                found[family] += 1
        if "%ymm" in line:
            found["ymm"] += 1
        if "vfmadd" in line:
            found["fma"] += 1
    return found


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the instruction families checked are x86-64's")
def test_the_installed_llama_cpp_runs_on_any_avx2_cpu() -> None:
    if shutil.which("objdump") is None:
        pytest.fail("objdump (Debian's binutils, installed with gcc) is needed to read the library's instructions")
    library = installed_cpu_library()
    assert library.is_file(), f"no llama.cpp CPU library at {library}"
    found = instruction_families(library)
    foreign = {family: found[family] for family in FOREIGN if found[family]}
    assert not foreign, (f"{library} holds instructions beyond AVX2 ({foreign}): it was built for its build "
                         "machine (-march=native or AMX/AVX-512 on); reinstall with deploy/install.sh")
    assert found["ymm"] > 1000 and found["fma"] > 100, f"{library} has no AVX2/FMA code paths: {dict(found)}"


def test_the_install_script_builds_portably_and_never_from_a_cached_wheel() -> None:
    script = (Path(__file__).resolve().parents[1] / "deploy" / "install.sh").read_text(encoding="utf-8")
    flags = re.findall(r"-DGGML_\w+=\w+", script)
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AVX2=ON" in flags
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF", "-DGGML_AVX512=OFF"} <= set(flags)
    assert "--no-cache-dir --no-binary llama-cpp-python" in script  # pip's wheel cache cannot answer the build
    assert "--force-reinstall" in script  # a build already in the venv is replaced
    for user in (".ci/run", "deploy/Dockerfile", "README.md"):  # every way in goes through it
        text = (Path(__file__).resolve().parents[1] / user).read_text(encoding="utf-8")
        assert "deploy/install.sh" in text, user
