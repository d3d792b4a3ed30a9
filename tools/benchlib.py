"""Timing one `stile-static check` process: shared by the benchmark scripts."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Runs the check as a grandchild so that RUSAGE_CHILDREN sees that process alone.
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "elapsed = time.perf_counter() - start\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "cpu = usage.ru_utime + usage.ru_stime\n"
    "print(elapsed, usage.ru_maxrss, proc.returncode, cpu)\n"
    "sys.stdout.write(proc.stdout)\n"
)


@dataclass(frozen=True)
class Measurement:
    seconds: float  # median wall time of the whole process
    peak_mib: float  # largest peak resident memory over the runs
    verdict: str  # "verified", or the codes reported
    cpu_seconds: float = 0.0  # median processor time (user + system), all threads


def measure(path: Path, runs: int) -> Measurement:
    """Check ``path`` ``runs`` times without the cache (whole process, start-up included)."""
    command = [sys.executable, "-m", "stile_static", "check", "--no-cache", "--format", "json"]
    times, peaks, cpus, verdict = [], [], [], ""
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command, str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        head, _, body = proc.stdout.partition("\n")
        elapsed, peak, status, cpu = head.split()
        times.append(float(elapsed))
        cpus.append(float(cpu))
        peaks.append(int(peak) / 1024)
        codes = sorted({d["code"] for d in json.loads(body or "[]")})
        # a warning (STL045) leaves the exit status 0 but is still named
        verdict = ", ".join(codes) or ("verified" if status == "0" else f"exit {status}")
    return Measurement(statistics.median(times), max(peaks), verdict, statistics.median(cpus))
