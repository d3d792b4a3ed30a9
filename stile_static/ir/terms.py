"""The term language: what a tile's value is, as a function of global indices.

A term denotes a real scalar for every assignment of its *free* dims (logical
dimension names used as index variables). Slicing never changes a term: a tile
of ``a`` restricted to ``M[5:10]`` still has the term ``a[M, N]``; the slice is
part of the tile's DimType, not of its value. Reductions bind their dim over a
concrete global range ``[lo, hi)``; an inner binder shadows an outer free use
of the same dim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction

from . import symbolic as sym
from .symbolic import Int

Number = Fraction | float

UNARY_FUNCTIONS = (
    "exp",
    "exp2",
    "log",
    "log2",
    "sin",
    "cos",
    "sqrt",
    "rsqrt",
    "sigmoid",
    "abs",
    "tanh",
    "erf",
    "neg",
    "recip",
)


@dataclass(frozen=True)
class Const:
    """A real constant (``-inf`` and ``+inf`` are allowed as identities of ``max`` and ``min``)."""

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
    """``left op right`` for ``op`` in ``+ - * /``, ``maximum`` or ``minimum``."""

    op: str
    left: Term
    right: Term


@dataclass(frozen=True)
class Reduce:
    """``sum``, ``max`` or ``min`` of ``body`` over ``dim`` in the global range ``[lo, hi)``."""

    op: str
    dim: str
    lo: Int  # symbolic only inside an induction step (see interpreter)
    hi: Int
    body: Term


@dataclass(frozen=True)
class Constraint:
    """``sum(coeff * dim) + const  OP  0``, with OP in ``("<", "<=", "==")``; dims are
    integer index variables."""

    coeffs: tuple[tuple[str, int], ...]  # sorted by dim name, no zero coefficients
    const: Int  # may depend on loop variables
    op: str


@dataclass(frozen=True)
class Where:
    """``then`` where every constraint of ``cond`` holds (a conjunction), else ``other``."""

    cond: tuple[Constraint, ...]
    then: Term
    other: Term


@dataclass(frozen=True)
class Select:
    """``then`` where the data comparison ``left OP right`` holds, else ``other``
    (``where(x > 0, x, 0)``), OP in :data:`COMPARE_OPS`; undefined wherever
    ``left`` or ``right`` is (comparing an undefined value picks no branch)."""

    op: str
    left: Term
    right: Term
    then: Term
    other: Term


@dataclass(frozen=True)
class Undefined:
    """An undefined value (a masked-off lane loaded without ``other``).

    It is never proven equal to anything, itself included, and evaluates to NaN.
    """


Term = Const | Load | Unary | Binary | Reduce | Where | Select | Undefined

BINARY_OPS = ("+", "-", "*", "/", "maximum", "minimum")
REDUCE_OPS = ("sum", "max", "min")
FUNCTION_OPS = ("maximum", "minimum")  # binary ops written as a call
UNDEF = Undefined()
COMPARE_OPS = ("<", "<=", "==")


def const(value: int | float | Fraction) -> Const:
    """A constant, kept exact (as a Fraction) whenever the value is finite."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return Const(value)
    return Const(Fraction(value))


NEG_INF = Const(float("-inf"))
POS_INF = Const(float("inf"))

# The value of a reduction over an empty range, and what masked-off lanes must
# hold for a mask to be dropped by shrinking the reduction's range.
IDENTITY = {"sum": Const(Fraction(0)), "max": NEG_INF, "min": POS_INF}

_FLIPPED = {">": "<", ">=": "<="}


def constraint(coeffs: dict[str, int], const: Int, op: str) -> Constraint | bool:
    """``sum(coeff * dim) + const OP 0`` for OP in ``< <= == > >=``, normalised.

    ``>`` and ``>=`` become ``<`` and ``<=`` by negation; over integers ``x < 0``
    is ``x + 1 <= 0``, and coefficients are divided by their common factor, so
    one condition has one form. A condition that holds (or fails) whatever the
    dims is returned as ``True`` (or ``False``).
    """
    if op in _FLIPPED:
        coeffs = {d: -c for d, c in coeffs.items()}
        const, op = sym.scale(const, -1), _FLIPPED[op]
    if op not in ("<", "<=", "=="):
        raise ValueError(f"not a constraint operator: {op}")
    if op == "<":
        const, op = sym.add(const, 1), "<="
    items = tuple(sorted((d, c) for d, c in coeffs.items() if c != 0))
    if not items:
        return _constant_truth(const, op)
    divisor = math.gcd(*(c for _, c in items))
    if op == "==" and items[0][1] < 0:
        items, const = tuple((d, -c) for d, c in items), sym.scale(const, -1)
    if divisor > 1 and isinstance(const, int):
        if op == "==":
            if const % divisor:
                return False
            const //= divisor
        else:
            const = -((-const) // divisor)  # g*y + k <= 0  <=>  y + ceil(k/g) <= 0
        items = tuple((d, c // divisor) for d, c in items)
    return Constraint(items, const, op)


def constraint_key(c: Constraint) -> str:
    """A string that identifies ``c`` exactly (loop variables by identity)."""
    dims = "+".join(f"{k}*{d}" for d, k in c.coeffs)
    return f"{dims}+{sym.key(c.const)}{c.op}0"


def _constant_truth(const: Int, op: str) -> Constraint | bool:
    lo, hi = sym.bounds(const)
    if op == "<=":
        if hi <= 0 or lo > 0:
            return hi <= 0
    elif lo == hi:
        return lo == 0
    elif lo > 0 or hi < 0:
        return False
    return Constraint((), const, op)  # depends on a loop index


def where(cond: Iterable[Constraint | bool], then: Term, other: Term) -> Term:
    """``Where`` without constant-true constraints; ``other`` if one is constant-false,
    ``then`` if none is left."""
    kept: dict[Constraint, None] = {}
    for c in cond:
        if c is False:
            return other
        if c is not True:
            kept[c] = None
    if not kept or then is other:
        return then
    return Where(tuple(kept), then, other)


def select(op: str, left: Term, right: Term, then: Term, other: Term) -> Select:
    """``then`` where ``left OP right``, else ``other``, for OP in ``< <= > >= == !=``;
    one form per condition: ``>`` and ``>=`` swap the operands, ``!=`` the branches."""
    if op in _FLIPPED:
        op, left, right = _FLIPPED[op], right, left
    if op == "!=":
        op, then, other = "==", other, then
    if op not in COMPARE_OPS:
        raise ValueError(f"not a comparison: {op}")
    return Select(op, left, right, then, other)


def add(a: Term, b: Term) -> Term:
    return Binary("+", a, b)


def sub(a: Term, b: Term) -> Term:
    return Binary("-", a, b)


def mul(a: Term, b: Term) -> Term:
    return Binary("*", a, b)


def div(a: Term, b: Term) -> Term:
    return Binary("/", a, b)


def free_dims(
    term: Term, memo: dict[int, tuple[Term, frozenset[str]]] | None = None
) -> frozenset[str]:
    """The dims a term's value depends on (reductions bind theirs). Memoised by node
    identity for the call: an unrolled loop's terms share subterms, and walking each
    path of the DAG apart costs exponentially in its depth."""
    if memo is None:
        memo = {}
    hit = memo.get(id(term))
    if hit is not None and hit[0] is term:
        return hit[1]
    if isinstance(term, Const) or isinstance(term, Undefined):
        found: frozenset[str] = frozenset()
    elif isinstance(term, Load):
        found = frozenset(d for d in term.dims if not is_fixed(d))
    elif isinstance(term, Unary):
        found = free_dims(term.arg, memo)
    elif isinstance(term, Binary):
        found = free_dims(term.left, memo) | free_dims(term.right, memo)
    elif isinstance(term, Where):
        dims = frozenset(d for c in term.cond for d, _ in c.coeffs)
        found = dims | free_dims(term.then, memo) | free_dims(term.other, memo)
    elif isinstance(term, Select):
        found = frozenset().union(*(free_dims(t, memo) for t in select_parts(term)))
    else:
        found = free_dims(term.body, memo) - {term.dim}
    memo[id(term)] = (term, found)
    return found


def select_parts(term: Select) -> tuple[Term, Term, Term, Term]:
    """The children of a ``Select``: the compared values, then the branches."""
    return (term.left, term.right, term.then, term.other)


def format_number(value: Number) -> str:
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else _fraction_text(value)
    if value == float("-inf"):
        return "-inf"
    if value == float("inf"):
        return "inf"
    return f"{value:g}"


def _fraction_text(value: Fraction) -> str:
    """Short, but never so short that two different constants print alike."""
    for text in (f"{float(value):g}", repr(float(value))):
        if Fraction(text) == value:
            return text
    if value.denominator < 10**6:
        return f"{value.numerator}/{value.denominator}"
    return f"{float(value):.17g}"


def show_constraint(c: Constraint) -> str:
    """``Nk <= Nq``-style: positive terms on the left, the rest on the right."""
    left = [_scaled(d, k) for d, k in c.coeffs if k > 0]
    right = [_scaled(d, -k) for d, k in c.coeffs if k < 0]
    const = c.const
    if not isinstance(const, int):
        left.append(f"({const})")
    elif const < 0 or (const and not left):
        right.append(str(-const))
    elif const:
        left.append(str(const))
    return f"{' + '.join(left) or '0'} {c.op} {' + '.join(right) or '0'}"


def _scaled(dim: str, k: int) -> str:
    return dim if k == 1 else f"{k}*{dim}"


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
    elif isinstance(term, Undefined):
        yield "undefined"
    elif isinstance(term, Select):
        yield "where("
        yield from _wrapped(term.left)
        yield f" {term.op} "
        yield from _wrapped(term.right)
        yield ", "
        yield from _pieces(term.then)
        yield ", "
        yield from _pieces(term.other)
        yield ")"
    elif isinstance(term, Where):
        yield "where(" + " and ".join(show_constraint(c) for c in term.cond) + ", "
        yield from _pieces(term.then)
        yield ", "
        yield from _pieces(term.other)
        yield ")"
    elif isinstance(term, Binary):
        if term.op in FUNCTION_OPS:
            yield f"{term.op}("
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
    if isinstance(term, Binary) and term.op not in FUNCTION_OPS:
        yield "("
        yield from _pieces(term)
        yield ")"
    else:
        yield from _pieces(term)


def children(node: Term) -> tuple[Term, ...]:
    """The direct subterms of ``node`` (none for a leaf)."""
    if isinstance(node, Unary):
        return (node.arg,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Reduce):
        return (node.body,)
    if isinstance(node, Where):
        return (node.then, node.other)
    if isinstance(node, Select):
        return select_parts(node)
    return ()


def subterms(term: Term) -> Iterator[Term]:
    """Every distinct node of ``term`` once (shared subterms are not walked again)."""
    seen: set[int] = set()
    stack = [term]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(children(node))


def rebuild(node: Term, kids: tuple[Term, ...]) -> Term:
    """``node`` with its subterms (in the order of :func:`children`) replaced."""
    if isinstance(node, Unary):
        return Unary(node.fn, kids[0])
    if isinstance(node, Binary):
        return Binary(node.op, kids[0], kids[1])
    if isinstance(node, Reduce):
        return replace(node, body=kids[0])
    if isinstance(node, Where):
        return Where(node.cond, kids[0], kids[1])
    if isinstance(node, Select):
        return Select(node.op, *kids)
    return node


def rewrite(term: Term, rule: Callable[[Term, Callable[[Term], Term]], Term | None]) -> Term:
    """``term`` rebuilt bottom-up: ``rule(node, walk)`` gives a node's new form, or None
    for the node with its subterms walked. Shared subterms are rewritten once."""
    memo: dict[int, Term] = {}

    def walk(node: Term) -> Term:
        hit = memo.get(id(node))
        if hit is not None:
            return hit
        out = rule(node, walk)
        if out is None:
            out = rebuild(node, tuple(walk(c) for c in children(node)))
        memo[id(node)] = out
        return out

    return walk(term)


def loop_vars(term: Term) -> tuple[sym.LoopVar, ...]:
    """The loop indices that reduction bounds and constraints in ``term`` depend on."""
    found: dict[sym.LoopVar, None] = {}
    for node in subterms(term):
        if isinstance(node, Reduce):
            for v in sym.variables(node.lo) + sym.variables(node.hi):
                found[v] = None
        elif isinstance(node, Where):
            for c in node.cond:
                for v in sym.variables(c.const):
                    found[v] = None
    return tuple(found)


def is_fixed(dim: str) -> bool:
    """Whether a load's dim is one fixed at an index (``M=2``, see :func:`at_index`)."""
    return "=" in dim


def fixed_index(dim: str) -> int:
    return int(dim.split("=", 1)[1])


def fixed_dims(term: Term) -> frozenset[tuple[str, int]]:
    """The dims fixed at an index in the loads of ``term`` (``M=2``: ``("M", 2)``)."""
    found: set[tuple[str, int]] = set()
    for node in subterms(term):
        if isinstance(node, Load):
            found |= {(d.split("=", 1)[0], fixed_index(d)) for d in node.dims if is_fixed(d)}
    return frozenset(found)


def at_index(term: Term, dim: str, index: int) -> Term:
    """``term`` with its free dim ``dim`` fixed at ``index``: what ``sum[dim index:index+1]``
    of it is. Loads name the fixed dim ``dim=index`` (a name no spec dim has), index
    conditions on it are decided; a reduction over ``dim`` binds it again."""
    pinned = f"{dim}={index}"

    def rule(node: Term, walk: Callable[[Term], Term]) -> Term | None:
        if isinstance(node, Load):
            return Load(node.tensor, tuple(pinned if d == dim else d for d in node.dims))
        if isinstance(node, Reduce) and node.dim == dim:
            return node
        if isinstance(node, Where):
            cond = []
            for c in node.cond:
                coeffs = dict(c.coeffs)
                k = coeffs.pop(dim, 0)
                cond.append(constraint(coeffs, sym.add(c.const, k * index), c.op))
            return where(cond, walk(node.then), walk(node.other))
        return None

    return rewrite(term, rule)


def one_index_reductions_fixed(term: Term) -> Term:
    """``term`` with every reduction over one index (``sum[M 2:3](e)``, a lane pinned at
    its row) written as its body at that index (``e`` with ``M=2``): the same value."""

    def rule(node: Term, walk: Callable[[Term], Term]) -> Term | None:
        if not isinstance(node, Reduce):
            return None
        body = walk(node.body)
        if isinstance(node.lo, int) and node.hi == node.lo + 1:
            return at_index(body, node.dim, node.lo)
        return replace(node, body=body)

    return rewrite(term, rule)


def unit_reductions_dropped(term: Term, unit: frozenset[str]) -> Term:
    """``term`` with every reduction over the whole of a dim of size 1 (``sum[N 0:1](e)``
    where N has one index) written as its body: every use of that dim, bound or free,
    is the index 0, so the body is the reduction's value (a softmax over one element is
    then ``exp(x) / exp(x)``, which the prover can close)."""
    if not unit:
        return term
    memo: dict[int, Term] = {}

    def walk(node: Term) -> Term:
        hit = memo.get(id(node))
        if hit is not None:
            return hit
        if isinstance(node, Reduce):
            body = walk(node.body)
            whole = node.dim in unit and (node.lo, node.hi) == (0, 1)
            out: Term = body if whole else replace(node, body=body)
        elif isinstance(node, Unary):
            out = Unary(node.fn, walk(node.arg))
        elif isinstance(node, Binary):
            out = Binary(node.op, walk(node.left), walk(node.right))
        elif isinstance(node, Where):
            out = Where(node.cond, walk(node.then), walk(node.other))
        elif isinstance(node, Select):
            out = Select(node.op, *(walk(t) for t in select_parts(node)))
        else:
            out = node
        memo[id(node)] = out
        return out

    return walk(term)


def substitute(term: Term, values: dict[sym.LoopVar, int], memo: dict | None = None) -> Term:
    """``term`` with loop indices in reduction bounds and constraints replaced by values."""
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
    elif isinstance(term, Where):
        cond = [
            constraint(dict(c.coeffs), sym.substitute(c.const, values), c.op) for c in term.cond
        ]
        out = where(cond, substitute(term.then, values, memo), substitute(term.other, values, memo))
    elif isinstance(term, Select):
        left, right, then, other = (substitute(t, values, memo) for t in select_parts(term))
        out = Select(term.op, left, right, then, other)
    else:
        out = term
    memo[id(term)] = (term, out)
    return out
