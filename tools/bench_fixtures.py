"""Time `stile-static check` on each bundled fixture, whole process, median of runs.

Usage: .venv/bin/python tools/bench_fixtures.py [--runs 5]
Prints a Markdown table (quoted in docs/timing.md) and the command that made it.
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

from benchlib import measure

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("fixtures", nargs="*", help="fixture files (default: all)")
    parser.add_argument(
        "--cpu", action="store_true", help="also show processor time (user + system)"
    )
    args = parser.parse_args()
    paths = [Path(p) for p in args.fixtures] or sorted((ROOT / "fixtures").rglob("*.py"))
    cpu = args.cpu
    print(f"Command: python tools/bench_fixtures.py --runs {args.runs}")
    print(
        f"Machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, whole process, median of {args.runs} runs\n"
    )
    header = "time (s), processor time in brackets" if cpu else "time (s)"
    print(f"| fixture | {header} | peak memory (MiB) | verdict |")
    print("|---|---:|---:|---|")
    for path in paths:
        m = measure(path, args.runs)
        name = path.resolve().relative_to(ROOT / "fixtures").as_posix()
        extra = f" ({m.cpu_seconds:.2f})" if cpu else ""
        print(f"| {name} | {m.seconds:.2f}{extra} | {m.peak_mib:.0f} | {m.verdict} |", flush=True)


if __name__ == "__main__":
    main()
