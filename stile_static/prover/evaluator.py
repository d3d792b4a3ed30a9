"""Evaluate terms with NumPy: the concrete meaning every proof is checked against.

A value is an array together with the names of its axes; binary operations
align axes by name and broadcast, so a term is evaluated once for every index
of its free dims (over each dim's whole extent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..ir.numpy_ops import BINARY_UFUNCS, REDUCE_IDENTITY, UNARY_UFUNCS
from ..ir.sharing import children
from ..ir.terms import (
    Binary,
    Const,
    Constraint,
    Load,
    Reduce,
    Select,
    Term,
    Unary,
    Undefined,
    Where,
    fixed_index,
    is_fixed,
    select_parts,
)


@dataclass(frozen=True)
class Named:
    array: np.ndarray
    axes: tuple[str, ...]


def _align(value: Named, axes: tuple[str, ...]) -> np.ndarray:
    """Transpose and expand ``value`` so its axes line up with ``axes``."""
    order = [value.axes.index(a) for a in axes if a in value.axes]
    array = np.transpose(value.array, order) if order else value.array
    shape = [value.array.shape[value.axes.index(a)] if a in value.axes else 1 for a in axes]
    return array.reshape(shape)


Ranges = tuple[tuple[str, int, int], ...]  # (dim, lo, hi), sorted by dim

# A memo may map this key to a set of node ids: those subterms are evaluated on
# the whole extent of their dims once, and windows are taken of that (see
# evaluate_named).
SHARE_WINDOWS = "share windows"


def evaluate_named(
    term: Term,
    inputs: Mapping[str, np.ndarray],
    bindings: Mapping[str, Named] | None = None,
    memo: dict | None = None,
    ranges: Ranges = (),
    sizes: Mapping[str, int] | None = None,
) -> Named:
    """Evaluate ``term``; ``bindings`` gives values to rule variables (``?x``).

    Dims listed in ``ranges`` are evaluated only on ``[lo, hi)`` (the axis then
    has ``hi - lo`` entries); a reduction evaluates its body only on its own
    range, so a kernel with many tiles costs what its tiles cost, not what the
    whole extent times the number of tiles would. ``memo`` (by node identity
    and ranges) makes shared subterms cost one evaluation each. ``sizes``
    gives the extent of a dim that only a ``Where`` condition mentions.
    """
    memo = {} if memo is None else memo
    if ranges and id(term) in memo.get(SHARE_WINDOWS, ()):
        # A window of the whole extent equals the evaluation on the window (a
        # reduction replaces the range of its own dim): one full evaluation
        # then serves every window, as for a spec restricted to many prefixes.
        return _window(evaluate_named(term, inputs, bindings, memo, (), sizes), ranges)
    if ranges and bindings is None:
        # Only the ranges of dims the term depends on matter: a running max used
        # inside every later tile's reduction is then evaluated once, not once
        # per enclosing range (which made unrolled kernels quadratic).
        free = _free(term, memo)
        ranges = tuple(r for r in ranges if r[0] in free)
    key = (id(term), ranges)
    hit = memo.get(key)
    if hit is not None and hit[0] is term:
        return hit[1]
    value = _evaluate(term, inputs, bindings, memo, ranges, sizes)
    memo[key] = (term, value)
    return value


def _free(term: Term, memo: dict) -> frozenset[str]:
    """``free_dims(term)``, memoised by node identity in ``memo`` (shared DAGs)."""
    key = ("free", id(term))
    hit = memo.get(key)
    if hit is not None and hit[0] is term:
        return hit[1]
    stack = [term]
    while stack:  # post-order without recursion: unrolled terms nest deeply
        node = stack[-1]
        kids = children(node)
        pending = [c for c in kids if memo.get(("free", id(c)), (None,))[0] is not c]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        if isinstance(node, Load):
            found = frozenset(d for d in node.dims if not is_fixed(d))
        else:
            found = frozenset().union(*(memo[("free", id(c))][1] for c in kids))
            if isinstance(node, Reduce):
                found -= {node.dim}
            elif isinstance(node, Where):  # its condition reads the indices of its dims
                found |= {d for c in node.cond for d, _ in c.coeffs}
        memo[("free", id(node))] = (node, found)
    return memo[key][1]


def _window(value: Named, ranges: Ranges) -> Named:
    array = value.array
    for dim, lo, hi in ranges:
        if dim in value.axes:
            axis = value.axes.index(dim)
            array = array[(slice(None),) * axis + (slice(lo, hi),)]
    return Named(array, value.axes)


def _evaluate(
    term: Term,
    inputs: Mapping[str, np.ndarray],
    bindings: Mapping[str, Named] | None,
    memo: dict,
    ranges: Ranges,
    sizes: Mapping[str, int] | None = None,
) -> Named:
    if isinstance(term, Const):
        return Named(np.asarray(float(term.value)), ())
    if isinstance(term, Undefined):
        return Named(np.asarray(np.nan), ())
    if isinstance(term, Load):
        if bindings is not None and term.tensor in bindings:
            return _window(bindings[term.tensor], ranges)
        array = np.asarray(inputs[term.tensor], dtype=np.float64)
        dims = term.dims
        if any(is_fixed(d) for d in dims):  # x[M=2, N]: the row at index 2
            array = array[tuple(fixed_index(d) if is_fixed(d) else slice(None) for d in dims)]
            dims = tuple(d for d in dims if not is_fixed(d))
        return _window(Named(array, dims), ranges)
    if isinstance(term, Unary):
        arg = evaluate_named(term.arg, inputs, bindings, memo, ranges, sizes)
        with np.errstate(all="ignore"):
            return Named(UNARY_UFUNCS[term.fn](arg.array), arg.axes)
    if isinstance(term, Binary):
        left = evaluate_named(term.left, inputs, bindings, memo, ranges, sizes)
        right = evaluate_named(term.right, inputs, bindings, memo, ranges, sizes)
        axes = left.axes + tuple(a for a in right.axes if a not in left.axes)
        with np.errstate(all="ignore"):
            return Named(BINARY_UFUNCS[term.op](_align(left, axes), _align(right, axes)), axes)
    if isinstance(term, Where):
        return _where(term, inputs, bindings, memo, ranges, sizes)
    if isinstance(term, Select):
        parts = [
            evaluate_named(t, inputs, bindings, memo, ranges, sizes) for t in select_parts(term)
        ]
        return _select(term.op, parts)
    inner = tuple(sorted([r for r in ranges if r[0] != term.dim] + [(term.dim, term.lo, term.hi)]))
    body = term.body
    if term.op == "sum" and isinstance(body, Binary) and body.op == "*" and term.hi > term.lo:
        left = evaluate_named(body.left, inputs, bindings, memo, inner, sizes)
        right = evaluate_named(body.right, inputs, bindings, memo, inner, sizes)
        if term.dim in left.axes or term.dim in right.axes:
            return _contract(left, right, term.dim)
    return _reduce(term, evaluate_named(body, inputs, bindings, memo, inner, sizes))


def _contract(left: Named, right: Named, dim: str) -> Named:
    """``sum[dim](left * right)`` without the product's full array (an einsum)."""
    axes = left.axes + tuple(a for a in right.axes if a not in left.axes)
    letters = {a: chr(ord("a") + i) for i, a in enumerate(axes)}
    out = tuple(a for a in axes if a != dim)
    spec = (
        "".join(letters[a] for a in left.axes)
        + ","
        + "".join(letters[a] for a in right.axes)
        + "->"
        + "".join(letters[a] for a in out)
    )
    with np.errstate(all="ignore"):
        return Named(np.einsum(spec, left.array, right.array), out)


def _where(
    term: Where,
    inputs: Mapping[str, np.ndarray],
    bindings: Mapping[str, Named] | None,
    memo: dict,
    ranges: Ranges,
    sizes: Mapping[str, int] | None,
) -> Named:
    then = evaluate_named(term.then, inputs, bindings, memo, ranges, sizes)
    other = evaluate_named(term.other, inputs, bindings, memo, ranges, sizes)
    mask = Named(np.asarray(True), ())
    for c in term.cond:
        held = _holds(c, then, other, ranges, sizes)
        axes = mask.axes + tuple(a for a in held.axes if a not in mask.axes)
        mask = Named(_align(mask, axes) & _align(held, axes), axes)
    axes = tuple(dict.fromkeys(mask.axes + then.axes + other.axes))
    values = np.where(_align(mask, axes), _align(then, axes), _align(other, axes))
    return Named(values, axes)


_COMPARE = {"<": np.less, "<=": np.less_equal, "==": np.equal}


def _select(op: str, parts: list[Named]) -> Named:
    """``then`` where ``left OP right``, else ``other``; NaN where a compared value is."""
    axes = tuple(dict.fromkeys(a for p in parts for a in p.axes))
    left, right, then, other = (_align(p, axes) for p in parts)
    with np.errstate(all="ignore"):
        values = np.where(_COMPARE[op](left, right), then, other)
        values = np.where(np.isnan(left) | np.isnan(right), np.nan, values)
    return Named(values, axes)


def _holds(
    c: Constraint,
    then: Named,
    other: Named,
    ranges: Ranges,
    sizes: Mapping[str, int] | None,
) -> Named:
    """The truth of one constraint at every index of its dims."""
    if not isinstance(c.const, int):
        raise ValueError(f"constraint bound {c.const} depends on a loop index")
    axes = tuple(d for d, _ in c.coeffs)
    total = np.zeros((1,) * len(axes), dtype=np.int64) + c.const
    for i, (dim, k) in enumerate(c.coeffs):
        lo, hi = _extent(dim, then, other, ranges, sizes)
        shape = [1] * len(axes)
        shape[i] = hi - lo
        total = total + k * np.arange(lo, hi).reshape(shape)
    if c.op == "<":
        return Named(total < 0, axes)
    return Named(total <= 0 if c.op == "<=" else total == 0, axes)


def _extent(
    dim: str, then: Named, other: Named, ranges: Ranges, sizes: Mapping[str, int] | None
) -> tuple[int, int]:
    """The global indices of ``dim`` the values here are evaluated at."""
    for name, lo, hi in ranges:
        if name == dim:
            return lo, hi
    for value in (then, other):
        if dim in value.axes:
            return 0, value.array.shape[value.axes.index(dim)]
    if sizes is not None and dim in sizes:
        return 0, sizes[dim]
    raise ValueError(f"the extent of dim {dim} is unknown")


def _reduce(term: Reduce, body: Named) -> Named:
    count = max(term.hi - term.lo, 0)
    empty = REDUCE_IDENTITY[term.op]
    if term.dim not in body.axes:
        if term.op == "sum":
            # an empty sum is 0 even where the body is infinite
            return Named(body.array * count if count else np.zeros_like(body.array), body.axes)
        return body if count else Named(np.full_like(body.array, empty), body.axes)
    axis = body.axes.index(term.dim)
    rest = body.axes[:axis] + body.axes[axis + 1 :]
    if term.op == "sum":
        return Named(body.array.sum(axis=axis), rest)
    if count == 0:
        shape = body.array.shape[:axis] + body.array.shape[axis + 1 :]
        return Named(np.full(shape, empty), rest)
    reduced = body.array.max(axis=axis) if term.op == "max" else body.array.min(axis=axis)
    return Named(reduced, rest)


def evaluate(
    term: Term,
    inputs: Mapping[str, np.ndarray],
    axes: tuple[str, ...],
    sizes: Mapping[str, int],
    memo: dict[int, tuple[Term, Named]] | None = None,
) -> np.ndarray:
    """Evaluate ``term`` as an array over ``axes`` (broadcast to ``sizes``)."""
    value = evaluate_named(term, inputs, None, memo, (), sizes)
    extra = [a for a in value.axes if a not in axes]
    if extra:
        raise ValueError(f"term depends on dims {extra} outside {axes}")
    aligned = _align(value, axes)
    return np.broadcast_to(aligned, tuple(sizes[a] for a in axes))
