"""One documentation page per diagnostic code, and where a report finds it.

The pages are Markdown files in the repository, ``docs/rules/CODE.md`` (GitHub
renders them; the MkDocs site in ``docs/`` builds them), written by
``tools/rule_pages.py`` from ``rule_docs.py``. The project has no hosted
documentation site, so a link names that path; an absolute link (SARIF's
``helpUri`` must be one) is the ``file:`` URI of the page where this
installation has it: the clone of an editable install, or the copy that the
wheel carries as package data.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from ..core.diagnostics import CODES
from .rule_docs import rule_markdown

RULE_PAGES = "docs/rules"  # the folder of the pages, from the repository root


def page_path(code: str) -> str:
    """The page of ``code``, as a path in the repository."""
    return f"{RULE_PAGES}/{code}.md"


def page_text(code: str) -> str:
    """The page of ``code``: its documentation, as ruff's rule pages give it."""
    info = CODES[code]
    if info.severity == "warning":
        severity = f"{code} is a warning: it is reported, and alone it does not fail a check."
    else:
        severity = f"{code} is an error: `stile-static check` exits with 1 when it reports one."
    return (
        rule_markdown(code)
        + f"\n## Severity\n\n{severity}\n\n[All diagnostic codes](../codes.md)\n"
    )


def installed_page(code: str) -> Path | None:
    """The page's file in this installation, if it has one."""
    packaged = importlib.resources.files("stile_static") / RULE_PAGES
    candidates = [
        Path(str(packaged)) / f"{code}.md",  # a wheel: the pages are package data
        Path(__file__).resolve().parents[2] / page_path(code),  # a clone
    ]
    return next((p for p in candidates if p.is_file()), None)


def help_uri(code: str) -> str | None:
    """An absolute URI of the page (SARIF ``helpUri``), or None where it is not installed."""
    page = installed_page(code)
    return page.as_uri() if page is not None else None


def link_line(code: str) -> str:
    """The line `stile-static rule CODE` ends with: where the page is."""
    line = f"Documentation: {page_path(code)} in the stile-static repository"
    page = installed_page(code)
    return line + (f" (here: {page})" if page is not None else "") + "\n"
