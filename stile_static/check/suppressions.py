"""``# stile: ignore[CODE, ...]`` comments: silence diagnostics on their line.

A bare ``# stile: ignore`` silences every code on its line. A diagnostic whose
range spans several lines is matched on its first line, where the text
format points. Comments are found with ``tokenize``, so a ``#`` inside a string
is never taken for one. With ``report_unused`` a comment that silences nothing
(or names a code that silenced nothing) is itself reported, as STL060.

A ``# stile: ignore-file`` comment anywhere in a file skips the whole file: it
is not checked, as a file that is not a kernel (``find_ignore_file``).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass

from ..core.diagnostics import CODES, Diagnostic, Span

UNUSED = "STL060"
_DIRECTIVE = re.compile(r"#\s*stile:\s*ignore(?![\w-])(?:\[(?P<codes>[^\]]*)\])?")
# No codes: a file is checked or not. `ignore-file[...]` is not this directive (nor any).
_IGNORE_FILE = re.compile(r"#\s*stile:\s*ignore-file(?![\w\[-])")
IGNORE_FILE = "# stile: ignore-file"


@dataclass(frozen=True)
class Suppression:
    span: Span  # the directive inside the comment
    codes: tuple[str, ...] | None  # None: every code on the line

    @property
    def line(self) -> int:
        return self.span.line


def find_suppressions(source: bytes | str) -> list[Suppression]:
    """The suppression comments of ``source``, in order; those before a tokenize error
    when the file does not tokenize (a syntax error further down)."""
    found = []
    for token in _comments(source):
        for match in _DIRECTIVE.finditer(token.string):
            line, offset = token.start
            column = offset + match.start() + 1
            span = Span(line, column, line, offset + match.end() + 1)
            raw = match.group("codes")
            codes = None if raw is None else tuple(c.strip() for c in raw.split(",") if c.strip())
            found.append(Suppression(span, codes))
    return found


def find_ignore_file(source: bytes | str) -> int | None:
    """The line of the first ``# stile: ignore-file`` comment, or None when there is none."""
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    if "ignore-file" not in text:
        return None  # most files: no tokenizing
    for token in _comments(source):
        if _IGNORE_FILE.search(token.string):
            return token.start[0]
    return None


def _comments(source: bytes | str) -> Iterator[tokenize.TokenInfo]:
    try:
        if isinstance(source, bytes):  # reads the encoding cookie, which can fail too
            tokens = tokenize.tokenize(io.BytesIO(source).readline)
        else:
            tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        for token in tokens:
            if token.type == tokenize.COMMENT:
                yield token
    except (tokenize.TokenError, SyntaxError, ValueError, LookupError):
        return  # the checker reports the file's real problem; keep the comments before it


@dataclass(frozen=True)
class Outcome:
    kept: tuple[Diagnostic, ...]
    suppressed: tuple[Diagnostic, ...]
    unused: tuple[Diagnostic, ...]  # STL060 diagnostics; empty unless asked for


def apply_suppressions(
    diagnostics: Iterable[Diagnostic],
    suppressions: Iterable[Suppression],
    path: str,
    report_unused: bool = False,
    enabled: Container[str] = CODES,
) -> Outcome:
    """Split ``diagnostics`` into kept and suppressed; ``enabled`` (the codes selected by
    the configuration) tells an unused code apart from one that is switched off."""
    by_line: dict[int, list[Suppression]] = {}
    for s in suppressions:
        by_line.setdefault(s.line, []).append(s)
    used: dict[Suppression, set[str]] = {s: set() for group in by_line.values() for s in group}
    kept, suppressed = [], []
    for d in diagnostics:
        hit = next(
            (s for s in by_line.get(d.span.line, ()) if s.codes is None or d.code in s.codes),
            None,
        )
        if hit is None or d.code == UNUSED:
            kept.append(d)
        else:
            used[hit].add(d.code)
            suppressed.append(d)
    unused = []
    if report_unused:
        for s, codes in used.items():
            problem = _problem(s, codes, enabled)
            if problem:
                unused.append(_unused_diagnostic(path, s, problem))
    return Outcome(tuple(kept), tuple(suppressed), tuple(unused))


def _problem(s: Suppression, used: set[str], enabled: Container[str]) -> str | None:
    if s.codes is None:
        return None if used else "there is no diagnostic on this line"
    if not s.codes:
        return "it names no code"
    parts = []
    unknown = [c for c in s.codes if c not in CODES]
    disabled = [c for c in s.codes if c in CODES and c not in enabled]
    idle = [c for c in s.codes if c in CODES and c in enabled and c not in used]
    if unknown:
        parts.append(
            f"{_join(unknown)} {'is not a code' if len(unknown) == 1 else 'are not codes'}"
        )
    if disabled:
        parts.append(f"{_join(disabled)} {'is' if len(disabled) == 1 else 'are'} not selected")
    if idle:
        verb = "does" if len(idle) == 1 else "do"
        parts.append(f"{_join(idle)} {verb} not occur on this line")
    return "; ".join(parts) or None


def _join(codes: list[str]) -> str:
    return ", ".join(f"`{c}`" for c in codes)


def _unused_diagnostic(path: str, s: Suppression, problem: str) -> Diagnostic:
    return Diagnostic(
        path,
        s.span,
        UNUSED,
        f"unused suppression: {problem}",
        help="remove the comment, or the codes in it that silence nothing",
    )
