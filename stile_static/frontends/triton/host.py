"""Values of the host wrapper: tensors, kernels, launches, autotune configs.

A tensor is known by its logical name (the wrapper parameter it came from, or
the variable a new tensor was first bound to), its sizes (from the case being
checked) and its strides. A tensor has a unit stride in its last dim (as
torch's contiguous and row-sliced tensors do) and a symbolic stride in every
other dim, unless it is known to be contiguous (created by ``torch.empty``,
or stated with ``# stile: assume x.is_contiguous()``), when the strides have
their row-major values.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from ...core.diagnostics import Span
from ...interpreter.values import Closure as Closure
from ...interpreter.values import Function
from .ints import Stride

_serial = itertools.count()


@dataclass(eq=False)
class Tensor:
    name: str
    sizes: tuple[int, ...]
    dims: tuple[str, ...] | None  # logical dims; None until a target binds them
    strides: tuple[Stride, ...]  # one per dim but the last (whose stride is 1)
    role: str  # "input" (a spec input), "param" (another wrapper tensor), "new"
    init: str  # "input" | "empty" | "zeros"
    base: Tensor | None = None  # a reshaped view: row-major over ``base``'s elements
    written: bool = False  # a new tensor the kernel wrote (scratch)
    target: str | None = None  # the `# stile:` target it is bound to
    serial: int = field(default_factory=lambda: next(_serial))
    dtype: str | None = None  # torch's name ("float32"); None: not known (a parameter)
    made_at: Span | None = None  # where a view was made (a returned view is read there)

    @property
    def contiguous(self) -> bool:
        return all(s.value is not None for s in self.strides)

    @property
    def numel(self) -> int:
        n = 1
        for s in self.sizes:
            n *= s
        return n

    def describe(self) -> str:
        return f"{self.name} {list(self.sizes)}"


def row_major(name: str, sizes: tuple[int, ...]) -> tuple[Stride, ...]:
    out = []
    for k in range(len(sizes) - 1):
        value = 1
        for s in sizes[k + 1 :]:
            value *= s
        out.append(Stride(name, k, value))
    return tuple(out)


def symbolic_strides(name: str, sizes: tuple[int, ...]) -> tuple[Stride, ...]:
    """Unknown strides; each remembers its row-major value, the least one possible."""
    dense = [s.value for s in row_major(name, sizes)]
    return tuple(Stride(name, k, None, dense[k]) for k in range(len(sizes) - 1))


def new_tensor(name: str, sizes: tuple[int, ...], init: str, dtype: str | None) -> Tensor:
    return Tensor(name, tuple(sizes), None, row_major(name, sizes), "new", init, dtype=dtype)


# torch's dtype names, aliases to the canonical one
DTYPE_NAMES = {
    "float": "float32",
    "half": "float16",
    "double": "float64",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "bool": "bool",
}
FLOAT_DTYPES = frozenset({"float32", "float16", "bfloat16", "float64"})


def dtype_name(name: str) -> str:
    return DTYPE_NAMES.get(name, name)


@dataclass
class HostFill:
    """``dst.zero_()`` or ``dst.fill_(value)``: the host writes ``term`` into every element."""

    dst: Tensor
    term: Any
    span: Span
    node: cst.CSTNode


@dataclass
class HostCopy:
    """``dst`` takes the content ``src`` has at this point of the wrapper: a copy made by
    a tensor method (``.float()`` of a half tensor, ``.clone()``) or ``dst.copy_(src)``."""

    dst: Tensor
    src: Tensor
    node: cst.CSTNode
    # whether it is a copy depends on what is not known (a parameter's dtype): the same
    # content either way, as long as neither tensor is written afterwards
    maybe: bool = False


@dataclass(frozen=True)
class DType:
    name: str


@dataclass(frozen=True)
class Opaque:
    """A host value the analyzer carries but never looks into (a device, a stream)."""

    what: str


@dataclass(frozen=True)
class Config:
    """``triton.Config({...}, num_warps=...)``: constexpr values of one autotune config."""

    kwargs: tuple[tuple[str, Any], ...]
    span: Span
    options: tuple[tuple[str, Any], ...] = ()  # num_warps, num_stages, num_ctas as written


@dataclass(eq=False)
class AutogradClass:
    """A ``torch.autograd.Function`` subclass: its static methods by name."""

    name: str
    methods: dict[str, Any]


@dataclass(eq=False)
class AutogradApply:
    """``C.apply``: calls ``C.forward`` with a fresh context first."""

    cls: AutogradClass


@dataclass(eq=False)
class Ctx:
    """The context of an autograd ``forward``: what it saves changes no value."""

    names: dict[str, Any] = field(default_factory=dict)
    noun: str = "an autograd context"


@dataclass(eq=False)
class Kernel:
    """A ``@triton.jit`` function, with what ``autotune``/``heuristics`` add to it."""

    function: Function
    configs: tuple[Config, ...] = ()
    heuristics: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return self.function.node.name.value


@dataclass(frozen=True)
class Decorator:
    """``triton.autotune(...)`` or ``triton.heuristics(...)`` waiting for its function."""

    kind: str
    configs: tuple[Config, ...] = ()
    heuristics: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Launcher:
    """``kernel[grid]``, to be called with the kernel's arguments."""

    kernel: Kernel
    grid: Any


@dataclass
class Launch:
    kernel: Kernel
    grid: Any
    args: list
    kwargs: dict
    node: cst.Call


LAUNCH_OPTIONS = {"num_warps", "num_stages", "num_ctas", "enable_fp_fusion", "maxnreg", "stream"}


@dataclass(frozen=True)
class Special:
    """A float literal read as an exact constant (``1.44269504`` is log2(e))."""

    value: float
    name: str
    span: Span


class SpecScalar:
    """A wrapper parameter the spec names as a scalar input: symbolic."""

    def __init__(self, name: str) -> None:
        self.name = name


class BoundMethod:
    """``value.name``, to be called (a tensor's, a block's or a descriptor's method)."""

    def __init__(self, base: Any, name: str) -> None:
        self.base = base
        self.name = name


def describe(value: Any) -> str:
    """A value as a message names it."""
    from ..blocks import Block, Compared
    from .ints import Ints, Mask, Ptr

    if isinstance(value, Tensor):
        return f"tensor {value.name}"
    if isinstance(value, (Block, Compared)):
        return f"a block ({value.describe()})" if isinstance(value, Block) else value.describe()
    if isinstance(value, Ints):
        return value.describe()
    if isinstance(value, Mask):
        return "a mask"
    if isinstance(value, Ptr):
        return f"a pointer into {value.tensor.name}"
    return type(value).__name__
