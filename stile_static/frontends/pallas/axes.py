"""Axis numbers as JAX checks them: ``-ndim..ndim-1`` is an axis, anything else
is the ValueError JAX raises when it traces the kernel (STL005), never an axis
found by wrapping around."""

from __future__ import annotations

from typing import Any

from ...core.errors import KernelError


def axis_index(axis: Any, ndim: int, what: str, node: Any = None) -> int:
    """``axis`` as an index in ``0..ndim-1``; STL005 when JAX refuses it."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise KernelError("STL002", f"the axis of {what} must be a known integer", node=node)
    if not -ndim <= axis < ndim:
        raise KernelError(
            "STL005",
            f"axis {axis} is out of bounds for {what} of {ndim} dimensions",
            notes=(f"expected an axis in {-ndim}..{ndim - 1}, found {axis}",),
            help=f"use an axis in {-ndim}..{ndim - 1}",
            node=node,
        )
    return axis + ndim if axis < 0 else axis
