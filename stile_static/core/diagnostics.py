"""Diagnostics: stable codes, severities, source ranges and the catalogue of codes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .scope import Scope


@dataclass(frozen=True)
class Span:
    """A source range: 1-based lines, 1-based columns, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Diagnostic:
    path: str
    span: Span
    code: str
    message: str
    severity: str = "error"
    notes: tuple[str, ...] = field(default=())
    help: str | None = None
    related: tuple[tuple[Span, str], ...] = field(default=())
    # the case (sizes, autotune config) it was found in, for an annotated wrapper
    scope: Scope | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.span.line, self.span.column, self.code)


def in_scope(d: Diagnostic, scope: Scope | None, *notes: str) -> Diagnostic:
    """``d`` naming the configuration it was found in (a note, and its ``scope``
    field for JSON and SARIF), unless it names one already. A file whose sizes
    are its own (the typed-NumPy dialect) has no case to name."""
    if scope is None or d.scope is not None or scope.kind == "file":
        return d
    return replace(d, notes=(*d.notes, f"in {scope}", *notes), scope=scope)


@dataclass(frozen=True)
class CodeInfo:
    name: str
    summary: str
    severity: str = "error"  # the severity its diagnostics have


# One entry per code; the table of docs/codes.md and the pages docs/rules/ are tested against this.
CODES: dict[str, CodeInfo] = {
    "STL001": CodeInfo("parse-error", "the file cannot be read or is not valid Python"),
    "STL002": CodeInfo(
        "unsupported", "a construct the analyzer cannot follow (while, I/O, unknown call, ...)"
    ),
    "STL003": CodeInfo("undefined-name", "a name is used before it is defined"),
    "STL004": CodeInfo(
        "python-error", "Python raises an exception here (TypeError, ZeroDivisionError, ...)"
    ),
    "STL005": CodeInfo(
        "compile-error", "the real compiler refuses the kernel (an axis, a shape or a value)"
    ),
    "STL010": CodeInfo(
        "dim-mismatch", "operands of a binary operation have different dims or dim order"
    ),
    "STL011": CodeInfo("slice-mismatch", "operands have the same dims but different slices"),
    "STL012": CodeInfo(
        "slice-out-of-bounds", "a slice leaves the tile's current slice or is empty"
    ),
    "STL013": CodeInfo(
        "bad-dim", "a dim is redefined with another size, or a dim argument is malformed"
    ),
    "STL014": CodeInfo("repeat-existing-dim", "repeat() of a dim the tile already has"),
    "STL015": CodeInfo(
        "einsum-mismatch", "einsum operands disagree with the einsum string or on a shared slice"
    ),
    "STL016": CodeInfo("missing-dim", "reduce or rearrange names a dim the tile does not have"),
    "STL020": CodeInfo("spec-syntax", "the specification string does not parse"),
    "STL021": CodeInfo(
        "spec-ambiguous-input", "a bare dim list in a spec fits more than one input"
    ),
    "STL022": CodeInfo("spec-unknown", "a spec names an unknown dim or input, or misuses a dim"),
    "STL023": CodeInfo("bad-annotation", "a `# stile:` line that cannot be parsed"),
    "STL024": CodeInfo(
        "nothing-checked", "the wrapper's preconditions reject every case: nothing is checked"
    ),
    "STL030": CodeInfo("result-dims", "the written tile's dims or order differ from the spec's"),
    "STL031": CodeInfo(
        "not-equivalent", "the kernel computes something else than the spec (numerics disagree)"
    ),
    "STL032": CodeInfo(
        "incomplete-reduction", "a reduction covers only part of (or more than) its range"
    ),
    "STL033": CodeInfo("not-proven", "numerics agree but no proof was found"),
    "STL040": CodeInfo("never-written", "part of a result is never written"),
    "STL041": CodeInfo("written-twice", "part of a result is written more than once"),
    "STL042": CodeInfo(
        "out-of-bounds",
        "a load or store whose mask admits an element outside its tensor, "
        "or a Pallas block that runs past the array",
    ),
    "STL043": CodeInfo(
        "wrong-stride",
        "a pointer into one tensor built with another tensor's stride, "
        "or an offset that does not decode into an index per dim",
    ),
    "STL044": CodeInfo(
        "undefined-lanes",
        "masked-off lanes loaded without `other` reach a reduction or a store",
    ),
    "STL045": CodeInfo(
        "case-precondition",
        "a case violates the wrapper's `assert` or `if ... raise`; it is reported and not checked",
        severity="warning",
    ),
    "STL046": CodeInfo(
        "int32-overflow",
        "a pointer offset computed in int32 (or int64) wraps, so the address is wrong",
    ),
    "STL047": CodeInfo(
        "race",
        "a load of an element that another program of the same launch stores",
    ),
    "STL048": CodeInfo(
        "grid-order",
        "a Pallas grid that is right only when run in order on one core: an output block "
        "revisited, or a value carried across a grid axis marked parallel",
    ),
    "STL049": CodeInfo(
        "sampled-sizes",
        "verified only at searched sizes: no case line sizes a dim, and no proof for all sizes",
        severity="warning",
    ),
    "STL050": CodeInfo("cross-check", "the NumPy cross-check disagrees with the spec"),
    "STL060": CodeInfo(
        "unused-suppression", "a `# stile: ignore` comment silences nothing on its line"
    ),
}
