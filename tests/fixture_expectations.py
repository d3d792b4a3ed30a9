"""Read the expected diagnostics written inline in fixture files (``# E: CODE``)."""

from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FRONT_ENDS = Path(__file__).resolve().parent.parent / "stile_static" / "frontends"
_EXPECT = re.compile(r"#\s*E:\s*((?:STL\d{3}\s*)+)")
_HELP = re.compile(r"#.*\bhelp:\s*(.+?)\s*$")


def fixture_files() -> list[Path]:
    """Every fixture. A folder named after a front end (``fixtures/triton/``) holds that
    front end's kernels and counts once the front end exists: its fixtures can be
    written, and validated against the real framework, before the front end lands."""
    return sorted(p for p in FIXTURES.rglob("*.py") if _front_end_exists(p))


def _front_end_exists(path: Path) -> bool:
    folder = path.relative_to(FIXTURES).parts[:-1]
    return not folder or (FRONT_ENDS / folder[0] / "__init__.py").is_file()


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
