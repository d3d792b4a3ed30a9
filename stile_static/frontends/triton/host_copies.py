"""Tensor methods that may return a copy: torch's rule for when they do.

``.float()``, ``.half()``, ``.double()``, ``.bfloat16()`` and ``.to(dtype)`` return
the tensor itself when its dtype is already the one asked for and a new tensor
otherwise (``copy=True``: always); ``.clone()`` and ``.cpu()`` (the tensors are
taken to be on the GPU) always copy; ``.cuda()`` and ``.to(device)`` return the
tensor itself; ``.contiguous()`` copies only a tensor that is not contiguous;
``dst.copy_(src)`` writes ``src``'s content into ``dst``. A copy keeps the
strides of a dense tensor (torch's ``preserve_format``): row-major for a new
tensor, unknown for a parameter. A copy is a :class:`~.host.HostCopy` event
among the launches, so it takes the content its source has at that point of
the wrapper; writes into it do not reach the original. Where the answer depends
on a dtype that is not known (a parameter's), the content is the same either
way: followed, unless the copy or the original is written afterwards (STL002).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from ...core.errors import KernelError
from .host import (
    FLOAT_DTYPES,
    DType,
    HostCopy,
    HostFill,
    Opaque,
    Tensor,
    describe,
    dtype_name,
    row_major,
    symbolic_strides,
)

ELEMENT_SIZES = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
}
CAST_METHODS = {"float": "float32", "half": "float16", "double": "float64", "bfloat16": "bfloat16"}
COPY_METHODS = frozenset(
    {*CAST_METHODS, "to", "clone", "cpu", "cuda", "contiguous", "copy_", "zero_", "fill_"}
)
# keywords these methods take that leave values and layout as they are
HARMLESS = frozenset({"non_blocking", "device", "memory_format_preserve"})


def method(interp: Any, t: Tensor, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
    if name == "copy_":
        return _copy_into(interp, t, args, kwargs, node)
    if name in ("zero_", "fill_"):
        return _fill(interp, t, name, args, kwargs, node)
    if name == "contiguous":
        _no_keywords(name, kwargs, {"memory_format"}, node)
        if t.contiguous:
            return t
        if t.role == "input":
            # the kernel only reads it (a write is STL002): the same values, row-major
            return Tensor(t.name, t.sizes, t.dims, row_major(t.name, t.sizes), t.role, t.init)
        raise KernelError(
            "STL002",
            f"unsupported: whether .contiguous() copies {t.name} depends on its strides, "
            "which are not known",
            notes=("a copy is a new tensor: writes into it do not reach the original",),
            help=f"state `# stile: assume {t.name}.is_contiguous()`",
            node=node,
        )
    if name == "cuda":
        _no_keywords(name, kwargs, {"device", "non_blocking", "memory_format"}, node)
        return t
    if name in ("clone", "cpu"):
        _no_keywords(name, kwargs, {"memory_format"}, node)
        return _copy(interp, t, t.dtype, node)
    if name in CAST_METHODS:
        _no_keywords(name, kwargs, {"memory_format"}, node)
        return _cast(interp, t, CAST_METHODS[name], False, node, f".{name}()")
    # .to(dtype), .to(device), .to(device, dtype), .to(other), with keywords
    _no_keywords(name, kwargs, {"dtype", "device", "non_blocking", "copy", "memory_format"}, node)
    dtype: str | None = t.dtype
    changes = False
    for value in [*args, kwargs.get("dtype"), kwargs.get("device")]:
        if value is None or isinstance(value, (str, Opaque)):
            continue  # a device: the tensors are on it already
        if isinstance(value, DType):
            dtype, changes = _dtype_of(value, node), True
        elif isinstance(value, Tensor):
            dtype, changes = value.dtype, True
        else:
            raise KernelError("STL002", f"unsupported: .to({describe(value)})", node=node)
    always = bool(kwargs.get("copy"))
    if not changes:
        return _copy(interp, t, t.dtype, node) if always else t
    return _cast(interp, t, dtype, always, node, ".to()")


def _no_keywords(name: str, kwargs: dict, allowed: set[str], node: cst.Call) -> None:
    for key, value in kwargs.items():
        if key not in allowed:
            raise KernelError("STL002", f"unsupported: `{key}=` of .{name}()", node=node)
        if key == "memory_format" and not (
            isinstance(value, Opaque) and value.what.endswith("preserve_format")
        ):
            raise KernelError(
                "STL002",
                f"unsupported: `memory_format=` of .{name}() changes the copy's strides",
                node=node,
            )


def _dtype_of(value: DType, node: cst.Call) -> str | None:
    return dtype_argument(value)


def dtype_argument(value: Any) -> str | None:
    """The dtype a ``dtype=`` argument names (None: not given, or not known)."""
    if not isinstance(value, DType):
        return None
    name = dtype_name(value.name)
    return None if name in ("tensor", "unknown") else name


def _cast(
    interp: Any, t: Tensor, dtype: str | None, always: bool, node: cst.Call, what: str
) -> Tensor:
    if dtype is not None and t.dtype is not None:
        if dtype == t.dtype and not always:
            return t  # torch returns the tensor itself
        if dtype not in FLOAT_DTYPES and t.dtype in FLOAT_DTYPES:
            raise KernelError(
                "STL002",
                f"unsupported: {what} casts {t.name} from {t.dtype} to {dtype}, which "
                "truncates its values",
                node=node,
            )
        return _copy(interp, t, dtype, node)
    if t.role == "input" and not always and (dtype is None or dtype in FLOAT_DTYPES):
        # itself or a copy: the same values either way, and a write to it is STL002
        return t
    if dtype is not None and dtype not in FLOAT_DTYPES:
        raise KernelError(
            "STL002",
            f"unsupported: {what} may cast {t.name} to {dtype}, which truncates its values",
            node=node,
        )
    # itself or a copy, by a dtype that is not known: the same content either way, and a
    # later write to either is STL002 (see memory.undecided_copies)
    return _copy(interp, t, dtype or t.dtype, node, maybe=not always)


def _copy(interp: Any, t: Tensor, dtype: str | None, node: cst.Call, maybe: bool = False) -> Tensor:
    """A new tensor with ``t``'s content at this point of the wrapper."""
    if t.base is not None and t.base.sizes != t.sizes:
        raise KernelError("STL002", f"unsupported: a copy of a reshaped view of {t.name}")
    strides = row_major("<new>", t.sizes) if t.contiguous else symbolic_strides("<new>", t.sizes)
    copy = Tensor("<new>", t.sizes, None, strides, "new", "copy", dtype=dtype)
    interp.launches.append(HostCopy(copy, t, node, maybe))
    return copy


def _fill(interp: Any, t: Tensor, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
    from .memory import scalar_piece

    if name == "zero_":
        _no_keywords(name, kwargs, set(), node)
        if args:
            raise KernelError("STL002", "unsupported: arguments of .zero_()", node=node)
        value: Any = 0
    else:
        _no_keywords(name, {k: v for k, v in kwargs.items() if k != "value"}, set(), node)
        value = kwargs.get("value", args[0] if args else None)
    term = scalar_piece(value)
    if term is None or len(args) > (0 if name == "zero_" else 1):
        raise KernelError("STL002", f"unsupported: .{name}() with {describe(value)}", node=node)
    if (t.base or t).role == "input":
        raise KernelError("STL002", f"unsupported: the wrapper writes its input {t.name}")
    if t.base is not None and t.base.sizes != t.sizes:
        raise KernelError("STL002", f"unsupported: .{name}() of a reshaped view of {t.name}")
    interp.launches.append(HostFill(t, term, interp.span(node), node))
    return t


def _copy_into(interp: Any, t: Tensor, args: list, kwargs: dict, node: cst.Call) -> Tensor:
    _no_keywords("copy_", {k: v for k, v in kwargs.items() if k != "src"}, {"non_blocking"}, node)
    src = kwargs.get("src", args[0] if args else None)
    if not isinstance(src, Tensor):
        raise KernelError("STL002", f"unsupported: .copy_() of {describe(src)}", node=node)
    if src.sizes != t.sizes:
        raise KernelError("STL002", "unsupported: .copy_() that broadcasts its source", node=node)
    if (t.base or t).role == "input":
        raise KernelError("STL002", f"unsupported: the wrapper writes its input {t.name}")
    interp.launches.append(HostCopy(t, src, node))
    return t
