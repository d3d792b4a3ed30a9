"""Time `stile-static check fixtures/` with a cold cache and a warm one, whole process.

Usage: .venv/bin/python tools/bench_cache.py [--runs 5]
Cold runs each start from a fresh, empty cache folder; warm runs reuse one that
a first run filled. Prints a Markdown table (quoted in docs/ci.md) and the
command that made it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(args: list[str]) -> float:
    command = [sys.executable, "-m", "stile_static", "check", "fixtures/", *args]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{proc.stderr}")
    return seconds


def cold(runs: int, extra: list[str]) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            times.append(timed(["--cache-dir", folder, *extra]))
    return statistics.median(times)


def warm(runs: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        timed(["--cache-dir", folder])  # fills the cache
        return statistics.median(timed(["--cache-dir", folder]) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    files = len(list((ROOT / "fixtures").rglob("*.py")))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"Command: python tools/bench_cache.py --runs {args.runs}")
    print(
        f"Machine: {platform.machine()}, {cpus} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}; `stile-static check fixtures/` ({files} files), "
        f"whole process, median of {args.runs} runs\n"
    )
    print("| cache | time (s) |")
    print("|---|---:|")
    print(f"| cold, `--jobs 1` | {cold(args.runs, ['--jobs', '1']):.2f} |")
    print(f"| cold, `--jobs {cpus}` (the default) | {cold(args.runs, []):.2f} |")
    print(f"| warm | {warm(args.runs):.2f} |")


if __name__ == "__main__":
    main()
