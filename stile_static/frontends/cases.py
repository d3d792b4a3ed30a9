"""What became of the cases of an annotated wrapper, for the Triton and Pallas front ends.

A case is checked, rejected by the wrapper's own preconditions (STL045, a
warning), or stopped where the analyzer cannot follow it (STL002): a stopped
case gives no facts, so no verdict is computed from a model that was not
followed. When every case of a wrapper is rejected, nothing was checked: that
is an error of its own (STL024), at the annotation.

An exception of the analyzer itself while a case runs is an STL002 "internal
error" at the statement it came from; that case stops, the others still run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace

import libcst as cst

from ..core.diagnostics import Diagnostic, Span, in_scope
from ..core.errors import KernelError
from ..core.scope import Scope
from ..interpreter.core import located
from ..spec.annotations import Annotation

# codes whose own message or notes say which cases they concern (STL045 names its
# case, an STL002 the cases it stopped); every other finding of a case is named by
# in_case
NAMES_ITS_CASE = frozenset({"STL002", "STL045"})


def in_case(diagnostics: Iterable[Diagnostic], scope: Scope) -> list[Diagnostic]:
    """Each finding with the case (and autotune config) it was found in."""
    return [d if d.code in NAMES_ITS_CASE else in_scope(d, scope) for d in diagnostics]


@dataclass(frozen=True)
class Rejected:
    """A case the wrapper's precondition rejects."""

    case: str  # the sizes and values, as the case line gives them
    reason: str
    precondition: Span
    line: Span | None  # the case line; None for default sizes


def unfollowed(error: BaseException) -> KernelError:
    """The STL002 for an exception that escaped the interpretation of a case: a
    limit of the analyzer, or a bug of it (anything but its own diagnostics and
    the step budget, which is reported where it runs out). Its node is the
    innermost statement the exception came from, if any."""
    where = located(error)
    node = where if isinstance(where, cst.CSTNode) else None
    if isinstance(error, RecursionError):
        return KernelError(
            "STL002",
            "too large to follow: the values nest deeper than the analyzer's recursion limit "
            f"({sys.getrecursionlimit()})",
            help="check smaller sizes (fewer unrolled iterations)",
            node=node,
        )
    if isinstance(error, MemoryError):
        return KernelError(
            "STL002",
            "too large to follow: the analyzer ran out of memory",
            help="check smaller sizes (fewer programs, smaller blocks)",
            node=node,
        )
    detail = str(error).strip()
    return KernelError(
        "STL002",
        f"internal error (please report it): the analyzer raised {type(error).__name__}"
        + (f" ({detail})" if detail else "")
        + " while following this statement",
        help="this is a bug of stile-static, not of the kernel: please report it with the file",
        node=node,
    )


def nothing_checked(
    path: str, annotation: Annotation, rejected: list[Rejected], tried: int, text: str
) -> Diagnostic | None:
    """STL024 when every one of the ``tried`` cases was rejected, at the first
    ``# stile:`` line."""
    if tried == 0 or len(rejected) < tried:
        return None
    span = annotation_line(annotation, text)
    written = any(r.line is not None for r in rejected)
    what = "case" if written else "searched size"
    notes = tuple(
        f"{what} {r.case}"
        + (f" (line {r.line.line})" if r.line is not None else "")
        + f": {r.reason} (line {r.precondition.line})"
        for r in rejected
    )
    return Diagnostic(
        path,
        span,
        "STL024",
        f"nothing is checked: the wrapper `{annotation.name}` rejects "
        + (f"the {what} tried" if len(rejected) == 1 else f"all {len(rejected)} {what}s tried"),
        notes=notes,
        help="add a `# stile: case ...` line with sizes the wrapper's preconditions accept",
        related=tuple(_unique((r.precondition, "the precondition") for r in rejected)),
    )


def annotation_line(annotation: Annotation, text: str) -> Span:
    """The whole ``# stile:`` comment of the annotation's first line: where what
    concerns the annotation as a whole is reported."""
    first = annotation.span
    lines = text.splitlines()
    line = lines[first.line - 1] if first.line <= len(lines) else ""
    start = line.rfind("#", 0, first.column) + 1 or first.column
    return Span(first.line, start, first.line, max(len(line) + 1, start + 1))


def with_not_checked(
    diagnostics: Iterable[Diagnostic], stopped: dict[Span, list[str]]
) -> list[Diagnostic]:
    """Each STL002 with the cases it stopped, so that no case goes silently unchecked."""
    out = []
    for d in diagnostics:
        labels = [label for label in dict.fromkeys(stopped.get(d.span, ())) if label]
        if d.code == "STL002" and labels:
            note = f"not checked: case {'; case '.join(labels)}"
            if note not in d.notes:
                d = replace(d, notes=(*d.notes, note))
        out.append(d)
    return out


def _unique(items: Iterable[tuple[Span, str]]) -> list[tuple[Span, str]]:
    return list(dict.fromkeys(items))


__all__ = [
    "NAMES_ITS_CASE",
    "Rejected",
    "annotation_line",
    "in_case",
    "nothing_checked",
    "unfollowed",
    "with_not_checked",
]
