"""Time `stile-static check` on each bundled fixture, whole process, median of runs.

Usage: .venv/bin/python tools/bench_fixtures.py [--runs 5]
Prints a Markdown table (quoted in the README) and the command that made it.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_check(path: Path, runs: int) -> tuple[float, str]:
    command = [
        sys.executable,
        "-m",
        "stile_static",
        "check",
        "--no-cache",
        "--format",
        "json",
        str(path),
    ]
    times, verdict = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        codes = sorted({d["code"] for d in json.loads(proc.stdout or "[]")})
        verdict = (
            "verified" if proc.returncode == 0 else ", ".join(codes) or f"exit {proc.returncode}"
        )
    return statistics.median(times), verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("fixtures", nargs="*", help="fixture files (default: all)")
    args = parser.parse_args()
    paths = [Path(p) for p in args.fixtures] or sorted((ROOT / "fixtures").glob("*.py"))
    print(f"Command: python tools/bench_fixtures.py --runs {args.runs}")
    print(
        f"Machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, whole process, median of {args.runs} runs\n"
    )
    print("| fixture | time (s) | verdict |")
    print("|---|---:|---|")
    for path in paths:
        seconds, verdict = time_check(path, args.runs)
        print(f"| {path.name} | {seconds:.2f} | {verdict} |")


if __name__ == "__main__":
    main()
