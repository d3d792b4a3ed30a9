"""What an editor shows on hover over a Triton integer value: index vectors, masks
and pointer offsets, by their lanes."""

from __future__ import annotations

from typing import Any

import numpy as np


def _range(values: np.ndarray) -> str:
    lo, hi = int(values.min()), int(values.max())
    return str(lo) if lo == hi else f"{lo} to {hi}"


def _lanes(shape: tuple[int, ...]) -> str:
    return "scalar" if not shape else "block of " + " x ".join(str(n) for n in shape) + " lanes"


def _strided(stride: Any, coefficients: np.ndarray) -> str:
    name = f"{stride.tensor}.stride({stride.dim})"
    shown = _range(coefficients)
    return name if shown == "1" else f"{name} * [{shown}]"


def ints_hover(value: Any) -> str:
    """An integer block: its constant part's range, and the symbolic strides it adds."""
    kind = value.dtype or "int"
    const = np.broadcast_to(value.part(None), value.shape)
    terms = [_strided(s, value.part(s)) for s in value.symbols]
    if const.any() or not terms:
        terms.append(f"[{_range(const)}]" if value.shape else _range(const))
    head = f"{kind} {_lanes(value.shape)}: " + " + ".join(terms)
    notes = []
    if value.shape and not terms[1:] and const.ndim:
        steps = np.diff(const.reshape(-1)) if const.ndim == 1 else None
        if steps is not None and steps.size and (steps == 1).all():
            notes.append(f"consecutive: {int(const[0])} + lane")
    if np.asarray(value.wrapped).any():
        notes.append(f"{int(np.broadcast_to(value.wrapped, value.shape).sum())} lanes folded by %")
    return head + "".join(f"\n{n}" for n in notes)


def mask_hover(value: Any) -> str:
    """A mask: how many of its lanes it admits (and which, along a 1-D block)."""
    arr = np.asarray(value.array)
    admitted = int(arr.sum())
    text = f"mask {_lanes(arr.shape)}: {admitted} of {arr.size} lanes admitted"
    if arr.ndim == 1 and 0 < admitted < arr.size:
        where = np.flatnonzero(arr)
        if (np.diff(where) == 1).all():
            text += f" (lanes {int(where[0])} to {int(where[-1])})"
    return text


def ptr_hover(value: Any) -> str:
    """A pointer block: the tensor it points into and its element offsets."""
    return f"pointer into {value.tensor.name}, offsets {ints_hover(value.offset)}"
