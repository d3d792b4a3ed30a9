"""Values of the Pallas front end: arrays and launch configurations of the
wrapper, refs and index vectors of the kernel."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError
from ...interpreter.values import Closure as Closure
from ...ir import constants
from ...ir.reals import Real, Written
from ...ir.terms import const
from . import blocks
from .blocks import Block


@dataclass(frozen=True)
class Dtype:
    """An element type; values are real numbers whatever it is."""

    name: str


# the limits of each float type, as exact binary numbers:
# (largest finite, machine epsilon, smallest normal)
_FINFO = {
    "float32": ((2 - Fraction(1, 2**23)) * 2**127, Fraction(1, 2**23), Fraction(1, 2**126)),
    "bfloat16": ((2 - Fraction(1, 2**7)) * 2**127, Fraction(1, 2**7), Fraction(1, 2**126)),
    "float16": (Fraction(65504), Fraction(1, 2**10), Fraction(1, 2**14)),
    "float64": ((2 - Fraction(1, 2**52)) * 2**1023, Fraction(1, 2**52), Fraction(1, 2**1022)),
}


@dataclass(frozen=True)
class FInfo:
    """``jnp.finfo(dtype)``: the limits of a float type. Each is the exact number
    the type holds (``finfo(float32).max`` is (2 - 2**-23) * 2**127), so a kernel
    that masks with ``-0.7 * finfo.max`` computes with that number, not with -inf."""

    dtype: str

    @staticmethod
    def known(name: str) -> bool:
        return name in _FINFO

    def attribute(self, attr: str) -> Real | int | None:
        largest, eps, tiny = _FINFO[self.dtype]
        exact = {
            "max": largest,
            "min": -largest,
            "eps": eps,
            "tiny": tiny,
            "smallest_normal": tiny,
        }.get(attr)
        if exact is not None:
            return Real(float(exact), const(exact))
        if attr == "bits":
            return {"float64": 64, "float32": 32}.get(self.dtype, 16)
        return None


@dataclass(frozen=True)
class Array:
    """An input of the wrapper: its logical dims in shape order and its sizes."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: Dtype = Dtype("float32")


@dataclass(frozen=True)
class Mapped:
    """An array inside a function that ``jax.vmap`` maps over ``axis`` of it."""

    base: Any  # Array or Mapped
    axis: int

    @property
    def shape(self) -> tuple[int, ...]:
        full = self.base.shape
        return full[: self.axis] + full[self.axis + 1 :]

    @property
    def dtype(self) -> Dtype:
        return self.base.dtype


@dataclass(frozen=True)
class ShapeDtype:
    """``jax.ShapeDtypeStruct(shape, dtype)``: the shape of one output."""

    shape: tuple[int, ...]
    dtype: Dtype = Dtype("float32")


@dataclass(frozen=True)
class Output:
    """Output ``index`` of the pallas_call launched at ``launch`` (a serial)."""

    launch: int
    index: int
    shape: tuple[int, ...]
    dtype: Dtype = Dtype("float32")


@dataclass(frozen=True)
class Traced:
    """A scalar JAX traces: a program id, a loop index, an index map's argument,
    or a value computed from them. Its value is known here (the grid step is
    concrete), but JAX knows it only when the kernel runs, so Python control flow
    on it (``if``, ``while``, ``and``, ``range``, ``min``) is what JAX refuses."""

    value: int | float | bool
    origin: str  # what it was computed from, for messages

    def static_error(self, what: str, node: Any = None) -> KernelError:
        return KernelError(
            "STL005",
            f"{what} needs a value known when JAX traces the kernel, found one computed "
            f"from {self.origin}",
            notes=("JAX raises a TracerBoolConversionError or ConcretizationTypeError here",),
            help="use jnp.where for values, pl.when for statements, lax.fori_loop for loops, "
            "pl.ds(start, size) for a slice whose start is traced",
            node=node,
        )


def untraced(value: Any) -> Any:
    """The value a traced scalar stands for (anything else unchanged)."""
    return value.value if isinstance(value, Traced) else value


@dataclass(frozen=True)
class CompilerParams:
    """``pltpu.CompilerParams(...)`` (or a GPU backend's): the arguments given."""

    backend: str  # the module: "pltpu", "plgpu" or "pl"
    arguments: tuple[tuple[str, Any], ...]
    span: Span


@dataclass(frozen=True)
class Squeezed:
    """``pl.Squeezed()`` (or ``None``) in a block shape: one index, no axis."""


@dataclass(frozen=True)
class Partial:
    """``functools.partial(func, *args, **kwargs)``."""

    func: Any
    args: tuple = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Jitted:
    """``jax.jit(f)`` (a decorator or a call): calling it calls ``f``, with the
    numbers it is passed traced unless they are static (``traces``: jax.jit, not
    custom_vjp)."""

    func: Any
    traces: bool = False
    static_names: tuple[str, ...] = ()
    static_nums: tuple[int, ...] = ()


@dataclass(frozen=True)
class BlockSpec:
    block_shape: tuple[int | None, ...] | None
    index_map: Any  # a callable value, or None (block index 0 everywhere)
    span: Span


@dataclass(frozen=True)
class GridSpec:
    grid: tuple[int, ...]
    in_specs: Any
    out_specs: Any
    scratch_shapes: tuple[Any, ...]


@dataclass(frozen=True)
class Scratch:
    """``pltpu.VMEM(shape, dtype)``: a buffer that persists across grid steps."""

    shape: tuple[int, ...]
    span: Span


@dataclass(frozen=True)
class PallasCall:
    """``pl.pallas_call(kernel, ...)``: calling it with arrays runs the grid."""

    kernel: Any
    grid: tuple[int, ...]
    in_specs: Any
    out_specs: Any
    out_shape: Any
    scratch_shapes: tuple[Any, ...]
    span: Span
    # per grid axis, whether it is marked "parallel" (None: all "arbitrary")
    parallel: tuple[bool, ...] | None = None
    semantics_span: Span | None = None  # where dimension_semantics is given


@dataclass(frozen=True)
class Vmapped:
    """``jax.vmap(f, in_axes, out_axes)``: one more grid axis over the mapped dim."""

    func: Any
    in_axes: Any = 0
    out_axes: Any = 0


@dataclass(frozen=True)
class Ds:
    """``pl.ds(start, size)`` / ``pl.dslice``: positions ``[start, start + size)``."""

    start: int
    size: int


@dataclass(frozen=True)
class Iota:
    """An integer block affine in its positions: ``const + sum(coeff * p)``."""

    shape: tuple[int, ...]
    coeffs: tuple[int, ...]
    const: int

    def values(self) -> np.ndarray:
        out = np.full(self.shape, self.const, dtype=np.int64)
        for axis, c in enumerate(self.coeffs):
            if c:
                shape = [1] * len(self.shape)
                shape[axis] = self.shape[axis]
                out = out + c * np.arange(self.shape[axis]).reshape(shape)
        return out


@dataclass(frozen=True)
class Bound:
    """A method of a value, looked up but not called yet."""

    receiver: Any
    name: str


@dataclass(frozen=True)
class At:
    """``ref.at``: subscripting it makes a view."""

    ref: Ref


@dataclass(frozen=True)
class RefView:
    """``ref.at[idx]``: a window of a ref (for plgpu.load/store)."""

    ref: Ref
    index: Any


class Ref:
    """A kernel argument: a block of an array, an output block or a scratch buffer.

    ``content`` is the block it holds now; writes replace parts of it.
    """

    def __init__(self, name: str, kind: str, content: Block) -> None:
        self.name = name
        self.kind = kind  # "input" | "output" | "scratch"
        self.content = content
        self.last_write: Span | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.content.shape

    def __repr__(self) -> str:
        return f"Ref({self.name}, {self.kind}, {self.shape})"


def as_block(value: Any, what: str = "value") -> Block:
    """Numbers become 0-d blocks; masks and data blocks pass through."""
    from ...ir.terms import const

    if isinstance(value, (Block, blocks.LaneSum)):
        return value  # type: ignore[return-value]
    value = untraced(value)
    if isinstance(value, bool):
        return blocks.scalar(value, np.asarray(value))
    if isinstance(value, Written):
        named = constants.recognise(value.text)
        if named is not None and named[2] is not None:
            return blocks.scalar(named[2], np.asarray(float(value)))
    if isinstance(value, Real) and value.exact is not None:
        # the real a literal or constant expression stands for (``0.1`` is one tenth)
        return blocks.scalar(value.exact, np.asarray(float(value)))
    if isinstance(value, (int, float)) or type(value).__name__ == "Fraction":
        return blocks.scalar(const(value), np.asarray(float(value)))
    if isinstance(value, Iota):
        raise KernelError(
            "STL002",
            "unsupported: an index vector (jnp.arange) used as data",
            help="index vectors may index refs and build masks",
        )
    raise KernelError("STL002", f"expected a block of data for the {what}, found {kind(value)}")


def kind(value: Any) -> str:
    if isinstance(value, Block):
        return f"a block ({value.describe()})"
    if isinstance(value, Ref):
        return f"ref {value.name}"
    if isinstance(value, Iota):
        return "an index vector"
    if isinstance(value, Array):
        return f"array {value.name}"
    if isinstance(value, Traced):
        return f"a traced scalar (from {value.origin})"
    return type(value).__name__


def mask_block(bools: np.ndarray) -> Block:
    """A mask block whose cells are the boxes on which ``bools`` is constant."""
    shape = bools.shape
    cuts = []
    for axis, n in enumerate(shape):
        points = {0, n}
        if n > 1:
            moved = np.moveaxis(bools, axis, 0)
            changes = np.any(moved[1:] != moved[:-1], axis=tuple(range(1, moved.ndim)))
            points |= {int(i) + 1 for i in np.nonzero(changes)[0]}
        cuts.append(tuple(sorted(points)))
    import itertools

    cells = tuple(bool(bools[s]) for s in itertools.product(*(c[:-1] for c in cuts)))
    return Block(
        shape, tuple(blocks.NO_DIM for _ in shape), tuple(cuts), cells, (), bools.astype(bool)
    )
