"""Read the expected diagnostics written inline in fixture files (``# E: CODE``)."""

from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_EXPECT = re.compile(r"#\s*E:\s*((?:STL\d{3}\s*)+)")
_HELP = re.compile(r"#.*\bhelp:\s*(.+?)\s*$")


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.rglob("*.py"))


def expected(path: Path) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            found.update((number, code) for code in match.group(1).split())
    return found


def expected_help(path: Path) -> dict[int, str]:
    """``# E: STL002 help: text``: a diagnostic on that line has a help containing text."""
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = _HELP.search(line)
        if match:
            found[number] = match.group(1)
    return found
