"""Fill in the output of the `$ stile-static ...` commands that the README shows.

Usage: .venv/bin/python tools/readme_examples.py [--check]

Each fenced block of README.md whose first line is `$ stile-static ARGS` holds
that command and, below it, what it prints. This script runs each command in
the repository root and writes its real output below it; with `--check` it
writes nothing and exits with 1 when a block differs (tests/test_docs.py runs
the same comparison).
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# a fence, the command line, then the output up to the closing fence
BLOCK = re.compile(r"^```\n(\$ stile-static [^\n]*)\n(.*?)^```$", re.M | re.S)


def run(command: str) -> str:
    """What `command` (a `$ stile-static ...` line) prints, run in the repository root."""
    args = shlex.split(command.removeprefix("$ stile-static "))
    # the cache never changes a report; leaving it out keeps the clone clean
    done = subprocess.run(
        [sys.executable, "-m", "stile_static", *args, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
    )
    return done.stdout


def blocks(text: str) -> list[tuple[str, str]]:
    """Each shown command with the output written below it."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def refreshed(text: str) -> str:
    return BLOCK.sub(lambda m: f"```\n{m.group(1)}\n{run(m.group(1))}```", text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args()
    text = README.read_text()
    new = refreshed(text)
    if args.check:
        stale = [c for (c, shown), (_, real) in zip(blocks(text), blocks(new)) if shown != real]
        for command in stale:
            print(f"README.md: the output shown for `{command}` is not what it prints")
        return 1 if stale else 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
