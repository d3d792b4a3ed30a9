"""Shared subterms: one object per value, and the distinct nodes of a term.

Evaluation memos are keyed by node identity; terms built anew for each loop
iteration (a spec restricted to a longer prefix) share nothing by identity
until interned here.
"""

from __future__ import annotations

from .terms import Binary, Reduce, Select, Term, Unary, Where, select_parts


def children(term: Term) -> tuple[Term, ...]:
    if isinstance(term, Unary):
        return (term.arg,)
    if isinstance(term, Binary):
        return (term.left, term.right)
    if isinstance(term, Reduce):
        return (term.body,)
    if isinstance(term, Where):
        return (term.then, term.other)
    if isinstance(term, Select):
        return select_parts(term)
    return ()


def rebuild(term: Term, kids: tuple[Term, ...]) -> Term:
    """``term`` with its children (in the order of :func:`children`) replaced."""
    if isinstance(term, Unary):
        return Unary(term.fn, kids[0])
    if isinstance(term, Binary):
        return Binary(term.op, kids[0], kids[1])
    if isinstance(term, Reduce):
        return Reduce(term.op, term.dim, term.lo, term.hi, kids[0])
    if isinstance(term, Where):
        return Where(term.cond, kids[0], kids[1])
    if isinstance(term, Select):
        return Select(term.op, *kids)
    return term


def intern(term: Term, table: dict[Term, Term]) -> Term:
    """``term`` with every subterm replaced by the one object in ``table`` of its value."""
    hit = table.get(term)
    if hit is not None:
        return hit
    term = rebuild(term, tuple(intern(c, table) for c in children(term)))
    return table.setdefault(term, term)


def nodes(term: Term) -> dict[int, Term]:
    """The distinct nodes of ``term`` by identity (iteratively: terms nest deeply)."""
    seen: dict[int, Term] = {}
    stack = [term]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(children(node))
    return seen
