"""Readable forms of long terms: shared subterms named once, long range lists collapsed.

A kernel and its spec usually share big subterms (the attention scores
``0.25 * sum[dhead 0:16](K[nctx, dhead] * Q[qctx, dhead])`` appear in both, many
times). Naming each such subterm once (``s1 = ...``) leaves the places where
the two sides differ visible in a line or two.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ir.sharing import children, nodes, rebuild
from ..ir.terms import Const, Load, Term, show, show_short

WIDTH = 400  # characters of one rendered term before it is cut with "..."
MAX_NAMES = 4
MIN_LENGTH = 24  # shorter subterms read better in place
_MAX_TREE = 20_000  # nodes of the terms written out as trees (beyond: shown as is)


def abbreviate(terms: Sequence[Term], width: int = WIDTH) -> tuple[list[str], list[str]]:
    """``terms`` rendered with shared subterms named, and the names' definitions."""
    plain = [show_short(t, width) for t in terms]
    if all(len(p) <= width for p in plain) or _tree_size(terms) > _MAX_TREE:
        return plain, []
    taken = {n.tensor for t in terms for n in nodes(t).values() if isinstance(n, Load)}
    current = list(terms)
    named: list[tuple[str, Term]] = []
    for _ in range(MAX_NAMES):
        best = _most_repeated(current + [t for _, t in named])
        if best is None:
            break
        name = _fresh(taken, len(named) + 1)
        taken.add(name)
        text = show(best)
        marker = Load(name, ())
        current = [_replace(t, text, marker) for t in current]
        named = [(n, _replace(t, text, marker)) for n, t in named] + [(name, best)]
    if not named:
        return plain, []
    names = [n for n, _ in named]
    rendered = [_unmark(show_short(t, width), names) for t in current]
    definitions = [f"{n} = {_unmark(show_short(t, width), names)}" for n, t in named]
    return rendered, definitions


def _fresh(taken: set[str], k: int) -> str:
    name = f"s{k}"
    while name in taken:
        name = "_" + name
    return name


def _unmark(text: str, names: list[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(f"{name}[]", name)
    return text


def _tree_size(terms: Sequence[Term]) -> int:
    """Nodes of the terms written as trees (shared nodes counted once per use)."""
    size: dict[int, int] = {}
    total = 0
    for term in terms:
        for node in reversed(list(nodes(term).values())):
            _size(node, size)
        total += size[id(term)]
    return total


def _size(node: Term, size: dict[int, int]) -> int:
    hit = size.get(id(node))
    if hit is None:
        hit = 1 + sum(_size(c, size) for c in children(node))
        size[id(node)] = min(hit, _MAX_TREE + 1)
    return size[id(node)]


def _most_repeated(terms: Sequence[Term]) -> Term | None:
    """The subterm whose naming saves the most characters, if any repeats."""
    uses: dict[str, int] = {}
    example: dict[str, Term] = {}
    texts: dict[int, str] = {}

    def visit(node: Term) -> None:
        if isinstance(node, (Const, Load)):
            return
        text = texts.get(id(node))
        if text is None:
            text = texts[id(node)] = show(node)
        uses[text] = uses.get(text, 0) + 1
        example.setdefault(text, node)
        for child in children(node):
            visit(child)

    for term in terms:
        visit(term)
    scored = [
        ((n - 1) * len(text), text) for text, n in uses.items() if n > 1 and len(text) >= MIN_LENGTH
    ]
    return example[max(scored)[1]] if scored else None


def _replace(term: Term, text: str, marker: Term) -> Term:
    """``term`` with every subterm that renders as ``text`` replaced by ``marker``."""
    memo: dict[int, Term] = {}

    def sub(node: Term) -> Term:
        hit = memo.get(id(node))
        if hit is not None:
            return hit
        if not isinstance(node, (Const, Load)) and show(node) == text:
            out = marker
        else:
            kids = children(node)
            new = tuple(sub(c) for c in kids)
            out = node if all(a is b for a, b in zip(kids, new)) else rebuild(node, new)
        memo[id(node)] = out
        return out

    return sub(term)


def collapse_ranges(parts: Sequence[tuple[object, object]]) -> str:
    """Ranges, with runs of adjacent equal pieces as ``64 pieces of 32 over [0:2048)``."""
    out: list[str] = []
    run: list[tuple[int, int]] = []

    def flush() -> None:
        if len(run) >= 3:
            width = run[0][1] - run[0][0]
            out.append(f"{len(run)} pieces of {width} over [{run[0][0]}:{run[-1][1]})")
        else:
            out.extend(f"[{a}:{b})" for a, b in run)
        run.clear()

    for lo, hi in parts:
        if not (isinstance(lo, int) and isinstance(hi, int)):
            flush()
            out.append(f"[{lo}:{hi})")
            continue
        if run and (run[-1][1] != lo or run[-1][1] - run[-1][0] != hi - lo):
            flush()
        run.append((lo, hi))
    flush()
    return ", ".join(out)
