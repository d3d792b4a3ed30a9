"""Values inside a kernel: data blocks, ``tl.*`` calls, loads, stores and launches.

A mixin of :class:`~.interp.TritonInterpreter`. Numbers and ``tl.*`` results
become blocks (:mod:`..blocks`); pointers are decoded by :mod:`.memory`; a
launch runs every program of its grid for one autotune config.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import Any

import libcst as cst
import numpy as np

from ...core.errors import KernelError, Poisoned
from ...interpreter.values import Function
from ...ir import constants, reals
from ...ir import terms as T
from ...ir.terms import Const, Load, Term
from .. import blocks
from ..blocks import Block, Undef, fold_binary
from . import int_types as IT
from . import ints as I
from . import program_classes, wrap_sizes
from .host import (
    LAUNCH_OPTIONS,
    Closure,
    DType,
    Launch,
    Special,
    SpecScalar,
    Tensor,
    describe,
)
from .ints import Ints, Mask, Ptr
from .memory import load_block, read_back, scalar_piece, store_block, swapped

# torch's and Python's names for integer dtypes
INT_ALIASES = {"long": "int64", "int": "int32", "short": "int16", "bool": "int1"}
FLOAT_TYPES = frozenset(
    "float32 float16 bfloat16 float64 float8e4nv float8e5 float half double".split()
)


class KernelOps:
    def as_block(self, value: Any) -> Block:
        if isinstance(value, Block):
            return value
        if isinstance(value, Special):
            return blocks.uniform(self.special_term(value))
        if isinstance(value, SpecScalar):
            return blocks.uniform(Load(value.name, ()))
        if isinstance(value, blocks.BlockSum):
            raise KernelError(
                "STL002",
                "unsupported: a block that adds elements at different offsets lane by lane "
                "(accumulated over a loop) can only be summed with tl.sum",
            )
        if isinstance(value, Ints) and not value.shape and not value.symbols:
            value = int(value.part(None))  # a Triton integer scalar in data: its value
        piece = scalar_piece(value)
        if piece is not None:
            return blocks.uniform(piece)
        if isinstance(value, Mask):
            # a boolean block in arithmetic is 1 where it holds and 0 elsewhere, as Triton
            # converts it (kernl's `(a - mean) * a_ptr_mask`)
            mask = I.mask_array(value)
            one, zero = blocks.uniform(Const(1), mask.shape), blocks.uniform(Const(0), mask.shape)
            return blocks.select(mask, one, zero)
        if isinstance(value, (Ints, Mask)):
            raise KernelError("STL002", "unsupported: an integer or boolean block used as data")
        raise KernelError("STL002", f"expected a block, found {describe(value)}")

    def special_term(self, value: Special) -> Term:
        term = constants.NAMED[value.name][1]
        if term is None:
            raise KernelError(
                "STL002", f"unsupported: {value.name} has no exact form in the term language"
            )
        return term

    def data_binary(self, op: str, left: Any, right: Any) -> Block:
        if op not in ("+", "-", "*", "/"):
            raise KernelError("STL002", f"unsupported data operator `{op}`")
        names = self.positive
        if isinstance(left, blocks.BlockSum) or isinstance(right, blocks.BlockSum):
            return self.sum_binary(op, left, right)
        a, b = self.as_block(left), self.as_block(right)
        try:
            return blocks.elementwise([a, b], lambda x, y: fold_binary(op, x, y, names))
        except blocks.LayoutMismatch as error:
            if op not in ("+", "-"):
                raise self.blame_swapped([left, right], error) from None
            return self.sum_binary(op, a, b)

    def sum_binary(self, op: str, left: Any, right: Any) -> Any:
        """Arithmetic on a lane-by-lane sum of blocks of different elements."""
        if op == "-":
            right = self.data_binary("*", right, -1)
            op = "+"
        if op == "+":
            a = left if isinstance(left, blocks.BlockSum) else self.as_block(left)
            b = right if isinstance(right, blocks.BlockSum) else self.as_block(right)
            return blocks.add(a, b)
        if op in ("*", "/"):
            total, scale = (left, right) if isinstance(left, blocks.BlockSum) else (right, left)
            if isinstance(scale, blocks.BlockSum) or (op == "/" and scale is left):
                raise KernelError("STL002", "unsupported: a product of accumulated blocks")
            out: Any = None
            for block in total.addends:
                part = (
                    self.data_binary(op, block, scale)
                    if op == "/"
                    else self.data_binary(op, scale, block)
                )
                out = part if out is None else blocks.add(out, part)
            return out
        raise KernelError("STL002", f"unsupported `{op}` on an accumulated block")

    def unary_term(self, fn: str, t: Term) -> Term:
        if fn in ("exp2", "log2", "rsqrt", "sigmoid") or fn in T.UNARY_FUNCTIONS:
            return blocks.lower(fn, t)
        raise KernelError("STL002", f"unsupported: tl.{fn} is not in the term language")

    def cast(self, value: Any, dtype: Any, kwargs: dict, node: cst.Call) -> Any:
        """``value.to(dtype)`` / ``tl.cast(value, dtype)``. Integers convert exactly
        (wrapping to a narrower width); data cast to an integer type would truncate
        symbolic reals, which is not followed (STL002)."""
        if kwargs.get("bitcast"):
            raise KernelError("STL002", "unsupported: a bitcast reinterprets the bits")
        name = INT_ALIASES.get(dtype.name, dtype.name) if isinstance(dtype, DType) else ""
        to_int = name in IT.WIDTHS or name in IT.UNSIGNED
        if name in IT.UNSIGNED and isinstance(value, (Ints, Mask, int, float, Block)):
            raise KernelError(
                "STL002", f"unsupported: a cast to {name} (unsigned integers are not modelled)"
            )
        if isinstance(value, Mask) and to_int:
            return I.make(value.array.shape, {None: value.array.astype(np.int64)}, dtype=name)
        if isinstance(value, (Ints, int)) and not isinstance(value, bool):
            if to_int:
                site = I.Site(self.span(node), lambda: (self.source_of(node), ()))
                return I.retype(value, name, site)
            if name in FLOAT_TYPES:
                if isinstance(value, int):
                    return float(value)
                if not value.shape:
                    return float(int(I.concrete(value, "a cast")))
                raise KernelError(
                    "STL002",
                    f"unsupported: an integer block cast to {name} (integer blocks are "
                    "followed exactly, float blocks only as loaded data)",
                )
            return value
        if to_int and isinstance(value, float):
            # a Python float meeting Triton is a float32 scalar when it fits one
            # (`to_tensor_type`): rounded to float32 first, then truncated toward zero
            tiny, huge = 2.0**-126, (2 - 2.0**-23) * 2.0**127
            # arithmetic, not a literal or argument
            computed = isinstance(value, reals.Real) and not isinstance(value, reals.Written)
            if value == 0 or tiny <= abs(value) <= huge:
                value = float(np.float32(value))
            if computed and abs(value - round(value)) <= abs(value) * 2.0**-18 + tiny:
                # float arithmetic rounds (not modelled): a value this close to an
                # integer may truncate to either side of it
                raise KernelError(
                    "STL002",
                    f"unsupported: a computed float ({value}) cast to {name}: so close to "
                    "an integer, its truncation depends on rounding, which is not modelled",
                    help="compute the integer with integer arithmetic (`//`, `tl.cdiv`)",
                )
            if not math.isfinite(value):
                raise KernelError("STL002", f"unsupported: {value} cast to {name} is undefined")
            truncated = int(value)  # C's conversion truncates toward zero
            if not IT.fits(truncated, name):
                raise KernelError(
                    "STL002", f"unsupported: {value} does not fit {name} (the cast is undefined)"
                )
            return I.typed(truncated, name)
        if to_int and isinstance(value, (Block, blocks.BlockSum, SpecScalar, Special)):
            raise KernelError(
                "STL002",
                f"unsupported: a cast of data to {name} truncates toward zero, and data are "
                "symbolic reals here: the truncated values are not followed",
                help="keep the values in a float type, or compute the integers from "
                "program ids, `tl.arange` and integer arguments",
            )
        return value

    def call_tl(
        self, name: str, args: list, kwargs: dict, node: cst.Call, receiver: bool = False
    ) -> Any:
        from . import tl_calls

        return tl_calls.call(self, name, args, kwargs, node, receiver)

    # ------------------------------------------------------------ memory

    def do_load(self, ptr: Any, mask: Any, other: Any, node: cst.Call) -> Block:
        if not isinstance(ptr, Ptr):
            raise KernelError("STL002", f"tl.load of {describe(ptr)} (expected a pointer)")
        admitted = (
            np.ones(ptr.shape, bool) if mask is None else np.array(I.mask_array(mask, ptr.shape))
        )
        I.check_offset(ptr, admitted, "the load")
        # the block axes the mask bounds (before broadcasting): an overrun along any
        # other axis is a missing bound, not a bound meant for another dim
        raw = () if mask is None else np.shape(I.mask_array(mask))
        raw = (1,) * (len(ptr.shape) - len(raw)) + tuple(raw)
        masked_axes = frozenset(a for a, n in enumerate(raw) if n > 1)
        other_block = None if other is None else self.as_block(other)
        if self.generic is not None:
            with program_classes.own_findings():
                return program_classes.load(self, ptr, admitted, other_block, node, masked_axes)
        if self.scratch:
            again = read_back(self.scratch, self.memory, ptr.tensor, ptr, admitted, self.span(node))
            if again is not None:
                fill = other_block or blocks.uniform(Undef(self.span(node), "masked off"))
                return blocks.select(admitted, again, fill)
        block, errors = load_block(
            ptr.tensor, ptr, admitted, other_block, self.span(node), self.memory, masked_axes
        )
        for error in errors:
            self.flag(error, node)
        base = ptr.tensor.base or ptr.tensor
        if base.dims and swapped(list(block.axes), base.dims):
            self.swapped_loads[id(block)] = (block, self.span(node), base.name, base.dims)
        return block

    def blame_swapped(self, operands: list, error: KernelError) -> KernelError:
        """A layout mismatch whose operand was loaded along its tensor's dims in swapped
        order: the load's strides are the likely culprit (STL043 at the load)."""
        for value in operands:
            hit = self.swapped_loads.get(id(value))
            if hit is not None and hit[0] is value:
                _, span, name, dims = hit
                return KernelError(
                    "STL043",
                    f"the block loaded from {name} runs along its dims in swapped order "
                    f"({value.describe()}): are its strides swapped?",
                    notes=(f"where it is used: {error.message}",),
                    help=f"{name} has dims {' '.join(dims)}: pair each index with its own "
                    "dim's stride",
                    node=span,
                )
        return error

    def do_store(self, ptr: Any, value: Any, mask: Any, node: cst.Call) -> None:
        if not isinstance(ptr, Ptr):
            raise KernelError("STL002", f"tl.store to {describe(ptr)} (expected a pointer)")
        admitted = (
            np.ones(ptr.shape, bool) if mask is None else np.array(I.mask_array(mask, ptr.shape))
        )
        I.check_offset(ptr, admitted, "the store")
        block = self.as_block(value)
        if self.generic is not None:
            with program_classes.own_findings():
                return program_classes.store(self, ptr, admitted, block, node)
        stored, errors = store_block(ptr.tensor, ptr, admitted, block, self.span(node), self.memory)
        for error in errors:
            self.flag(error, node)
        if stored is not None:
            self.scratch.append(stored)

    # ------------------------------------------------------------ launches

    def run_launch(self, launch: Launch, variant: int = 0) -> str:
        """Run every program of ``launch``, with autotune config ``variant`` (modulo the
        number of configs); returns a description of the config, if there is one."""
        host = self.where  # what the wrapper computes after the launch is the host's
        try:
            return self._run_launch(launch, variant)
        finally:
            self.where = host

    def _run_launch(self, launch: Launch, variant: int) -> str:
        kernel = launch.kernel
        config = kernel.configs[variant % len(kernel.configs)] if kernel.configs else None
        described = ""
        if config is not None:
            chosen = ", ".join(f"{k}={v}" for k, v in (*config.kwargs, *config.options))
            described = (
                f"autotune config {variant % len(kernel.configs) + 1} of "
                f"{len(kernel.configs)} ({chosen})"
            )
        if self.where is not None:
            self.where = replace(self.where, config=described)
        meta = {k: v for k, v in launch.kwargs.items() if k not in LAUNCH_OPTIONS}
        if config is not None:
            meta.update(dict(config.kwargs))
        params = [p.name.value for p in kernel.function.node.params.params]
        named = dict(zip(params, launch.args))
        named.update(meta)
        for key, fn in kernel.heuristics:
            value = self.call(fn, [dict(named)], {}, launch.node)
            meta[key] = value
            named[key] = value
        grid = launch.grid
        if isinstance(grid, (Closure, Function)):
            grid = self.call(grid, [dict(named)], {}, launch.node)
        if not isinstance(grid, (tuple, list)):
            grid = (grid,)
        sizes = [self.host_int(g) for g in grid]
        if not 1 <= len(sizes) <= 3:
            raise KernelError(
                "STL002", f"a launch grid has 1 to 3 dims, not {len(sizes)}", node=launch.node
            )
        self.grid = tuple(sizes) + (1,) * (3 - len(sizes))
        constexprs = {p.name.value for p in kernel.function.node.params.params if _constexpr(p)}
        args = [self.kernel_value(a, p in constexprs) for a, p in zip(launch.args, params)]
        args += [self.kernel_value(a, False) for a in launch.args[len(params) :]]
        kwargs = {k: self.kernel_value(v, k in constexprs) for k, v in meta.items()}
        if self.allow_classes and program_classes.ENABLED and math.prod(self.grid) > 1:
            families = program_classes.run(self, kernel, args, kwargs, launch)
            if families is not None:
                self.families.extend(families)
                return described
        if self.probing:
            # the per-element memory holds every element of every tensor
            raise wrap_sizes.TooLarge("a launch run program by program")
        self.memory.begin_launch()
        saved = (
            self.memory.snapshot(),
            len(self.diagnostics),
            set(self._reported),
            self.reports,
            self.store_failed,
        )
        self.run_programs(kernel, args, kwargs, launch, planning=True)
        if self.memory.run_again:
            # a load read elements no store had written yet, or that another program
            # stores later (a race). Run the launch again, knowing which program stores
            # each element, so that the load reports the race itself and gives no value.
            plan = self.memory.plan()
            memory, ndiag, reported, reports, failed = saved
            self.memory = memory
            del self.diagnostics[ndiag:]
            self._reported, self.reports, self.store_failed = reported, reports, failed
            self.memory.planned = plan
            self.run_programs(kernel, args, kwargs, launch)
        return described

    def run_programs(
        self, kernel: Any, args: list, kwargs: dict, launch: Launch, planning: bool = False
    ) -> None:
        """Every program of the grid in order. When ``planning``, a program that fails
        after a load of unwritten elements does not stop the others: the launch is run
        again anyway, and which program stores what must be known for all of them."""
        for pid in itertools.product(*(range(n) for n in self.grid)):
            self.program = pid
            if self.where is not None:
                self.where = replace(self.where, program=pid, generic=False)
            program_classes.COUNTS["programs"] += 1
            self.memory.program = pid
            self.scratch = []
            self.in_kernel = True
            self.steps = 0
            try:
                self.call_function(kernel.function, list(args), dict(kwargs), launch.node)
            except (KernelError, Poisoned):
                if not (planning and self.memory.run_again):
                    raise
            finally:
                self.in_kernel = False

    def kernel_value(self, value: Any, constexpr: bool = False) -> Any:
        """An argument as the kernel sees it: an integer argument that is not a
        constexpr is an int32 scalar tensor, or int64 when its value needs it."""
        if isinstance(value, Tensor):
            return Ptr(value, I.lift(0))
        if isinstance(value, SpecScalar):
            return blocks.uniform(Load(value.name, ()))
        if constexpr:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            # Triton's compiler specializes an argument equal to 1 into a constexpr
            return I.typed(value, IT.argument_type(value), weak=value == 1)
        if isinstance(value, Ints) and value.dtype is None and not value.shape:
            least = int(I.least_value(value))
            return I.retype(value, IT.argument_type(least))
        return value


def _constexpr(param: cst.Param) -> bool:
    """A parameter annotated ``tl.constexpr`` (or ``triton.language.constexpr``)."""
    if param.annotation is None:
        return False
    node = param.annotation.annotation
    if isinstance(node, cst.Attribute):
        return node.attr.value == "constexpr"
    return isinstance(node, cst.Name) and node.value == "constexpr"
