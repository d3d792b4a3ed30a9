"""The docs pages on the command line, CI and configuration match what the code does."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from stile_static.check.config import _KEYS
from stile_static.report.cli import build_parser
from stile_static.report.reporters import FORMATS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CI = (DOCS / "ci.md").read_text()
CONFIG = (DOCS / "configuration.md").read_text()
SYNOPSIS = (DOCS / "cli.md").read_text()
ALL_DOCS = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))])


def test_every_config_key_is_documented() -> None:
    for key in _KEYS:
        assert f"| `{key}` |" in CONFIG, key
        assert re.search(rf"^{re.escape(key)} = ", CONFIG, re.MULTILINE), key


def test_every_format_is_documented() -> None:
    for fmt in FORMATS:
        assert f"--format {fmt}" in ALL_DOCS, fmt


def test_every_check_flag_is_in_the_synopsis() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    check = commands.choices["check"]
    synopsis = SYNOPSIS
    for action in check._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert flag in synopsis, flag


def test_pre_commit_hook() -> None:
    hook = (ROOT / ".pre-commit-hooks.yaml").read_text()
    for line in [
        "- id: stile-static",
        "  entry: stile-static check",
        "  language: python",
        "  types: [python]",
    ]:
        assert line in hook.splitlines(), line
    assert "      - id: stile-static" in CI
