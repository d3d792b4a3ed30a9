"""Whole-array torch operations of the host wrapper: ``sum``, ``amax``, ``exp``, arithmetic.

A host operation makes a new tensor from the content its operands have at that
point of the wrapper (between launches, or after the last one): it is a
:class:`HostArray` event among the launches. When it runs, each operand's
content becomes a block over the whole tensor (one lane per element, each
holding the term its last store left there) and the block algebra computes
the result exactly as it does inside a kernel: a sum over an axis splits into
runs of elements that hold one term, so the partial sums of a first launch add
up to the sum over the whole range. The result is stored element by element
as a write of the host, which races with no program.

A returned view whose sizes differ from its tensor's (``out.view(M, N)``,
``out.squeeze()``) is read the same way, once every launch has run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError
from ...ir.terms import Load, const, free_dims
from .. import blocks
from ..blocks import Axis, Block, Undef, fold_binary
from .cells import Memory, _program
from .host import Tensor, describe, new_tensor
from .memory import HOST, cells_of, undefined_stored

REDUCTIONS = {"sum": "sum", "amax": "max", "amin": "min", "max": "max", "min": "min"}
UNARY = {"exp": "exp", "log": "log", "sqrt": "sqrt", "rsqrt": "rsqrt", "abs": "abs"}
UNARY.update({"sigmoid": "sigmoid", "neg": "neg", "tanh": "tanh"})
METHODS = frozenset({*REDUCTIONS, *UNARY, "squeeze", "unsqueeze", "view_as", "reshape_as"})
FUNCTIONS = frozenset({*REDUCTIONS, *UNARY})


@dataclass(eq=False)
class HostArray:
    """``dst`` = ``build`` of the blocks of ``srcs`` (their content at this point)."""

    dst: Tensor
    srcs: tuple[Tensor, ...]
    build: Callable[[list[Block]], Block]
    span: Span
    node: cst.CSTNode
    view: bool = False  # a returned view: the elements as they are, unwritten ones too


def content(memory: Memory, tensor: Tensor, span: Span, pin: bool = False) -> Block:
    """A block over every element of ``tensor``: the term each element holds now
    (``pin``: in its view's shape even where that merges or splits indexed axes)."""
    base = tensor.base or tensor
    shape = base.sizes or (1,)
    if base.role == "input":
        assert base.dims is not None
        axes = tuple(Axis(d, 0) for d in base.dims) or (None,)
        choice = np.zeros(shape, np.int64)
        block = blocks.loaded(shape, axes, {}, choice, [Load(base.name, tuple(base.dims))])
    else:
        cells = cells_of(memory, base)
        if (cells.rival >= 0).any():
            element = tuple(int(i) for i in np.argwhere(cells.rival >= 0)[0])
            one = memory.records[int(cells.rival[element])]
            two = memory.records[int(cells.owner[element])]
            where = ", ".join(str(i) for i in element)
            # the host sums what one of them left: the element is written twice
            raise KernelError(
                "STL041",
                f"this store writes {base.name}[{where}], which {_program(one.program)} of "
                f"the same launch stores too: what the host reads there at line {span.line} "
                "depends on their order",
                notes=(f"written by {_program(one.program)} and {_program(two.program)}",),
                help="let exactly one program write each element",
                node=two.span,
            )
        initial = (
            cells.initial
            if cells.initial is not None
            else Undef(span, f"read from {base.name}, which nothing wrote")
        )
        options: list = [initial]
        choice = np.zeros(shape, np.int64)
        owner, piece = cells.owner, cells.piece
        for n in np.unique(owner[owner >= 0]).tolist():
            record = memory.records[n]
            if record.terms is None:
                raise KernelError(
                    "STL002",
                    f"unsupported: the host reads what a store left in {base.name} that is no "
                    "function of the element alone",
                    notes=(f"stored at line {record.span.line}",),
                    node=span,
                )
            mine = owner == n
            for p in np.unique(piece[mine]).tolist():
                choice[mine & (piece == p)] = len(options)
                options.append(record.terms[p])
        axes = tuple(Axis(d, 0) if known else None for d, known in zip(cells.dims, cells.known))
        block = blocks.loaded(shape, axes, {}, choice, options)
    return reshape(block, tensor.sizes, pin)


def reshape(block: Block, shape: tuple[int, ...], pin: bool = False) -> Block:
    """``block`` in ``shape`` (row-major, as torch's views): axes of one element come and
    go freely; merging or splitting axes keeps the value only when no term indexes them,
    or, with ``pin`` (a view the host returns), each element's value fixed at its own
    indices (then proven element by element)."""
    shape = tuple(shape)
    if shape == block.shape:
        return block
    if [n for n in block.shape if n != 1] == [n for n in shape if n != 1]:
        return blocks.reshape_unit(block, shape)
    running = {ax.dim for ax in block.axes if ax is not None}
    used: set[str] = set()
    for term in block.defined_terms():
        used |= free_dims(term)
    if running & used:
        # each element keeps the value of its own element, fixed at its indices
        pinned = blocks.pin_lanes(block, np.ones(block.shape, bool)) if pin else None
        if pinned is not None:
            return Block(
                shape, (None,) * len(shape), (), pinned.pieces.reshape(shape), pinned.terms
            )
        raise KernelError(
            "STL002",
            f"unsupported: a reshape of {list(block.shape)} elements to {list(shape)} that "
            f"merges or splits axes the values index ({', '.join(sorted(running & used))})",
            help="reshape only by adding or removing axes of size 1",
        )
    axes = (None,) * len(shape)
    return Block(shape, axes, block.fixed, block.pieces.reshape(shape), block.terms)


def run(memory: Memory, event: HostArray) -> None:
    """Store what the host computes into ``event.dst``, as a launch of its own."""
    value = event.build([content(memory, t, event.span, event.view) for t in event.srcs])
    dst = event.dst.base or event.dst
    value = reshape(value, dst.sizes, event.view)
    if dst.dims is not None:  # a result: its terms run along the spec's dims only
        value = blocks.pin_fixed(value, dst.dims)
    memory.begin_launch()
    memory.program = HOST
    cells = cells_of(memory, dst)
    sizes = dst.sizes
    index = list(np.indices(sizes)) if sizes else []
    lanes = np.ones(sizes, bool)
    fresh = [p for p, t in enumerate(value.terms) if isinstance(t, Undef) and not t.reported]
    if fresh and event.view:
        # an element nothing wrote stays unwritten in the view (coverage reports it)
        lanes = ~np.isin(np.broadcast_to(value.pieces, sizes), fresh)
    elif fresh:
        raise undefined_stored(value.terms[fresh[0]], event.span)
    error = memory.store(cells, index, lanes, value, event.span, pin=event.view)
    if error is not None:
        raise error


# ------------------------------------------------------------ building the events


def axes_of(t: Tensor, dim: Any, host_int: Callable[[Any], int]) -> tuple[int, ...]:
    """The axes ``dim=`` names (None or ``()``: all), as torch reads them."""
    n = len(t.sizes)
    if dim is None or dim == ():
        return tuple(range(n))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    out = []
    for d in dims:
        k = host_int(d)
        if not (-n <= k < n) if n else k not in (0, -1):
            raise KernelError("STL002", f"dim {k} of a {n}-d tensor: torch raises IndexError")
        out.append(k % n if n else 0)
    if len(set(out)) != len(out):
        raise KernelError("STL002", "a dim named twice: torch raises RuntimeError")
    return tuple(sorted(out)) if n else ()


def reduction(op: str, axes: Sequence[int], keepdim: bool) -> Callable[[list[Block]], Block]:
    def build(operands: list[Block]) -> Block:
        block = operands[0]
        shape = list(block.shape)
        for k in sorted(axes, reverse=True):
            block = blocks.reduce(block, k, op, lambda _op: True)
        if keepdim:
            for k in axes:
                shape[k] = 1
            block = blocks.reshape_unit(block, tuple(shape))
        return block

    return build


def reduced_sizes(t: Tensor, axes: Sequence[int], keepdim: bool) -> tuple[int, ...]:
    if keepdim:
        return tuple(1 if k in axes else s for k, s in enumerate(t.sizes))
    return tuple(s for k, s in enumerate(t.sizes) if k not in axes)


def unary(fn: str) -> Callable[[list[Block]], Block]:
    def build(operands: list[Block]) -> Block:
        return blocks.elementwise(operands, lambda x: blocks.lower(fn, x))

    return build


def event(interp: Any, dst_sizes, srcs, build, node: cst.CSTNode) -> Tensor:
    """A new tensor the host computes: its event joins the launches."""
    dst = new_tensor("<host>", tuple(dst_sizes), "empty", "float32")
    interp.launches.append(HostArray(dst, tuple(srcs), build, interp.span(node), node))
    return dst


def method(interp: Any, t: Tensor, name: str, args: list, kwargs: dict, node: Any) -> Any:
    """A tensor method of :data:`METHODS` (``t.sum(1)``, ``t.exp()``, ``t.squeeze()``)."""
    if name in REDUCTIONS:
        if name in ("max", "min") and (args or kwargs):
            raise KernelError(
                "STL002",
                f"unsupported: .{name}(dim) returns values and indices; use .a{name}(dim)",
                node=node,
            )
        unknown = set(kwargs) - {"dim", "keepdim", "dtype"}
        if unknown or len(args) > 2:
            raise KernelError("STL002", f"unsupported arguments of .{name}()", node=node)
        dim = args[0] if args else kwargs.get("dim")
        keepdim = bool(args[1] if len(args) > 1 else kwargs.get("keepdim", False))
        return _reduce(interp, t, REDUCTIONS[name], dim, keepdim, kwargs.get("dtype"), node)
    if name in UNARY:
        if args or kwargs:
            raise KernelError("STL002", f"unsupported arguments of .{name}()", node=node)
        return event(interp, t.sizes, [t], unary(UNARY[name]), node)
    if name in ("squeeze", "unsqueeze"):
        return _squeeze(interp, t, name, args, kwargs)
    other = args[0] if args else kwargs.get("other")
    if not isinstance(other, Tensor):
        raise KernelError("STL002", f".{name}() of {describe(other)}", node=node)
    return interp.tensor_method(t, "view", list(other.sizes), {})


def function(interp: Any, name: str, args: list, kwargs: dict, node: Any) -> Any:
    """``torch.sum(t, dim)``, ``torch.exp(t)``, ...: the method of the first argument."""
    t = args[0] if args else kwargs.pop("input", None)
    if not isinstance(t, Tensor):
        raise KernelError("STL002", f"unsupported: torch.{name} of {describe(t)}", node=node)
    return method(interp, t, name, list(args[1:]), dict(kwargs), node)


def _reduce(interp, t: Tensor, op: str, dim, keepdim: bool, dtype, node) -> Tensor:
    from .host_copies import dtype_argument

    if dtype is not None and dtype_argument(dtype) not in ("float32", "float64", None):
        raise KernelError(
            "STL002", "unsupported: an integer accumulator wraps or truncates", node=node
        )
    axes = axes_of(t, dim, interp.host_int)
    sizes = reduced_sizes(t, axes, keepdim)
    return event(interp, sizes, [t], reduction(op, axes, keepdim), node)


def _squeeze(interp, t: Tensor, name: str, args: list, kwargs: dict) -> Tensor:
    dim = args[0] if args else kwargs.get("dim")
    sizes = list(t.sizes)
    if name == "unsqueeze":
        n = len(sizes) + 1
        k = interp.host_int(dim)
        if not -n <= k < n:
            raise KernelError("STL002", f"dim {k} of unsqueeze: torch raises IndexError")
        sizes.insert(k % n, 1)
    else:
        axes = axes_of(t, dim, interp.host_int)
        sizes = [s for k, s in enumerate(sizes) if not (k in axes and s == 1)]
    return interp.tensor_method(t, "view", sizes, {})


def binary(interp: Any, op: str, left: Any, right: Any, node: Any) -> Tensor:
    """``a op b`` of host tensors (same sizes, or one a Python number)."""
    if op not in ("+", "-", "*", "/"):
        raise KernelError("STL002", f"unsupported: `{op}` of host tensors", node=node)
    tensors = [v for v in (left, right) if isinstance(v, Tensor)]
    for v in (left, right):
        if not isinstance(v, (Tensor, int, float)) or isinstance(v, bool):
            raise KernelError(
                "STL002", f"unsupported: `{op}` of a host tensor and {describe(v)}", node=node
            )
    try:
        sizes = tuple(np.broadcast_shapes(*(t.sizes for t in tensors)))
    except ValueError:
        shown = " and ".join(str(list(t.sizes)) for t in tensors)
        raise KernelError(
            "STL005", f"`{op}` of tensors of sizes {shown}: torch cannot broadcast them", node=node
        ) from None
    names = interp.positive

    def build(operands: list[Block]) -> Block:
        it = iter(operands)
        a = next(it) if isinstance(left, Tensor) else blocks.uniform(const(left))
        b = next(it) if isinstance(right, Tensor) else blocks.uniform(const(right))
        return blocks.elementwise([a, b], lambda x, y: fold_binary(op, x, y, names))

    return event(interp, sizes, tensors, build, node)
