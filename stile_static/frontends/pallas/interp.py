"""The Python-subset interpreter, taught the Pallas API.

The wrapper and the kernel are both interpreted by :class:`PallasInterpreter`
(the shared interpreter with more values and calls): the wrapper on shapes
and launch configurations, the kernel on refs and data blocks, one grid step
at a time (:mod:`grid`). Everything is concrete: sizes come from a case,
program ids from the grid step, and loops are unrolled.
"""

from __future__ import annotations

from typing import Any

import libcst as cst
import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError, Poisoned
from ...interpreter.host import (
    HOST_BUILTINS,
    HostInterpreter,
    catches_import_error,
    names_bound,
)
from ...interpreter.library import NOT_MINE, Library
from ...interpreter.values import (
    MAX_INT_BITS,
    Builtin,
    Function,
    Module,
    Poison,
    SpecText,
    python_error,
)
from ...ir.terms import Load
from . import blocks, classes, contractions, host, signatures
from .api import (
    CONSTANTS,
    IMPORTS,
    MEMBERS,
    PY_BUILTINS,
    Api,
    Loop,
    PallasApi,
    Scope,
    When,
    is_number,
    jitted,
    traced_argument,
)
from .axes import axis_index
from .blocks import Block
from .indices import iota_binary, iota_compare, not_mask
from .values import (
    Array,
    At,
    Bound,
    Closure,
    Dtype,
    FInfo,
    Iota,
    Jitted,
    Mapped,
    Output,
    PallasCall,
    Partial,
    Ref,
    RefView,
    ShapeDtype,
    Traced,
    Vmapped,
    as_block,
    kind,
    untraced,
)


def _reading_arguments(error: BaseException) -> bool:
    """Whether ``error`` was raised in the body of a Pallas API handler itself (as
    reading ``args[1]`` of a call with one argument does), not deeper."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    code = tb.tb_frame.f_code
    api_module = code.co_filename.endswith(("pallas/api.py", "pallas\\api.py"))
    return api_module and (code.co_name.startswith("api_") or code.co_name == "call_api")


class Precondition(Exception):
    """The wrapper raised or failed an assert: the case is outside its domain."""

    def __init__(self, span: Span) -> None:
        super().__init__("precondition")
        self.span = span


class ScalarTest(Exception):
    """A symbolic scalar compared with a number (``sm_scale != 1.0``): the case
    is run again for each outcome (see the front end)."""

    def __init__(self, name: str, value: Any) -> None:
        super().__init__(f"{name} == {value}")
        self.name = name
        self.value = value


class PallasInterpreter(PallasApi, HostInterpreter):
    def __init__(
        self,
        wrapper: cst.MetadataWrapper,
        positions: dict,
        path: str,
        library: Library,
        concrete_seed: int | None = None,
        concrete_shift: float = 0.0,
    ) -> None:
        super().__init__(
            wrapper,
            positions,
            path,
            library,
            induction=False,
            concrete_seed=concrete_seed,
            concrete_shift=concrete_shift,
        )
        self.program_ids: tuple[int, ...] | None = None
        self.grid: tuple[int, ...] = ()
        self.launcher: Any = None  # grid.Launcher, set by the front end
        self.in_kernel = False
        self.statement: Span | None = None
        # outcomes of tests of symbolic scalars this run assumes: (name, value) -> equal
        self.assumed: dict[tuple[str, Any], bool] = {}
        # symbolic scalars passed to a jitted function as arguments that are not
        # static: JAX traces them, so the wrapper cannot branch on their value
        self.traced_scalars: set[str] = set()
        # arrays the wrapper computes with jnp, by id: (the array, where it was made)
        self.made_at: dict[int, tuple[Any, Span]] = {}
        self.vmapped = 0  # depth of functions that jax.vmap maps, being run
        self.needs_items = False  # a vmapped function computes with its launches' results

    def _try_symbolic(self, node: cst.For, name: str, loop: range) -> bool:
        """Python loops of wrappers and kernels are unrolled: every value here is
        concrete, and a body that appends to a list (`outs.append(...)`, one
        launch per chunk) carries it from one iteration to the next."""
        return False

    # --------------------------------------------------------- host arrays

    def host_block(self, value: Any) -> Any:
        """An earlier launch's result, or an input, used as data by the wrapper:
        its whole array."""
        if self.in_kernel or self.launcher is None:
            return value
        if isinstance(value, Mapped) and self.vmapped:
            # jnp on a mapped view: the vmap runs the function item by item instead
            self.needs_items = True
            raise KernelError("STL002", "unsupported: jnp on an array that jax.vmap maps")
        if not isinstance(value, (Output, Array)):
            return value
        if self.vmapped:
            # a launch inside a vmapped function returns the batched array, which
            # the function's own code indexes as if it were one item of the batch:
            # the vmap runs the function item by item instead (see vmap_function)
            self.needs_items = True
            raise KernelError(
                "STL002",
                "unsupported: jnp on an array inside a function that jax.vmap maps",
                help="launch the pallas_call under jax.vmap and compute with its result outside",
            )
        if isinstance(value, Output):
            return self.launcher.content_of(value)
        return self.launcher.whole(value)

    def eval(self, node: cst.CSTNode) -> Any:
        value = super().eval(node)
        if not self.in_kernel and isinstance(value, (Block, blocks.LaneSum)):
            # where the wrapper computed a whole array, for findings about what it holds
            self.made_at.setdefault(id(value), (value, self.span(node)))
        return value

    # ------------------------------------------------------------- modules

    def run_module(self, body: Any = None) -> int:
        """Module level: imports, functions and constants. A statement that
        fails poisons its names (reported only if the wrapper uses them); the
        body of a ``try`` (an import with a fallback) runs, and its handler of
        ImportError when the body could not be followed. The statements that
        failed are counted."""
        failures = 0
        for stmt in self.module.body if body is None else body:
            if isinstance(stmt, cst.Try):
                failed = self.run_module(stmt.body.body) or self.poisoned(stmt.body.body)
                handler = next((h for h in stmt.handlers if catches_import_error(h)), None)
                if failed and handler is not None:
                    failed = self.run_module(handler.body.body)
                failures += failed
                continue
            if isinstance(stmt, cst.If):
                continue  # `if __name__ == "__main__":` and other scripts
            if isinstance(stmt, cst.SimpleStatementLine) and all(
                isinstance(small, cst.Expr) for small in stmt.body
            ):
                continue  # calls made when the module runs (examples, registrations)
            before = len(self.diagnostics)
            self.exec_stmt(stmt)
            failed = self.diagnostics[before:]
            del self.diagnostics[before:]
            failures += bool(failed)
            for diagnostic in failed:
                self._reported.discard((diagnostic.span, diagnostic.code))
                for name in names_bound(stmt):
                    reason = f"`{name}` could not be followed: {diagnostic.message}"
                    self.store(name, Poison(reason))
        return failures

    def _module(self, dotted: str, node: cst.CSTNode) -> Any:
        known = IMPORTS.get(dotted)
        if known is not None:
            return Module(known)
        return Poison(f"module `{dotted}` is not part of what the Pallas front end follows")

    def exec_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None:
                self.store(alias.asname.name.value, self._module(dotted, alias))  # type: ignore[union-attr]
            else:
                top = dotted.split(".")[0]
                self.store(top, self._module(top, alias))

    def exec_ImportFrom(self, node: cst.ImportFrom) -> None:
        source = _dotted(node.module) if node.module is not None else ""
        if source == "__future__":
            return
        if isinstance(node.names, cst.ImportStar):
            raise KernelError("STL002", f"unsupported: `from {source} import *`")
        for alias in node.names:
            name = _dotted(alias.name)
            local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
            full = f"{source}.{name}"
            if full in IMPORTS:
                value: Any = Module(IMPORTS[full])
            elif source in IMPORTS:
                value = self._member(IMPORTS[source], name)
            else:
                value = Poison(f"`{name}` from `{source}` is not followed by the analyzer")
            self.store(local, value)

    def _member(self, module: str, name: str) -> Any:
        constants = CONSTANTS.get(module, {})
        if name in constants:
            return constants[name]
        if name in MEMBERS.get(module, set()):
            return Api(f"{module}.{name}")
        return Poison(f"`{module}.{name}` is not part of what the Pallas front end follows")

    def lookup(self, node: cst.Name) -> Any:
        name = node.value
        frame = self.frames[-1]
        if name not in frame.names and name not in self.frames[0].names:
            if name in PY_BUILTINS or name in HOST_BUILTINS:
                return Builtin(name)
        return super().lookup(node)

    # ------------------------------------------------------------ functions

    def exec_ClassDef(self, node: cst.ClassDef) -> None:
        """A dataclass: its fields (with defaults) and methods; nothing else."""
        decorators = [self.eval(d.decorator) for d in node.decorators]
        if node.bases or not any(
            isinstance(d, classes.DataclassDecorator) or d == Api("dataclasses.dataclass")
            for d in decorators
        ):
            raise KernelError("STL002", "unsupported: classes other than plain dataclasses")
        fields: list[tuple[str, Any]] = []
        methods: dict[str, tuple[str, Any]] = {}
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                kinds = [_dotted(d.decorator) for d in stmt.decorators]
                kind_ = (
                    "classmethod"
                    if "classmethod" in kinds
                    else "property"
                    if ("property" in kinds)
                    else "method"
                )
                if any(k not in ("classmethod", "property") for k in kinds):
                    raise KernelError("STL002", "unsupported method decorator", node=stmt)
                plain = stmt.with_changes(decorators=())
                self.positions[plain] = self.positions[stmt]
                defaults = {
                    p.name.value: self.eval(p.default)
                    for p in (*stmt.params.params, *stmt.params.kwonly_params)
                    if p.default is not None
                }
                methods[stmt.name.value] = (kind_, Closure(plain, {}, defaults))
                continue
            if not isinstance(stmt, cst.SimpleStatementLine):
                raise KernelError("STL002", "unsupported statement in a dataclass", node=stmt)
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    default = classes.MISSING if small.value is None else self.eval(small.value)
                    fields.append((small.target.value, default))
                elif isinstance(small, cst.Expr) and isinstance(
                    small.value, (cst.SimpleString, cst.ConcatenatedString)
                ):
                    continue  # a docstring
                elif not isinstance(small, cst.Pass):
                    raise KernelError("STL002", "unsupported statement in a dataclass", node=small)
        self.store(node.name.value, classes.ClassValue(node.name.value, tuple(fields), methods))

    def exec_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is not None:
            raise KernelError("STL002", "unsupported: async functions", node=node)
        defaults = {}
        params = node.params
        for param in (*params.params, *params.kwonly_params):
            if param.default is not None:
                defaults[param.name.value] = self.eval(param.default)
        names = self.frames[-1].names if len(self.frames) > 1 else {}
        value: Any = Closure(node, names, defaults)
        for decorator in reversed(node.decorators):
            value = self.decorate(self.eval(decorator.decorator), value, decorator)
        if value is not None:
            self.store(node.name.value, value)

    def decorate(self, decorator: Any, func: Any, node: cst.Decorator) -> Any:
        if decorator == Api("jax.jit"):
            return jitted(func, {})
        if isinstance(decorator, Partial) and decorator.func == Api("jax.jit"):
            return jitted(func, dict(decorator.kwargs))
        transparent = Api("jax.custom_vjp")
        if decorator == transparent:
            return Jitted(func)
        if isinstance(decorator, Partial) and decorator.func == transparent:
            return Jitted(func)
        if isinstance(decorator, Scope):
            return func
        if isinstance(decorator, When):
            if decorator.holds:
                self.call_value(func, [], {}, node)
            return None
        if isinstance(decorator, Loop):
            for i in decorator.indices:
                self.call_value(func, [Traced(i, "the index of pl.loop")], {}, node)
            return None
        raise KernelError(
            "STL002", f"unsupported decorator ({kind(decorator)})", node=node.decorator
        )

    def call_value(self, func: Any, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        if isinstance(func, Closure):
            return self.call_closure(func, args, kwargs, node)
        if isinstance(func, Partial):
            merged = dict(func.kwargs)
            merged.update(kwargs)
            return self.call_value(func.func, [*func.args, *args], merged, node)
        if isinstance(func, Jitted):
            if func.traces:
                args, kwargs = self._traced_arguments(func, args, kwargs)
            return self.call_value(func.func, args, kwargs, node)
        if isinstance(func, Vmapped) and not _launches(func):
            return self.vmap_function(func, args, kwargs, node)
        if isinstance(func, (PallasCall, Vmapped)):
            if kwargs:
                raise KernelError("STL002", "unsupported: keyword arguments to a pallas_call")
            return self.launcher.launch(func, args, node)
        if isinstance(func, Api):
            return self.call_api(func.name, args, kwargs, node)
        if isinstance(func, Bound):
            return self.call_bound(func, args, kwargs, node)
        if isinstance(func, classes.ClassValue):
            return func.make(args, kwargs)
        if isinstance(func, classes.BoundMethod):
            return self.call_value(func.func, [func.receiver, *args], kwargs, node)
        if isinstance(func, Builtin):
            return self.call_py(func.name, args, kwargs, node)
        if isinstance(func, Dtype) and len(args) == 1:
            return cast(args[0], func, node)  # jnp.float32(x)
        if isinstance(func, Function):
            return self.call_function(func, args, kwargs, node)  # type: ignore[arg-type]
        return super().call_value(func, args, kwargs, node)

    def _traced_arguments(self, func: Jitted, args: list, kwargs: dict) -> tuple[list, dict]:
        """The arguments a jitted function sees: numbers traced unless static."""
        inner = func.func
        while isinstance(inner, Jitted):
            inner = inner.func
        names: list[str] = []
        if isinstance(inner, Closure):
            p = inner.node.params
            names = [q.name.value for q in (*p.posonly_params, *p.params)]
        static = set(func.static_names)
        out_args = []
        for k, value in enumerate(args):
            name = names[k] if k < len(names) else f"argument {k}"
            keep = k in func.static_nums or name in static
            out_args.append(value if keep else traced_argument(value, name))
        out_kwargs = {
            key: value if key in static else traced_argument(value, key)
            for key, value in kwargs.items()
        }
        kept = {
            n
            for k, n in enumerate(names)
            if k < len(args) and (k in func.static_nums or n in static)
        }
        kept |= static & set(kwargs)
        for name, value in [*zip(names, args), *kwargs.items()]:
            scalar = _symbolic_scalar(value, 0)
            if scalar is not None and name not in kept:
                self.traced_scalars.add(scalar[0])
        return out_args, out_kwargs

    def vmap_function(self, func: Vmapped, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        """``jax.vmap(f)(arrays)`` for a function ``f`` that launches a pallas_call:
        ``f`` runs on the mapped views; its launches get the batch grid axis."""
        if kwargs:
            raise KernelError("STL002", "unsupported: keyword arguments to a vmapped function")
        axes = (
            func.in_axes if isinstance(func.in_axes, (tuple, list)) else [func.in_axes] * len(args)
        )
        if func.out_axes != 0 or len(axes) != len(args):
            raise KernelError("STL002", "unsupported: vmap of a function with these axes")
        views = []
        for arg, axis in zip(args, axes):
            if axis is None:
                views.append(arg)
            elif isinstance(arg, (Array, Mapped)):
                views.append(Mapped(arg, axis_index(axis, len(arg.shape), "jax.vmap's in_axes")))
            else:
                raise KernelError("STL002", f"unsupported: vmap over {kind(arg)}")
        mark, reported, reports = len(self.diagnostics), set(self._reported), self.reports
        self.vmapped += 1
        self.needs_items = False
        result: Any = None
        try:
            result = self.call_value(func.func, views, {}, node)
        except (KernelError, Poisoned):
            if not self.needs_items:
                raise
        finally:
            self.vmapped -= 1
        if not self.needs_items and _launched(result):
            return result
        # the function computes with what its launches return: vmap(f)(x) is f of
        # each item, stacked, which is what JAX computes (f is pure); the launches
        # of the first try are left unused and what they reported is dropped
        del self.diagnostics[mark:]
        self._reported, self.reports = reported, reports  # reported again item by item
        self.needs_items = False
        normal = [None if a is None else v.axis for a, v in zip(axes, views)]
        return self._vmap_items(func, args, normal, node)

    def reshaped(self, value: Any, shape: tuple[int, ...], what: str) -> Any:
        """A reshape; in the wrapper, one that splits an axis of a whole array in two
        is a :class:`host.Split`, which a pallas_call reads block by block."""
        if not self.in_kernel and isinstance(value, Block) and -1 not in shape:
            view = host.split(value, tuple(shape), f"the array reshaped to {tuple(shape)}")
            if view is not None:
                return view
        return blocks.reshape(value, shape, what)

    def _vmap_items(self, func: Vmapped, args: list, axes: list, node: cst.CSTNode) -> Any:
        wholes = [
            arg if axis is None else blocks.settle(as_block(self.host_block(arg)), "jax.vmap")
            for arg, axis in zip(args, axes)
        ]
        sizes = {w.shape[a] for w, a in zip(wholes, axes) if a is not None}
        if len(sizes) != 1:
            raise KernelError("STL002", "unsupported: vmap over axes of different sizes")
        (batch,) = sizes
        mapped = [(w, a) for w, a in zip(wholes, axes) if a is not None]
        dims = {w.axes[a].dim for w, a in mapped}
        if len(dims) != 1 or None in dims:
            raise KernelError("STL002", "unsupported: vmap over axes of different dims")
        (dim,) = dims
        results = []
        for b in range(batch):
            items = [
                w if a is None else blocks.item(w, a, b, "jax.vmap's mapped item")
                for w, a in zip(wholes, axes)
            ]
            results.append(self.call_value(func.func, items, {}, node))
        return self._stacked(results, dim)

    def _stacked(self, results: list, dim: str) -> Any:
        """The items' results side by side along a new leading axis (out_axes=0)."""
        first = results[0]
        if isinstance(first, (tuple, list)):
            if not all(isinstance(r, type(first)) and len(r) == len(first) for r in results):
                raise KernelError("STL002", "unsupported: vmapped results of different structure")
            parts = [self._stacked([r[k] for r in results], dim) for k in range(len(first))]
            return tuple(parts) if isinstance(first, tuple) else parts
        parts = [
            blocks.unpinned(blocks.settle(as_block(self.host_block(r)), "jax.vmap"), dim, b)
            for b, r in enumerate(results)
        ]
        return blocks.concatenate(parts, 0, "jax.vmap's stacked result")

    def eval_Call(self, node: cst.Call) -> Any:
        func = self.eval(node.func)
        args, kwargs = self.call_arguments(node)
        try:
            return self.call_value(func, args, kwargs, node)
        except (IndexError, TypeError, ValueError, KeyError) as error:
            # raised by a modelled API function reading its own arguments: a form of
            # the call its model does not take. Anything raised deeper is the
            # analyzer's own, reported as an internal error (frontends/cases.py).
            if not _reading_arguments(error):
                raise
            name = getattr(func, "name", None) or "this function"
            raise KernelError(
                "STL002",
                f"unsupported: the arguments of {name}() are not in a form the analyzer "
                f"follows ({type(error).__name__}: {error})",
                help="pass the arguments as the API's documentation names them, positionally",
                node=node,
            ) from None

    # ------------------------------------------------------------ statements

    def exec_Raise(self, node: cst.Raise) -> None:
        if self.in_kernel:
            raise KernelError("STL002", "unsupported: `raise` in a kernel")
        raise Precondition(self.span(node))

    def exec_Assert(self, node: cst.Assert) -> None:
        if not self.truth(self.eval(node.test), node.test):
            if self.in_kernel:
                raise KernelError("STL002", "unsupported: a failing assert in a kernel")
            raise Precondition(self.span(node))

    def exec_Del(self, node: cst.Del) -> None:
        pass  # `del unused_argument`

    def exec_small(self, node: cst.BaseSmallStatement) -> None:
        saved = self.statement
        self.statement = self.span(node)  # where a write to a ref happens
        try:
            super().exec_small(node)
        finally:
            self.statement = saved

    def assign_item(self, base: Any, target: cst.Subscript, value: Any) -> None:
        if not isinstance(base, Ref):
            raise KernelError("STL002", f"unsupported: item assignment to {kind(base)}")
        index = self.index_of(target)
        self.launcher.write(base, index, value, None, self.statement or self.span(target))

    # ---------------------------------------------------------- expressions

    def eval_UnaryOperation(self, node: cst.UnaryOperation) -> Any:
        value = self.eval(node.expression)
        if isinstance(value, (Block, Iota)):
            if isinstance(node.operator, cst.Minus):
                if isinstance(value, Iota):
                    return Iota(value.shape, tuple(-c for c in value.coeffs), -value.const)
                return blocks.unary("neg", value)
            if isinstance(node.operator, cst.BitInvert) and isinstance(value, Block):
                return not_mask(value)
            if isinstance(node.operator, cst.Plus):
                return value
            raise KernelError("STL002", "unsupported unary operator on a block")
        if isinstance(node.operator, cst.Not):
            return not self.truth(value, node)
        if isinstance(node.operator, cst.Minus) and is_number(value):
            return -value
        if isinstance(value, Traced) and isinstance(node.operator, (cst.Minus, cst.Plus)):
            sign = -1 if isinstance(node.operator, cst.Minus) else 1
            return Traced(sign * value.value, value.origin)
        return super().eval_UnaryOperation(node)

    def eval_BinaryOperation(self, node: cst.BinaryOperation) -> Any:
        name = type(node.operator).__name__
        left, right = self.eval(node.left), self.eval(node.right)
        if name == "MatrixMultiply":
            return contractions.matmul(as_block(left), as_block(right), "`@`", node)
        shifts = {"LeftShift": "<<", "RightShift": ">>"}
        if name in shifts:
            return _shift(shifts[name], left, right, node)
        bitwise = {"BitAnd": "&", "BitOr": "|", "BitXor": "^"}
        if name in bitwise:
            traced = [v for v in (left, right) if isinstance(v, Traced)]
            a, b = untraced(left), untraced(right)
            if traced and all(isinstance(v, (bool, int)) for v in (a, b)):
                # `(pl.program_id(0) == 0) & (i == 0)`: a traced bool (or int)
                result = {"&": a & b, "|": a | b, "^": a ^ b}[bitwise[name]]
                return Traced(result, traced[0].origin)
            if isinstance(left, bool) and isinstance(right, bool):
                return {"&": left and right, "|": left or right, "^": left != right}[bitwise[name]]
            return blocks.binary(bitwise[name], as_block(left), as_block(right))
        return super().eval_BinaryOperation(node)

    def binary(self, op: str, left: Any, right: Any) -> Any:
        left, right = self.host_block(left), self.host_block(right)
        if isinstance(left, Traced) or isinstance(right, Traced):
            origin = (left if isinstance(left, Traced) else right).origin
            a, b = untraced(left), untraced(right)
            result = self.binary(op, a, b)
            if is_number(result) or isinstance(result, bool):
                return Traced(result, origin)
            return result
        if isinstance(left, Iota) or isinstance(right, Iota):
            return iota_binary(op, left, right)
        if isinstance(left, (Block, blocks.LaneSum)) or isinstance(right, (Block, blocks.LaneSum)):
            if op == "**" and type(right) is int and 1 <= right <= 8:
                # a small integer power is a product (gelu's ``x ** 3``)
                block = base = as_block(left)
                for _ in range(right - 1):
                    block = blocks.binary("*", block, base)
                return block
            if op not in ("+", "-", "*", "/", "maximum", "minimum"):
                raise KernelError("STL002", f"unsupported operator `{op}` on data blocks")
            return blocks.binary(op, as_block(left), as_block(right))
        if isinstance(left, (tuple, list)) and isinstance(right, (tuple, list)) and op == "+":
            return type(left)([*left, *right])
        if op in ("maximum", "minimum"):
            a, b = left, right
            return max(a, b) if op == "maximum" else min(a, b)
        if is_number(left) and is_number(right):
            if op == "/" and isinstance(left, float) or isinstance(right, float):
                if op == "/" and right == 0:  # of Python numbers: Python raises
                    raise python_error(ZeroDivisionError("division by zero"))
        return super().binary(op, left, right)

    def eval_Comparison(self, node: cst.Comparison) -> Any:
        left = self.eval(node.left)
        result: Any = True
        for target in node.comparisons:
            right = self.eval(target.comparator)
            holds = self.compare_values(type(target.operator).__name__, left, right, node)
            if isinstance(holds, Block):
                if len(node.comparisons) != 1:
                    raise KernelError("STL002", "unsupported: chained comparison of blocks")
                return holds
            if isinstance(holds, Traced):
                if len(node.comparisons) != 1:  # `a < b < c` is `a < b and b < c`
                    raise holds.static_error("a chained comparison", node)
                return holds
            if not holds:
                return False
            left = right
        return result

    def compare_values(self, op: str, left: Any, right: Any, node: cst.CSTNode) -> Any:
        if op in ("Is", "IsNot"):
            same = left is right or (left is None and right is None)
            return same if op == "Is" else not same
        if op in ("In", "NotIn"):
            traced = [
                v
                for v in (left, *(right if isinstance(right, (tuple, list)) else ()))
                if isinstance(v, Traced)
            ]
            if traced:  # `in` compares with == and takes the truth of each result
                raise traced[0].static_error("`in`", node)
            if not isinstance(right, (tuple, list)):
                raise KernelError("STL002", "unsupported: `in` of a non-sequence")
            found = any(_equal(left, item) for item in right)
            return found if op == "In" else not found
        symbols = {
            "LessThan": "<",
            "LessThanEqual": "<=",
            "GreaterThan": ">",
            "GreaterThanEqual": ">=",
            "Equal": "==",
            "NotEqual": "!=",
        }
        if op not in symbols:
            raise KernelError("STL002", "unsupported comparison operator")
        symbol = symbols[op]
        if isinstance(left, Traced) or isinstance(right, Traced):
            origin = (left if isinstance(left, Traced) else right).origin
            result = self.compare_values(op, untraced(left), untraced(right), node)
            return Traced(result, origin) if isinstance(result, bool) else result
        if isinstance(left, Iota) or isinstance(right, Iota):
            return iota_compare(symbol, left, right)
        scalar = _symbolic_scalar(left, right)
        if scalar is not None and scalar[0] in self.traced_scalars:
            scalar = None  # a traced scalar: a comparison of data, not a case split
        if scalar is not None and symbol in ("==", "!="):
            name, value = scalar
            if (name, value) not in self.assumed:
                raise ScalarTest(name, value)
            equal = self.assumed[(name, value)]
            return equal if symbol == "==" else not equal
        if scalar is not None:
            # an ordering test of a scalar input known when JAX traces the kernel
            # (a static Python number the spec names): Python would decide it, for
            # each value of the scalar, and the case is not split on it
            raise KernelError(
                "STL002",
                f"unsupported: a test `{symbol}` of the scalar `{scalar[0]}`, which the spec "
                "leaves symbolic",
                help=f"give `{scalar[0]}` a value on the case line",
            )
        if isinstance(left, (Block, blocks.LaneSum)) or isinstance(right, (Block, blocks.LaneSum)):
            # a comparison of data: a mask only jnp.where takes (a Select term)
            return blocks.compare(symbol, as_block(left), as_block(right))
        if symbol in ("==", "!="):
            same = _equal(left, right)
            return same if symbol == "==" else not same
        if not (is_number(left) and is_number(right)):
            raise KernelError("STL002", f"unsupported comparison of {kind(left)} and {kind(right)}")
        return {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[symbol]

    def truth(self, value: Any, node: cst.CSTNode) -> bool:
        if isinstance(value, Traced):
            raise value.static_error("Python control flow (`if`, `while`, `and`, `not`)", node)
        if value is None:
            return False
        if isinstance(value, (tuple, list)):
            return bool(value)
        if isinstance(value, (Block, Iota)):
            raise KernelError(
                "STL005",
                f"Python control flow on {kind(value)}: JAX cannot take the truth value of a "
                "traced array",
                notes=("JAX raises a TracerBoolConversionError when it traces the kernel",),
                help="use jnp.where for values, pl.when for statements, lax.fori_loop for loops",
                node=node,
            )
        if isinstance(value, (Dtype, Ref, Array, Output)):
            return True
        return super().truth(value, node)

    def eval_BooleanOperation(self, node: cst.BooleanOperation) -> Any:
        left = self.eval(node.left)
        if isinstance(node.operator, cst.And):
            return self.eval(node.right) if self.truth(left, node.left) else left
        return left if self.truth(left, node.left) else self.eval(node.right)

    def eval_Attribute(self, node: cst.Attribute) -> Any:
        base = self.eval(node.value)
        attr = node.attr.value
        if isinstance(base, Module):
            if base.name in IMPORTS.values() or base.name in CONSTANTS:
                value = self._member(base.name, attr)
                if isinstance(value, Poison):
                    raise KernelError("STL002", f"unsupported: {value.reason}")
                return value
            return super().eval_Attribute(node)
        return self.attribute(base, attr)

    def attribute(self, base: Any, attr: str) -> Any:
        method = self.python_attribute(base, attr)
        if method is not NOT_MINE:
            return method
        if isinstance(base, classes.Instance):
            value = base.get(attr)
            if value is not classes.MISSING:
                return value
            kind_, func = base.cls.methods.get(attr, ("", None))
            if kind_ == "property":
                return self.call_value(func, [base], {}, None)  # type: ignore[arg-type]
            if func is not None:
                return classes.BoundMethod(func, base.cls if kind_ == "classmethod" else base)
        if isinstance(base, classes.ClassValue):
            kind_, func = base.methods.get(attr, ("", None))
            if kind_ == "classmethod":
                return classes.BoundMethod(func, base)
            defaults = dict(base.fields)
            if attr in defaults and defaults[attr] is not classes.MISSING:
                return defaults[attr]
        if attr == "shape":
            if isinstance(
                base, (Array, ShapeDtype, Output, Block, Iota, blocks.LaneSum, Mapped, host.Split)
            ):
                return tuple(base.shape)
            if isinstance(base, Ref):
                return base.shape
        if attr == "dtype":
            if isinstance(base, (Array, ShapeDtype, Output, Mapped)):
                return base.dtype
            if isinstance(base, (Ref, Block)):
                return Dtype("float32")
        if attr == "ndim" and isinstance(base, (Array, Output, Block, Ref)):
            return len(base.shape)
        if attr == "size" and isinstance(base, (Array, Output, Block, Ref)):
            return int(np.prod(base.shape))
        if isinstance(base, Mapped) and attr in HOST_METHODS:
            base = self.host_block(base)  # not followed batched: item by item instead
        if (
            isinstance(base, Output)
            and attr in HOST_METHODS
            or (isinstance(base, Array) and attr in HOST_METHODS - {"reshape", "astype"})
        ):
            base = self.host_block(base)  # jnp on what the launch returned
        if attr == "T" and isinstance(base, Block):
            return blocks.transpose(base)
        if attr == "at" and isinstance(base, Ref):
            return At(base)
        if isinstance(base, FInfo) and base.attribute(attr) is not None:
            return base.attribute(attr)
        if attr == "itemsize" and isinstance(base, Dtype):
            return 2 if "16" in base.name else 1 if "8" in base.name else 4
        methods = {
            Block: {"astype", "sum", "max", "min", "mean", "reshape", "squeeze", "swapaxes", "T"},
            blocks.LaneSum: {"astype", "sum", "max"},
            Iota: {"astype"},
            Array: {"reshape", "astype"},
            Ref: {"astype"},
        }
        for cls, names in methods.items():
            if isinstance(base, cls) and attr in names:
                return Bound(base, attr)
        raise KernelError("STL002", f"unsupported attribute `.{attr}` of {kind(base)}")

    def eval_Subscript(self, node: cst.Subscript) -> Any:
        base = self.eval(node.value)
        if isinstance(base, At):
            return RefView(base.ref, self.index_of(node))
        if isinstance(base, Ref):
            return self.launcher.read(base, self.index_of(node), self.span(node))
        if isinstance(base, (Output, Array)):
            base = self.host_block(base)
        if isinstance(base, (Block, Iota)):
            return self.launcher.slice_value(base, self.index_of(node), self.span(node))
        if isinstance(base, dict):
            index = self.index_of(node)
            if len(index) != 1 or isinstance(index[0], Traced):
                raise KernelError("STL002", "unsupported: this key of a dict")
            key = index[0].value if isinstance(index[0], SpecText) else index[0]
            if key not in base:
                raise KernelError("STL002", f"no key {key!r} in the dict")
            return base[key]
        if isinstance(base, (tuple, list)):
            index = self.index_of(node)
            if len(index) != 1:
                raise KernelError("STL002", "unsupported: a multi-dimensional index of a sequence")
            (item,) = index
            if isinstance(item, Traced):
                raise item.static_error("an index of a Python sequence", node)
            if isinstance(item, slice):
                return base[item]
            if not isinstance(item, int):
                raise KernelError(
                    "STL002", f"a sequence index must be an integer, not {kind(item)}"
                )
            try:
                return base[item]
            except IndexError:
                raise KernelError("STL002", f"index {item} out of range") from None
        raise KernelError("STL002", f"unsupported subscript of {kind(base)}")

    def index_of(self, node: cst.Subscript) -> tuple:
        out: list = []
        for element in node.slice:
            part = element.slice
            if isinstance(part, cst.Slice):
                if part.step is not None:
                    raise KernelError("STL002", "unsupported: a slice with a step")
                lo = None if part.lower is None else self.eval(part.lower)
                hi = None if part.upper is None else self.eval(part.upper)
                out.append(slice(lo, hi))
            else:
                value = self.eval(part.value)  # type: ignore[union-attr]
                if isinstance(value, tuple) and len(node.slice) == 1:
                    out.extend(value)
                else:
                    out.append(value)
        return tuple(out)

    # ---------------------------------------------------------------- calls

    def call_py(self, name: str, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        for value in [*args, *kwargs.values()]:
            if isinstance(value, Traced):
                if name == "abs":
                    return Traced(abs(value.value), value.origin)
                raise value.static_error(f"{name}()", node)
        python = self.python_call(name, args, kwargs, node)
        if python is not NOT_MINE:
            return python
        if name == "len":
            (value,) = args
            if isinstance(value, (tuple, list)):
                return len(value)
            if isinstance(value, (Array, Block, Ref, Output)):
                return value.shape[0]
            raise KernelError("STL002", f"unsupported: len() of {kind(value)}")
        if name == "slice":
            return slice(*args)
        if name in ("tuple", "list"):
            (value,) = args if args else ((),)
            if not isinstance(value, (tuple, list, range)):
                raise KernelError("STL002", f"unsupported: {name}() of {kind(value)}")
            return tuple(value) if name == "tuple" else list(value)
        if name in ("ValueError", "TypeError", "NotImplementedError", "AssertionError"):
            return None
        if name == "isinstance":
            raise KernelError("STL002", "unsupported: isinstance()")
        if name == "float" and args and isinstance(args[0], SpecText):
            return super().call_builtin(name, args, {}, node)  # type: ignore[arg-type]
        if name in ("min", "max") and len(args) == 1 and isinstance(args[0], (tuple, list)):
            return min(args[0]) if name == "min" else max(args[0])
        if kwargs:
            raise KernelError("STL002", f"unsupported: keyword arguments to {name}()")
        return super().call_builtin(name, args, {}, node)  # type: ignore[arg-type]

    def call_bound(self, method: Bound, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        receiver, name = method.receiver, method.name
        if name == "astype":
            dtype = args[0] if args else kwargs.get("dtype")
            return cast(receiver, dtype, node)
        if name in ("sum", "max", "min", "mean"):
            # an array's method takes the arguments of the jnp function after `a`
            bound = signatures.bind(f"jnp.{name}", [receiver, *args], kwargs, node, True)
            assert bound is not None
            return self.reduction(name, *bound)
        if name == "reshape":
            if kwargs:
                raise KernelError("STL002", "unsupported: keyword arguments to .reshape()")
            shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], tuple) else tuple(args)
            if isinstance(receiver, Array):
                if shape == receiver.shape:
                    return receiver
                receiver = self.host_block(receiver)
            return self.reshaped(receiver, shape, ".reshape()")
        if name == "swapaxes":
            bound = signatures.bind("jnp.swapaxes", [receiver, *args], kwargs, node, True)
            assert bound is not None
            return self.api_jnp_swapaxes(bound[0], {}, node)
        if name == "squeeze":
            bound = signatures.bind("jnp.squeeze", [receiver, *args], kwargs, node, True)
            assert bound is not None
            return blocks.squeeze(receiver, bound[0][1], ".squeeze()")
        raise KernelError("STL002", f"unsupported method .{name}()")


INTEGER_DTYPES = ("int", "uint", "bool")
# attributes of a launch's result that compute with its elements (jnp array methods)
HOST_METHODS = frozenset(
    {"astype", "sum", "max", "min", "mean", "reshape", "squeeze", "swapaxes", "T"}
)


def cast(value: Any, dtype: Any, node: cst.CSTNode) -> Any:
    """``value.astype(dtype)``: a float type changes only the rounding, which is not
    modelled (values are real numbers); an integer type truncates data, which is
    not followed (STL002). Index vectors and traced scalars are integers already."""
    name = dtype.name if isinstance(dtype, Dtype) else getattr(dtype, "value", None)
    if not isinstance(name, str):
        raise KernelError("STL002", f"unsupported: a cast to {kind(dtype)}", node=node)
    if not name.startswith(INTEGER_DTYPES):
        return value
    if (
        isinstance(value, Iota)
        or (isinstance(value, Traced) and isinstance(value.value, int))
        or (isinstance(value, int) and not isinstance(value, bool))
    ):
        return value
    raise KernelError(
        "STL002",
        f"unsupported: a cast of {kind(value)} to {name}, which truncates toward zero "
        "(and wraps), is not followed",
        notes=("the analyzer takes data as real numbers; an integer cast changes them",),
        help="keep the data in a float type, or check this kernel by other means",
        node=node,
    )


def _shift(op: str, left: Any, right: Any, node: cst.CSTNode) -> Any:
    """``<<`` and ``>>`` of Python ints (block sizes, ``1 << 3``), traced if either is;
    a shift of data is not followed."""
    traced = [v for v in (left, right) if isinstance(v, Traced)]
    a, b = untraced(left), untraced(right)
    if type(a) is not int or type(b) is not int:
        raise KernelError("STL002", f"unsupported: `{op}` of {kind(a)} and {kind(b)}", node=node)
    if b < 0:
        raise python_error(ValueError("negative shift count"), node)
    if op == "<<" and a.bit_length() + b > MAX_INT_BITS:
        raise KernelError("STL002", f"unsupported: an int of more than {MAX_INT_BITS} bits")
    result = a << b if op == "<<" else a >> b
    return Traced(result, traced[0].origin) if traced else result


def _launched(result: Any) -> bool:
    """Whether a vmapped function returned what its launches returned (batched by
    the vmap's grid axis), and nothing it computed on an item itself."""
    if isinstance(result, (tuple, list)):
        return all(_launched(r) for r in result)
    return isinstance(result, Output) or result is None


def _launches(func: Any) -> bool:
    """Whether calling ``func`` launches a pallas_call directly (through vmaps)."""
    while isinstance(func, (Vmapped, Jitted)):
        func = func.func
    return isinstance(func, PallasCall)


def _symbolic_scalar(left: Any, right: Any) -> tuple[str, Any] | None:
    """``(name, number)`` when one side is a symbolic scalar input, the other a number."""
    for a, b in ((left, right), (right, left)):
        if isinstance(a, Block) and not a.shape and is_number(b):
            (cell,) = a.cells
            if isinstance(cell, Load) and not cell.dims:
                return cell.tensor, b
    return None


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, (Block, Iota)) or isinstance(b, (Block, Iota)):
        raise KernelError("STL002", "unsupported: == between blocks (use a mask)")
    return bool(a == b)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""
