"""``tl.*`` inside a kernel: one handler per function of ``triton.language``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import libcst as cst
import numpy as np

from ...core.errors import KernelError
from ...ir import terms as T
from .. import blocks
from ..blocks import Block, fold_binary
from . import ints as I
from .host import DType
from .ints import Ints, Mask, Ptr

if TYPE_CHECKING:
    from .interp import TritonInterpreter

UNARY = ("exp", "exp2", "log", "log2", "sqrt", "sqrt_rn", "rsqrt", "sigmoid", "abs")
HINTS = ("multiple_of", "max_contiguous", "max_constancy")
NO_OPS = ("assume", "static_assert", "static_print", "device_assert", "debug_barrier")


def _arg(args: list, kwargs: dict, i: int, name: str, default: Any = ...) -> Any:
    if len(args) > i:
        return args[i]
    if name in kwargs:
        return kwargs[name]
    if default is ...:
        raise KernelError("STL002", f"missing argument `{name}`")
    return default


def _shape(interp: TritonInterpreter, value: Any) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,)
    if not isinstance(value, (tuple, list)):
        raise KernelError("STL002", "a block shape is a list of integers")
    return tuple(interp.host_int(v) for v in value)


def _int(interp: TritonInterpreter, value: Any) -> int:
    return interp.host_int(value)


def _available_reduce(op: str) -> bool:
    return op in T.REDUCE_OPS


def reduce(block: Block, axis: Any, op: str, keep_dims: bool = False) -> Block:
    if axis is None:
        out = block
        for _ in range(block.ndim):
            out = reduce(out, 0, op)
        return out
    axis = int(axis)
    if not -block.ndim <= axis < block.ndim:
        raise KernelError("STL002", f"axis {axis} of a {block.ndim}-d block")
    if op == "min" and not _available_reduce("min"):
        negated = blocks.elementwise([block], lambda t: blocks.fold_unary("neg", t))
        out = blocks.reduce(negated, axis, "max", _available_reduce)
        out = blocks.elementwise([out], lambda t: blocks.fold_unary("neg", t))
    else:
        out = blocks.reduce(block, axis, op, _available_reduce)
    if keep_dims:
        index: list[object] = [slice(None)] * out.ndim
        index.insert(axis % block.ndim, None)
        out = blocks.expand(out, index)
    return out


def _block_access(interp: TritonInterpreter, ptr: I.BlockPtr, kwargs: dict) -> tuple:
    """A block pointer's lanes, the mask of its ``boundary_check`` and the padding."""
    checked = kwargs.get("boundary_check") or ()
    mask = I.Mask(ptr.inside([_int(interp, k) for k in checked])) if checked else None
    padding = kwargs.get("padding_option")
    padding = padding.value if hasattr(padding, "value") else padding
    other = {"zero": 0.0, "nan": None, None: None, "": None}.get(padding)
    return ptr.pointer(), mask, other


def descriptor_call(
    interp: TritonInterpreter, desc: I.Descriptor, name: str, args: list, node: cst.Call
) -> Any:
    """``desc.load([offsets])`` and ``desc.store([offsets], value)``: every dim is
    bounds-checked, reads outside are zero and writes outside are dropped."""
    if name not in ("load", "store") or not args:
        raise KernelError("STL002", f"unsupported: tensor descriptor .{name}()")
    ptr = desc.at(tuple(args[0]))
    mask = I.Mask(ptr.inside(range(len(ptr.block_shape))))
    if name == "load":
        return interp.do_load(ptr.pointer(), mask, 0.0, node)
    return interp.do_store(ptr.pointer(), args[1], mask, node)


def call(interp: TritonInterpreter, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
    if name in ("program_id", "num_programs"):
        axis = _int(interp, _arg(args, kwargs, 0, "axis"))
        if axis not in (0, 1, 2):
            raise KernelError(
                "STL005",
                f"tl.{name}(axis={axis}): Triton's grid has the axes 0, 1 and 2",
                help="use an axis 0, 1 or 2, or fold further axes into one with // and %",
            )
        # an int32 scalar tensor, as in Triton (not a Python int: it wraps, divides like C)
        return I.typed((interp.program if name == "program_id" else interp.grid)[axis], "int32")
    if name == "arange":
        start, stop = _int(interp, args[0]), _int(interp, _arg(args, kwargs, 1, "end"))
        return I.arange(start, stop)
    if name == "cdiv":
        a, b = args
        if isinstance(a, Ints) or isinstance(b, Ints):
            # Triton's definition, in the operands' type: (x + div - 1) // div
            site = I.Site(interp.span(node), interp.source_of(node))
            return I.binary("//", I.binary("+", a, I.binary("-", b, 1, site), site), b, site)
        return -(-_int(interp, a) // _int(interp, b))
    if name in HINTS:
        return args[0]
    if name in NO_OPS:
        return None
    if name == "constexpr":
        return args[0] if args else None
    if name in ("range", "static_range"):
        bounds = [_int(interp, a) for a in args[:3]]
        if "step" in kwargs:
            bounds.append(_int(interp, kwargs["step"]))
        # a static_range is unrolled at compile time: its index is a Python int
        return range(*bounds) if name == "range" else tuple(range(*bounds))
    if name == "load":
        ptr = _arg(args, kwargs, 0, "pointer")
        mask = _arg(args, kwargs, 1, "mask", None)
        other = _arg(args, kwargs, 2, "other", None)
        if isinstance(ptr, I.BlockPtr):
            ptr, mask, other = _block_access(interp, ptr, kwargs)
        return interp.do_load(ptr, mask, other, node)
    if name == "store":
        ptr = _arg(args, kwargs, 0, "pointer")
        value = _arg(args, kwargs, 1, "value")
        mask = _arg(args, kwargs, 2, "mask", None)
        if isinstance(ptr, I.BlockPtr):
            ptr, mask, _ = _block_access(interp, ptr, kwargs)
        return interp.do_store(ptr, value, mask, node)
    if name == "make_block_ptr":
        base = _arg(args, kwargs, 0, "base")
        if not isinstance(base, Ptr) or base.shape:
            raise KernelError("STL002", "tl.make_block_ptr needs a scalar pointer as its base")
        shape = tuple(_arg(args, kwargs, 1, "shape"))
        strides = tuple(_arg(args, kwargs, 2, "strides"))
        offsets = tuple(_arg(args, kwargs, 3, "offsets"))
        block_shape = _shape(interp, _arg(args, kwargs, 4, "block_shape"))
        if not len(shape) == len(strides) == len(offsets) == len(block_shape):
            raise KernelError(
                "STL002",
                "tl.make_block_ptr: shape, strides, offsets and "
                "block_shape must have one entry per dim",
            )
        return I.BlockPtr(base, shape, strides, offsets, block_shape)
    if name == "advance":
        ptr = _arg(args, kwargs, 0, "base")
        if not isinstance(ptr, I.BlockPtr):
            raise KernelError("STL002", "tl.advance of something other than a block pointer")
        return ptr.advance(tuple(_arg(args, kwargs, 1, "offsets")))
    if name == "make_tensor_descriptor":
        base = _arg(args, kwargs, 0, "base")
        if not isinstance(base, Ptr) or base.shape:
            raise KernelError("STL002", "tl.make_tensor_descriptor needs a scalar pointer")
        shape = tuple(_arg(args, kwargs, 1, "shape"))
        strides = tuple(_arg(args, kwargs, 2, "strides"))
        block_shape = _shape(interp, _arg(args, kwargs, 3, "block_shape"))
        return I.Descriptor(base, shape, strides, block_shape)
    if name in ("zeros", "full"):
        shape = _shape(interp, _arg(args, kwargs, 0, "shape"))
        value = 0 if name == "zeros" else _arg(args, kwargs, 1, "value")
        piece = interp.as_block(value)
        return blocks.broadcast(piece, shape)
    if name in ("zeros_like", "full_like"):
        like = interp.as_block(args[0])
        value = 0 if name == "zeros_like" else _arg(args, kwargs, 1, "value")
        return blocks.broadcast(interp.as_block(value), like.shape)
    if name in ("sum", "max", "min"):
        value = _arg(args, kwargs, 0, "input")
        axis = _arg(args, kwargs, 1, "axis", None)
        if isinstance(value, blocks.BlockSum) and name == "sum":
            if kwargs.get("keep_dims") or axis is None and value.ndim != 1:
                raise KernelError("STL002", "unsupported: this reduction of an accumulated block")
            return blocks.sum_lanes(value, 0 if axis is None else int(axis))
        block = interp.as_block(value)
        if kwargs.get("return_indices"):
            raise KernelError("STL002", f"unsupported: tl.{name}(..., return_indices=True)")
        return reduce(block, axis, name, bool(kwargs.get("keep_dims", False)))
    if name in UNARY:
        block = interp.as_block(_arg(args, kwargs, 0, "x"))
        fn = {"sqrt_rn": "sqrt"}.get(name, name)
        return blocks.elementwise([block], lambda t: interp.unary_term(fn, t))
    if name in ("maximum", "minimum"):
        if not any(isinstance(v, (Block, blocks.BlockSum)) for v in args[:2]) and all(
            isinstance(v, (int, Ints)) and not isinstance(v, bool) for v in args[:2]
        ):
            return I.minimum_maximum(name, args[0], args[1])
        a, b = (interp.as_block(v) for v in args[:2])
        if name == "minimum" and "minimum" not in T.BINARY_OPS:
            # min(a, b) = -max(-a, -b), exactly
            def build(x: T.Term, y: T.Term) -> T.Term:
                neg = blocks.fold_unary
                return neg("neg", fold_binary("maximum", neg("neg", x), neg("neg", y)))

            return blocks.elementwise([a, b], build)
        return blocks.elementwise([a, b], lambda x, y: fold_binary(name, x, y))
    if name in ("fdiv", "div_rn"):
        return interp.data_binary("/", args[0], args[1])
    if name == "fma":
        return interp.data_binary("+", interp.data_binary("*", args[0], args[1]), args[2])
    if name == "where":
        cond = _arg(args, kwargs, 0, "condition")
        if isinstance(cond, Block):
            raise KernelError("STL002", "unsupported: tl.where on a condition over data values")
        a, b = interp.as_block(args[1]), interp.as_block(args[2])
        if isinstance(cond, bool):
            return a if cond else b
        mask = I.mask_array(cond)
        shape = tuple(np.broadcast_shapes(mask.shape, a.shape, b.shape))
        return blocks.select(np.broadcast_to(mask, shape), a, b)
    if name == "dot":
        a, b = interp.as_block(args[0]), interp.as_block(_arg(args, kwargs, 1, "b"))
        acc = _arg(args, kwargs, 2, "acc", None)
        if kwargs.get("trans_a"):  # the keyword arguments of Triton 2.0
            a = blocks.transpose(a)
        if kwargs.get("trans_b"):
            b = blocks.transpose(b)
        try:
            out = blocks.dot(a, b)
        except blocks.LayoutMismatch as error:
            raise interp.blame_swapped([args[0], args[1]], error) from None
        if acc is not None:
            out = blocks.elementwise(
                [interp.as_block(acc), out], lambda x, y: fold_binary("+", x, y)
            )
        return out
    if name in ("trans", "permute"):
        block = interp.as_block(args[0])
        order = args[1:] if len(args) > 1 else kwargs.get("dims")
        if order and len(order) == 1 and isinstance(order[0], (tuple, list)):
            order = order[0]
        return blocks.transpose(block, [int(o) for o in order] if order else None)
    if name in ("reshape", "view"):
        block = interp.as_block(args[0])
        shape = _shape(interp, args[1] if len(args) == 2 else list(args[1:]))
        return blocks.reshape_unit(block, shape)
    if name == "broadcast_to":
        value = args[0]
        shape = _shape(interp, args[1] if len(args) == 2 else list(args[1:]))
        if isinstance(value, Ints):
            return I.broadcast(value, shape)
        if isinstance(value, Ptr):
            return Ptr(value.tensor, I.broadcast(value.offset, shape))
        return blocks.broadcast(interp.as_block(value), shape)
    if name == "expand_dims":
        value = args[0]
        axis = _int(interp, _arg(args, kwargs, 1, "axis"))
        ndim = value.ndim if isinstance(value, Block) else len(value.shape)
        index: list[object] = [slice(None)] * ndim
        index.insert(axis % (ndim + 1), None)
        if isinstance(value, Block):
            return blocks.expand(value, index)
        if isinstance(value, Ptr):
            return Ptr(value.tensor, I.expand(value.offset, index))  # type: ignore[arg-type]
        if isinstance(value, (Ints, Mask)):
            return I.expand(value, index)
        return blocks.expand(interp.as_block(value), index)
    if name == "cast":
        return interp.cast(args[0], _arg(args, kwargs, 1, "dtype"), kwargs, node)
    if isinstance(name, DType):  # pragma: no cover - dtypes are values, not calls
        return args[0]
    raise KernelError("STL002", f"unsupported: tl.{name}")
