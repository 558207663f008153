"""Run a Python module as a child that exits when the process that started it is gone.

`python -m linksyn_assets.llm.owned_process <owner pid> <module> [args...]` runs the module as `__main__` with a
watchdog thread that ends the process once it is no longer the owner's child (the owner exited, was cancelled
or was killed with SIGKILL, which no atexit handler sees). The embedded llama.cpp server runs this way, so a
stopped run never leaves it holding the cores.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time

POLL_S = 0.5


def owned_command(module: str, args: list[str]) -> list[str]:
    """The command line that runs `python -m module args` owned by this process."""
    return [sys.executable, "-m", "linksyn_assets.llm.owned_process", str(os.getpid()), module, *args]


def _watch(owner: int) -> None:
    while os.getppid() == owner:
        time.sleep(POLL_S)
    os._exit(0)  # reparented: the owner is gone


def main() -> None:
    owner, module, *args = sys.argv[1:]
    threading.Thread(target=_watch, args=(int(owner),), daemon=True, name="owner-watchdog").start()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
