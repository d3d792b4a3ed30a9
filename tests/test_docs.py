"""The README documents every diagnostic code, as the analyzer defines it."""

from __future__ import annotations

from pathlib import Path

from stile_static.core.diagnostics import CODES

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_lists_every_code() -> None:
    text = README.read_text()
    for code, info in CODES.items():
        assert f"| {code} | {info.name} | {info.summary} |" in text, code
