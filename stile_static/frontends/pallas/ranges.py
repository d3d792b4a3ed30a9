"""Index conditions decided on the region an obligation covers.

A causal spec such as ``softmax[Nk](where(Nk <= Nq, s, -inf))`` reduces over
every key, while the kernel skips the key blocks past the diagonal and masks
only the block on it. On one output block the query index lies in a known
range, so each condition holds, fails, or depends on the indices only in part
of a reduction's range. :func:`restrict` splits every reduction at the points
where one of its conditions changes and replaces decided conditions by their
branch. Both sides of an obligation are rewritten the same way; every step is
an identity on the region (the obligation is only claimed there).
"""

from __future__ import annotations

from fractions import Fraction

from ...ir.terms import Binary, Constraint, Reduce, Term, Unary, Where

Ranges = dict[str, tuple[int, int]]  # dim -> [lo, hi)


def restrict(term: Term, ranges: Ranges) -> Term:
    if isinstance(term, Unary):
        return Unary(term.fn, restrict(term.arg, ranges))
    if isinstance(term, Binary):
        return Binary(term.op, restrict(term.left, ranges), restrict(term.right, ranges))
    if isinstance(term, Where):
        kept = []
        for c in term.cond:
            truth = decide(c, ranges)
            if truth is False:
                return restrict(term.other, ranges)
            if truth is None:
                kept.append(c)
        if not kept:
            return restrict(term.then, ranges)
        return Where(tuple(kept), restrict(term.then, ranges), restrict(term.other, ranges))
    if isinstance(term, Reduce):
        if not isinstance(term.lo, int) or not isinstance(term.hi, int):
            return term
        points = {term.lo, term.hi}
        for c in conditions(term.body):
            points |= _changes(c, term.dim, ranges)
        edges = sorted(p for p in points if term.lo <= p <= term.hi)
        parts = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            inner = dict(ranges)
            inner[term.dim] = (lo, hi)
            parts.append(Reduce(term.op, term.dim, lo, hi, restrict(term.body, inner)))
        if not parts:
            return term
        combine = {"sum": "+", "max": "maximum", "min": "minimum"}[term.op]
        out: Term = parts[0]
        for part in parts[1:]:
            out = Binary(combine, out, part)
        return out
    return term


def conditions(term: Term) -> list[Constraint]:
    found: list[Constraint] = []
    stack = [term]
    while stack:
        node = stack.pop()
        if isinstance(node, Where):
            found.extend(node.cond)
            stack.extend((node.then, node.other))
        elif isinstance(node, Unary):
            stack.append(node.arg)
        elif isinstance(node, Binary):
            stack.extend((node.left, node.right))
        elif isinstance(node, Reduce):
            stack.append(node.body)
    return found


def _interval(c: Constraint, ranges: Ranges, skip: str | None) -> tuple[int, int] | None:
    """Smallest and largest value of ``sum(coeff * dim) + const`` over the dims but ``skip``."""
    if not isinstance(c.const, int):
        return None
    lo = hi = c.const
    for d, k in c.coeffs:
        if d == skip:
            continue
        if d not in ranges:
            return None
        a, b = ranges[d]
        if a >= b:
            return None
        ends = (k * a, k * (b - 1))
        lo += min(ends)
        hi += max(ends)
    return lo, hi


def decide(c: Constraint, ranges: Ranges) -> bool | None:
    """Whether ``c`` holds everywhere (True), nowhere (False) on ``ranges``, or neither."""
    bounds = _interval(c, ranges, None)
    if bounds is None:
        return None
    lo, hi = bounds
    if c.op == "<=":
        return True if hi <= 0 else False if lo > 0 else None
    if c.op == "<":
        return True if hi < 0 else False if lo >= 0 else None
    if c.op == "==":
        return True if lo == hi == 0 else False if lo > 0 or hi < 0 else None
    return None


def _changes(c: Constraint, dim: str, ranges: Ranges) -> set[int]:
    """Values of ``dim`` where ``c`` may start or stop being decided."""
    k = dict(c.coeffs).get(dim)
    if not k:
        return set()
    rest = _interval(c, ranges, dim)
    if rest is None:
        return set()
    out = set()
    for r in rest:
        # k * d + r = 0 at d = -r / k: the decided stretches end around there
        x = Fraction(-r, k)
        base = x.numerator // x.denominator
        out |= {base, base + 1}
    return out
