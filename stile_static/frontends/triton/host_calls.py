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
from ...interpreter.values import Builtin, Function, SpecText
from .. import blocks
from ..blocks import Block
from . import ints as I
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
        if name == "jit":
            if args and isinstance(args[0], (Function, Kernel)):
                return args[0] if isinstance(args[0], Kernel) else Kernel(args[0])
            return Decorator("jit")
        if name == "cdiv":
            a, b = (self.host_int(v) for v in args)
            return -(-a // b)
        if name == "next_power_of_2":
            n = self.host_int(args[0])
            return 1 if n <= 1 else 1 << (n - 1).bit_length()
        if name == "Config":
            values = dict(args[0]) if args else dict(kwargs.get("kwargs", {}))
            return Config(tuple(values.items()), self.span(node))
        if name == "autotune":
            configs = kwargs.get("configs", args[0] if args else [])
            if not all(isinstance(c, Config) for c in configs):
                raise KernelError(
                    "STL002", "unsupported: autotune configs must be triton.Config(...)"
                )
            return Decorator("autotune", configs=tuple(configs))
        if name == "heuristics":
            table = args[0] if args else kwargs.get("values", {})
            if not isinstance(table, dict):
                raise KernelError("STL002", "unsupported: heuristics must be a dict of lambdas")
            return Decorator("heuristics", heuristics=tuple(table.items()))
        raise KernelError("STL002", f"unsupported: triton.{name}")

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
        init = "zeros" if name.startswith("zeros") else "empty"
        if name in ("empty_like", "zeros_like"):
            like = args[0]
            if not isinstance(like, Tensor):
                raise KernelError("STL002", f"torch.{name} of {describe(like)}")
            return new_tensor("<new>", like.sizes, init)
        if name in ("empty", "zeros"):
            return new_tensor("<new>", self._sizes(args), init)
        raise KernelError("STL002", f"unsupported: torch.{name}")

    def make_contiguous(self, tensor: Any) -> None:
        if isinstance(tensor, Tensor) and tensor.base is None:
            tensor.strides = row_major(tensor.name, tensor.sizes)

    def call_bound(self, method: BoundMethod, args: list, kwargs: dict, node: cst.Call) -> Any:
        base, name = method.base, method.name
        if isinstance(base, Tensor):
            return self.tensor_method(base, name, args, kwargs)
        if isinstance(base, Block):
            if name == "to":
                return self.cast(base, args[0] if args else kwargs.get("dtype"), kwargs, node)
            if name in ("sum", "max", "min"):
                return self.call_tl(name, [base, *args], kwargs, node)
            if name in ("trans", "permute"):
                return self.call_tl("trans", [base, *args], kwargs, node)
            if name in ("reshape", "view", "broadcast_to", "expand_dims"):
                return self.call_tl(name, [base, *args], kwargs, node)
        if isinstance(base, I.Descriptor):
            from . import tl_calls

            return tl_calls.descriptor_call(self, base, name, args, node)
        if isinstance(base, (Ints, Mask, blocks.BlockSum, int)) and name == "to":
            return self.cast(base, args[0] if args else kwargs.get("dtype"), kwargs, node)
        if isinstance(base, Ptr) and name == "to":
            return base
        if isinstance(base, blocks.BlockSum) and name == "sum":
            return self.call_tl(name, [base, *args], kwargs, node)
        raise KernelError("STL002", f"unsupported method .{name}() of {describe(base)}")

    def tensor_method(self, t: Tensor, name: str, args: list, kwargs: dict) -> Any:
        if name == "stride":
            if not args:
                return tuple(self.stride(t, k) for k in range(len(t.sizes)))
            k = self.host_int(args[0])
            k = k % len(t.sizes) if t.sizes else 0
            return self.stride(t, k)
        if name == "size":
            return tuple(t.sizes) if not args else t.sizes[self.host_int(args[0])]
        if name == "numel":
            return t.numel
        if name == "dim":
            return len(t.sizes)
        if name == "element_size":
            return 4
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
            sizes = list(self._sizes(args)) if name != "flatten" else [-1]
            if -1 in sizes:
                known = 1
                for s in sizes:
                    known *= s if s != -1 else 1
                sizes[sizes.index(-1)] = t.numel // known if known else 0
            if tuple(sizes) == t.sizes:
                return t
            if math.prod(sizes) != t.numel:
                raise KernelError("STL002", f"cannot reshape {list(t.sizes)} to {sizes}")
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
            return new_tensor(
                "<new>", self._sizes(args), "zeros" if name == "new_zeros" else "empty"
            )
        if name in ("to", "cuda", "float", "half"):
            return t
        raise KernelError("STL002", f"unsupported tensor method .{name}()")

    def stride(self, t: Tensor, k: int) -> Any:
        if k == len(t.sizes) - 1:
            return 1
        s = t.strides[k]
        s = self.aliases.get(s, s)
        return I.make((), {s: np.asarray(1)})
