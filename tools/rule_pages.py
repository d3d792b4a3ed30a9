"""Write docs/rules/: one page per diagnostic code, from stile_static/report/rule_docs.py.

Usage: .venv/bin/python tools/rule_pages.py [--check]

Each page gives what the code means, why it matters, an example that gets it
and the fix, as ruff's rule pages do; docs/rules/index.md lists them.
With `--check` nothing is written and the exit status is 1 when a page is
missing, stale or left over (tests/test_docs.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stile_static.core.diagnostics import CODES  # noqa: E402
from stile_static.report.rule_pages import RULE_PAGES, page_text  # noqa: E402

FOLDER = ROOT / RULE_PAGES


def index_text() -> str:
    rows = [
        f"| [{code}]({code}.md) | {info.name} | {info.summary} |" for code, info in CODES.items()
    ]
    return (
        "# Rules\n\n"
        "One page per diagnostic code: why it matters, an example that gets it, the fix.\n"
        "`stile-static rule CODE` prints the same text.\n\n"
        "| code | name | meaning |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def expected_pages() -> dict[str, str]:
    """File name to text, for every page the folder should hold."""
    pages = {f"{code}.md": page_text(code) for code in CODES}
    pages["index.md"] = index_text()
    return pages


def stale_pages() -> list[str]:
    """The pages that differ from what this script writes, or should not be there."""
    pages = expected_pages()
    present = {p.name for p in FOLDER.glob("*.md")} if FOLDER.is_dir() else set()
    wrong = [
        n
        for n, text in pages.items()
        if not (FOLDER / n).is_file() or (FOLDER / n).read_text() != text
    ]
    return sorted(wrong + sorted(present - set(pages)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args()
    if args.check:
        stale = stale_pages()
        for name in stale:
            print(f"{RULE_PAGES}/{name} is not what tools/rule_pages.py writes")
        return 1 if stale else 0
    FOLDER.mkdir(parents=True, exist_ok=True)
    pages = expected_pages()
    for old in FOLDER.glob("*.md"):
        if old.name not in pages:
            old.unlink()
    for name, text in pages.items():
        (FOLDER / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
