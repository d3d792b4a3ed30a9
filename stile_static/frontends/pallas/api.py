"""What the Pallas API means: the modules and names a file may use, and the
calls of jax, jnp, lax, pl, plgpu, pltpu, math and functools (a mixin of
:class:`~stile_static.frontends.pallas.interp.PallasInterpreter`)."""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from typing import Any

import libcst as cst
import numpy as np

from ...core.errors import KernelError
from ...interpreter.values import Function, Module, SpecText, python_error
from ...ir import activations
from ...ir.reals import Real
from ...ir.terms import Unary
from . import blocks, classes, contractions, signatures
from .axes import axis_index
from .blocks import Block, Undef
from .semantics import parallel_axes
from .values import (
    BlockSpec,
    Closure,
    CompilerParams,
    Ds,
    Dtype,
    FInfo,
    GridSpec,
    Iota,
    Jitted,
    PallasCall,
    Partial,
    Ref,
    RefView,
    Scratch,
    ShapeDtype,
    Squeezed,
    Traced,
    Vmapped,
    as_block,
    kind,
    untraced,
)


class Api:
    """A function of jax, jnp, lax, pl, plgpu, pltpu, math or functools."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Api) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Api({self.name})"


IMPORTS = {
    "jax": "jax",
    "jax.numpy": "jnp",
    "jax.lax": "lax",
    "jax.nn": "jax.nn",
    "jax.experimental": "jax.experimental",
    "jax.experimental.pallas": "pl",
    "jax.experimental.pallas.tpu": "pltpu",
    "jax.experimental.pallas.triton": "plgpu",
    "jax.experimental.pallas.gpu": "plgpu",
    "jax.experimental.pallas.mosaic_gpu": "plgpu",
    "functools": "functools",
    "dataclasses": "dataclasses",
    "jax._src.lax.control_flow.for_loop": "for_loop",
    "math": "math",
    "numpy": "np",
}
DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int8", "uint8", "int4", "uint4")
UNARY = {"exp": "exp", "exp2": "exp2", "log": "log", "log2": "log2", "sqrt": "sqrt"}
UNARY |= {"rsqrt": "rsqrt", "sigmoid": "sigmoid", "sin": "sin", "cos": "cos"}
UNARY |= {"abs": "abs", "tanh": "tanh", "erf": "erf", "logistic": "sigmoid"}
REDUCTIONS = {"sum": "sum", "max": "max", "min": "min", "amax": "max", "amin": "min"}
DATA_MODULES = ("jnp", "lax", "jax.nn")  # their calls compute with array elements
IGNORED_CONFIG = (
    "TPUCompilerParams",
    "CompilerParams",
    "TritonCompilerParams",
    "GPUCompilerParams",
)
MEMBERS: dict[str, set[str]] = {
    "jax": {"jit", "vmap", "ShapeDtypeStruct", "custom_vjp", "named_scope"},
    "jax.nn": {"relu", "sigmoid", "gelu"},
    "for_loop": {"for_loop"},
    "jnp": {
        "zeros",
        "zeros_like",
        "ones",
        "ones_like",
        "full",
        "full_like",
        "arange",
        "maximum",
        "minimum",
        "where",
        "mean",
        "dot",
        "matmul",
        "einsum",
        "transpose",
        "swapaxes",
        "reshape",
        "concatenate",
        "squeeze",
        "expand_dims",
        "logical_and",
        "logical_or",
        "square",
        "float32",
        "dtype",
        "finfo",
        "clip",
        "power",
        "tile",
        *(f for f in UNARY if f not in ("erf", "logistic")),
        *REDUCTIONS,
    },
    "lax": {"fori_loop", "div", "rsqrt", "exp", "exp2", "log", "broadcasted_iota", "max", "min"}
    | {"tanh", "erf", "abs", "logistic"}
    | {"dot", "dot_general", "optimization_barrier"},
    "pl": {
        "pallas_call",
        "BlockSpec",
        "cdiv",
        "next_power_of_2",
        "program_id",
        "num_programs",
        "ds",
        "dslice",
        "when",
        "loop",
        "load",
        "store",
        "dot",
        "Squeezed",
        "GridSpec",
        *IGNORED_CONFIG,
    },
    "pltpu": {"PrefetchScalarGridSpec", "VMEM", "repeat", *IGNORED_CONFIG},
    "plgpu": {"load", "store", "dot", *IGNORED_CONFIG},
    "math": {"log2", "log", "sqrt", "exp"},
    "np": {"sqrt", "exp", "log2", "finfo", "dtype"},
    "functools": {"partial"},
    "dataclasses": {"dataclass"},
}
CONSTANTS: dict[str, dict[str, Any]] = {
    "jax": {
        "numpy": Module("jnp"),
        "lax": Module("lax"),
        "nn": Module("jax.nn"),
        "experimental": Module("jax.experimental"),
    },
    "jax.experimental": {"pallas": Module("pl")},
    "lax": {"Precision": Module("lax.Precision")},
    # the precision of a contraction sets only its rounding
    "lax.Precision": {p: f"Precision.{p}" for p in ("DEFAULT", "HIGH", "HIGHEST")},
    "jnp": {"inf": float("inf"), **{d: Dtype(d) for d in DTYPES}},
    "math": {"e": math.e, "inf": float("inf"), "pi": math.pi},
    "np": {"inf": float("inf"), **{d: Dtype(d) for d in DTYPES if d != "bfloat16"}},
    "pltpu": {
        "PARALLEL": "parallel",
        "ARBITRARY": "arbitrary",
        "CORE_PARALLEL": "core_parallel",
        "SUBCORE_PARALLEL": "subcore_parallel",
    },
}
PY_BUILTINS = {"range", "min", "max", "abs", "float", "int", "len", "slice", "tuple", "list"}
PY_BUILTINS |= {"isinstance", "ValueError", "TypeError", "NotImplementedError", "AssertionError"}


def argument_node(call: Any, keyword: str, position: int | None = None) -> Any:
    """The argument of ``call`` given as ``keyword`` (or at ``position``), for a
    diagnostic at the argument itself; the call when it is not written there."""
    if isinstance(call, cst.Call):
        for k, arg in enumerate(call.args):
            if arg.keyword is not None and arg.keyword.value == keyword:
                return arg
            if arg.keyword is None and not arg.star and k == position:
                return arg
    return call


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Fraction)) and not isinstance(value, bool)


class Scope:
    """``jax.named_scope(name)``: a decorator that changes nothing."""


class When:
    def __init__(self, holds: bool) -> None:
        self.holds = holds


class Loop:
    def __init__(self, indices: range) -> None:
        self.indices = indices


def python_unary(fn: str, value: Any) -> float:
    x = float(value)
    table = {
        "exp": math.exp,
        "exp2": lambda v: 2.0**v,
        "log": math.log,
        "log2": math.log2,
        "sqrt": math.sqrt,
        "rsqrt": lambda v: 1 / math.sqrt(v),
        "sin": math.sin,
        "cos": math.cos,
        "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
        "abs": abs,
        "tanh": math.tanh,
        "erf": math.erf,
        "logistic": lambda v: 1 / (1 + math.exp(-v)),
    }
    try:
        return table[fn](x)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise KernelError("STL002", f"{fn}({x}) is not a real number") from None


def known_int(value: Any, what: str) -> int:
    """A static integer: one JAX knows when it traces (a traced one is STL005)."""
    if isinstance(value, Traced):
        raise value.static_error(f"the {what}")
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise KernelError("STL002", f"the {what} must be a known integer, found {kind(value)}")
    return value


def float_dtype(dtype: Any, what: str, node: Any) -> Dtype:
    """The element type of an output or a buffer: a float type, whose rounding is
    not modelled; an integer one (which truncates what is stored) is not followed."""
    name = dtype.name if isinstance(dtype, Dtype) else getattr(dtype, "value", None)
    if not isinstance(name, str):
        raise KernelError("STL002", f"unsupported: {what} of element type {kind(dtype)}", node=node)
    if not name.startswith(("float", "bfloat")):
        raise KernelError(
            "STL002",
            f"unsupported: {what} of type {name} (integer data is not followed: casts to it "
            "truncate)",
            node=argument_node(node, "dtype", 1),
        )
    return Dtype(name)


def jitted(func: Any, options: dict) -> Jitted:
    """``jax.jit(func, static_argnames=..., static_argnums=...)``."""

    def listed(value: Any) -> tuple:
        items = value if isinstance(value, (tuple, list)) else () if value is None else (value,)
        return tuple(getattr(item, "value", item) for item in items)

    names = listed(options.get("static_argnames"))
    nums = listed(options.get("static_argnums"))
    if not all(isinstance(n, str) for n in names) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in nums
    ):
        raise KernelError("STL002", "unsupported: static_argnames or static_argnums of this form")
    return Jitted(func, True, names, nums)


def traced_argument(value: Any, name: str) -> Any:
    """An argument of a jitted function that is not static: JAX traces the numbers
    in it (a tuple of block sizes becomes a tuple of tracers)."""
    if isinstance(value, (tuple, list)):
        return type(value)(traced_argument(v, name) for v in value)
    if is_number(value) or isinstance(value, bool):
        return Traced(value, f"`{name}`, an argument of a jitted function that is not static")
    return value


def dynamic_int(value: Any, what: str) -> int:
    """An integer that JAX may trace (a ``pl.ds`` start, a loop bound)."""
    return known_int(untraced(value), what)


def traced_if(result: Any, *args: Any) -> Any:
    """``result`` traced when one of ``args`` is (arithmetic on a traced scalar)."""
    for a in args:
        if isinstance(a, Traced):
            return Traced(result, a.origin)
    return result


def shape_items(shape: Any) -> tuple:
    if isinstance(shape, (tuple, list)):
        return tuple(shape)
    return (shape,)


def shape_of(shape: Any) -> tuple[int, ...]:
    return tuple(known_int(s, "shape") for s in shape_items(shape))


def grid_of(grid: Any) -> tuple[int, ...]:
    if grid is None:
        return ()
    return shape_of(grid)


class PallasApi:
    """The ``api_MODULE_NAME`` handlers of the interpreter's calls; the methods
    they use (``call_value``, ``binary``, ``truth``, ``span``) and the grid state
    (``program_ids``, ``grid``, ``launcher``) are the interpreter's."""

    program_ids: tuple[int, ...] | None
    grid: tuple[int, ...]
    launcher: Any
    frames: list
    host_block: Any

    def for_gpu(self, params: Any) -> bool:
        """Whether the kernel is written for a GPU: GPU compiler parameters, or a
        GPU backend of Pallas imported by the file."""
        if isinstance(params, CompilerParams):
            return params.backend == "plgpu"
        return any(value == Module("plgpu") for value in self.frames[0].names.values())

    def reduction(self, name: str, args: list, kwargs: dict) -> Block:
        block = as_block(args[0])
        axis = kwargs.get("axis", args[1] if len(args) > 1 else None)
        keepdims = bool(kwargs.get("keepdims", False))
        axes = (
            list(range(block.ndim))
            if axis is None
            else list(axis)
            if isinstance(axis, (tuple, list))
            else [axis]
        )
        indices = [axis_index(a, block.ndim, f"jnp.{name} of a block") for a in axes]
        if len(set(indices)) != len(indices):
            raise KernelError("STL005", f"jnp.{name}: an axis is given twice ({axes})")
        axes = sorted(indices, reverse=True)
        op = "sum" if name == "mean" else REDUCTIONS[name]
        count = 1
        for a in axes:
            count *= block.shape[a]
            block = blocks.reduce(block, op, a, keepdims, f"jnp.{name}")
        if name == "mean":
            block = blocks.binary("/", block, as_block(count))
        return block

    def call_api(self, name: str, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        """A call of the API, bound to the real signature first (see :mod:`signatures`):
        handlers get the positional arguments in order with defaults filled, and
        every parameter by name."""
        module, _, fn = name.rpartition(".")
        if module in DATA_MODULES:
            # jnp in the wrapper on what a launch returned: its whole array
            args = [self.host_block(a) for a in args]
            kwargs = {k: self.host_block(v) for k, v in kwargs.items()}
        bound = signatures.bind(name, args, kwargs, node)
        if bound is not None:
            args, kwargs = bound
        if fn in IGNORED_CONFIG:
            if bound is None and args:
                raise KernelError("STL002", f"unsupported: positional arguments to {name}()")
            arguments = signatures.given(name, kwargs) if bound else tuple(kwargs.items())
            return CompilerParams(module, arguments, self.span(node))
        handler = getattr(self, f"api_{module.replace('.', '_')}_{fn}", None)
        if handler is not None:
            return handler(args, kwargs, node)
        if fn in UNARY and module in ("jnp", "lax", "math", "np"):
            (value,) = args
            if is_number(value):
                return python_unary(fn, value)
            return blocks.unary(UNARY[fn], as_block(value))
        if fn in REDUCTIONS or fn == "mean":
            return self.reduction(fn, args, kwargs)
        if module in ("jnp",) and fn in ("maximum", "minimum"):
            return self.binary(fn, *args)
        raise KernelError("STL002", f"unsupported call to {name}()")

    # jax ---------------------------------------------------------------

    def api_jax_jit(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        options = tuple(
            (k, kwargs[k]) for k in ("static_argnames", "static_argnums") if kwargs[k] is not None
        )
        if args[0] is signatures.NOT_GIVEN:  # jax.jit(static_argnames=...) as a decorator
            return Partial(Api("jax.jit"), (), options)
        return jitted(args[0], dict(options))

    def api_jax_vmap(self, args: list, kwargs: dict, node: cst.CSTNode) -> Vmapped:
        in_axes = kwargs.get("in_axes", args[1] if len(args) > 1 else 0)
        out_axes = kwargs.get("out_axes", args[2] if len(args) > 2 else 0)
        return Vmapped(args[0], in_axes, out_axes)

    def api_jax_ShapeDtypeStruct(self, args: list, kwargs: dict, node: cst.CSTNode) -> ShapeDtype:
        shape = kwargs.get("shape", args[0] if args else None)
        dtype = kwargs.get("dtype", args[1] if len(args) > 1 else Dtype("float32"))
        return ShapeDtype(shape_of(shape), float_dtype(dtype, "an output", node))

    def api_jax_named_scope(self, args: list, kwargs: dict, node: cst.CSTNode) -> Scope:
        return Scope()

    def api_jax_custom_vjp(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return Jitted(args[0]) if args else Partial(Api("jax.custom_vjp"), (), ())

    def api_for_loop_for_loop(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        """``for_loop(n, body, init)``: ``body(i, refs)`` updates refs holding ``init``."""
        if len(args) != 3:
            raise KernelError("STL002", "for_loop takes a count, a body and initial values")
        count = known_int(args[0], "for_loop count")
        body, init = args[1], args[2]
        single = not isinstance(init, (tuple, list))
        values = [init] if single else list(init)
        refs = [Ref(f"for_loop carry {k}", "scratch", as_block(v)) for k, v in enumerate(values)]
        carry: Any = refs[0] if single else tuple(refs)
        for i in range(count):
            self.call_value(body, [i, carry], {}, node)
        out = [r.content for r in refs]
        return out[0] if single else tuple(out)

    def api_dataclasses_dataclass(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return classes.DataclassDecorator()

    def api_jax_nn_relu(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return self.binary("maximum", args[0], 0)

    def api_jax_nn_sigmoid(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return blocks.unary("sigmoid", as_block(args[0]))

    def api_jax_nn_gelu(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        """jax.nn.gelu: the tanh approximation unless ``approximate=False`` (jax's default
        is the approximation, torch's the exact erf form)."""
        approximate = untraced(args[1])
        if not isinstance(approximate, bool):
            raise KernelError(
                "STL002",
                f"unsupported: jax.nn.gelu with approximate={kind(approximate)} (expected "
                "True or False)",
                node=argument_node(node, "approximate", 1),
            )
        x = args[0]
        half_x = self.binary("*", activations.HALF.value, x)
        if approximate:  # the terms of activations.gelu_tanh, operation by operation
            cube = self.binary("*", self.binary("*", x, x), x)
            inner = self.binary("+", x, self.binary("*", activations.GELU_CUBIC.value, cube))
            arg = self.binary("*", activations.SQRT_2_OVER_PI.value, inner)
            return self.binary(
                "*", half_x, self.binary("+", 1, blocks.unary("tanh", as_block(arg)))
            )
        root = Real(math.sqrt(2), activations.SQRT_2)  # those of activations.gelu
        erf = blocks.unary("erf", as_block(self.binary("/", x, root)))
        return self.binary("*", half_x, self.binary("+", 1, erf))

    def api_jnp_power(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        """jnp.power(x, n) for a small integer n: a product (``x ** n``)."""
        exponent = untraced(args[1])
        if type(exponent) is not int or not 1 <= exponent <= 8:
            raise KernelError(
                "STL002",
                f"unsupported: jnp.power with the exponent {kind(exponent)} (only the "
                "integers 1 to 8 are followed, as products)",
                node=argument_node(node, "x2", 1),
            )
        return self.binary("**", args[0], exponent)

    def api_jnp_clip(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        """jnp.clip(x, min, max) is minimum(maximum(x, min), max); either bound may be None."""
        out = args[0]
        if out is None:
            raise KernelError("STL002", "unsupported: jnp.clip without an array")
        if args[1] is not None:
            out = self.binary("maximum", out, args[1])
        if args[2] is not None:
            out = self.binary("minimum", out, args[2])
        return out

    def api_functools_partial(self, args: list, kwargs: dict, node: cst.CSTNode) -> Partial:
        return Partial(args[0], tuple(args[1:]), tuple(kwargs.items()))

    # pl ----------------------------------------------------------------

    def api_pl_pallas_call(self, args: list, kwargs: dict, node: cst.CSTNode) -> PallasCall:
        kernel = args[0] if args else kwargs.get("kernel")
        spec = kwargs.get("grid_spec")
        if spec is not None:
            if not isinstance(spec, GridSpec):
                raise KernelError("STL002", f"unsupported grid_spec ({kind(spec)})")
            grid, ins, outs, scratch = spec.grid, spec.in_specs, spec.out_specs, spec.scratch_shapes
        else:
            grid = grid_of(kwargs.get("grid", ()))
            ins, outs = kwargs.get("in_specs"), kwargs.get("out_specs")
            scratch = tuple(kwargs.get("scratch_shapes", ()) or ())
        if "out_shape" not in kwargs:
            raise KernelError("STL002", "pallas_call without out_shape")
        aliases = kwargs.get("input_output_aliases")
        if aliases:
            raise KernelError(
                "STL002",
                "unsupported: input_output_aliases (an output that starts as an input) is "
                "not modelled",
                node=argument_node(node, "input_output_aliases"),
            )
        params = kwargs.get("compiler_params")
        parallel = parallel_axes(params, len(grid), argument_node(node, "compiler_params"))
        gpu = self.for_gpu(params)
        if gpu:
            # on a GPU every grid step is a program of its own, all running at once
            parallel = (True,) * len(grid)
        return PallasCall(
            kernel,
            grid,
            ins,
            outs,
            kwargs["out_shape"],
            scratch,
            self.span(node),
            parallel,
            params.span if isinstance(params, CompilerParams) and not gpu else None,
        )

    def api_pl_BlockSpec(self, args: list, kwargs: dict, node: cst.CSTNode) -> BlockSpec:
        shape, index_map = kwargs["block_shape"], kwargs["index_map"]
        if isinstance(shape, (Closure, Partial, Function)):
            raise KernelError(
                "STL005",
                "the block shape of this BlockSpec is a function: jax 0.10.2 takes "
                "BlockSpec(block_shape, index_map)",
                notes=("the order BlockSpec(index_map, block_shape) is gone from JAX",),
                help="swap the two arguments, or pass them as block_shape= and index_map=",
                node=signatures.argument_node(
                    node, signatures.SIGNATURES["pl.BlockSpec"], "block_shape"
                ),
            )
        block_shape = None
        if shape is not None:
            block_shape = tuple(
                None if s is None or isinstance(s, Squeezed) else known_int(s, "block size")
                for s in shape_items(shape)
            )
        return BlockSpec(block_shape, index_map, self.span(node))

    def api_pl_Squeezed(self, args: list, kwargs: dict, node: cst.CSTNode) -> Squeezed:
        return Squeezed()

    def api_pl_GridSpec(self, args: list, kwargs: dict, node: cst.CSTNode) -> GridSpec:
        return self._grid_spec(kwargs)

    def api_pltpu_PrefetchScalarGridSpec(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        if kwargs.get("num_scalar_prefetch", 0) != 0:
            raise KernelError("STL002", "unsupported: scalar prefetch (num_scalar_prefetch > 0)")
        return self._grid_spec(kwargs)

    def _grid_spec(self, kwargs: dict) -> GridSpec:
        return GridSpec(
            grid_of(kwargs.get("grid", ())),
            kwargs.get("in_specs"),
            kwargs.get("out_specs"),
            tuple(kwargs.get("scratch_shapes", ()) or ()),
        )

    def api_pltpu_repeat(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        """``pltpu.repeat(x, repeats, axis)``: ``repeats`` copies of ``x`` side by side
        along ``axis`` (``jnp.tile``), as TPU kernels widen a lane-replicated row
        statistic to a block's width."""
        repeats = known_int(args[1], "repeats of pltpu.repeat")
        block = blocks.settle(as_block(args[0]), "pltpu.repeat")
        axis = axis_index(known_int(args[2], "axis"), block.ndim, "pltpu.repeat", node)
        return _tiled(block, axis, repeats, "pltpu.repeat")

    def api_jnp_tile(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        """``jnp.tile(x, reps)``: copies side by side along each axis (reps padded with
        leading ones to the block's rank, as NumPy does)."""
        block = blocks.settle(as_block(args[0]), "jnp.tile")
        reps = args[1] if isinstance(args[1], (tuple, list)) else (args[1],)
        reps = tuple(known_int(r, "reps of jnp.tile") for r in reps)
        if len(reps) > block.ndim:
            raise KernelError("STL002", "unsupported: jnp.tile that adds axes")
        reps = (1,) * (block.ndim - len(reps)) + reps
        for axis, repeats in enumerate(reps):
            if repeats != 1:
                block = _tiled(block, axis, repeats, "jnp.tile")
        return block

    def api_pltpu_VMEM(self, args: list, kwargs: dict, node: cst.CSTNode) -> Scratch:
        shape = kwargs.get("shape", args[0] if args else ())
        float_dtype(kwargs.get("dtype"), "a scratch buffer", node)
        return Scratch(shape_of(shape), self.span(node))

    def api_pl_cdiv(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        a, b = (dynamic_int(x, "pl.cdiv argument") for x in args)
        if b == 0 and not any(isinstance(x, Traced) for x in args):
            # on Python ints pl.cdiv is `(a + b - 1) // b`: Python raises
            raise python_error(ZeroDivisionError("integer division or modulo by zero"))
        if b == 0:
            raise KernelError("STL002", "pl.cdiv by zero")
        return traced_if(-(-a // b), *args)

    def api_pl_next_power_of_2(self, args: list, kwargs: dict, node: cst.CSTNode) -> int:
        n = known_int(args[0], "next_power_of_2 argument")
        return 1 if n <= 1 else 1 << (n - 1).bit_length()

    def api_pl_program_id(self, args: list, kwargs: dict, node: cst.CSTNode) -> Traced:
        if self.program_ids is None:
            raise KernelError("STL002", "pl.program_id outside a kernel")
        axis = self._grid_axis(kwargs["axis"], "pl.program_id", node)
        return Traced(self.program_ids[axis], f"pl.program_id({axis})")

    def api_pl_num_programs(self, args: list, kwargs: dict, node: cst.CSTNode) -> int:
        if self.program_ids is None:
            raise KernelError("STL002", "pl.num_programs outside a kernel")
        return self.grid[self._grid_axis(kwargs["axis"], "pl.num_programs", node)]

    def _grid_axis(self, axis: Any, what: str, node: cst.CSTNode) -> int:
        """A grid axis as JAX takes it: negative ones count from the end; one out of
        range is the ValueError JAX raises when it traces the kernel."""
        axis = known_int(axis, f"axis of {what}")
        return axis_index(axis, len(self.grid), f"{what} of a grid {self.grid}", node)

    def api_pl_ds(self, args: list, kwargs: dict, node: cst.CSTNode) -> Ds:
        start = kwargs.get("start", args[0] if args else None)
        size = kwargs.get("size", args[1] if len(args) > 1 else None)
        if size is None:
            start, size = 0, start
        return Ds(dynamic_int(start, "pl.ds start"), known_int(size, "pl.ds size"))

    api_pl_dslice = api_pl_ds

    def api_pl_when(self, args: list, kwargs: dict, node: cst.CSTNode) -> When:
        (cond,) = args
        return When(self.truth(untraced(cond), node))

    def api_pl_loop(self, args: list, kwargs: dict, node: cst.CSTNode) -> Loop:
        ints = [dynamic_int(a, "pl.loop bound") for a in args]
        step = kwargs.get("step", 1)
        return Loop(range(*ints, step) if len(ints) == 2 else range(*ints))

    def api_pl_load(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        ref, index = args[0], args[1] if len(args) > 1 else kwargs.get("idx", (Ellipsis,))
        if isinstance(ref, RefView):
            ref, index = ref.ref, ref.index
        if not isinstance(index, tuple):
            index = (index,)
        return self.masked_load(ref, index, kwargs, node)

    def api_plgpu_load(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        target = args[0]
        if isinstance(target, RefView):
            return self.masked_load(target.ref, target.index, kwargs, node)
        if isinstance(target, Ref):
            return self.masked_load(target, (Ellipsis,), kwargs, node)
        raise KernelError("STL002", f"plgpu.load of {kind(target)}")

    def masked_load(self, ref: Any, index: tuple, kwargs: dict, node: cst.CSTNode) -> Block:
        if not isinstance(ref, Ref):
            raise KernelError("STL002", f"load from {kind(ref)}")
        span = self.span(node)
        value = self.launcher.read(ref, index, span, masked=kwargs.get("mask") is not None)
        mask = kwargs.get("mask")
        if mask is None:
            return value
        other = kwargs.get("other")
        fill = (
            as_block(other)
            if other is not None
            else blocks.scalar(
                Undef(span, "lanes a masked load leaves without other="), np.asarray(np.nan)
            )
        )
        return blocks.where(as_block(mask), value, fill)

    def api_pl_store(self, args: list, kwargs: dict, node: cst.CSTNode) -> None:
        ref = args[0]
        if isinstance(ref, RefView):
            ref_, index, value = ref.ref, ref.index, args[1]
        else:
            ref_, index = ref, args[1] if len(args) > 2 else (Ellipsis,)
            value = args[2] if len(args) > 2 else args[1]
        if not isinstance(index, tuple):
            index = (index,)
        self.launcher.write(ref_, index, value, kwargs.get("mask"), self.span(node))

    def api_plgpu_store(self, args: list, kwargs: dict, node: cst.CSTNode) -> None:
        target, value = args[0], args[1] if len(args) > 1 else kwargs.get("val")
        if isinstance(target, RefView):
            self.launcher.write(
                target.ref, target.index, value, kwargs.get("mask"), self.span(node)
            )
        elif isinstance(target, Ref):
            self.launcher.write(target, (Ellipsis,), value, kwargs.get("mask"), self.span(node))
        else:
            raise KernelError("STL002", f"plgpu.store to {kind(target)}")

    def api_pl_dot(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        a, b = as_block(args[0]), as_block(args[1])
        trans_a = kwargs.get("trans_a", args[2] if len(args) > 2 else False)
        trans_b = kwargs.get("trans_b", args[3] if len(args) > 3 else False)
        if a.ndim != 2 or b.ndim != 2:
            raise contractions.refused(
                f"pl.dot of shapes {a.shape} and {b.shape}: it takes two matrices", node
            )
        lc, rc = (0 if trans_a else 1), (1 if trans_b else 0)
        return contractions.dot_general(a, b, ((lc,), (rc,)), ((), ()), "pl.dot", node)

    api_plgpu_dot = api_pl_dot

    # jnp ---------------------------------------------------------------

    def api_jnp_dot(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        return contractions.jnp_dot(as_block(args[0]), as_block(args[1]), node)

    def api_jnp_matmul(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        return contractions.matmul(as_block(args[0]), as_block(args[1]), "jnp.matmul", node)

    def api_jnp_einsum(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        subscripts = args[0].value if isinstance(args[0], SpecText) else args[0]
        at = signatures.argument_node(node, signatures.SIGNATURES["jnp.einsum"], "subscripts")
        if not isinstance(subscripts, str):
            raise KernelError(
                "STL002",
                f"jnp.einsum takes its subscripts as a string, found {kind(subscripts)}",
                node=at,
            )
        operands = [as_block(a, "jnp.einsum operand") for a in args[1:]]
        return contractions.einsum(subscripts, operands, node, at)

    def api_jnp_transpose(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        block = as_block(args[0])
        axes = args[1]
        if axes is None:
            return blocks.transpose(block)
        order = tuple(axis_index(a, block.ndim, "jnp.transpose", node) for a in axes)
        if sorted(order) != list(range(block.ndim)):
            raise contractions.refused(
                f"jnp.transpose: axes {tuple(axes)} are not a permutation of {block.ndim} axes",
                signatures.argument_node(node, signatures.SIGNATURES["jnp.transpose"], "axes"),
            )
        return blocks.transpose(block, order)

    def api_jnp_swapaxes(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        block = as_block(args[0])
        first, second = (axis_index(a, block.ndim, "jnp.swapaxes", node) for a in args[1:3])
        order = list(range(block.ndim))
        order[first], order[second] = second, first
        return blocks.transpose(block, tuple(order))

    def api_jnp_reshape(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        shape = args[1] if isinstance(args[1], (tuple, list)) else (args[1],)
        return self.reshaped(as_block(args[0]), shape_of(shape), "jnp.reshape")

    def api_jnp_concatenate(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        arrays, axis = args[0], args[1]
        if not isinstance(arrays, (tuple, list)) or axis is None:
            raise KernelError(
                "STL002", "unsupported: jnp.concatenate of other than a list on an axis"
            )
        parts = [as_block(self.host_block(a), "jnp.concatenate operand") for a in arrays]
        return blocks.concatenate(parts, axis, "jnp.concatenate")

    def api_jnp_squeeze(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        return blocks.squeeze(as_block(args[0]), args[1], "jnp.squeeze")

    def api_jnp_expand_dims(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        block = as_block(args[0])
        axes = args[1] if isinstance(args[1], (tuple, list)) else (args[1],)
        ndim = block.ndim + len(axes)
        for axis in sorted(axis_index(a, ndim, "jnp.expand_dims", node) for a in axes):
            block = blocks.expand(block, axis)
        return block

    def api_lax_optimization_barrier(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return args[0]  # it only keeps the compiler from moving computations across it

    def _filled(self, shape: Any, fill: Any) -> Block:
        shape = shape_of(shape)
        cell = as_block(fill).cells[0]
        return blocks.uniform(shape, cell, value=np.full(shape, float(fill)))

    def api_jnp_zeros(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        return self._filled(kwargs.get("shape", args[0] if args else ()), 0)

    def api_jnp_ones(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        return self._filled(kwargs.get("shape", args[0] if args else ()), 1)

    def api_jnp_full(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        shape = kwargs.get("shape", args[0] if args else ())
        fill = kwargs.get("fill_value", args[1] if len(args) > 1 else None)
        if not is_number(fill):
            raise KernelError("STL002", "jnp.full takes a number to fill with")
        return self._filled(shape, fill)

    def _like(self, value: Any) -> tuple[int, ...]:
        if isinstance(value, (Block, Ref, Iota)):
            return tuple(value.shape)
        raise KernelError("STL002", f"unsupported: *_like of {kind(value)}")

    def api_jnp_zeros_like(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        return self._filled(self._like(args[0]), 0)

    def api_jnp_ones_like(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        return self._filled(self._like(args[0]), 1)

    def api_jnp_full_like(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        fill = kwargs.get("fill_value", args[1] if len(args) > 1 else None)
        return self._filled(self._like(args[0]), fill)

    def api_jnp_arange(self, args: list, kwargs: dict, node: cst.CSTNode) -> Iota:
        start, stop, step = args[0], args[1], args[2]
        if step is not None and step != 1:
            raise KernelError("STL002", "unsupported: jnp.arange with a step")
        lo = known_int(start, "jnp.arange bound")
        if stop is None:
            return Iota((lo,), (1,), 0)
        hi = known_int(stop, "jnp.arange bound")
        return Iota((max(hi - lo, 0),), (1,), lo)

    def api_lax_broadcasted_iota(self, args: list, kwargs: dict, node: cst.CSTNode) -> Iota:
        shape = shape_of(kwargs.get("shape", args[1]))
        dimension = known_int(kwargs.get("dimension", args[2]), "dimension")
        return Iota(shape, tuple(int(k == dimension) for k in range(len(shape))), 0)

    def api_jnp_where(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        if len(args) != 3 or args[1] is None or args[2] is None:
            raise KernelError("STL002", "unsupported: jnp.where without both branches")
        scalars = [untraced(a) for a in args]
        if isinstance(scalars[0], bool) and all(is_number(v) for v in scalars[1:]):
            # of scalars (a traced program id): one of the two, still traced
            return traced_if(scalars[1] if scalars[0] else scalars[2], *args)
        return blocks.where(as_block(args[0]), as_block(args[1]), as_block(args[2]))

    def api_jnp_square(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return self.binary("*", args[0], args[0])

    def api_jnp_logical_and(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return self._logical("&", args)

    def api_jnp_logical_or(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return self._logical("|", args)

    def _logical(self, op: str, args: list) -> Any:
        a, b = (untraced(v) for v in args[:2])
        if isinstance(a, (bool, int)) and isinstance(b, (bool, int)):
            # of scalars (`pl.program_id(0) == 0`): a scalar, traced if either is
            return traced_if(bool(a and b) if op == "&" else bool(a or b), *args)
        return blocks.binary(op, as_block(args[0]), as_block(args[1]))

    def api_jnp_dtype(self, args: list, kwargs: dict, node: cst.CSTNode) -> Dtype:
        value = args[0].value if isinstance(args[0], SpecText) else args[0]
        if isinstance(value, Dtype):
            return value
        if isinstance(value, str) and value in DTYPES:
            return Dtype(value)  # jnp.dtype("float32")
        raise KernelError("STL002", f"unsupported: jnp.dtype of {kind(value)}")

    api_np_dtype = api_jnp_dtype

    def api_jnp_finfo(self, args: list, kwargs: dict, node: cst.CSTNode) -> FInfo:
        """``jnp.finfo(dtype)`` (also of an array, whose dtype it takes)."""
        value = args[0].value if isinstance(args[0], SpecText) else args[0]
        if isinstance(value, str) and value in DTYPES:
            value = Dtype(value)
        dtype = value if isinstance(value, Dtype) else getattr(value, "dtype", None)
        if not isinstance(dtype, Dtype):
            raise KernelError("STL002", f"unsupported: finfo of {kind(value)}")
        if not FInfo.known(dtype.name):
            raise KernelError(
                "STL005",
                f"finfo of {dtype.name}, which is not a float type",
                notes=("JAX raises a ValueError: finfo takes an inexact (float) type",),
                help="use jnp.iinfo for integer types",
            )
        return FInfo(dtype.name)

    api_np_finfo = api_jnp_finfo

    def api_jnp_float32(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return args[0]

    # lax ---------------------------------------------------------------

    def api_lax_fori_loop(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        if len(args) != 4:
            raise KernelError("STL002", "lax.fori_loop takes lower, upper, body and init")
        lo, hi = (
            dynamic_int(args[0], "fori_loop lower bound"),
            dynamic_int(args[1], "fori_loop upper bound"),
        )
        body, carry = args[2], _traced_carry(args[3])
        for i in range(lo, hi):
            index = Traced(i, "the index of lax.fori_loop")
            carry = _traced_carry(self.call_value(body, [index, carry], {}, node))
            if isinstance(carry, list):
                carry = tuple(carry)
        return carry

    def api_lax_dot_general(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        at = signatures.argument_node(
            node, signatures.SIGNATURES["lax.dot_general"], "dimension_numbers"
        )
        contracting, batch = contractions.dimension_numbers(args[2], "lax.dot_general", at)
        return contractions.dot_general(
            as_block(args[0]), as_block(args[1]), contracting, batch, "lax.dot_general", node
        )

    def api_lax_dot(self, args: list, kwargs: dict, node: cst.CSTNode) -> Block:
        numbers = kwargs["dimension_numbers"]
        if numbers is None:
            return contractions.lax_dot(as_block(args[0]), as_block(args[1]), node)
        at = signatures.argument_node(node, signatures.SIGNATURES["lax.dot"], "dimension_numbers")
        contracting, batch = contractions.dimension_numbers(numbers, "lax.dot", at)
        return contractions.dot_general(
            as_block(args[0]), as_block(args[1]), contracting, batch, "lax.dot", node
        )

    def api_lax_div(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        a, b = (dynamic_int(x, "lax.div argument") for x in args)
        if b == 0:
            raise KernelError("STL002", "lax.div by zero")
        q = abs(a) // abs(b)
        return traced_if(q if (a >= 0) == (b >= 0) else -q, *args)

    # math --------------------------------------------------------------

    def api_math_log2(self, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        if args[0] == math.e:
            # log2(e) exactly: 1 / ln 2, so that exp2(x * log2(e)) is exp(x)
            term = Unary("recip", blocks.LN2)
            return blocks.scalar(term, np.asarray(1 / math.log(2)))
        return math.log2(float(args[0]))

    api_np_log2 = api_math_log2


def _traced_carry(carry: Any) -> Any:
    """A loop carry is traced: numbers in it become traced scalars."""
    if isinstance(carry, (tuple, list)):
        return type(carry)(_traced_carry(c) for c in carry)
    if is_number(carry) or isinstance(carry, bool):
        return Traced(carry, "the carry of lax.fori_loop")
    return carry


def _tiled(block: Block, axis: int, repeats: int, what: str) -> Block:
    """``repeats`` copies of ``block`` side by side along ``axis``. Copies of elements
    along a dim are a value the block algebra does not express (reported if it
    reaches an output); a value constant along the axis is one wider piece."""
    if repeats < 1:
        raise KernelError("STL002", f"unsupported: {what} with {repeats} copies")
    if any(isinstance(c, blocks.PosCond) for c in block.cells):
        # a condition on positions would move with the copies
        raise KernelError("STL002", f"unsupported: {what} of an index condition")
    if block.axes[axis].dim is None and len(block.cuts[axis]) == 2:
        shape = list(block.shape)
        shape[axis] *= repeats
        cuts = list(block.cuts)
        cuts[axis] = (0, shape[axis])
        reps = [1] * block.ndim
        reps[axis] = repeats
        value = None if block.value is None else np.tile(block.value, reps)
        return replace(block, shape=tuple(shape), cuts=tuple(cuts), value=value)
    return blocks.concatenate([block] * repeats, axis, what)
