"""ANSI colour for the text report, on a terminal only.

Colour is on when standard output is a terminal, unless ``NO_COLOR`` is set
(https://no-color.org) or ``TERM`` is ``dumb``; ``FORCE_COLOR`` turns it on
where there is no terminal (a CI log that renders ANSI codes). ``NO_COLOR``
wins over ``FORCE_COLOR``, as in CPython. Files written with ``--output`` and
the machine formats (JSON, SARIF, GitHub) are never coloured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

# SGR parameters of each part of a text report
_STYLES = {
    "path": "1",
    "error": "1;31",
    "warning": "1;33",
    "note": "1;36",
    "help": "1;36",
    "verified": "1;32",
}


@dataclass(frozen=True)
class Palette:
    enabled: bool = False

    def paint(self, text: str, style: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


PLAIN = Palette(False)
ANSI = Palette(True)


def wants_colour(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """Whether a text report written to ``stream`` is coloured (see the module doc)."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
