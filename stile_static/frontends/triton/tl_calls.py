"""``tl.*`` inside a kernel: one handler per function of ``triton.language``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import libcst as cst
import numpy as np

from ...core.errors import KernelError, Poisoned
from ...ir import terms as T
from .. import blocks
from ..blocks import Block, fold_binary
from . import atomics, wrap_sizes
from . import ints as I
from . import signatures as S
from .host import describe
from .ints import Ints, Mask, Ptr

if TYPE_CHECKING:
    from .interp import TritonInterpreter

UNARY = ("exp", "exp2", "log", "log2", "sqrt", "sqrt_rn", "rsqrt", "sigmoid", "abs", "erf", "tanh")
HINTS = ("multiple_of", "max_contiguous", "max_constancy")
NO_OPS = ("assume", "static_print", "device_assert", "debug_barrier")
MAX_NUMEL = 1 << 20  # triton's TRITON_MAX_TENSOR_NUMEL
DOT_MIN_K = (4, 16)  # below the first: refused for every dtype; below the second: for some


def _shape(interp: TritonInterpreter, value: Any) -> tuple[int, ...]:
    """A block shape: ints known when the kernel compiles (a runtime value is refused)."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    for item in items:
        if isinstance(item, Ints):
            raise KernelError(
                "STL005",
                f"a block shape of the runtime value {describe(item)}",
                notes=(
                    "Triton refuses the kernel (TypeError: Shape element must have type "
                    "`constexpr[int]`)",
                ),
                help="give block sizes as `tl.constexpr` parameters",
            )
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
    """``op`` over ``axis`` (checked and made non-negative by the caller), or over all."""
    if axis is None:
        out = block
        for _ in range(block.ndim):
            out = reduce(out, 0, op)
        return blocks.reshape_unit(out, (1,) * block.ndim) if keep_dims else out
    if not 0 <= axis < block.ndim:  # pragma: no cover - the callers check
        raise KernelError("STL002", f"axis {axis} of a {block.ndim}-d block")
    if op == "min" and not _available_reduce("min"):
        negated = blocks.elementwise([block], lambda t: blocks.fold_unary("neg", t))
        out = blocks.reduce(negated, axis, "max", _available_reduce)
        out = blocks.elementwise([out], lambda t: blocks.fold_unary("neg", t))
    else:
        out = blocks.reduce(block, axis, op, _available_reduce)
    if keep_dims:
        index: list[object] = [slice(None)] * out.ndim
        index.insert(axis, None)
        out = blocks.expand(out, index)
    return out


def _clamp(interp: TritonInterpreter, x: Any, lo: Any, hi: Any, at: Any) -> Any:
    """``tl.clamp(x, min, max)`` is ``minimum(maximum(x, min), max)`` where ``min <= max``;
    Triton leaves ``min > max`` undefined, so only constant bounds are followed."""
    for param, bound in (("min", lo), ("max", hi)):
        if not isinstance(bound, (int, float)) or isinstance(bound, bool):
            raise KernelError(
                "STL002",
                f"unsupported: tl.clamp with a `{param}` that is not a constant",
                notes=("Triton leaves the result undefined where min > max",),
                help="clamp with constant bounds, or write tl.minimum(tl.maximum(x, lo), hi)",
                node=at(param),
            )
    if lo > hi:
        raise KernelError(
            "STL002",
            f"unsupported: tl.clamp with min {lo} > max {hi}: Triton leaves the result undefined",
            help="swap the bounds",
            node=at("min"),
        )
    if isinstance(x, (int, Ints)) and not isinstance(x, bool):
        return I.minimum_maximum("minimum", I.minimum_maximum("maximum", x, lo), hi)
    parts = [interp.as_block(v) for v in (x, lo, hi)]
    return blocks.elementwise(
        parts, lambda t, m, n: fold_binary("minimum", fold_binary("maximum", t, m), n)
    )


def _block_access(interp: TritonInterpreter, ptr: I.BlockPtr, bound: dict) -> tuple:
    """A block pointer's lanes, the mask of its ``boundary_check`` and the padding."""
    checked = bound.get("boundary_check") or ()
    mask = I.Mask(ptr.inside([_int(interp, k) for k in checked])) if checked else None
    padding = bound.get("padding_option")
    padding = padding.value if hasattr(padding, "value") else padding
    other = {"zero": 0.0, "nan": None, None: None, "": None}.get(padding)
    return ptr.pointer(), mask, other


def _no_mask_on_block_ptr(bound: dict, at: Any, params: tuple[str, ...]) -> None:
    """A block pointer is masked by its ``boundary_check``; the compiler refuses more."""
    for param in params:
        if bound[param] is not None:
            raise KernelError(
                "STL005",
                f"`{param}=` of an access through a block pointer",
                notes=(
                    "Triton refuses the kernel (ValueError: `mask` and `other` arguments "
                    "cannot be specified for block pointers)",
                ),
                help="use `boundary_check=` (and `padding_option=`) instead",
                node=at(param),
            )


def _cache_hints(bound: dict, at: Any) -> None:
    """NVIDIA's assembler refuses a cache operator (``.cg``) and an L1 eviction priority
    on one access (``Modifier '.evict_first' cannot be combined with modifier '.cg'``)."""
    modifier = _text(bound.get("cache_modifier"))
    policy = _text(bound.get("eviction_policy"))
    if modifier and policy in ("evict_first", "evict_last"):
        raise KernelError(
            "STL005",
            f"`cache_modifier={modifier!r}` with `eviction_policy={policy!r}` on one access",
            notes=(
                f"the CUDA backend's assembler refuses it (Modifier '.{policy}' cannot be "
                f"combined with modifier '{modifier}')",
            ),
            help="keep one of the two hints",
            node=at("eviction_policy"),
        )


def _text(value: Any) -> str:
    plain = value.value if hasattr(value, "value") else value
    return plain if isinstance(plain, str) else ""


def _plain_pointer(bound: dict, at: Any) -> None:
    """``boundary_check`` and ``padding_option`` are for block pointers only."""
    for param in ("boundary_check", "padding_option"):
        value = bound.get(param)
        plain = value.value if hasattr(value, "value") else value
        if plain not in ((), [], "", None):
            raise KernelError(
                "STL005",
                f"`{param}=` of an access through a tensor of pointers",
                notes=(
                    f"Triton refuses the kernel (ValueError: `{param}` is not supported "
                    "for a tensor of pointers)",
                ),
                help="mask the access with `mask=` (and `other=`)",
                node=at(param),
            )


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: list[cst.Name] = []
        self.calls: list[cst.Call] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False  # `.attr` is no name of its own


RUNTIME_CALLS = ("program_id", "num_programs", "load", "arange")


def _compile_time(interp: TritonInterpreter, where: Any) -> None:
    """A ``tl.static_assert`` condition may read only constexprs: a runtime value (an
    integer argument, a program id, a load) makes the compiler refuse it."""
    expr = where.value if isinstance(where, cst.Arg) else None
    if expr is None:
        return
    found = _Names()
    expr.visit(found)
    runtime = [c for c in found.calls if _call_name(c.func) in RUNTIME_CALLS]
    for name in found.names:
        try:
            value = interp.lookup(name)
        except (KernelError, Poisoned):
            continue
        if isinstance(value, (Ints, Mask, Ptr, Block, blocks.BlockSum)):
            runtime.append(name)
    if runtime:
        raise KernelError(
            "STL005",
            "tl.static_assert of a condition on a value known only when the kernel runs",
            notes=(
                "Triton refuses the kernel (NotImplementedError: Assertion condition "
                "could not be determined at compile-time)",
            ),
            help="assert on `tl.constexpr` values only, or use tl.device_assert",
            node=where,
        )


def _call_name(func: cst.BaseExpression) -> str:
    return func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")


def _static_assert(cond: Any, msg: Any, node: Any) -> None:
    """``tl.static_assert``: checked when the kernel compiles."""
    if not isinstance(cond, (bool, int)):
        raise KernelError(
            "STL002",
            f"unsupported: tl.static_assert of {describe(cond)} (not known when compiling)",
            node=node,
        )
    if not cond:
        text = msg.value if hasattr(msg, "value") else msg
        raise KernelError(
            "STL005",
            "tl.static_assert fails" + (f": {text}" if text else ""),
            notes=("Triton refuses the kernel (CompileTimeAssertionFailure)",),
            help="the kernel is compiled for these constexpr values: change them, or the assertion",
            node=node,
        )


def descriptor_call(
    interp: TritonInterpreter,
    desc: I.Descriptor,
    name: str,
    args: list,
    kwargs: dict,
    node: cst.Call,
) -> Any:
    """``desc.load([offsets])`` and ``desc.store([offsets], value)``: every dim is
    bounds-checked, reads outside are zero and writes outside are dropped."""
    sig = S.DESCRIPTOR.get(name)
    if sig is None:
        raise KernelError("STL002", f"unsupported: tensor descriptor .{name}()")
    a = S.bind(f"tensor_descriptor.{name}", sig, args, kwargs, node)
    ptr = desc.at(tuple(a["offsets"]))
    mask = I.Mask(ptr.inside(range(len(ptr.block_shape))))
    if name == "load":
        return interp.do_load(ptr.pointer(), mask, 0.0, node)
    return interp.do_store(ptr.pointer(), a["value"], mask, node)


def call(
    interp: TritonInterpreter,
    name: str,
    args: list,
    kwargs: dict,
    node: cst.Call,
    receiver: bool = False,
) -> Any:
    """``tl.name(*args, **kwargs)``, bound to the real signature first (``receiver``: a
    method call ``x.name(...)``, whose ``x`` is ``args[0]``)."""
    sig = S.TL.get(name)
    if sig is None:
        raise KernelError("STL002", f"unsupported: tl.{name}")
    a = S.bind(f"tl.{name}", sig, args, kwargs, node, receiver)

    def at(param: str) -> Any:
        return S.argument_node(node, sig, param, receiver)

    if name in ("program_id", "num_programs"):
        axis = _int(interp, a["axis"])
        if axis not in (0, 1, 2):
            raise KernelError(
                "STL005",
                f"tl.{name}(axis={axis}): Triton's grid has the axes 0, 1 and 2",
                help="use an axis 0, 1 or 2, or fold further axes into one with // and %",
            )
        # an int32 scalar tensor, as in Triton (not a Python int: it wraps, divides like C)
        if name == "program_id" and interp.generic is not None:
            return interp.generic.program_id(axis)
        return I.typed((interp.program if name == "program_id" else interp.grid)[axis], "int32")
    if name == "arange":
        start, stop = _constexpr_int(a["start"], "start", at), _constexpr_int(a["end"], "end", at)
        _check_arange(start, stop)
        if interp.probing and stop - start > wrap_sizes.MAX_LANES:
            raise wrap_sizes.TooLarge("a block sized by a probed dim")
        return I.arange(start, stop)
    if name == "cdiv":
        x, y = a["x"], a["div"]
        if isinstance(x, Ints) or isinstance(y, Ints):
            # Triton's definition, in the operands' type: (x + div - 1) // div
            site = I.Site(interp.span(node), lambda: (interp.source_of(node), ()))
            return I.binary("//", I.binary("+", x, I.binary("-", y, 1, site), site), y, site)
        return -(-_int(interp, x) // _int(interp, y))
    if name in HINTS:
        return a["input"]
    if name == "static_assert":
        _compile_time(interp, at("cond"))
        return _static_assert(a["cond"], a["msg"], at("cond"))
    if name in NO_OPS:
        return None
    if name == "constexpr":
        return a["value"]
    if name in ("range", "static_range"):
        bounds = [a["arg1"], a["arg2"], a["step"]]
        ints = [_int(interp, b) for b in bounds if b is not None]
        if a["arg2"] is None and a["step"] is not None:
            ints = [0, *ints]  # range(stop, step=s) is range(0, stop, s)
        # a static_range is unrolled at compile time: its index is a Python int
        return range(*ints) if name == "range" else tuple(range(*ints))
    if name == "load":
        ptr, mask, other = a["pointer"], a["mask"], a["other"]
        if isinstance(ptr, I.BlockPtr):
            _no_mask_on_block_ptr(a, at, ("mask", "other"))
            ptr, mask, other = _block_access(interp, ptr, a)
        else:
            _plain_pointer(a, at)
        _cache_hints(a, at)
        return interp.do_load(ptr, mask, other, node)
    if name == "store":
        ptr, value, mask = a["pointer"], a["value"], a["mask"]
        if isinstance(ptr, I.BlockPtr):
            _no_mask_on_block_ptr(a, at, ("mask",))
            ptr, mask, _ = _block_access(interp, ptr, a)
        else:
            _plain_pointer(a, at)
        _cache_hints(a, at)
        return interp.do_store(ptr, value, mask, node)
    if name in atomics.OPS:
        atomics.check_options(a, at, name)
        return atomics.update(interp, name, a["pointer"], a["val"], a["mask"], node)
    if name == "make_block_ptr":
        base = a["base"]
        if not isinstance(base, Ptr) or base.shape:
            raise KernelError("STL002", "tl.make_block_ptr needs a scalar pointer as its base")
        shape, strides, offsets = (tuple(a[k]) for k in ("shape", "strides", "offsets"))
        block_shape = _shape(interp, a["block_shape"])
        check_block_shape(block_shape, at("block_shape"))
        if not len(shape) == len(strides) == len(offsets) == len(block_shape):
            raise KernelError(
                "STL002",
                "tl.make_block_ptr: shape, strides, offsets and "
                "block_shape must have one entry per dim",
            )
        return I.BlockPtr(base, shape, strides, offsets, block_shape)
    if name == "advance":
        ptr = a["base"]
        if not isinstance(ptr, I.BlockPtr):
            raise KernelError("STL002", "tl.advance of something other than a block pointer")
        return ptr.advance(tuple(a["offsets"]))
    if name == "make_tensor_descriptor":
        base = a["base"]
        if not isinstance(base, Ptr) or base.shape:
            raise KernelError("STL002", "tl.make_tensor_descriptor needs a scalar pointer")
        block_shape = _shape(interp, a["block_shape"])
        check_block_shape(block_shape, at("block_shape"))
        return I.Descriptor(base, tuple(a["shape"]), tuple(a["strides"]), block_shape)
    if name in ("zeros", "full"):
        shape = _shape(interp, a["shape"])
        check_block_shape(shape, at("shape"))
        value = 0 if name == "zeros" else a["value"]
        return blocks.broadcast(interp.as_block(value), shape)
    if name == "zeros_like":
        like = interp.as_block(a["input"])
        return blocks.broadcast(interp.as_block(0), like.shape)
    if name in ("sum", "max", "min"):
        value, axis, keep_dims = a["input"], a["axis"], bool(a["keep_dims"])
        if axis is not None:
            axis = _axis(interp, axis, _ndim(value), at("axis"), f"tl.{name}")
        if isinstance(value, blocks.BlockSum) and name == "sum":
            if keep_dims or axis is None and value.ndim != 1:
                raise KernelError("STL002", "unsupported: this reduction of an accumulated block")
            return blocks.sum_lanes(value, 0 if axis is None else axis)
        return reduce(interp.as_block(value), axis, name, keep_dims)
    if name in UNARY:
        block = interp.as_block(a["arg0"] if name == "tanh" else a["x"])
        fn = {"sqrt_rn": "sqrt"}.get(name, name)
        return blocks.elementwise([block], lambda t: interp.unary_term(fn, t))
    if name == "clamp":
        return _clamp(interp, a["x"], a["min"], a["max"], at)
    if name in ("maximum", "minimum"):
        pair = [a["x"], a["y"]]
        if not any(isinstance(v, (Block, blocks.BlockSum)) for v in pair) and all(
            isinstance(v, (int, Ints)) and not isinstance(v, bool) for v in pair
        ):
            return I.minimum_maximum(name, pair[0], pair[1])
        left, right = (interp.as_block(v) for v in pair)
        if name == "minimum" and "minimum" not in T.BINARY_OPS:
            # min(a, b) = -max(-a, -b), exactly
            def build(x: T.Term, y: T.Term) -> T.Term:
                neg = blocks.fold_unary
                return neg("neg", fold_binary("maximum", neg("neg", x), neg("neg", y)))

            return blocks.elementwise([left, right], build)
        return blocks.elementwise([left, right], lambda x, y: fold_binary(name, x, y))
    if name in ("fdiv", "div_rn"):
        return interp.data_binary("/", a["x"], a["y"])
    if name == "fma":
        return interp.data_binary("+", interp.data_binary("*", a["x"], a["y"]), a["z"])
    if name == "where":
        cond = a["condition"]
        if isinstance(cond, Block):
            raise KernelError("STL002", "unsupported: tl.where on a condition over data values")
        if isinstance(cond, blocks.Compared):
            x, y = interp.as_block(a["x"]), interp.as_block(a["y"])
            try:
                return blocks.choose(cond, x, y)
            except blocks.LayoutMismatch as error:
                raise interp.blame_swapped([a["x"], a["y"]], error) from None
        if _integer(a["x"]) and _integer(a["y"]) and not isinstance(cond, bool):
            return I.select(I.mask_array(cond), a["x"], a["y"])
        x, y = interp.as_block(a["x"]), interp.as_block(a["y"])
        if isinstance(cond, bool):
            return x if cond else y
        mask = I.mask_array(cond)
        shape = tuple(np.broadcast_shapes(mask.shape, x.shape, y.shape))
        return blocks.select(np.broadcast_to(mask, shape), x, y)
    if name == "dot":
        x, y = interp.as_block(a["input"]), interp.as_block(a["other"])
        _check_dot(x, y, at("input"))
        try:
            out = blocks.dot(x, y)
        except blocks.LayoutMismatch as error:
            raise interp.blame_swapped([a["input"], a["other"]], error) from None
        if a["acc"] is not None:
            out = blocks.elementwise(
                [interp.as_block(a["acc"]), out], lambda p, q: fold_binary("+", p, q)
            )
        return out
    if name in ("trans", "permute"):
        block = interp.as_block(a["input"])
        order = list(a["dims"])
        if len(order) == 1 and isinstance(order[0], (tuple, list)):
            order = list(order[0])
        if not order:
            if name == "permute":
                raise KernelError("STL005", "tl.permute needs the order of the dims", node=node)
            return blocks.transpose(block)
        dims = [_int(interp, o) for o in order]
        if sorted(dims) != list(range(block.ndim)):
            raise KernelError(
                "STL005",
                f"tl.{name} of a {block.ndim}-d block with dims {dims}: "
                f"expected a permutation of {list(range(block.ndim))}",
                help="name each dim of the block once",
                node=node,
            )
        return blocks.transpose(block, dims)
    if name in ("reshape", "view"):
        block = interp.as_block(a["input"])
        shape = _shape(interp, _dims(a["shape"]))
        check_block_shape(shape, node)
        if math.prod(shape) != math.prod(block.shape):
            raise KernelError(
                "STL005",
                f"tl.{name} of a {list(block.shape)} block ({math.prod(block.shape)} lanes) "
                f"to {list(shape)} ({math.prod(shape)} lanes)",
                notes=(
                    "Triton refuses the kernel (ValueError: reshape() cannot change total "
                    "number of elements in tensor)",
                ),
                help="give a shape with as many lanes as the block",
                node=node,
            )
        return blocks.reshape_unit(block, shape)
    if name == "broadcast_to":
        value = a["input"]
        shape = _shape(interp, _dims(a["shape"]))
        check_block_shape(shape, node)
        if isinstance(value, Ints):
            return I.broadcast(value, shape)
        if isinstance(value, Ptr):
            return Ptr(value.tensor, I.broadcast(value.offset, shape))
        return blocks.broadcast(interp.as_block(value), shape)
    if name == "expand_dims":
        value = a["input"]
        ndim = _ndim(value)
        axis = _axis(interp, a["axis"], ndim + 1, at("axis"), "tl.expand_dims")
        index: list[object] = [slice(None)] * ndim
        index.insert(axis, None)
        if isinstance(value, Block):
            return blocks.expand(value, index)
        if isinstance(value, Ptr):
            return Ptr(value.tensor, I.expand(value.offset, index))  # type: ignore[arg-type]
        if isinstance(value, (Ints, Mask)):
            return I.expand(value, index)
        return blocks.expand(interp.as_block(value), index)
    if name == "cast":
        return interp.cast(a["input"], a["dtype"], {"bitcast": a["bitcast"]}, node)
    raise KernelError("STL002", f"unsupported: tl.{name}")  # pragma: no cover - the table


def _integer(value: Any) -> bool:
    """An integer block or number (offsets, indices), not data."""
    return isinstance(value, Ints) or isinstance(value, int) and not isinstance(value, bool)


def _dims(value: Any) -> Any:
    """``*shape`` given as one tuple or as separate ints."""
    if len(value) == 1 and isinstance(value[0], (tuple, list)):
        return value[0]
    return list(value)


def _ndim(value: Any) -> int:
    if isinstance(value, (Block, blocks.BlockSum)):
        return value.ndim
    if isinstance(value, Mask):
        return value.array.ndim
    shape = getattr(value, "shape", None)
    return len(shape) if isinstance(shape, tuple) else 0


def _axis(interp: TritonInterpreter, value: Any, ndim: int, where: Any, what: str) -> int:
    """An axis of ``ndim`` axes, negative ones from the end; outside, the compiler refuses."""
    axis = _int(interp, value)
    if not -ndim <= axis < ndim:
        raise KernelError(
            "STL005",
            f"{what}: axis {axis} is out of range: expected {-ndim} <= axis < {ndim}",
            notes=("Triton refuses the kernel (ValueError: invalid axis)",),
            help=f"use an axis from 0 to {ndim - 1} (or -1 for the last)",
            node=where,
        )
    return axis + ndim if axis < 0 else axis


def _constexpr_int(value: Any, param: str, at: Any) -> int:
    """A bound of ``tl.arange``: Triton needs it known when compiling."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise KernelError(
            "STL005",
            f"tl.arange's `{param}` must be a tl.constexpr, found the runtime value "
            f"{describe(value)}",
            notes=(
                "Triton refuses the kernel (ValueError: arange's arguments must be of "
                "type tl.constexpr)",
            ),
            help="pass the bound as a `tl.constexpr` parameter, and mask the lanes past "
            "the runtime size",
            node=at(param),
        )
    return value


def _check_arange(start: int, stop: int) -> None:
    if start >> 32 or stop >> 32:
        raise KernelError("STL005", f"tl.arange({start}, {stop}) does not fit in int32")
    if stop <= start:
        raise KernelError(
            "STL005", f"tl.arange({start}, {stop}): the end must be greater than the start"
        )
    size = stop - start
    if size & (size - 1):
        raise KernelError(
            "STL005",
            f"tl.arange({start}, {stop}) has {size} lanes, which is not a power of two",
            notes=("Triton refuses the kernel (ValueError: arange's range must be a power of 2)",),
            help=f"use {1 << size.bit_length()} lanes (`triton.next_power_of_2`) and mask "
            "the lanes past the size",
        )
    check_block_shape((size,), None)


def check_block_shape(shape: tuple[int, ...], node: Any) -> None:
    """Every dim of a block a power of two, at most 2**20 elements in all (Triton's
    ``validate_block_shape``)."""
    for n in shape:
        if n < 1 or n & (n - 1):
            raise KernelError(
                "STL005",
                f"a block of shape {list(shape)}: {n} is not a power of two",
                notes=(
                    "Triton refuses the kernel (ValueError: Shape element must be a power of 2)",
                ),
                help="round each dim up to a power of two and mask the extra lanes",
                node=node,
            )
    numel = math.prod(shape)
    if numel > MAX_NUMEL:
        raise KernelError(
            "STL005",
            f"a block of shape {list(shape)} has {numel} elements, more than Triton's "
            f"maximum of {MAX_NUMEL}",
            help="split the work over more programs or loop over smaller blocks",
            node=node,
        )


def _check_dot(x: Block, y: Block, node: Any) -> None:
    """The CUDA backend's smallest ``tl.dot`` (triton 3.9: M, N >= 1, K >= 4 for 64-bit,
    8 for 32-bit, 16 for 16-bit and 32 for 8-bit inputs; the analyzer does not follow
    dtypes, so a K that only some dtypes accept is not followed)."""
    if x.ndim != 2 or y.ndim != 2:
        return  # blocks.dot says so
    k = x.shape[1]
    if k < DOT_MIN_K[0]:
        raise KernelError(
            "STL005",
            f"tl.dot of a {list(x.shape)} block with a {list(y.shape)} block: K = {k}, "
            f"below the CUDA backend's minimum of {DOT_MIN_K[0]} for any input dtype",
            notes=(
                "Triton refuses the kernel (AssertionError: Input shapes should have K >= ...)",
            ),
            help="make the contracted dim (BLOCK_K) 16 or more",
            node=node,
        )
    if k < DOT_MIN_K[1]:
        raise KernelError(
            "STL002",
            f"unsupported: tl.dot with K = {k}: Triton compiles it for 32-bit (K >= 8) or "
            "64-bit (K >= 4) inputs only, and the analyzer does not follow dtypes",
            help="make the contracted dim (BLOCK_K) 16 or more",
            node=node,
        )
