"""Calls of the host wrapper: ``triton.*``, ``torch.*`` and tensor methods.

A mixin of :class:`~.interp.TritonInterpreter`: shapes and strides come from
the case being checked, new tensors are contiguous, and ``triton.Config``,
``autotune`` and ``heuristics`` become what the launches run with.
"""

from __future__ import annotations

import math
from typing import Any

import libcst as cst
import numpy as np

from ...core.errors import KernelError
from ...interpreter.values import Builtin, Function, SpecText, python_error
from .. import blocks
from ..blocks import Block
from . import host_arrays, host_copies
from . import ints as I
from . import signatures as S
from .host import (
    BoundMethod,
    Config,
    Decorator,
    Kernel,
    Tensor,
    describe,
    new_tensor,
    row_major,
)
from .ints import Ints, Mask, Ptr


class HostCalls:
    def call_triton(self, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
        sig = S.TRITON.get(name)
        if sig is None:
            raise KernelError("STL002", f"unsupported: triton.{name}")
        a = S.bind(f"triton.{name}", sig, args, kwargs, node)
        if name == "jit":
            fn = a["fn"]
            if isinstance(fn, (Function, Kernel)):
                return fn if isinstance(fn, Kernel) else Kernel(fn)
            return Decorator("jit")
        if name == "cdiv":
            x, y = self.host_int(a["x"]), self.host_int(a["y"])
            if y == 0:
                raise python_error(ZeroDivisionError("integer division or modulo by zero"))
            return -(-x // y)
        if name == "next_power_of_2":
            n = self.host_int(a["n"])
            return 1 if n <= 1 else 1 << (n - 1).bit_length()
        if name == "Config":
            table = a["kwargs"]
            if not isinstance(table, dict):
                raise KernelError(
                    "STL002", "unsupported: triton.Config of something other than a dict"
                )
            # the launch options a config sets: they change no value, but two configs
            # that differ only in them are still two configs to name apart
            given = {*kwargs, *("num_warps num_stages num_ctas".split()[: len(args) - 1])}
            options = tuple(
                (k, a[k]) for k in ("num_warps", "num_stages", "num_ctas") if k in given
            )
            return Config(tuple(table.items()), self.span(node), options)
        if name == "autotune":
            configs = a["configs"]
            if not isinstance(configs, (tuple, list)) or not all(
                isinstance(c, Config) for c in configs
            ):
                raise KernelError(
                    "STL002", "unsupported: autotune configs must be triton.Config(...)"
                )
            return Decorator("autotune", configs=tuple(configs))
        table = a["values"]  # heuristics
        if not isinstance(table, dict):
            raise KernelError("STL002", "unsupported: heuristics must be a dict of lambdas")
        return Decorator("heuristics", heuristics=tuple(table.items()))

    def is_instance(self, value: Any, kinds: Any) -> bool:
        """``isinstance`` for Python's own types; anything else is not followed."""
        kinds = kinds if isinstance(kinds, (tuple, list)) else (kinds,)
        table = {
            "int": int,
            "float": float,
            "bool": bool,
            "str": str,
            "tuple": tuple,
            "list": list,
            "dict": dict,
        }
        found = False
        for kind in kinds:
            name = kind.name if isinstance(kind, Builtin) else None
            if name not in table:
                raise KernelError("STL002", "unsupported: isinstance of a non-builtin type")
            plain = value.value if isinstance(value, SpecText) else value
            found = found or (
                isinstance(plain, table[name]) and not (name == "int" and isinstance(plain, bool))
            )
        return found

    def host_int(self, value: Any) -> int:
        if isinstance(value, Ints):
            return int(I.concrete(value, "a host computation"))
        if isinstance(value, bool) or not isinstance(value, int):
            raise KernelError("STL002", f"expected an integer, found {describe(value)}")
        return value

    def _sizes(self, args: list) -> tuple[int, ...]:
        if len(args) == 1 and isinstance(args[0], (tuple, list)):
            args = list(args[0])
        return tuple(self.host_int(a) for a in args)

    def call_torch(self, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
        if name in host_arrays.FUNCTIONS:
            return host_arrays.function(self, name, args, kwargs, node)
        sig = S.TORCH.get(name)
        if sig is None:
            raise KernelError("STL002", f"unsupported: torch.{name}")
        a = S.bind(f"torch.{name}", sig, args, kwargs, node)
        init = "zeros" if name.startswith("zeros") else "empty"
        dtype = host_copies.dtype_argument(a["dtype"])
        if name == "full":
            # torch's dtype from the value when none is given: float32 for a float
            fill = a["fill_value"]
            if dtype is None and not isinstance(fill, float):
                raise KernelError(
                    "STL002",
                    f"unsupported: torch.full of {describe(fill)} without `dtype=`",
                    node=node,
                )
            full = new_tensor("<new>", self._sizes(list(a["size"])), "empty", dtype or "float32")
            return host_copies.method(self, full, "fill_", [fill], {}, node)
        if name in ("empty_like", "zeros_like"):
            like = a["input"]
            if not isinstance(like, Tensor):
                raise KernelError("STL002", f"torch.{name} of {describe(like)}")
            return new_tensor("<new>", like.sizes, init, dtype if a["dtype"] else like.dtype)
        return new_tensor("<new>", self._sizes(list(a["size"])), init, dtype or "float32")

    def make_contiguous(self, tensor: Any) -> None:
        if isinstance(tensor, Tensor) and tensor.base is None:
            tensor.strides = row_major(tensor.name, tensor.sizes)

    def call_bound(self, method: BoundMethod, args: list, kwargs: dict, node: cst.Call) -> Any:
        base, name = method.base, method.name
        if isinstance(base, Tensor):
            if name in host_copies.COPY_METHODS:
                return host_copies.method(self, base, name, args, kwargs, node)
            if name in host_arrays.METHODS:
                made = host_arrays.method(self, base, name, args, kwargs, node)
            else:
                made = self.tensor_method(base, name, args, kwargs)
            if isinstance(made, Tensor) and made.base is not None and made.made_at is None:
                made.made_at = self.span(node)
            return made
        if isinstance(base, Block):
            if name == "to":
                return self.call_tl("cast", [base, *args], kwargs, node, receiver=True)
            if name in ("sum", "max", "min", "trans", "permute"):
                return self.call_tl(name, [base, *args], kwargs, node, receiver=True)
            if name in ("reshape", "view", "broadcast_to", "expand_dims"):
                return self.call_tl(name, [base, *args], kwargs, node, receiver=True)
        if isinstance(base, I.Descriptor):
            from . import tl_calls

            return tl_calls.descriptor_call(self, base, name, args, kwargs, node)
        if isinstance(base, (Ints, Mask, blocks.BlockSum, int)) and name == "to":
            return self.call_tl("cast", [base, *args], kwargs, node, receiver=True)
        if isinstance(base, Ptr) and name == "to":
            return base
        if isinstance(base, blocks.BlockSum) and name == "sum":
            return self.call_tl(name, [base, *args], kwargs, node, receiver=True)
        raise KernelError("STL002", f"unsupported method .{name}() of {describe(base)}")

    def tensor_method(self, t: Tensor, name: str, args: list, kwargs: dict) -> Any:
        sig = S.TENSOR.get(name)
        a = S.bind(f"tensor.{name}", sig, args, kwargs, None) if sig is not None else {}
        if name in ("stride", "size"):
            if a["dim"] is None:
                if name == "size":
                    return tuple(t.sizes)
                return tuple(self.stride(t, k) for k in range(len(t.sizes)))
            k = self._dim(t, a["dim"])
            return self.stride(t, k) if name == "stride" else t.sizes[k]
        if name == "numel":
            return t.numel
        if name == "dim":
            return len(t.sizes)
        if name == "element_size":
            # a parameter's dtype is not known: float32's, as docs/triton.md says
            return host_copies.ELEMENT_SIZES.get(t.dtype or "float32", 4)
        if name == "is_contiguous":
            return t.contiguous
        if name == "contiguous":
            if t.contiguous:
                return t
            copy = Tensor(
                t.name, t.sizes, t.dims, row_major(t.name, t.sizes), t.role, t.init, target=t.target
            )
            return copy
        if name in ("reshape", "view", "flatten"):
            sizes = list(self._sizes(args)) if name != "flatten" else self._flattened(t, a)
            if -1 in sizes:
                known = 1
                for s in sizes:
                    known *= s if s != -1 else 1
                sizes[sizes.index(-1)] = t.numel // known if known else 0
            if tuple(sizes) == t.sizes:
                return t
            if math.prod(sizes) != t.numel:
                raise python_error(  # what torch raises
                    RuntimeError(f"shape '{sizes}' is invalid for input of size {t.numel}")
                )
            if t.role != "input" and not t.contiguous:
                raise KernelError(
                    "STL002", "unsupported: a reshaped view of a tensor that may not be contiguous"
                )
            view = Tensor(
                t.name,
                tuple(sizes),
                None,
                row_major(f"{t.name}'", tuple(sizes)),
                t.role,
                t.init,
                base=t.base or t,
            )
            return view
        if name in ("new_empty", "new_zeros"):
            init = "zeros" if name == "new_zeros" else "empty"
            dtype = host_copies.dtype_argument(a["dtype"]) if a["dtype"] is not None else t.dtype
            return new_tensor("<new>", self._sizes(list(a["size"])), init, dtype)
        raise KernelError("STL002", f"unsupported tensor method .{name}()")

    def _flattened(self, t: Tensor, a: dict[str, Any]) -> list[int]:
        """The sizes ``t.flatten(start_dim, end_dim)`` gives: dims start..end as one."""
        if not t.sizes:
            return [-1]
        start, end = self._dim(t, a["start_dim"]), self._dim(t, a["end_dim"])
        if start > end:
            raise python_error(
                RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
            )
        inner = math.prod(t.sizes[start : end + 1])
        return [*t.sizes[:start], inner, *t.sizes[end + 1 :]]

    def _dim(self, t: Tensor, value: Any) -> int:
        """A dim of ``t`` as torch reads one: negative from the end, else IndexError."""
        k = self.host_int(value)
        n = len(t.sizes)
        low, high = (-n, n - 1) if n else (-1, 0)  # a 0-d tensor takes 0 and -1
        if not low <= k <= high:
            raise python_error(
                IndexError(
                    f"Dimension out of range (expected to be in range of [{low}, {high}], "
                    f"but got {k})"
                )
            )
        return k + n if k < 0 else k

    def stride(self, t: Tensor, k: int) -> Any:
        if k == len(t.sizes) - 1:
            return 1
        s = t.strides[k]
        s = self.aliases.get(s, s)
        return I.make((), {s: np.asarray(1)})
