"""The typed-NumPy dialect of Stile (``stile.numpy``) as a front end.

Its library (:class:`TypedNumpy`) gives the interpreter the dialect's values
and calls: ``dim``, ``tnp.randn`` inputs, ``tnp.TypedResult`` results, tile
methods (``slice``, ``repeat``, ``rearrange``, ``sum``, ``max``), ``einsum``,
the elementwise functions, ``assign`` (a write and an obligation) and
``assert_equivalent`` (an obligation). The typing rules of tile operations
live in :mod:`stile_static.ir.tiles`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Any

import libcst as cst
import numpy as np

from ..core.errors import KernelError
from ..core.scope import Scope
from ..interpreter.core import Interpreter, dotted, spec_error
from ..interpreter.library import NOT_MINE, Library
from ..interpreter.values import Builtin, Method, Module, SpecText, as_int, as_number, kind
from ..ir import symbolic as sym
from ..ir import tiles
from ..ir.obligations import Obligation, Result, Write
from ..ir.specs import InputInfo
from ..ir.symbolic import NeedsUnroll
from ..ir.terms import Load
from ..ir.tiles import Dim, DimSlice, Tile
from ..spec.parser import SpecError, parse_spec
from ..spec.reuse import parse_spec_reusing
from .base import Analysis, FrontEnd, SourceFile, imports_module

TILE_FUNCTIONS = {"tnp.exp": "exp", "tnp.sin": "sin", "tnp.cos": "cos", "tnp.sqrt": "sqrt"}
TILE_METHODS = ("slice", "repeat", "rearrange", "sum", "max", "assert_equivalent")


@dataclass(frozen=True)
class ResultRef:
    """A ``tnp.TypedResult`` bound to a variable."""

    name: str

    @property
    def noun(self) -> str:
        return f"result {self.name}"


class TypedNumpy(Library):
    modules = {"stile.numpy": "tnp", "stile": "stile"}
    members = {
        "tnp": {
            n: Builtin(f"tnp.{n}")
            for n in (
                "randn",
                "TypedResult",
                "einsum",
                "exp",
                "sin",
                "cos",
                "sqrt",
                "maximum",
                "zeros",
            )
        }
        | {"random": Module("tnp.random")},
        "tnp.random": {"randn": Builtin("tnp.randn")},
        "stile": {"dim": Builtin("dim"), "numpy": Module("tnp")},
    }

    # ------------------------------------------------------------ the hooks

    def attribute(self, interp: Interpreter, base: Any, attr: str) -> Any:
        if isinstance(base, Tile) and attr in TILE_METHODS:
            return Method(base, attr)
        if isinstance(base, ResultRef) and attr == "assign":
            return Method(base, attr)
        return NOT_MINE

    def subscript(self, interp: Interpreter, base: Any, node: cst.Subscript) -> Any:
        if isinstance(base, Tile):
            raise _indexing_error(interp, base, node)
        if not isinstance(base, Dim) or len(node.slice) != 1:
            return NOT_MINE
        index = node.slice[0].slice
        if not isinstance(index, cst.Slice) or index.step is not None:
            raise KernelError("STL013", f"a dim slice needs the form {base.name}[start:stop]")
        lo = 0 if index.lower is None else as_int(interp.eval(index.lower), index.lower)
        hi = base.size if index.upper is None else as_int(interp.eval(index.upper), index.upper)
        empty = (
            sym.compare(">", lo, hi) if interp.allow_empty_dim_slices else sym.compare(">=", lo, hi)
        )
        if sym.compare("<", lo, 0) or sym.compare(">", hi, base.size) or empty:
            raise KernelError(
                "STL012", f"{base.name}[{lo}:{hi}] is out of bounds of {base.name}[0:{base.size}]"
            )
        return DimSlice(base, lo, hi)

    def call(self, interp: Interpreter, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
        if kwargs:
            raise KernelError("STL002", f"unsupported: keyword arguments to {name}()")
        if name == "dim":
            return self.make_dim(interp, args, node)
        if name == "tnp.randn":
            return self.make_input(interp, args, node)
        if name == "tnp.TypedResult":
            if len(args) != 1 or not isinstance(args[0], SpecText):
                raise KernelError("STL002", "TypedResult takes one spec string literal", node=node)
            return _NewResult(args[0], node)
        if name in TILE_FUNCTIONS:
            if len(args) != 1:
                raise KernelError("STL002", f"{name}() takes one argument, {len(args)} given")
            (value,) = args
            if isinstance(value, Tile):
                return tiles.unary(TILE_FUNCTIONS[name], value)
            return interp.call_builtin(TILE_FUNCTIONS[name], [value], {}, node)
        if name == "tnp.maximum":
            if len(args) != 2:
                raise KernelError("STL002", "tnp.maximum takes two arguments")
            return interp.binary("maximum", *args)
        if name == "tnp.einsum":
            return self.einsum(interp, args, node)
        if name == "tnp.zeros":
            raise KernelError(
                "STL002",
                "unsupported: tnp.zeros; an accumulator starts as the number 0",
                help="write `acc = 0`, then `acc = acc + tile`: "
                "a number combines with a tile of any DimType",
            )
        return NOT_MINE

    def binary(self, interp: Interpreter, op: str, left: Any, right: Any) -> Any:
        if not (isinstance(left, Tile) or isinstance(right, Tile)):
            return NOT_MINE
        if op not in ("+", "-", "*", "/", "maximum"):
            raise KernelError("STL002", f"unsupported tile operator `{op}`")
        for side in (left, right):
            if not isinstance(side, Tile):
                as_number(side, None)
        return tiles.binary(op, left, right)

    def operator_help(
        self, op: str, left: Any, right: Any, left_text: str, right_text: str
    ) -> str | None:
        if op == "@" and isinstance(left, Tile) and isinstance(right, Tile):
            return f"contract with einsum: {_einsum_hint(left, right, left_text, right_text)}"
        if op == "**" and isinstance(left, Tile) and right == 2:
            return f"square by multiplying: `{left_text} * {left_text}`"
        if op == "**" and isinstance(left, Tile):
            return "powers of tiles are not followed; write products of the tile with itself"
        return None

    def unary(self, interp: Interpreter, op: str, value: Any) -> Any:
        if not isinstance(value, Tile):
            return NOT_MINE
        return tiles.unary("neg", value) if op == "-" else value

    def bind(self, interp: Interpreter, name: str, value: Any, node: cst.CSTNode) -> Any:
        if isinstance(value, (_NewInput, _NewResult)) and interp.loop_vars:
            # Python makes a new one in every iteration: follow them one by one
            raise NeedsUnroll("an input or result created in a loop")
        if isinstance(value, _NewInput):
            if name in interp.inputs:
                raise KernelError("STL013", f"input {name} is defined twice", node=node)
            interp.inputs[name] = InputInfo(name, value.dims_)
            array = None
            if interp.concrete_seed is not None:
                rng = np.random.default_rng([interp.concrete_seed, zlib.crc32(name.encode())])
                array = rng.standard_normal(value.sizes) + interp.concrete_shift
                interp.input_values[name] = array
            return value.bind(name, array)
        if isinstance(value, _NewResult):
            return value.bind(interp, name)
        return value

    def statement_failed(self, interp: Interpreter, node: cst.CSTNode) -> None:
        # a failed assign leaves the result's coverage unknown
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
            func = node.value.func
            if isinstance(func, cst.Attribute) and func.attr.value == "assign":
                try:
                    ref = interp.eval(func.value)
                except Exception:  # noqa: BLE001 (the statement already failed and was reported)
                    return
                result = interp.results.get(ref.name) if isinstance(ref, ResultRef) else None
                if result is not None:
                    result.complete = False

    # ------------------------------------------------------------ the calls

    def make_dim(self, interp: Interpreter, args: list, node: cst.Call) -> Dim:
        if len(args) != 2 or not isinstance(args[0], SpecText) or not isinstance(args[1], int):
            raise KernelError("STL013", "dim() takes a name and an integer size: dim('M', 10)")
        name, size = args[0].value, args[1]
        if not name.isidentifier():
            raise KernelError("STL013", f"dim name {name!r} is not an identifier")
        if size <= 0:
            raise KernelError("STL013", f"dim {name} must have a positive size, not {size}")
        if name in interp.dims and interp.dims[name] != size:
            raise KernelError(
                "STL013",
                f"dim {name} redefined with size {size}",
                notes=(f"it was defined with size {interp.dims[name]}",),
            )
        interp.dims[name] = size
        return Dim(name, size)

    def make_input(self, interp: Interpreter, args: list, node: cst.Call) -> _NewInput:
        if not args or not all(isinstance(a, Dim) for a in args):
            raise KernelError("STL013", "randn() takes the input's dims, e.g. tnp.randn(M, N)")
        names = tuple(a.name for a in args)
        if len(set(names)) != len(names):
            raise KernelError("STL013", f"an input cannot have a dim twice: {' '.join(names)}")
        return _NewInput(names, tuple(a.size for a in args))

    def einsum(self, interp: Interpreter, args: list, node: cst.Call) -> Tile:
        if len(args) < 2 or not isinstance(args[-1], SpecText):
            raise KernelError(
                "STL015", 'einsum takes tiles and a string: einsum(x, y, "M N, N K -> M K")'
            )
        text = args[-1].value
        if "->" not in text:
            raise KernelError("STL015", f"einsum string {text!r} has no `->`", node=args[-1].node)
        lhs, out = text.split("->", 1)
        operand_dims = [tuple(part.split()) for part in lhs.split(",")]
        operands = []
        for value in args[:-1]:
            operands.append(self.tile_of(interp, value))
        return tiles.einsum(operands, operand_dims, tuple(out.split()))

    def tile_of(self, interp: Interpreter, value: Any) -> Tile:
        if isinstance(value, Tile):
            return value
        raise KernelError("STL002", f"expected a tile, found {kind(value)}")

    def call_method(
        self, interp: Interpreter, method: Method, args: list, kwargs: dict, node: cst.Call
    ) -> Any:
        receiver, name = method.receiver, method.name
        if name == "assign":
            return self.assign(interp, receiver, args, node)
        if name == "assert_equivalent":
            return self.assert_equivalent(interp, receiver, args, node)
        if kwargs:
            raise KernelError("STL002", f"unsupported: keyword arguments to .{name}()")
        if name == "slice":
            if len(args) != 3 or not isinstance(args[0], Dim):
                raise KernelError(
                    "STL013", "slice takes a dim, a start and a stop: t.slice(M, i, i + 5)"
                )
            return tiles.slice_tile(receiver, args[0], as_int(args[1], node), as_int(args[2], node))
        if name == "repeat":
            if len(args) != 1:
                raise KernelError("STL013", "repeat takes one dim: t.repeat(K) or t.repeat(K[0:5])")
            (arg,) = args
            if isinstance(arg, Dim):
                return tiles.repeat(receiver, arg, 0, arg.size)
            if isinstance(arg, DimSlice):
                return tiles.repeat(receiver, arg.dim, arg.lo, arg.hi)
            raise KernelError("STL013", f"repeat expects a dim, found {kind(arg)}")
        if name == "rearrange":
            if not all(isinstance(a, Dim) for a in args):
                raise KernelError("STL013", "rearrange takes dims: t.rearrange(N, M)")
            return tiles.rearrange(receiver, tuple(args))
        if name in ("sum", "max"):
            if len(args) != 1 or not isinstance(args[0], Dim):
                raise KernelError("STL013", f"{name} takes one dim: t.{name}(N)")
            return tiles.reduce(receiver, name, args[0])
        return NOT_MINE

    def assign(self, interp: Interpreter, ref: ResultRef, args: list, node: cst.Call) -> None:
        result = interp.results[ref.name]
        if len(args) != 1:
            raise KernelError("STL002", "assign takes one tile")
        (value,) = args
        tile = value if isinstance(value, Tile) else None
        if tile is None:
            raise KernelError("STL030", f"assign expects a tile, found {kind(value)}")
        if result.spec is None:
            result.complete = False
            return  # the spec error is already reported
        self._check_dims(interp, tile, result.spec.out_dims, f"result {ref.name}")
        span = interp.span(node)
        interp.obligations.append(
            Obligation(
                "assign",
                span,
                result.spec_span,
                ref.name,
                tile,
                result.spec,
                result.spec_text,
                interp.assumptions,
            )
        )
        interp.writes.append(Write(ref.name, tile.slices, span, interp.loop_vars))

    def assert_equivalent(
        self, interp: Interpreter, tile: Tile, args: list, node: cst.Call
    ) -> None:
        if not args or not isinstance(args[0], SpecText):
            raise KernelError("STL002", "assert_equivalent takes a spec string literal first")
        text, overrides = args[0], {}
        for arg in args[1:]:
            if not isinstance(arg, DimSlice):
                raise KernelError("STL013", f"dim overrides look like N[0:64], found {kind(arg)}")
            overrides[arg.dim.name] = (sym.bound(arg.lo), sym.bound(arg.hi))
        try:
            spec = parse_spec_reusing(
                text.value, list(interp.inputs.values()), interp.dims, overrides
            )
        except SpecError as error:
            raise spec_error(interp, error, text) from None
        self._check_dims(interp, tile, spec.out_dims, "the spec")
        span = interp.span(node)
        interp.obligations.append(
            Obligation(
                "assert",
                span,
                interp.span(text.node),
                _callee_name(node),
                tile,
                spec,
                text.value,
                interp.assumptions,
            )
        )

    def _check_dims(
        self, interp: Interpreter, tile: Tile, expected: tuple[str, ...], what: str
    ) -> None:
        if tile.dims == expected:
            return
        extra = [d for d in tile.dims if d not in expected]
        missing = [d for d in expected if d not in tile.dims]
        if extra and not missing:
            help_ = f"reduce over {', '.join(extra)} before writing (e.g. .sum({extra[0]}))"
        elif missing and not extra:
            help_ = f"broadcast with .repeat({missing[0]})"
        elif not extra and not missing:
            help_ = f"use .rearrange({', '.join(expected)})"
        else:
            help_ = None
        raise KernelError(
            "STL030",
            f"tile dims do not match {what}",
            notes=(f"expected: {' '.join(expected) or 'scalar'}", f"found:    {tile.describe()}"),
            help=help_,
        )


# ---------------------------------------------------------------- new values


@dataclass(frozen=True)
class _NewInput:
    """``tnp.randn(M, N)`` before it is bound to a name (which names the input)."""

    dims_: tuple[str, ...]
    sizes: tuple[int, ...]

    def bind(self, name: str, value: np.ndarray | None) -> Tile:
        slices = tuple(tiles.Slice(d, 0, s) for d, s in zip(self.dims_, self.sizes))
        return Tile(slices, Load(name, self.dims_), value)


class _NewResult:
    def __init__(self, text: SpecText, node: cst.Call) -> None:
        self.text = text
        self.node = node

    def bind(self, interp: Interpreter, name: str) -> ResultRef:
        # A result is an object, not a name: `d = c; c = TypedResult(...)` leaves d
        # the first result, so a name bound again names a new result.
        key, n = name, 1
        while key in interp.results:
            n += 1
            key = f"{name} ({n})"
        name = key
        spec = None
        spec_span = interp.span(self.text.node)
        try:
            spec = parse_spec(self.text.value, list(interp.inputs.values()), interp.dims)
        except SpecError as error:
            interp.report(spec_error(interp, error, self.text), self.text.node)
        interp.results[name] = Result(
            name, interp.span(self.node), spec, self.text.value, spec_span
        )
        return ResultRef(name)


# ------------------------------------------------------------------- helpers


def _indexing_error(interp: Interpreter, tile: Tile, node: cst.Subscript) -> KernelError:
    """NumPy-style ``a[i:j, k:l]`` on a tile: show the ``.slice`` calls that mean it."""
    name = interp.source_of(node.value)
    calls = []
    for dim, element in zip(tile.dims, node.slice):
        index = element.slice
        if isinstance(index, cst.Slice) and index.step is None:
            lo = "0" if index.lower is None else interp.source_of(index.lower)
            whole = tile.slice_of(dim)
            if index.upper is not None:
                hi = interp.source_of(index.upper)
            else:  # .slice is relative to the tile's current slice: its width
                hi = str(sym.width(whole.lo, whole.hi)) if whole else "stop"
            if index.lower is None and index.upper is None:
                continue  # `:` keeps the whole dim
            calls.append(f".slice({dim}, {lo}, {hi})")
        else:
            calls = []
            break
    example = f"{name}{''.join(calls)}" if calls else f"{name}.slice({tile.dims[0]}, start, stop)"
    return KernelError(
        "STL002",
        "unsupported: tiles are sliced along a named dim, not indexed by position",
        notes=(f"{name} has dims {' '.join(tile.dims)}",),
        help=f"write `{example}`",
        node=node,
    )


def _einsum_hint(left: Tile, right: Tile, left_text: str, right_text: str) -> str:
    """``tnp.einsum(a, b, "M N, N K -> M K")`` with the tiles' own dims, as ``@`` means."""
    shared = left.dims[-1] if left.dims else "?"
    out = [d for d in left.dims[:-1]] + [d for d in right.dims if d != shared]
    spec = f"{' '.join(left.dims)}, {' '.join(right.dims)} -> {' '.join(out)}"
    return f'`tnp.einsum({left_text}, {right_text}, "{spec}")`'


def _callee_name(node: cst.Call) -> str:
    func = node.func
    if isinstance(func, cst.Attribute):
        return dotted(func.value) or "tile"
    return "tile"


class TypedNumpyFrontEnd(FrontEnd):
    """Files that import ``stile``: the kernel is the module itself."""

    name = "typed-numpy"

    def recognises(self, source: SourceFile) -> bool:
        return imports_module(source.module, "stile")

    def interpreter(
        self, source: SourceFile, concrete_seed: int | None = None, concrete_shift: float = 0.0
    ) -> Interpreter:
        return Interpreter(
            source.wrapper,
            source.positions,
            source.path,
            TypedNumpy(),
            concrete_seed=concrete_seed,
            concrete_shift=concrete_shift,
        )

    def analyse(self, source: SourceFile) -> Analysis:
        interp = self.interpreter(source)
        facts = interp.run()
        facts = replace(facts, scope=Scope("file", tuple(facts.dims.items())))
        return Analysis(list(interp.diagnostics), [facts], interp.tile_types)

    def run_concretely(self, source: SourceFile, seed: int, shift: float) -> list:
        return [self.interpreter(source, concrete_seed=seed, concrete_shift=shift).run()]
