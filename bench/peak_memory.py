"""Peak resident memory of this process, for benchmarks that measure in a child process.

`getrusage(RUSAGE_SELF).ru_maxrss` is the wrong number there: Linux carries the parent's high-water
mark across fork and exec, so a child started by a 6 GB parent reports at least 6 GB. VmHWM in
/proc/self/status belongs to the process's own address space, which exec replaces.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no procfs: the closest stand-in
