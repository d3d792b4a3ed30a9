"""Parse a spec once per loop, not once per iteration.

An ``assert_equivalent`` in an unrolled loop (the concrete domain unrolls every
loop) parses the same text with the same caller overrides except for their
bounds (``nctx[:ik + TK]``), which only set the ranges of the reductions over
those dims. Parsing is then a third of the cost of a cross-check; here the
parse of a previous iteration is reused with the new bounds applied.

Reuse is sound once two parses with different bounds for every overridden dim
gave terms that differ only in those ranges: the text then restricts none of
those dims itself (a text override that disagrees with the caller's is an
error, so one of the two parses would have failed), and the caller's bounds
reach the term only through the final ranges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..ir.sharing import children, rebuild
from ..ir.specs import InputInfo, Spec
from ..ir.terms import Reduce, Term
from .parser import _caller_overrides, parse_spec

_MAX_ENTRIES = 256


@dataclass
class _Entry:
    bounds: dict[str, tuple]  # the caller's bounds of the first parse
    spec: Spec
    reusable: bool = False


_entries: dict[tuple, _Entry] = {}


def parse_spec_reusing(
    text: str,
    inputs: Sequence[InputInfo],
    dims: Mapping[str, int],
    overrides: Mapping[str, tuple] | None = None,
) -> Spec:
    """``parse_spec(text, inputs, dims, overrides)``, reusing earlier parses."""
    overrides = dict(overrides or {})
    if not overrides:
        return parse_spec(text, inputs, dims, overrides)
    key = (text, tuple(inputs), tuple(sorted(dims.items())), tuple(sorted(overrides)))
    entry = _entries.get(key)
    if entry is not None and entry.reusable:
        _caller_overrides(text, dims, overrides)  # the same errors for bad bounds
        return Spec(_with_ranges(entry.spec.term, overrides), entry.spec.out_dims)
    spec = parse_spec(text, inputs, dims, overrides)
    if entry is None:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.pop(next(iter(_entries)))
        _entries[key] = _Entry(overrides, spec)
    elif all(entry.bounds[d] != bound for d, bound in overrides.items()):
        again = _with_ranges(entry.spec.term, overrides)
        entry.reusable = again == spec.term and entry.spec.out_dims == spec.out_dims
    return spec


def _with_ranges(term: Term, ranges: Mapping[str, tuple]) -> Term:
    """``term`` with every reduction over a dim of ``ranges`` on that range."""
    kids = tuple(_with_ranges(c, ranges) for c in children(term))
    if isinstance(term, Reduce) and term.dim in ranges:
        lo, hi = ranges[term.dim]
        return Reduce(term.op, term.dim, lo, hi, kids[0])
    return rebuild(term, kids) if kids else term
