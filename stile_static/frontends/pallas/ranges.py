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
from functools import cmp_to_key

from ...ir import symbolic as sym
from ...ir.symbolic import Int
from ...ir.terms import (
    IDENTITY,
    Binary,
    Const,
    Constraint,
    Load,
    Reduce,
    Select,
    Term,
    Unary,
    Where,
    select_parts,
    subterms,
)

Ranges = dict[str, tuple[Int, Int]]  # dim -> [lo, hi)


def restrict(term: Term, ranges: Ranges, memo: dict | None = None) -> Term:
    """``term`` with its index conditions decided on ``ranges``; parts without
    conditions are returned as they are (the same objects)."""
    memo = {} if memo is None else memo
    if not _guarded(term, memo):
        return term
    dims = {d for c in _conditions_of(term, memo) for d, _ in c.coeffs}
    key = (id(term), tuple(sorted((d, r) for d, r in ranges.items() if d in dims)))
    hit = memo.get(key)
    if hit is not None and hit[0] is term:
        return hit[1]
    out = _restrict(term, ranges, memo)
    memo[key] = (term, out)
    return out


def _restrict(term: Term, ranges: Ranges, memo: dict) -> Term:
    if not _guarded(term, memo):
        return term
    if isinstance(term, Unary):
        return Unary(term.fn, restrict(term.arg, ranges, memo))
    if isinstance(term, Binary):
        return Binary(
            term.op, restrict(term.left, ranges, memo), restrict(term.right, ranges, memo)
        )
    if isinstance(term, Select):
        return Select(term.op, *(restrict(t, ranges, memo) for t in select_parts(term)))
    if isinstance(term, Where):
        kept = []
        for c in term.cond:
            truth = decide(c, ranges)
            if truth is False:
                return restrict(term.other, ranges, memo)
            if truth is None:
                kept.append(c)
        if not kept:
            return restrict(term.then, ranges)
        return Where(tuple(kept), restrict(term.then, ranges), restrict(term.other, ranges))
    if isinstance(term, Reduce):
        points: set[Int] = {term.lo, term.hi}
        for c in _conditions_of(term.body, memo):
            points |= _changes(c, term.dim, ranges)
        try:
            inside = [p for p in points if _le(term.lo, p) and _le(p, term.hi)]
            edges = sorted(inside, key=cmp_to_key(_order))
        except sym.NeedsUnroll:
            return term  # split points not ordered for every row: keep the reduction
        pieces: list[tuple[Int, Int, Term]] = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            inner = dict(ranges)
            inner[term.dim] = (lo, hi)
            body = restrict(term.body, inner, memo)
            if pieces and (pieces[-1][2] is body or pieces[-1][2] == body):
                pieces[-1] = (pieces[-1][0], hi, body)  # adjacent stretches, one body
            else:
                pieces.append((lo, hi, body))
        parts = [
            Reduce(term.op, term.dim, lo, hi, body)
            for lo, hi, body in pieces
            if not _is_identity(body, term.op)  # a masked-off stretch adds nothing
        ]
        if not parts:
            return IDENTITY[term.op]
        combine = {"sum": "+", "max": "maximum", "min": "minimum"}[term.op]
        out: Term = parts[0]
        for part in parts[1:]:
            out = Binary(combine, out, part)
        return out
    return term


def _is_identity(term: Term, op: str) -> bool:
    """``term`` is the identity of ``op`` everywhere (``0 * finite`` counts for sums)."""
    if term == IDENTITY[op]:
        return True
    if op == "sum" and isinstance(term, Binary) and term.op == "*":
        return any(
            side == IDENTITY["sum"] and _finite(other)
            for side, other in ((term.left, term.right), (term.right, term.left))
        )
    return False


def _finite(term: Term) -> bool:
    """No infinite constant and no max/min that might range over nothing."""
    if isinstance(term, Const):
        return isinstance(term.value, Fraction)
    if isinstance(term, Load):
        return True
    if isinstance(term, Unary):
        return term.fn in ("exp", "sin", "cos", "neg") and _finite(term.arg)
    if isinstance(term, Binary):
        return term.op in ("+", "-", "*") and _finite(term.left) and _finite(term.right)
    if isinstance(term, Select):
        return all(_finite(t) for t in select_parts(term))
    return False


def _guarded(term: Term, memo: dict) -> bool:
    return bool(_conditions_of(term, memo))


def _conditions_of(term: Term, memo: dict) -> frozenset[Constraint]:
    """The conditions of the Where nodes in ``term`` (memoised by identity)."""
    key = ("conditions", id(term))
    hit = memo.get(key)
    if hit is not None and hit[0] is term:
        return hit[1]
    if isinstance(term, Where):
        found = frozenset(term.cond)
        found |= _conditions_of(term.then, memo) | _conditions_of(term.other, memo)
    elif isinstance(term, Unary):
        found = _conditions_of(term.arg, memo)
    elif isinstance(term, Binary):
        found = _conditions_of(term.left, memo) | _conditions_of(term.right, memo)
    elif isinstance(term, Reduce):
        found = _conditions_of(term.body, memo)
    elif isinstance(term, Select):
        found = frozenset().union(*(_conditions_of(t, memo) for t in select_parts(term)))
    else:
        found = frozenset()
    memo[key] = (term, found)
    return found


def conditions(term: Term) -> list[Constraint]:
    """The index conditions of every ``where`` in ``term``."""
    return [c for node in subterms(term) if isinstance(node, Where) for c in node.cond]


def _le(x: Int, y: Int) -> bool:
    return _always("<=", x, y)


def _order(x: Int, y: Int) -> int:
    """Points in order; two that may coincide for some rows are ordered by ``<=``
    (the piece between them is then empty for those rows)."""
    if x == y:
        return 0
    if _always("<=", x, y):
        return -1
    if _always("<=", y, x):
        return 1
    raise sym.NeedsUnroll(f"{x} and {y} are not ordered")


def _always(op: str, x: Int, y: Int) -> bool:
    """``x op y`` for every row (False when it depends on the row)."""
    try:
        return sym.compare(op, x, y)
    except sym.NeedsUnroll:
        return False


def _interval(c: Constraint, ranges: Ranges, skip: str | None) -> tuple[Int, Int] | None:
    """Smallest and largest value of ``sum(coeff * dim) + const`` over the dims but
    ``skip`` (a range may be one symbolic row ``[v, v + 1)``)."""
    lo: Int = c.const
    hi: Int = c.const
    try:
        for d, k in c.coeffs:
            if d == skip:
                continue
            if d not in ranges:
                return None
            # a range may be empty for some rows (a piece [0:Nq) of a split
            # reduction): what is decided there does not matter, so the ends are
            # those of the non-empty case
            a, b = ranges[d]
            first, last = sym.scale(a, k), sym.scale(sym.add(b, -1), k)
            small, large = (first, last) if k > 0 else (last, first)
            lo, hi = sym.add(lo, small), sym.add(hi, large)
    except sym.NeedsUnroll:
        return None
    return lo, hi


def decide(c: Constraint, ranges: Ranges) -> bool | None:
    """Whether ``c`` holds everywhere (True), nowhere (False) on ``ranges``, or neither."""
    bounds = _interval(c, ranges, None)
    if bounds is None:
        return None
    lo, hi = bounds
    try:
        if c.op == "<=":
            return True if _le(hi, 0) else False if _always(">", lo, 0) else None
        if c.op == "<":
            return True if _always("<", hi, 0) else False if _le(0, lo) else None
        if c.op == "==":
            if lo == hi == 0:
                return True
            return False if _always(">", lo, 0) or _always("<", hi, 0) else None
    except sym.NeedsUnroll:
        return None
    return None


def _changes(c: Constraint, dim: str, ranges: Ranges) -> set[Int]:
    """Values of ``dim`` where ``c`` may start or stop being decided."""
    k = dict(c.coeffs).get(dim)
    if not k:
        return set()
    rest = _interval(c, ranges, dim)
    if rest is None:
        return set()
    out: set[Int] = set()
    for r in rest:
        # k * d + r = 0 at d = -r / k: the decided stretches end around there
        if isinstance(r, int):
            x = Fraction(-r, k)
            base: Int = x.numerator // x.denominator
        elif k in (1, -1):
            base = sym.scale(r, -k)
        else:
            continue
        out |= {base, sym.add(base, 1)}
    return out
