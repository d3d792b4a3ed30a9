"""Abstract interpreter for the typed-NumPy kernel dialect.

It walks the libcst tree of a kernel file, one handler per node kind, with
values that are ints (possibly symbolic loop indices), dims, tiles carrying
their DimType and term, results and helper functions. It never imports or
runs the file. How loops are followed (a symbolic index, induction on
invariants, or unrolling) lives in :mod:`loops`; the typing rules of tile
operations in :mod:`tiles`.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import libcst as cst
import numpy as np
from libcst.metadata import CodeRange

from ..core.diagnostics import Diagnostic, Span
from ..core.errors import KernelError, Poisoned
from ..ir import symbolic as sym
from ..ir.obligations import Facts, Obligation, Result, Write
from ..ir.specs import InputInfo
from ..ir.symbolic import NeedsUnroll, Sym
from ..ir.tiles import Tile
from ..spec.parser import SpecError
from .library import NOT_MINE, Library
from .loops import LoopRules, Tracker, target_names
from .values import (
    Builtin,
    Function,
    Method,
    Module,
    Poison,
    SpecText,
    as_int,
    as_number,
    kind,
    number_binary,
    sym_binary,
)

MAX_STEPS = 400_000
MAX_DEPTH = 40


# Python's own modules, as far as kernels use them: constants and functions of numbers
MODULE_ATTRS: dict[str, dict[str, Any]] = {
    "np": {"inf": float("inf"), "pi": None, "sqrt": Builtin("sqrt"), "exp": Builtin("exp")},
    "math": {"inf": float("inf"), "sqrt": Builtin("sqrt"), "exp": Builtin("exp")},
}
BUILTINS = {n: Builtin(n) for n in ("range", "min", "max", "abs", "float", "int")}
UNSUPPORTED_BUILTINS = set(dir(builtins)) - set(BUILTINS)
ONE_ARGUMENT = {"abs", "float", "int", "sqrt", "exp"}
PYTHON_CALLS = {"range", "min", "max", "abs", "float", "int", "sqrt", "exp"}
KNOWN_MODULES = {"numpy": "np", "math": "math"}


class _Budget(Exception):
    """Unrolling exceeded MAX_STEPS."""


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass
class _Frame:
    names: dict[str, Any]


class Interpreter(LoopRules):
    def __init__(
        self,
        wrapper: cst.MetadataWrapper,
        positions: dict,
        path: str,
        library: Library,
        induction: bool = True,
        concrete_seed: int | None = None,
        concrete_shift: float = 0.0,
    ) -> None:
        self.module = wrapper.module
        self.positions = positions
        self.path = path
        self.library = library
        self.diagnostics: list[Diagnostic] = []
        self._reported: set[tuple[Span, str]] = set()
        self.dims: dict[str, int] = {}
        self.inputs: dict[str, InputInfo] = {}
        self.results: dict[str, Result] = {}
        self.obligations: list[Obligation] = []
        self.writes: list[Write] = []
        self.frames: list[_Frame] = [_Frame({})]
        self.trackers: list[Tracker] = []
        self.steps = 0
        self.over_budget = False
        # the tile each variable or call evaluated to, for editor hovers (last one wins)
        self.tile_types: dict[Span, Any] = {}
        self.allow_empty_dim_slices = False  # prefixes of a loop invariant may be empty
        # The concrete domain (cross-check): tiles also carry NumPy arrays computed
        # from seeded random inputs, and every loop is unrolled.
        self.concrete_seed = concrete_seed
        self.concrete_shift = concrete_shift
        self.input_values: dict[str, np.ndarray] = {}
        self.induction = induction and concrete_seed is None
        self.assumptions: tuple[Span, ...] = ()  # invariants of loops proven by induction

    # ------------------------------------------------------------------ entry

    def run(self) -> Facts:
        try:
            self.exec_block(self.module.body)
        except _Budget:
            self.over_budget = True
        except _Return:
            pass
        return Facts(
            self.dims,
            self.inputs,
            self.results,
            self.obligations,
            self.writes,
            self.input_values,
            complete=not self.over_budget,
        )

    # ------------------------------------------------------------ reporting

    def span(self, node: cst.CSTNode) -> Span:
        rng: CodeRange = self.positions[node]
        return Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)

    def report(self, error: KernelError, fallback: cst.CSTNode) -> None:
        node = error.node if isinstance(error.node, cst.CSTNode) else fallback
        span = error.node if isinstance(error.node, Span) else self.span(node)
        key = (span, error.code)
        if key in self._reported:
            return  # the same error in every unrolled iteration is reported once
        self._reported.add(key)
        self.diagnostics.append(
            Diagnostic(
                self.path, span, error.code, error.message, notes=error.notes, help=error.help
            )
        )

    # ------------------------------------------------------------ statements

    def exec_block(self, body: Any) -> None:
        statements = body.body if isinstance(body, cst.BaseSuite) else body
        if isinstance(body, cst.SimpleStatementSuite):
            statements = body.body
        for stmt in statements:
            self.exec_stmt(stmt)

    def exec_stmt(self, stmt: cst.CSTNode) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.report(
                KernelError(
                    "STL002",
                    f"more than {MAX_STEPS} statements to interpret; "
                    "the loops are too large to unroll",
                ),
                stmt,
            )
            raise _Budget
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._guarded(small, self.exec_small)
            return
        handler: Callable[[Any], None] | None = getattr(self, f"exec_{type(stmt).__name__}", None)
        if handler is None:
            self.report(self._unsupported(stmt), stmt)
            # what it assigns is unknown now; later uses stay silent (no cascade)
            for name in assigned_names(stmt):
                self.store(name, Poison())
            return
        self._guarded(stmt, handler)

    def _guarded(self, node: cst.CSTNode, handler: Callable[[Any], None]) -> None:
        try:
            handler(node)
        except KernelError as error:
            self.report(error, node)
            self._poison_targets(node)
        except Poisoned:
            self._poison_targets(node)

    def _unsupported(self, node: cst.CSTNode) -> KernelError:
        kind = {
            "While": "a `while` loop",
            "Try": "a `try` statement",
            "With": "a `with` statement",
            "ClassDef": "a class definition",
            "Break": "`break`",
            "Continue": "`continue`",
            "Global": "`global`",
            "Nonlocal": "`nonlocal`",
            "Raise": "`raise`",
            "Del": "`del`",
            "Assert": "an `assert` statement",
            "Match": "a `match` statement",
        }.get(type(node).__name__, f"this construct ({type(node).__name__})")
        return KernelError(
            "STL002",
            f"unsupported: {kind} cannot be followed by the analyzer",
            help="kernels may use range loops, if/else, helper functions and the typed-NumPy API",
        )

    def _poison_targets(self, node: cst.CSTNode) -> None:
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            targets = [node.target]
        self.library.statement_failed(self, node)
        for target in targets:
            for name in target_names(target):
                self.store(name, Poison())

    def exec_small(self, node: cst.BaseSmallStatement) -> None:
        handler = getattr(self, f"exec_{type(node).__name__}", None)
        if handler is None:
            raise self._unsupported(node)
        handler(node)

    def exec_Pass(self, node: cst.Pass) -> None:
        pass

    def exec_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString)):
            return  # a docstring
        self.eval(node.value)

    def exec_Assign(self, node: cst.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self.assign_target(target.target, value, node.value)

    def exec_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is None:
            return
        self.assign_target(node.target, self.eval(node.value), node.value)

    def exec_AugAssign(self, node: cst.AugAssign) -> None:
        op = _BINOPS.get(type(node.operator).__name__.replace("Assign", ""))
        if op is None:
            raise KernelError("STL002", "unsupported augmented assignment operator")
        value = self.binary(op, self.eval(node.target), self.eval(node.value))
        self.assign_target(node.target, value, node.value)

    def assign_target(
        self, target: cst.BaseExpression, value: Any, value_node: cst.CSTNode
    ) -> None:
        if isinstance(target, cst.Name):
            value = self.library.bind(self, target.value, value, value_node)
            if _hoverable(value):
                self.tile_types[self.span(target)] = value
            self.store(target.value, value)
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            if not isinstance(value, tuple) or len(value) != len(target.elements):
                count = len(value) if isinstance(value, tuple) else "a non-tuple"
                raise KernelError(
                    "STL002",
                    f"cannot unpack {count} value(s) into {len(target.elements)} names",
                    node=target,
                )
            for element, item in zip(target.elements, value):
                self.assign_target(element.value, item, value_node)
            return
        raise KernelError("STL002", "unsupported assignment target", node=target)

    def exec_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = dotted(alias.name)
            if alias.asname is not None:
                local = alias.asname.name.value  # type: ignore[union-attr]
                self.store(local, self._module(name, alias))
            else:
                top = name.split(".")[0]
                self.store(top, self._module(top, alias))

    def _module(self, dotted: str, node: cst.CSTNode) -> Any:
        known = self.library.modules.get(dotted) or KNOWN_MODULES.get(dotted)
        return (
            Module(known)
            if known
            else Poison(f"module `{dotted}` is not part of the kernel dialect")
        )

    def exec_ImportFrom(self, node: cst.ImportFrom) -> None:
        source = dotted(node.module) if node.module is not None else ""
        if source == "__future__":
            return
        if isinstance(node.names, cst.ImportStar):
            raise KernelError("STL002", f"unsupported: `from {source} import *`")
        for alias in node.names:
            name = dotted(alias.name)
            local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
            value = self.library.import_from(source, name)
            if value is NOT_MINE:
                members = MODULE_ATTRS.get(KNOWN_MODULES.get(source, ""), {})
                value = members.get(name)
            if value is None or value is NOT_MINE:
                value = Poison(f"`{name}` from `{source}` is not part of the kernel dialect")
            self.store(local, value)

    def exec_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is not None:
            raise KernelError("STL002", "unsupported: async functions", node=node)
        if node.decorators:
            raise KernelError("STL002", "unsupported: decorated functions", node=node.decorators[0])
        defaults = {}
        for param in node.params.params:
            if param.default is not None:
                defaults[param.name.value] = self.eval(param.default)
        if node.params.star_arg not in (None, cst.MaybeSentinel.DEFAULT) or node.params.star_kwarg:
            raise KernelError(
                "STL002", "unsupported: *args or **kwargs parameters", node=node.params
            )
        self.store(node.name.value, Function(node, defaults))

    def exec_Return(self, node: cst.Return) -> None:
        if len(self.frames) == 1:
            raise KernelError("STL002", "`return` outside a function")
        raise _Return(None if node.value is None else self.eval(node.value))

    def exec_If(self, node: cst.If) -> None:
        if self.truth(self.eval(node.test), node.test):
            self.exec_block(node.body)
        elif isinstance(node.orelse, cst.If):
            self.exec_stmt(node.orelse)
        elif isinstance(node.orelse, cst.Else):
            self.exec_block(node.orelse.body)

    def _snapshot(self) -> tuple:
        return (
            [dict(f.names) for f in self.frames],
            len(self.diagnostics),
            set(self._reported),
            len(self.obligations),
            len(self.writes),
            dict(self.dims),
            dict(self.inputs),
            {k: (v, v.complete) for k, v in self.results.items()},
            self.steps,
        )

    def _restore(self, saved: tuple) -> None:
        frames, ndiag, reported, nobl, nwrites, dims, inputs, results, _ = saved
        for frame, names in zip(self.frames, frames):
            frame.names = names
        del self.diagnostics[ndiag:]
        self._reported = reported
        del self.obligations[nobl:]
        del self.writes[nwrites:]
        self.dims, self.inputs = dims, inputs
        self.results = {}
        for k, (v, complete) in results.items():
            v.complete = complete
            self.results[k] = v

    # ----------------------------------------------------------------- names

    def store(self, name: str, value: Any) -> None:
        for tracker in self.trackers:
            tracker.written.add(name)
        self.frames[-1].names[name] = value

    def lookup(self, node: cst.Name) -> Any:
        name = node.value
        for tracker in self.trackers:
            if name not in tracker.written:
                tracker.read_first.add(name)
        frame = self.frames[-1]
        if name in frame.names:
            value = frame.names[name]
        elif name in self.frames[0].names:
            value = self.frames[0].names[name]
        elif name in BUILTINS:
            value = BUILTINS[name]
        elif name == "__name__":
            value = SpecText("__main__", node)  # the file is checked as the main program
        elif name in UNSUPPORTED_BUILTINS:
            raise KernelError(
                "STL002",
                f"unsupported: `{name}` (input/output and introspection are not followed)",
                node=node,
            )
        else:
            raise KernelError("STL003", f"name `{name}` is not defined", node=node)
        if isinstance(value, Poison):
            if value.reason is not None:
                raise KernelError("STL002", f"unsupported: {value.reason}", node=node)
            raise Poisoned
        return value

    # ---------------------------------------------------------- expressions

    def eval(self, node: cst.BaseExpression) -> Any:
        handler = getattr(self, f"eval_{type(node).__name__}", None)
        if handler is None:
            raise KernelError(
                "STL002",
                f"unsupported expression ({type(node).__name__}) in a kernel",
                node=node,
            )
        try:
            value = handler(node)
        except KernelError as error:
            if error.node is None:
                error.node = node
            raise
        if isinstance(node, (cst.Name, cst.Call)) and _hoverable(value):
            self.tile_types[self.span(node)] = value
        return value

    def eval_Name(self, node: cst.Name) -> Any:
        if node.value in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.value]
        return self.lookup(node)

    def eval_Integer(self, node: cst.Integer) -> int:
        return int(node.evaluated_value)

    def eval_Float(self, node: cst.Float) -> float:
        return float(node.evaluated_value)

    def eval_SimpleString(self, node: cst.SimpleString) -> SpecText:
        return SpecText(str(node.evaluated_value), node)

    def eval_ConcatenatedString(self, node: cst.ConcatenatedString) -> SpecText:
        value = node.evaluated_value
        if not isinstance(value, str):
            raise KernelError("STL002", "unsupported: f-strings and bytes in a kernel")
        return SpecText(value, node)

    def eval_Tuple(self, node: cst.Tuple) -> tuple:
        return tuple(self.eval(e.value) for e in node.elements)

    def eval_UnaryOperation(self, node: cst.UnaryOperation) -> Any:
        value = self.eval(node.expression)
        if isinstance(node.operator, (cst.Minus, cst.Plus)):
            op = "-" if isinstance(node.operator, cst.Minus) else "+"
            done = self.library.unary(self, op, value)
            if done is not NOT_MINE:
                return done
        if isinstance(node.operator, cst.Minus):
            if isinstance(value, Sym):
                return sym.scale(value, -1)
            return -as_number(value, node)
        if isinstance(node.operator, cst.Plus):
            return value
        if isinstance(node.operator, cst.Not):
            return not self.truth(value, node)
        raise KernelError("STL002", "unsupported unary operator")

    def eval_BinaryOperation(self, node: cst.BinaryOperation) -> Any:
        op = _BINOPS.get(type(node.operator).__name__)
        if op is None:
            symbol = node.operator._get_token()  # type: ignore[attr-defined]
            raise KernelError("STL002", f"unsupported binary operator `{symbol}`")
        left, right = self.eval(node.left), self.eval(node.right)
        if op == "+" and isinstance(left, SpecText) and isinstance(right, SpecText):
            return SpecText(left.value + right.value, node)  # specs built from pieces
        try:
            return self.binary(op, left, right)
        except KernelError as error:
            if error.help is None:
                texts = (self.source_of(node.left), self.source_of(node.right))
                error.help = self.library.operator_help(op, left, right, *texts)
            raise

    def source_of(self, node: cst.CSTNode) -> str:
        """The node's text as written, for help lines that quote the kernel."""
        return self.module.code_for_node(node).strip()

    def binary(self, op: str, left: Any, right: Any) -> Any:
        done = self.library.binary(self, op, left, right)
        if done is not NOT_MINE:
            return done
        if op == "maximum":
            return max(as_number(left, None), as_number(right, None))
        if op == "@":
            raise KernelError("STL002", "unsupported operator `@` on numbers")
        if isinstance(left, Sym) or isinstance(right, Sym):
            return sym_binary(op, left, right)
        return number_binary(op, as_number(left, None), as_number(right, None))

    def eval_BooleanOperation(self, node: cst.BooleanOperation) -> bool:
        left = self.truth(self.eval(node.left), node.left)
        if isinstance(node.operator, cst.And):
            return left and self.truth(self.eval(node.right), node.right)
        return left or self.truth(self.eval(node.right), node.right)

    def eval_Comparison(self, node: cst.Comparison) -> bool:
        left = self.eval(node.left)
        for target in node.comparisons:
            op = _COMPARE.get(type(target.operator).__name__)
            if op is None:
                raise KernelError("STL002", "unsupported comparison operator", node=target)
            right = self.eval(target.comparator)
            if isinstance(left, SpecText) and isinstance(right, SpecText) and op in ("==", "!="):
                holds = (left.value == right.value) == (op == "==")  # `__name__ == "__main__"`
            else:
                holds = sym.compare(op, as_int(left, node), as_int(right, node))
            if not holds:
                return False
            left = right
        return True

    def eval_IfExp(self, node: cst.IfExp) -> Any:
        if self.truth(self.eval(node.test), node.test):
            return self.eval(node.body)
        return self.eval(node.orelse)

    def truth(self, value: Any, node: cst.CSTNode) -> bool:
        if isinstance(value, Sym):
            return sym.compare("!=", value, 0)
        if isinstance(value, (bool, int, float, Fraction)):
            return bool(value)
        raise KernelError("STL002", "unsupported condition: only ints can be tested", node=node)

    def eval_Attribute(self, node: cst.Attribute) -> Any:
        base = self.eval(node.value)
        attr = node.attr.value
        if isinstance(base, Module):
            members = self.library.members.get(base.name) or MODULE_ATTRS.get(base.name, {})
            if attr in members and members[attr] is not None:
                return members[attr]
            raise KernelError(
                "STL002", f"unsupported: `{base.name}.{attr}` is not part of the kernel dialect"
            )
        value = self.library.attribute(self, base, attr)
        if value is not NOT_MINE:
            return value
        raise KernelError("STL002", f"unsupported attribute `.{attr}` of {kind(base)}")

    def eval_Subscript(self, node: cst.Subscript) -> Any:
        base = self.eval(node.value)
        value = self.library.subscript(self, base, node)
        if value is not NOT_MINE:
            return value
        raise KernelError(
            "STL002", "unsupported subscript: only a dim can be sliced, as in `K[0:5]`"
        )

    def eval_Call(self, node: cst.Call) -> Any:
        func = self.eval(node.func)
        args = []
        kwargs: dict[str, Any] = {}
        for arg in node.args:
            if arg.star:
                raise KernelError("STL002", "unsupported: *args in a call", node=arg)
            value = self.eval(arg.value)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            else:
                args.append(value)
        if isinstance(func, Function):
            return self.call_function(func, args, kwargs, node)
        if isinstance(func, Builtin):
            return self.call_builtin(func.name, args, kwargs, node)
        if isinstance(func, Method):
            value = self.library.call_method(self, func, args, kwargs, node)
            if value is NOT_MINE:
                raise KernelError("STL002", f"unsupported method .{func.name}()")
            return value
        raise KernelError("STL002", f"unsupported call of {kind(func)}")

    # ----------------------------------------------------------------- calls

    def call_function(self, func: Function, args: list, kwargs: dict, node: cst.Call) -> Any:
        if len(self.frames) > MAX_DEPTH:
            raise KernelError("STL002", "unsupported: helper functions nested too deeply")
        params = [p.name.value for p in func.node.params.params]
        if len(args) > len(params):
            raise KernelError("STL002", f"{func.node.name.value}() takes {len(params)} arguments")
        names = dict(zip(params, args))
        for key, value in kwargs.items():
            if key not in params or key in names:
                raise KernelError("STL002", f"unexpected argument `{key}`")
            names[key] = value
        for param in params:
            if param not in names:
                if param not in func.defaults:
                    raise KernelError("STL002", f"missing argument `{param}`")
                names[param] = func.defaults[param]
        self.frames.append(_Frame(names))
        try:
            self.exec_block(func.node.body)
        except _Return as ret:
            return ret.value
        finally:
            self.frames.pop()
        return None

    def call_builtin(self, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
        if name not in PYTHON_CALLS:
            value = self.library.call(self, name, args, kwargs, node)
            if value is NOT_MINE:
                raise KernelError("STL002", f"unsupported call to {name}()")
            return value
        if kwargs:
            raise KernelError("STL002", f"unsupported: keyword arguments to {name}()")
        if name == "range":
            ints = [as_int(a, node) for a in args]
            if not 1 <= len(ints) <= 3:
                raise KernelError("STL002", "range() takes 1 to 3 arguments")
            concrete = [sym.concrete(i) for i in ints]
            if len(concrete) == 3 and concrete[2] == 0:
                raise KernelError("STL002", "range() step must not be zero")
            return range(*concrete)
        if name in ("min", "max"):
            if len(args) < 2:
                raise KernelError("STL002", f"{name}() needs at least two numbers")
            best = args[0]
            for other in args[1:]:
                if isinstance(best, Sym) or isinstance(other, Sym):
                    less = sym.compare("<", as_int(other, node), as_int(best, node))
                else:
                    less = as_number(other, node) < as_number(best, node)
                if less == (name == "min"):
                    best = other
            return best
        if name in ONE_ARGUMENT and len(args) != 1:
            raise KernelError("STL002", f"{name}() takes one argument, {len(args)} given")
        if name in ("abs", "float", "int"):
            (value,) = args
            if name == "float" and isinstance(value, SpecText):
                return _parse_float(value.value)
            if isinstance(value, Sym):
                if name == "int":
                    return value
                raise NeedsUnroll(name)
            number = as_number(value, node)
            return {"abs": abs, "float": float, "int": int}[name](number)
        if name in ("sqrt", "exp"):
            (value,) = args
            if isinstance(value, Tile):
                raise KernelError(
                    "STL002",
                    f"np.{name} and math.{name} work on numbers, not tiles",
                    help=f"use tnp.{name}, which keeps the tile's DimType and ExprType",
                )
            number = float(as_number(value, node))
            if name == "sqrt" and number < 0:
                raise KernelError("STL002", "sqrt of a negative number")
            result = math.sqrt(number) if name == "sqrt" else math.exp(number)
            return int(result) if name == "sqrt" and result == int(result) else result
        raise KernelError("STL002", f"unsupported call to {name}()")


# ------------------------------------------------------------------- helpers

_BINOPS = {
    "Add": "+",
    "Subtract": "-",
    "Multiply": "*",
    "Divide": "/",
    "FloorDivide": "//",
    "Modulo": "%",
    "Power": "**",
    "MatrixMultiply": "@",
}
_COMPARE = {
    "LessThan": "<",
    "LessThanEqual": "<=",
    "GreaterThan": ">",
    "GreaterThanEqual": ">=",
    "Equal": "==",
    "NotEqual": "!=",
}


def dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    return ""


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise KernelError("STL002", f"float({text!r}) is not a number") from None


def inner_span(span: Span, node: cst.CSTNode, start: int, end: int) -> Span:
    """The range of characters ``[start, end)`` of a one-line string literal."""
    if not isinstance(node, cst.SimpleString) or span.line != span.end_line:
        return span
    prefix = len(node.prefix) + len(node.quote)
    if "\\" in node.value:
        return span  # escapes shift offsets: point at the whole literal
    end = max(end, start + 1)
    return Span(span.line, span.column + prefix + start, span.line, span.column + prefix + end)


def spec_error(interp: Interpreter, error: SpecError, text: SpecText) -> KernelError:
    """A spec error located inside the string literal that holds the spec."""
    span = inner_span(interp.span(text.node), text.node, error.start, error.end)
    return KernelError(error.code, f"in spec: {error.message}", help=error.help, node=span)


def _hoverable(value: Any) -> bool:
    """Values an editor shows on hover (tiles and front-end values with a DimType)."""
    return callable(getattr(value, "hover", None)) and not isinstance(value, type)


def assigned_names(node: cst.CSTNode) -> list[str]:
    """Every name a statement may bind, at any depth of its body."""
    found: list[str] = []

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            found.extend(target_names(n.target))

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            found.extend(target_names(n.target))

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            found.extend(target_names(n.target))

        def visit_For(self, n: cst.For) -> None:
            found.extend(target_names(n.target))

        def visit_AsName(self, n: cst.AsName) -> None:
            found.extend(target_names(n.name))  # type: ignore[arg-type]

        def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
            found.extend(target_names(n.target))

        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            found.append(n.name.value)
            return False  # its body binds names of its own scope

        def visit_ClassDef(self, n: cst.ClassDef) -> bool:
            found.append(n.name.value)
            return False

    node.visit(Targets())
    return found
