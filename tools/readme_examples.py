"""Fill in the output of the `$ stile-static ...` commands that the docs show.

Usage: .venv/bin/python tools/readme_examples.py [--check]

Each fenced block of README.md whose first line is `$ stile-static ARGS` holds
that command and, below it, what it prints. So does each such block of a
`docs/*.md` page whose input is a repository file (`fixtures/`, `examples/`);
a block about a user's own files (`kernels/`) is an illustration and is left
alone. This script runs each command in the repository root and writes its
real output below it; with `--check` it writes nothing and exits with 1 when a
block differs (tests/test_docs.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# the folders of the repository whose files a docs page may run the tool on
REPOSITORY_INPUTS = ("fixtures/", "examples/")

# a fence, the command line, then the output up to the closing fence
BLOCK = re.compile(r"^```\n(\$ stile-static [^\n]*)\n(.*?)^```$", re.M | re.S)


@functools.cache  # a command shown on several pages runs once
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


def runs_on_repository_files(command: str) -> bool:
    """Whether every path `command` names is a file or folder of this repository's inputs."""
    # `$ stile-static SUBCOMMAND ARGS...`: the paths are the arguments that are no flags
    paths = [a for a in shlex.split(command, comments=True)[3:] if not a.startswith("-")]
    return bool(paths) and all(
        p.startswith(REPOSITORY_INPUTS) and (ROOT / p).exists() for p in paths
    )


def blocks(text: str, every: bool = True) -> list[tuple[str, str]]:
    """Each shown command with the output written below it (with `every=False`, only
    those whose input is a repository file)."""
    return [
        (m.group(1), m.group(2))
        for m in BLOCK.finditer(text)
        if every or runs_on_repository_files(m.group(1))
    ]


def refreshed(text: str, every: bool = True) -> str:
    def fill(m: re.Match[str]) -> str:
        if not (every or runs_on_repository_files(m.group(1))):
            return m.group(0)
        return f"```\n{m.group(1)}\n{run(m.group(1))}```"

    return BLOCK.sub(fill, text)


def pages() -> list[tuple[Path, bool]]:
    """Each page with examples, and whether all its blocks are run (the README's are)."""
    return [(README, True), *((page, False) for page in sorted(DOCS.glob("*.md")))]


def stale_blocks() -> list[tuple[Path, str]]:
    """The (page, command) of each block whose shown output is not what it prints."""
    stale = []
    for page, every in pages():
        for command, shown in blocks(page.read_text(), every):
            if shown != run(command):
                stale.append((page, command))
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args()
    if args.check:
        stale = stale_blocks()
        for page, command in stale:
            name = page.relative_to(ROOT)
            print(f"{name}: the output shown for `{command}` is not what it prints")
        return 1 if stale else 0
    for page, every in pages():
        text = page.read_text()
        new = refreshed(text, every)
        if new != text:
            page.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
