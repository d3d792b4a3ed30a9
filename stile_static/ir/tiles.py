"""Tiles and the typing rules of the typed-NumPy operations on them.

A tile has a DimType (its dims in order, each with a global slice) and an
ExprType (a :mod:`terms` term). Every operation checks the DimTypes of its
operands and builds the new term; a violation raises :class:`KernelError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import KernelError
from . import numpy_ops as concrete
from . import symbolic as sym
from .reals import Real
from .symbolic import Int
from .terms import Binary, Reduce, Term, Unary, const, show_short

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


@dataclass(frozen=True)
class Dim:
    name: str
    size: int


@dataclass(frozen=True)
class Slice:
    dim: str
    lo: Int
    hi: Int

    def __str__(self) -> str:
        return f"{self.dim}[{self.lo}:{self.hi}]"


@dataclass(frozen=True)
class DimSlice:
    """``K[0:5]`` written in a kernel: a dim with a range (repeat, overrides)."""

    dim: Dim
    lo: Int
    hi: Int


@dataclass(frozen=True)
class Tile:
    slices: tuple[Slice, ...]
    term: Term
    # the tile's values in the concrete domain (cross-check mode only), axes in dim order
    value: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(s.dim for s in self.slices)

    def slice_of(self, dim: str) -> Slice | None:
        return next((s for s in self.slices if s.dim == dim), None)

    def describe(self) -> str:
        return " ".join(str(s) for s in self.slices) or "scalar"

    def hover(self) -> str:
        """DimType and ExprType, as an editor shows them on hover."""
        return f"DimType: {self.describe()}\nExprType: {show_short(self.term)}"


def scalar_term(value: object) -> Term:
    """The term of a number used with a tile: the real it stands for."""
    if isinstance(value, Real):
        if value.exact is not None:
            return value.exact
        if math.isfinite(value):
            raise KernelError(
                "STL002",
                f"unsupported: the constant {value!r} has no exact form the prover can use",
                help="write it from exact constants: decimals, fractions, math.sqrt/exp",
            )
    return const(value)  # type: ignore[arg-type]


def check_same_dimtype(left: Tile, right: Tile, what: str) -> None:
    """Binary operations need identical DimTypes (dims, order and slices)."""
    if left.dims != right.dims:
        raise KernelError(
            "STL010",
            f"{what} of tiles with different dims",
            notes=(f"left:  {left.describe()}", f"right: {right.describe()}"),
            help=_dims_help(left.dims, right.dims),
        )
    for a, b in zip(left.slices, right.slices):
        if a.lo != b.lo or a.hi != b.hi:
            _concrete_first(a, b)
            raise KernelError(
                "STL011",
                f"{what} of tiles with different slices of {a.dim}: {a} vs {b}",
                notes=(f"left:  {left.describe()}", f"right: {right.describe()}"),
            )


def _concrete_first(*slices: Slice) -> None:
    """Report a mismatch with concrete indices: unroll a symbolic loop first."""
    for s in slices:
        sym.concrete(s.lo)
        sym.concrete(s.hi)


def _dims_help(left: tuple[str, ...], right: tuple[str, ...]) -> str | None:
    if sorted(left) == sorted(right):
        return f"use .rearrange({', '.join(left)}) on the right operand"
    missing = [d for d in left if d not in right]
    if len(right) + 1 == len(left) and len(missing) == 1:
        return f"use .repeat({missing[0]}) on the right operand to broadcast it"
    missing = [d for d in right if d not in left]
    if len(left) + 1 == len(right) and len(missing) == 1:
        return f"use .repeat({missing[0]}) on the left operand to broadcast it"
    return None


def binary(op: str, left: Tile | object, right: Tile | object) -> Tile:
    what = {"+": "addition", "-": "subtraction", "*": "multiplication", "/": "division"}.get(op, op)
    if isinstance(left, Tile) and isinstance(right, Tile):
        check_same_dimtype(left, right, what)
        value = _both(left.value, right.value, lambda a, b: concrete.binary(op, a, b))
        return Tile(left.slices, Binary(op, left.term, right.term), value)
    if isinstance(left, Tile):
        value = _both(left.value, right, lambda a, b: concrete.binary(op, a, float(b)))
        return Tile(left.slices, Binary(op, left.term, scalar_term(right)), value)
    assert isinstance(right, Tile)
    value = _both(left, right.value, lambda a, b: concrete.binary(op, float(a), b))
    return Tile(right.slices, Binary(op, scalar_term(left), right.term), value)


def _both(a: object, b: object, compute: Callable[[Any, Any], np.ndarray]) -> np.ndarray | None:
    """The concrete result when the concrete operands are known."""
    return None if a is None or b is None else compute(a, b)


def _value(tile: Tile, compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    return None if tile.value is None else compute(tile.value)


def unary(fn: str, tile: Tile) -> Tile:
    value = _value(tile, lambda v: concrete.unary(fn, v))
    return Tile(tile.slices, Unary(fn, tile.term), value)


def slice_tile(tile: Tile, dim: Dim, start: Int, stop: Int) -> Tile:
    """``t.slice(D, start, stop)``: relative to ``t``'s current slice of D."""
    current = tile.slice_of(dim.name)
    if current is None:
        raise KernelError("STL016", f"cannot slice {dim.name}: the tile has dims {tile.describe()}")
    lo, hi = sym.add(current.lo, start), sym.add(current.lo, stop)
    width = sym.sub(current.hi, current.lo)
    if (
        sym.compare("<", start, 0)
        or sym.compare(">", stop, width)
        or sym.compare(">=", start, stop)
    ):
        raise KernelError(
            "STL012",
            f"slice {dim.name}[{lo}:{hi}] is out of bounds of the tile's {current}",
            notes=(f"slice({dim.name}, {start}, {stop}) is relative to {current}",),
        )
    slices = tuple(Slice(s.dim, lo, hi) if s.dim == dim.name else s for s in tile.slices)
    axis = tile.dims.index(dim.name)
    value = _value(tile, lambda v: concrete.slice_axis(v, axis, start, stop))  # type: ignore[arg-type]
    return Tile(slices, tile.term, value)


def repeat(tile: Tile, dim: Dim, lo: Int, hi: Int) -> Tile:
    if dim.name in tile.dims:
        raise KernelError(
            "STL014",
            f"repeat({dim.name}) on a tile that already has {dim.name}: {tile.describe()}",
        )
    value = _value(tile, lambda v: concrete.repeat(v, hi - lo))  # type: ignore[operator]
    return Tile((Slice(dim.name, lo, hi),) + tile.slices, tile.term, value)


def rearrange(tile: Tile, dims: tuple[Dim, ...]) -> Tile:
    names = tuple(d.name for d in dims)
    if sorted(names) != sorted(tile.dims):
        raise KernelError(
            "STL016",
            f"rearrange({', '.join(names)}) is not a permutation of the tile's dims "
            f"{' '.join(tile.dims)}",
        )
    order = [tile.dims.index(n) for n in names]
    value = _value(tile, lambda v: concrete.rearrange(v, order))
    return Tile(tuple(tile.slice_of(n) for n in names), tile.term, value)  # type: ignore[misc]


def reduce(tile: Tile, op: str, dim: Dim) -> Tile:
    current = tile.slice_of(dim.name)
    if current is None:
        raise KernelError(
            "STL016", f"{op}({dim.name}) on a tile without {dim.name}: {tile.describe()}"
        )
    body = Reduce(op, dim.name, sym.bound(current.lo), sym.bound(current.hi), tile.term)
    axis = tile.dims.index(dim.name)
    value = _value(tile, lambda v: concrete.reduce(v, op, axis))
    return Tile(tuple(s for s in tile.slices if s.dim != dim.name), body, value)


def einsum(operands: list[Tile], operand_dims: list[tuple[str, ...]], out: tuple[str, ...]) -> Tile:
    """``tnp.einsum(x, y, "M N, N K -> M K")``: product, then sum the dropped dims."""
    if len(operands) != len(operand_dims):
        raise KernelError(
            "STL015",
            f"einsum string names {len(operand_dims)} operands, {len(operands)} given",
        )
    slices: dict[str, Slice] = {}
    for i, (tile, dims) in enumerate(zip(operands, operand_dims), start=1):
        if tile.dims != dims:
            raise KernelError(
                "STL015",
                f"einsum operand {i} has dims {' '.join(tile.dims) or 'scalar'}, "
                f"the einsum string says {' '.join(dims)}",
                help="rearrange the operand or fix the einsum string",
            )
        for s in tile.slices:
            seen = slices.get(s.dim)
            if seen is not None and (seen.lo != s.lo or seen.hi != s.hi):
                _concrete_first(seen, s)
                raise KernelError(
                    "STL015",
                    f"einsum operands disagree on the slice of {s.dim}: {seen} vs {s}",
                )
            slices[s.dim] = s
    for d in out:
        if out.count(d) > 1:
            raise KernelError("STL015", f"einsum output dim {d} appears twice")
        if d not in slices:
            raise KernelError("STL015", f"einsum output dim {d} appears in no operand")
    term = operands[0].term
    for tile in operands[1:]:
        term = Binary("*", term, tile.term)
    for d in sorted(slices):
        if d not in out:
            s = slices[d]
            term = Reduce("sum", d, sym.bound(s.lo), sym.bound(s.hi), term)
    values = [t.value for t in operands]
    value = None
    if all(v is not None for v in values):
        value = concrete.einsum(values, operand_dims, out)  # type: ignore[arg-type]
    return Tile(tuple(slices[d] for d in out), term, value)
