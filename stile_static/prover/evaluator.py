"""Evaluate terms with NumPy: the concrete meaning every proof is checked against.

A value is an array together with the names of its axes; binary operations
align axes by name and broadcast, so a term is evaluated once for every index
of its free dims (over each dim's whole extent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..ir.numpy_ops import BINARY_UFUNCS, UNARY_UFUNCS
from ..ir.terms import Binary, Const, Load, Reduce, Term, Unary


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


def evaluate_named(
    term: Term,
    inputs: Mapping[str, np.ndarray],
    bindings: Mapping[str, Named] | None = None,
    memo: dict | None = None,
    ranges: Ranges = (),
) -> Named:
    """Evaluate ``term``; ``bindings`` gives values to rule variables (``?x``).

    Dims listed in ``ranges`` are evaluated only on ``[lo, hi)`` (the axis then
    has ``hi - lo`` entries); a reduction evaluates its body only on its own
    range, so a kernel with many tiles costs what its tiles cost, not what the
    whole extent times the number of tiles would. ``memo`` (by node identity
    and ranges) makes shared subterms cost one evaluation each.
    """
    memo = {} if memo is None else memo
    key = (id(term), ranges)
    hit = memo.get(key)
    if hit is not None and hit[0] is term:
        return hit[1]
    value = _evaluate(term, inputs, bindings, memo, ranges)
    memo[key] = (term, value)
    return value


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
) -> Named:
    if isinstance(term, Const):
        return Named(np.asarray(float(term.value)), ())
    if isinstance(term, Load):
        if bindings is not None and term.tensor in bindings:
            return _window(bindings[term.tensor], ranges)
        array = np.asarray(inputs[term.tensor], dtype=np.float64)
        return _window(Named(array, term.dims), ranges)
    if isinstance(term, Unary):
        arg = evaluate_named(term.arg, inputs, bindings, memo, ranges)
        with np.errstate(all="ignore"):
            return Named(UNARY_UFUNCS[term.fn](arg.array), arg.axes)
    if isinstance(term, Binary):
        left = evaluate_named(term.left, inputs, bindings, memo, ranges)
        right = evaluate_named(term.right, inputs, bindings, memo, ranges)
        axes = left.axes + tuple(a for a in right.axes if a not in left.axes)
        with np.errstate(all="ignore"):
            return Named(BINARY_UFUNCS[term.op](_align(left, axes), _align(right, axes)), axes)
    inner = tuple(sorted([r for r in ranges if r[0] != term.dim] + [(term.dim, term.lo, term.hi)]))
    return _reduce(term, evaluate_named(term.body, inputs, bindings, memo, inner))


def _reduce(term: Reduce, body: Named) -> Named:
    count = max(term.hi - term.lo, 0)
    if term.dim not in body.axes:
        if term.op == "sum":
            # an empty sum is 0 even where the body is infinite
            return Named(body.array * count if count else np.zeros_like(body.array), body.axes)
        return body if count else Named(np.full_like(body.array, -np.inf), body.axes)
    axis = body.axes.index(term.dim)
    rest = body.axes[:axis] + body.axes[axis + 1 :]
    if term.op == "sum":
        return Named(body.array.sum(axis=axis), rest)
    if count == 0:
        shape = body.array.shape[:axis] + body.array.shape[axis + 1 :]
        return Named(np.full(shape, -np.inf), rest)
    return Named(body.array.max(axis=axis), rest)


def evaluate(
    term: Term,
    inputs: Mapping[str, np.ndarray],
    axes: tuple[str, ...],
    sizes: Mapping[str, int],
    memo: dict[int, tuple[Term, Named]] | None = None,
) -> np.ndarray:
    """Evaluate ``term`` as an array over ``axes`` (broadcast to ``sizes``)."""
    value = evaluate_named(term, inputs, None, memo)
    extra = [a for a in value.axes if a not in axes]
    if extra:
        raise ValueError(f"term depends on dims {extra} outside {axes}")
    aligned = _align(value, axes)
    return np.broadcast_to(aligned, tuple(sizes[a] for a in axes))
