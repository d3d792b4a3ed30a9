"""The term language: what a tile's value is, as a function of global indices.

A term denotes a real scalar for every assignment of its *free* dims (logical
dimension names used as index variables). Slicing never changes a term: a tile
of ``a`` restricted to ``M[5:10]`` still has the term ``a[M, N]``; the slice is
part of the tile's DimType, not of its value. Reductions bind their dim over a
concrete global range ``[lo, hi)``; an inner binder shadows an outer free use
of the same dim.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from . import symbolic as sym
from .symbolic import Int

Number = Fraction | float

UNARY_FUNCTIONS = ("exp", "sin", "cos", "sqrt", "neg", "recip")


@dataclass(frozen=True)
class Const:
    """A real constant (``-inf`` is allowed as the identity of ``max``)."""

    value: Number


@dataclass(frozen=True)
class Load:
    """Element of the input ``tensor`` at the global coordinates of ``dims``."""

    tensor: str
    dims: tuple[str, ...]


@dataclass(frozen=True)
class Unary:
    """``fn(arg)`` for ``fn`` in :data:`UNARY_FUNCTIONS`."""

    fn: str
    arg: Term


@dataclass(frozen=True)
class Binary:
    """``left op right`` for ``op`` in ``+ - * /`` or ``maximum``."""

    op: str
    left: Term
    right: Term


@dataclass(frozen=True)
class Reduce:
    """``sum`` or ``max`` of ``body`` over ``dim`` in the global range ``[lo, hi)``."""

    op: str
    dim: str
    lo: Int  # symbolic only inside an induction step (see interpreter)
    hi: Int
    body: Term


Term = Const | Load | Unary | Binary | Reduce

BINARY_OPS = ("+", "-", "*", "/", "maximum")
REDUCE_OPS = ("sum", "max")


def const(value: int | float | Fraction) -> Const:
    """A constant, kept exact (as a Fraction) whenever the value is finite."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return Const(value)
    return Const(Fraction(value))


NEG_INF = Const(float("-inf"))


def add(a: Term, b: Term) -> Term:
    return Binary("+", a, b)


def sub(a: Term, b: Term) -> Term:
    return Binary("-", a, b)


def mul(a: Term, b: Term) -> Term:
    return Binary("*", a, b)


def div(a: Term, b: Term) -> Term:
    return Binary("/", a, b)


def free_dims(term: Term) -> frozenset[str]:
    """The dims a term's value depends on (reductions bind theirs)."""
    if isinstance(term, Const):
        return frozenset()
    if isinstance(term, Load):
        return frozenset(term.dims)
    if isinstance(term, Unary):
        return free_dims(term.arg)
    if isinstance(term, Binary):
        return free_dims(term.left) | free_dims(term.right)
    return free_dims(term.body) - {term.dim}


def format_number(value: Number) -> str:
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
    if value == float("-inf"):
        return "-inf"
    return f"{value:g}"


def show(term: Term) -> str:
    """A compact, readable rendering used in messages and hovers."""
    return "".join(_pieces(term))


def show_short(term: Term, limit: int = 400) -> str:
    """``show`` cut to ``limit`` characters; stops early on huge unrolled terms."""
    out: list[str] = []
    length = 0
    for piece in _pieces(term):
        out.append(piece)
        length += len(piece)
        if length > limit:
            return "".join(out)[:limit] + "..."
    return "".join(out)


def _pieces(term: Term) -> Iterator[str]:
    if isinstance(term, Const):
        yield format_number(term.value)
    elif isinstance(term, Load):
        yield f"{term.tensor}[{', '.join(term.dims)}]"
    elif isinstance(term, Unary):
        if term.fn in ("neg", "recip"):
            yield "-" if term.fn == "neg" else "1/"
            yield from _wrapped(term.arg)
        else:
            yield f"{term.fn}("
            yield from _pieces(term.arg)
            yield ")"
    elif isinstance(term, Binary):
        if term.op == "maximum":
            yield "maximum("
            yield from _pieces(term.left)
            yield ", "
            yield from _pieces(term.right)
            yield ")"
        else:
            yield from _wrapped(term.left)
            yield f" {term.op} "
            yield from _wrapped(term.right)
    else:
        yield f"{term.op}[{term.dim} {term.lo}:{term.hi}]("
        yield from _pieces(term.body)
        yield ")"


def _wrapped(term: Term) -> Iterator[str]:
    if isinstance(term, Binary) and term.op != "maximum":
        yield "("
        yield from _pieces(term)
        yield ")"
    else:
        yield from _pieces(term)


def loop_vars(term: Term) -> tuple[sym.LoopVar, ...]:
    """The loop indices that reduction bounds in ``term`` depend on."""
    found: dict[sym.LoopVar, None] = {}
    seen: set[int] = set()
    stack = [term]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Reduce):
            for v in sym.variables(node.lo) + sym.variables(node.hi):
                found[v] = None
            stack.append(node.body)
        elif isinstance(node, Unary):
            stack.append(node.arg)
        elif isinstance(node, Binary):
            stack.extend((node.left, node.right))
    return tuple(found)


def substitute(term: Term, values: dict[sym.LoopVar, int], memo: dict | None = None) -> Term:
    """``term`` with loop indices in reduction bounds replaced by concrete values."""
    memo = {} if memo is None else memo
    hit = memo.get(id(term))
    if hit is not None and hit[0] is term:
        return hit[1]
    if isinstance(term, Unary):
        out: Term = Unary(term.fn, substitute(term.arg, values, memo))
    elif isinstance(term, Binary):
        out = Binary(
            term.op, substitute(term.left, values, memo), substitute(term.right, values, memo)
        )
    elif isinstance(term, Reduce):
        out = Reduce(
            term.op,
            term.dim,
            sym.substitute(term.lo, values),
            sym.substitute(term.hi, values),
            substitute(term.body, values, memo),
        )
    else:
        out = term
    memo[id(term)] = (term, out)
    return out
