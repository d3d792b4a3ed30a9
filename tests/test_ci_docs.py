"""The README's "In CI" section and the pre-commit hook match what the code does."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from stile_static.check.config import _KEYS
from stile_static.report.cli import build_parser
from stile_static.report.reporters import FORMATS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CI = README[README.index("## In CI") : README.index("## In the editor")]


def test_every_config_key_is_documented() -> None:
    for key in _KEYS:
        assert f"| `{key}` |" in CI, key
        assert re.search(rf"^{re.escape(key)} = ", CI, re.MULTILINE), key


def test_every_format_is_documented() -> None:
    for fmt in FORMATS:
        assert f"--format {fmt}" in README, fmt


def test_every_check_flag_is_in_the_synopsis() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    check = commands.choices["check"]
    synopsis = README[README.index("## Command line") : README.index("## In CI")]
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
