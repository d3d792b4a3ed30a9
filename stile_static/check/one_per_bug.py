"""One diagnostic per bug: fold the cross-check's findings into the static verdict's.

When the prover already reports a write or an assertion wrong (STL031,
STL032, with a counterexample from the terms), the NumPy cross-check finds the
same bug again, at another place (the result's definition) and with other
numbers (another draw of inputs). Two errors with two counterexamples for one
mistake send the author looking for two. The cross-check's finding becomes a
note on the static diagnostic instead: that running the kernel confirms it.
A cross-check finding that no static verdict explains (the prover said
"verified" or "not proven") stays an STL050 error of its own. A file with a
wrong write fails anyway, so folding never turns a failure into a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ..core.diagnostics import Diagnostic, Span
from ..ir.obligations import Facts

WRONG = frozenset({"STL031", "STL032"})
AGREES = "the NumPy cross-check agrees: the kernel, run on random inputs, differs from the spec"


def blame(facts: Facts, failed: Mapping[Span, Diagnostic]) -> dict[Span, list[Span]]:
    """For each place the cross-check reports at (a result's definition, an assertion),
    the spans of the static "wrong" diagnostics that already explain it."""
    wrong = {span for span, d in failed.items() if d.code in WRONG}
    explains: dict[Span, list[Span]] = {}
    for ob in facts.obligations:
        # a failed obligation, or a proof that relies on a failed loop invariant
        causes = [s for s in (ob.span, *ob.assumes) if s in wrong]
        if not causes:
            continue
        result = facts.results.get(ob.target) if ob.kind == "assign" else None
        where = result.span if result is not None else ob.span
        for cause in causes:
            if cause not in explains.setdefault(where, []):
                explains[where].append(cause)
    return explains


def fold_cross_check(
    failed: dict[Span, Diagnostic],
    explains: Mapping[Span, Sequence[Span]],
    cross: Iterable[Diagnostic],
) -> list[Diagnostic]:
    """The cross-check diagnostics that stay on their own; the others become a note
    on the first static diagnostic that explains them (``failed`` is updated)."""
    kept = []
    for d in cross:
        causes = explains.get(d.span, ()) if d.severity == "error" else ()
        if not causes:
            kept.append(d)
            continue
        first = min(causes, key=lambda s: (s.line, s.column))
        note = AGREES
        if note not in failed[first].notes:
            failed[first] = replace(failed[first], notes=(*failed[first].notes, note))
    return kept


# findings that do not say the kernel is wrong: named by the sizes they occur at
NOT_WRONG = frozenset({"STL002", "STL033"})
MORE_SIZES = 4  # other failing sizes named in a note


def smallest_failing(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """One finding per bug at searched sizes: of the same code at the same place,
    the one at the smallest sizes, its message led by them ("wrong for N = 129:
    ..."); the next failing sizes are a note. Others are kept as they are."""
    groups: dict[tuple, list[Diagnostic]] = {}
    kept: list[Diagnostic | tuple] = []
    for d in diagnostics:
        if d.scope is None or d.scope.kind != "sampled" or not d.scope.chosen:
            kept.append(d)
            continue
        key = (d.span, d.code, d.scope.values, d.scope.chosen)
        if key not in groups:
            groups[key] = []
            kept.append(key)
        groups[key].append(d)
    out = []
    for item in kept:
        if isinstance(item, Diagnostic):
            out.append(item)
            continue
        found = sorted(groups[item], key=lambda d: _size_key(d))
        first = found[0]
        sizes = _sizes(first)
        lead = "at" if first.code in NOT_WRONG or first.severity != "error" else "wrong for"
        notes = first.notes
        others = list(dict.fromkeys(_sizes(d) for d in found[1:] if _sizes(d) != sizes))
        if others:
            shown = "; ".join(others[:MORE_SIZES]) + ("; ..." if len(others) > MORE_SIZES else "")
            notes = (*notes, f"also found at {shown}")
        out.append(replace(first, message=f"{lead} {sizes}: {first.message}", notes=notes))
    return out


def _sizes(d: Diagnostic) -> str:
    assert d.scope is not None
    return ", ".join(f"{dim} = {n}" for dim, n in d.scope.sizes if dim in d.scope.chosen)


def _size_key(d: Diagnostic) -> tuple[int, int]:
    assert d.scope is not None
    sizes = [n for dim, n in d.scope.sizes if dim in d.scope.chosen]
    return (max(sizes, default=0), sum(sizes))
