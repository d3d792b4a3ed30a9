"""A small reference implementation of the typed-NumPy dialect, for running kernels for real.

It gives ``stile`` and ``stile.numpy`` the meaning SEED.md gives them, with
NumPy arithmetic on whole arrays: a tile is an array with its dims and the
global range of each; results count how many times every element was
written. It shares no code with the analyzer, so that running a kernel with
it and checking it with the analyzer are two independent readings of the file.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np


class DialectError(Exception):
    """The kernel broke a typing rule of the dialect (the analyzer must not verify it)."""


@dataclass(frozen=True)
class Dim:
    name: str
    size: int

    def __getitem__(self, index: slice) -> DimRange:
        if not isinstance(index, slice) or index.step is not None:
            raise DialectError("a dim slice is D[start:stop]")
        lo = 0 if index.start is None else index.start
        hi = self.size if index.stop is None else index.stop
        _check_int(lo, hi)
        if not 0 <= lo < hi <= self.size:
            raise DialectError(f"{self.name}[{lo}:{hi}] out of bounds")
        return DimRange(self, lo, hi)


@dataclass(frozen=True)
class DimRange:
    dim: Dim
    lo: int
    hi: int


def _check_int(*values: object) -> None:
    for v in values:
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise DialectError(f"expected an int, found {type(v).__name__}")


@dataclass(eq=False)
class Tile:
    """Values over ``dims``; ``ranges[d]`` is the global range of dim ``d``."""

    array: np.ndarray
    dims: tuple[str, ...]
    ranges: tuple[tuple[int, int], ...]

    def _same(self, other: Tile) -> None:
        if self.dims != other.dims or self.ranges != other.ranges:
            raise DialectError(f"DimTypes differ: {self.dims}{self.ranges} vs {other}")

    def _binary(self, other: object, fn, reflected: bool = False) -> Tile:  # noqa: ANN001
        if isinstance(other, Tile):
            self._same(other)
            b = other.array
        elif isinstance(other, (int, float)) and not isinstance(other, bool):
            b = float(other)
        else:
            return NotImplemented
        a = self.array
        out = fn(b, a) if reflected else fn(a, b)
        return Tile(np.asarray(out, dtype=float), self.dims, self.ranges)

    def __add__(self, o):  # noqa: ANN001, ANN204
        return self._binary(o, np.add)

    def __radd__(self, o):  # noqa: ANN001, ANN204
        return self._binary(o, np.add, True)

    def __sub__(self, o):  # noqa: ANN001, ANN204
        return self._binary(o, np.subtract)

    def __rsub__(self, o):  # noqa: ANN001, ANN204
        return self._binary(o, np.subtract, True)

    def __mul__(self, o):  # noqa: ANN001, ANN204
        return self._binary(o, np.multiply)

    def __rmul__(self, o):  # noqa: ANN001, ANN204
        return self._binary(o, np.multiply, True)

    def __truediv__(self, o):  # noqa: ANN001, ANN204
        return self._binary(o, np.divide)

    def __rtruediv__(self, o):  # noqa: ANN001, ANN204
        return self._binary(o, np.divide, True)

    def __neg__(self) -> Tile:
        return Tile(-self.array, self.dims, self.ranges)

    def __pos__(self) -> Tile:
        return self

    def __bool__(self) -> bool:
        raise DialectError("a tile has no truth value")

    def _axis(self, dim: Dim) -> int:
        if dim.name not in self.dims:
            raise DialectError(f"tile has no dim {dim.name}")
        return self.dims.index(dim.name)

    def slice(self, dim: Dim, start: int, stop: int) -> Tile:
        _check_int(start, stop)
        axis = self._axis(dim)
        lo, hi = self.ranges[axis]
        if not 0 <= start < stop <= hi - lo:
            raise DialectError(f"slice {start}:{stop} out of the tile's {lo}:{hi}")
        index = [slice(None)] * len(self.dims)
        index[axis] = slice(start, stop)
        ranges = list(self.ranges)
        ranges[axis] = (lo + start, lo + stop)
        return Tile(self.array[tuple(index)], self.dims, tuple(ranges))

    def repeat(self, what: Dim | DimRange) -> Tile:
        rng = what if isinstance(what, DimRange) else DimRange(what, 0, what.size)
        if rng.dim.name in self.dims:
            raise DialectError("repeat of a dim the tile has")
        array = np.broadcast_to(self.array, (rng.hi - rng.lo, *self.array.shape)).copy()
        return Tile(array, (rng.dim.name, *self.dims), ((rng.lo, rng.hi), *self.ranges))

    def rearrange(self, *dims: Dim) -> Tile:
        order = [self._axis(d) for d in dims]
        if sorted(order) != list(range(len(self.dims))):
            raise DialectError("not a permutation")
        return Tile(
            np.transpose(self.array, order),
            tuple(self.dims[i] for i in order),
            tuple(self.ranges[i] for i in order),
        )

    def _reduce(self, dim: Dim, fn) -> Tile:  # noqa: ANN001
        axis = self._axis(dim)
        rest = tuple(d for i, d in enumerate(self.dims) if i != axis)
        ranges = tuple(r for i, r in enumerate(self.ranges) if i != axis)
        return Tile(np.asarray(fn(self.array, axis=axis), dtype=float), rest, ranges)

    def sum(self, dim: Dim) -> Tile:
        return self._reduce(dim, np.sum)

    def max(self, dim: Dim) -> Tile:
        return self._reduce(dim, np.max)

    def assert_equivalent(self, spec: str, *overrides: DimRange) -> None:
        ASSERTS.append((self, spec, overrides))


@dataclass(eq=False)
class Result:
    spec: str
    dims: tuple[str, ...] = ()
    values: np.ndarray | None = None
    writes: np.ndarray | None = None
    errors: list[str] = field(default_factory=list)

    def assign(self, tile: Tile) -> None:
        if not isinstance(tile, Tile):
            raise DialectError("assign takes a tile")
        RESULTS_WRITTEN.append((self, tile))


# What a run records: results created, (result, tile) writes, asserts, dims, inputs.
RESULTS: list[Result] = []
RESULTS_WRITTEN: list[tuple[Result, Tile]] = []
ASSERTS: list[tuple[Tile, str, tuple]] = []
DIMS: dict[str, int] = {}
INPUTS: list[Tile] = []
_rng = [np.random.default_rng(0)]


def dim(name: str, size: int) -> Dim:
    _check_int(size)
    if DIMS.get(name, size) != size or size <= 0:
        raise DialectError(f"dim {name} redefined or empty")
    DIMS[name] = size
    return Dim(name, size)


def randn(*dims: Dim) -> Tile:
    if not dims or not all(isinstance(d, Dim) for d in dims):
        raise DialectError("randn takes dims")
    array = _rng[0].standard_normal(tuple(d.size for d in dims))
    tile = Tile(array, tuple(d.name for d in dims), tuple((0, d.size) for d in dims))
    INPUTS.append(tile)
    return tile


def TypedResult(spec: str) -> Result:  # noqa: N802 (the dialect's name)
    if not isinstance(spec, str):
        raise DialectError("TypedResult takes a string")
    result = Result(spec)
    RESULTS.append(result)
    return result


def einsum(*args: object) -> Tile:
    *tiles, text = args
    if not isinstance(text, str) or "->" not in text:
        raise DialectError("einsum string")
    lhs, out = text.split("->")
    operand_dims = [tuple(p.split()) for p in lhs.split(",")]
    out_dims = tuple(out.split())
    if len(operand_dims) != len(tiles) or len(set(out_dims)) != len(out_dims):
        raise DialectError("einsum operands")
    ranges: dict[str, tuple[int, int]] = {}
    for t, ds in zip(tiles, operand_dims):
        if not isinstance(t, Tile) or t.dims != ds:
            raise DialectError("einsum operand dims")
        for d, r in zip(t.dims, t.ranges):
            if ranges.setdefault(d, r) != r:
                raise DialectError("einsum slices differ")
    if any(d not in ranges for d in out_dims):
        raise DialectError("einsum output dim")
    letters = {d: chr(ord("a") + i) for i, d in enumerate(sorted(ranges))}
    subscripts = ",".join("".join(letters[d] for d in ds) for ds in operand_dims)
    subscripts += "->" + "".join(letters[d] for d in out_dims)
    array = np.einsum(subscripts, *(t.array for t in tiles))  # type: ignore[union-attr]
    return Tile(np.asarray(array, dtype=float), out_dims, tuple(ranges[d] for d in out_dims))


def _elementwise(fn):  # noqa: ANN001, ANN202
    def apply(value: object) -> object:
        if isinstance(value, Tile):
            with np.errstate(all="ignore"):
                return Tile(fn(value.array), value.dims, value.ranges)
        raise DialectError("elementwise functions of the dialect take tiles here")

    return apply


exp, sin, cos, sqrt = (_elementwise(f) for f in (np.exp, np.sin, np.cos, np.sqrt))


def maximum(a: Tile, b: Tile) -> Tile:
    if not isinstance(a, Tile):
        a, b = b, a
    return a._binary(b, np.maximum)


@contextmanager
def installed(seed: int) -> Iterator[None]:
    """``import stile`` and ``import stile.numpy`` give this module while active."""
    for registry in (RESULTS, RESULTS_WRITTEN, ASSERTS, INPUTS):
        registry.clear()
    DIMS.clear()
    _rng[0] = np.random.default_rng(seed)
    stile = types.ModuleType("stile")
    tnp = types.ModuleType("stile.numpy")
    for name in ("randn", "TypedResult", "einsum", "exp", "sin", "cos", "sqrt", "maximum"):
        setattr(tnp, name, globals()[name])
    tnp.random = types.SimpleNamespace(randn=randn)  # type: ignore[attr-defined]
    stile.dim = dim  # type: ignore[attr-defined]
    stile.numpy = tnp  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in ("stile", "stile.numpy")}
    sys.modules["stile"], sys.modules["stile.numpy"] = stile, tnp
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
