"""Shared subterms: one object per value, and the distinct nodes of a term.

Evaluation memos are keyed by node identity; terms built anew for each loop
iteration (a spec restricted to a longer prefix) share nothing by identity
until interned here.
"""

from __future__ import annotations

from .terms import Term, children, rebuild

__all__ = ["children", "intern", "nodes", "rebuild"]


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
