"""Integer blocks, masks and pointers of a Triton program.

Every integer a program computes is concrete except tensor strides, which
stay symbolic (``x.stride(0)`` is the symbol :class:`Stride` ``x.stride(0)``)
so that a pointer built with another tensor's stride is told apart from a
right one whatever the strides' values. An :class:`Ints` is a block of
integers written as ``sum(stride * array) + array``: one concrete NumPy array
(over the lane grid) per stride symbol, plus the stride-free part. Masks are
concrete boolean arrays. A :class:`Ptr` is a tensor and an :class:`Ints`
offset into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core.errors import KernelError


@dataclass(frozen=True)
class Stride:
    """The stride of ``tensor``'s dim ``dim``, in elements; ``value`` when assumed known."""

    tensor: str
    dim: int
    value: int | None = None

    def __str__(self) -> str:
        return f"{self.tensor}.stride({self.dim})"


@dataclass(frozen=True, eq=False)
class Ints:
    """``sum(s * parts[s]) + parts[None]`` lane by lane; ``wrapped`` marks lanes a
    ``%`` folded back into range (their index is not a slice of lanes)."""

    shape: tuple[int, ...]
    parts: dict[Stride | None, np.ndarray]
    wrapped: np.ndarray

    def part(self, key: Stride | None) -> np.ndarray:
        arr = self.parts.get(key)
        return np.zeros(self.shape, np.int64) if arr is None else arr

    @property
    def symbols(self) -> list[Stride]:
        return [s for s in self.parts if s is not None]

    def describe(self) -> str:
        if not self.shape:
            return show_scalar(self)
        return f"an int block of shape {list(self.shape)}"


@dataclass(frozen=True, eq=False)
class Mask:
    """A boolean block (a comparison of integer blocks)."""

    array: np.ndarray


def make(shape: tuple[int, ...], parts: dict, wrapped: np.ndarray | None = None) -> Ints | int:
    """An :class:`Ints`, or a plain int when it is one concrete number."""
    shape = tuple(shape)
    clean = {}
    for key, arr in parts.items():
        arr = np.broadcast_to(np.asarray(arr, np.int64), shape)
        if key is None or arr.any():
            clean[key] = arr
    if wrapped is None:
        wrapped = np.zeros(shape, bool)
    wrapped = np.broadcast_to(wrapped, shape)
    if not shape and list(clean) in ([], [None]) and not wrapped.any():
        return int(clean.get(None, 0))
    return Ints(shape, clean, wrapped)


def lift(value: Any) -> Ints:
    if isinstance(value, Ints):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise KernelError("STL002", f"expected an integer, found {type(value).__name__}")
    return Ints((), {None: np.asarray(int(value), np.int64)}, np.zeros((), bool))


def arange(start: int, stop: int) -> Ints | int:
    return make((stop - start,), {None: np.arange(start, stop)})


def show_scalar(value: Ints) -> str:
    pieces = [f"{int(arr)}*{s}" if int(arr) != 1 else str(s) for s, arr in value.parts.items() if s]
    if None in value.parts and int(value.parts[None]):
        pieces.append(str(int(value.parts[None])))
    return " + ".join(pieces) or "0"


def _shape(a: Ints, b: Ints) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise KernelError(
            "STL010",
            f"integer blocks of shapes {list(a.shape)} and {list(b.shape)} do not broadcast",
        ) from None


def binary(op: str, left: Any, right: Any) -> Ints | int:
    a, b = lift(left), lift(right)
    shape = _shape(a, b)
    wrapped = a.wrapped | b.wrapped
    if op in ("+", "-"):
        sign = 1 if op == "+" else -1
        parts = {k: a.part(k) + sign * b.part(k) for k in {**a.parts, **b.parts}}
        return make(shape, parts, wrapped)
    if op == "*":
        if a.symbols and b.symbols:
            raise KernelError(
                "STL002",
                f"unsupported: a product of two strides ({a.symbols[0]} * {b.symbols[0]})",
            )
        scale, other = (b, a) if not b.symbols else (a, b)
        factor = scale.part(None)
        return make(shape, {k: v * factor for k, v in other.parts.items()}, wrapped)
    if op in ("//", "%", "<<", ">>"):
        x, y = concrete(a, op), concrete(b, op)
        if op in ("//", "%") and (np.broadcast_to(y, shape) == 0).any():
            raise KernelError("STL002", "integer division by zero")
        if op == "//":
            return make(shape, {None: x // y}, wrapped)
        if op == "<<":
            return make(shape, {None: x << y}, wrapped)
        if op == ">>":
            return make(shape, {None: x >> y}, wrapped)
        result = x % y
        return make(shape, {None: result}, wrapped | (np.broadcast_to(result != x, shape)))
    raise KernelError("STL002", f"unsupported integer operator `{op}`")


def concrete(value: Ints, why: str) -> np.ndarray:
    """The lanes' numbers; strides count with their value when one is assumed."""
    total = np.array(value.part(None))
    for s in value.symbols:
        if s.value is None:
            raise KernelError(
                "STL002",
                f"unsupported: `{why}` needs the value of {s}, which is symbolic",
                help=f"state it with `# stile: assume {s.tensor}.is_contiguous()` if it is",
            )
        total = total + s.value * value.parts[s]
    return total


COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def compare(op: str, left: Any, right: Any) -> Mask | bool:
    a, b = lift(left), lift(right)
    diff = binary("-", a, b)
    if isinstance(diff, int):
        return bool(COMPARE[op](diff, 0))
    if diff.symbols and all(s.value is None for s in diff.symbols):
        raise KernelError("STL002", f"unsupported: a comparison involving {diff.symbols[0]}")
    result = COMPARE[op](concrete(diff, op), 0)
    return bool(result) if not diff.shape else Mask(np.asarray(result))


def mask_array(value: Any, shape: Sequence[int] | None = None) -> np.ndarray:
    if isinstance(value, Mask):
        arr = value.array
    elif isinstance(value, (bool, np.bool_)):
        arr = np.asarray(bool(value))
    else:
        raise KernelError("STL002", "a mask must be a comparison of integer blocks")
    return arr if shape is None else np.broadcast_to(arr, tuple(shape))


def mask_binary(op: str, left: Any, right: Any) -> Mask | bool:
    a, b = mask_array(left), mask_array(right)
    fn = {"&": np.logical_and, "|": np.logical_or, "^": np.logical_xor}[op]
    out = fn(a, b)
    return bool(out) if out.ndim == 0 else Mask(out)


def expand(value: Ints | Mask, index: Sequence[object]) -> Ints | Mask:
    key = tuple(None if i is None else slice(None) for i in index)
    if isinstance(value, Mask):
        return Mask(value.array[key])
    parts = {k: v[key] for k, v in value.parts.items()}
    wrapped = value.wrapped[key]
    return Ints(wrapped.shape, parts, wrapped)


def broadcast(value: Ints, shape: tuple[int, ...]) -> Ints:
    return Ints(
        tuple(shape),
        {k: np.broadcast_to(v, shape) for k, v in value.parts.items()},
        np.broadcast_to(value.wrapped, shape),
    )


@dataclass(frozen=True, eq=False)
class Ptr:
    """A pointer (block) into ``tensor``: element offsets ``offset``."""

    tensor: Any  # a host Tensor
    offset: Ints

    @property
    def shape(self) -> tuple[int, ...]:
        return self.offset.shape


def ptr_add(ptr: Ptr, value: Any, sign: int = 1) -> Ptr:
    if sign < 0:
        value = binary("*", value, -1)
    offset = binary("+", ptr.offset, value)
    return Ptr(ptr.tensor, lift(offset))


@dataclass(frozen=True, eq=False)
class BlockPtr:
    """``tl.make_block_ptr(...)`` (or a tensor descriptor's block at ``offsets``): a
    block of ``block_shape`` elements at ``offsets`` of a parent of ``shape``."""

    base: Ptr
    shape: tuple[int, ...]
    strides: tuple[Any, ...]
    offsets: tuple[Any, ...]
    block_shape: tuple[int, ...]

    def pointer(self) -> Ptr:
        """Every lane's element: ``base + sum((offset_k + lane_k) * stride_k)``."""
        rank = len(self.block_shape)
        total: Any = self.base.offset
        for k, (start, stride, n) in enumerate(zip(self.offsets, self.strides, self.block_shape)):
            lane = np.arange(n).reshape([n if i == k else 1 for i in range(rank)])
            index = binary("+", start, make(tuple(lane.shape), {None: lane}))
            total = binary("+", total, binary("*", index, stride))
        return Ptr(self.base.tensor, broadcast(lift(total), self.block_shape))

    def inside(self, dims: Sequence[int]) -> np.ndarray:
        """Lanes inside the parent shape along ``dims`` (a ``boundary_check``)."""
        rank = len(self.block_shape)
        ok = np.ones(self.block_shape, bool)
        for k in dims:
            n = self.block_shape[k]
            lane = np.arange(n).reshape([n if i == k else 1 for i in range(rank)])
            start = concrete(lift(self.offsets[k]), "a block pointer's offset")
            ok = ok & (start + lane >= 0) & (start + lane < concrete(lift(self.shape[k]), "shape"))
        return ok

    def advance(self, deltas: Sequence[Any]) -> BlockPtr:
        offsets = tuple(binary("+", a, b) for a, b in zip(self.offsets, deltas))
        return BlockPtr(self.base, self.shape, self.strides, offsets, self.block_shape)


@dataclass(frozen=True, eq=False)
class Descriptor:
    """``tl.make_tensor_descriptor(base, shape, strides, block_shape)``."""

    base: Ptr
    shape: tuple[Any, ...]
    strides: tuple[Any, ...]
    block_shape: tuple[int, ...]

    def at(self, offsets: Sequence[Any]) -> BlockPtr:
        return BlockPtr(self.base, self.shape, self.strides, tuple(offsets), self.block_shape)
