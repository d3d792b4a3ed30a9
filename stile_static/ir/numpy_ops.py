"""The concrete domain: what each tile operation computes on real NumPy arrays.

In cross-check mode every tile carries, beside its term, the array of its
values over its region (axes in the tile's dim order). These functions are
the NumPy counterparts of the typing rules in :mod:`tiles`; they do not use
terms at all, so the cross-check does not trust the term machinery it checks.
"""

from __future__ import annotations

import math

import numpy as np

# The NumPy function of each operator and function name, shared with the
# evaluator of terms.
BINARY_UFUNCS = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "maximum": np.maximum,
    "minimum": np.minimum,
}


def _rsqrt(x: np.ndarray) -> np.ndarray:
    return np.reciprocal(np.sqrt(x))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.reciprocal(1.0 + np.exp(np.negative(x)))


_erf = np.frompyfunc(math.erf, 1, 1)


def _erf_array(x: np.ndarray) -> np.ndarray:
    # NumPy has no erf; math.erf element by element (evaluations are small)
    return np.asarray(_erf(np.asarray(x, dtype=np.float64)), dtype=np.float64)


UNARY_UFUNCS = {
    "exp": np.exp,
    "exp2": np.exp2,
    "log": np.log,
    "log2": np.log2,
    "rsqrt": _rsqrt,
    "sigmoid": _sigmoid,
    "abs": np.abs,
    "tanh": np.tanh,
    "erf": _erf_array,
    "sin": np.sin,
    "cos": np.cos,
    "sqrt": np.sqrt,
    "neg": np.negative,
    "recip": np.reciprocal,
}


def binary(op: str, left: np.ndarray | float, right: np.ndarray | float) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(BINARY_UFUNCS[op](left, right), dtype=np.float64)


def unary(fn: str, value: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return UNARY_UFUNCS[fn](value)


def slice_axis(value: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    """``start``/``stop`` are relative to the tile's current slice, as in ``t.slice``."""
    index = [slice(None)] * value.ndim
    index[axis] = slice(start, stop)
    return value[tuple(index)]


def repeat(value: np.ndarray, count: int) -> np.ndarray:
    return np.broadcast_to(value[np.newaxis], (count, *value.shape))


def rearrange(value: np.ndarray, order: list[int]) -> np.ndarray:
    return np.transpose(value, order)


# The value of an empty reduction.
REDUCE_IDENTITY = {"sum": 0.0, "max": -np.inf, "min": np.inf}

# Python's comparison operators as NumPy ufuncs (elementwise, on any dtype)
COMPARE_UFUNCS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def reduce(value: np.ndarray, op: str, axis: int) -> np.ndarray:
    if op == "sum":
        return value.sum(axis=axis)
    if value.shape[axis] == 0:
        return np.full(value.shape[:axis] + value.shape[axis + 1 :], REDUCE_IDENTITY[op])
    return value.max(axis=axis) if op == "max" else value.min(axis=axis)


def einsum(
    values: list[np.ndarray], operand_dims: list[tuple[str, ...]], out: tuple[str, ...]
) -> np.ndarray:
    letters: dict[str, str] = {}
    for dims in operand_dims:
        for d in dims:
            letters.setdefault(d, chr(ord("a") + len(letters)))
    inputs = ",".join("".join(letters[d] for d in dims) for dims in operand_dims)
    return np.einsum(f"{inputs}->{''.join(letters[d] for d in out)}", *values)
