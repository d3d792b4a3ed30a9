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
from typing import Any, cast

import libcst as cst
import numpy as np
from libcst.metadata import CodeRange

from ..core.diagnostics import Diagnostic, Span
from ..core.errors import KernelError, Poisoned
from ..ir import reals
from ..ir import symbolic as sym
from ..ir.obligations import Facts, Iteration, Obligation, Result, Write
from ..ir.specs import InputInfo
from ..ir.symbolic import NeedsUnroll, Sym
from ..ir.tiles import Tile
from ..spec.parser import SpecError
from .library import NOT_MINE, Library
from .loops import LoopRules, Tracker, _Break, _Continue, target_names
from .scopes import bind_arguments, is_generator, local_names, parameters
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
    python_error,
    sym_binary,
)

MAX_STEPS = 400_000
MAX_DEPTH = 40


# Python's own modules, as far as kernels use them: constants and functions of numbers
_CONSTANTS = {
    "inf": reals.Real(math.inf, None),
    "pi": reals.Real(math.pi, None),  # no exact form a spec can state
    "e": reals.Real(math.e, reals.exp(reals.exact_of(1))),
}
MATH_FUNCTIONS = ("sqrt", "exp", "log", "log2")
MODULE_ATTRS: dict[str, dict[str, Any]] = {
    "np": _CONSTANTS | {f: Builtin(f"np.{f}") for f in MATH_FUNCTIONS},
    "math": _CONSTANTS
    | {f: Builtin(f) for f in MATH_FUNCTIONS}
    | {f: Builtin(f"math.{f}") for f in ("floor", "ceil")},
}
BUILTINS = {n: Builtin(n) for n in ("range", "min", "max", "abs", "float", "int", "bool")}
UNSUPPORTED_BUILTINS = set(dir(builtins)) - set(BUILTINS)
ONE_ARGUMENT = {"abs", "float", "int", "bool", "math.floor", "math.ceil", *MATH_FUNCTIONS}
PYTHON_CALLS = {"range", "min", "max", *ONE_ARGUMENT} | {f"np.{f}" for f in MATH_FUNCTIONS}
KNOWN_MODULES = {"numpy": "np", "math": "math"}


class StepBudget(Exception):
    """Unrolling exceeded MAX_STEPS (reported as STL002 where it happened)."""


_Budget = StepBudget


def locate(error: BaseException, node: cst.CSTNode) -> None:
    """Remember the innermost statement an exception passed through (see located)."""
    if getattr(error, "stile_node", None) is None:
        try:
            error.stile_node = node  # type: ignore[attr-defined]
        except AttributeError:
            pass  # an exception without a __dict__: no location


def located(error: BaseException) -> cst.CSTNode | None:
    """The innermost statement ``error`` was raised in, if it passed through one."""
    return getattr(error, "stile_node", None)


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass(eq=False)
class _Frame:
    names: dict[str, Any]
    # the names local to the function this frame runs (None: the module, or a
    # frame that resolves names in itself, then in the module)
    local: frozenset[str] | None = None
    enclosing: tuple[_Frame, ...] = ()  # the frames of the enclosing functions' calls


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
        self.reports = 0  # errors found so far, repeats (not shown again) included
        self.dims: dict[str, int] = {}
        self.inputs: dict[str, InputInfo] = {}
        self.results: dict[str, Result] = {}
        self.obligations: list[Obligation] = []
        self.writes: list[Write] = []
        self.frames: list[_Frame] = [_Frame({})]
        self.trackers: list[Tracker] = []
        self.steps = 0
        self.step_limit = MAX_STEPS  # a front end may lower it for runs it only probes
        self.over_budget = False
        # the tile each variable or call evaluated to, for editor hovers (last one wins)
        self.tile_types: dict[Span, Any] = {}
        # the run each of them comes from (a front end sets `where`: case, program)
        self.tile_where: dict[Span, Any] = {}
        self.where: Any = None
        self.allow_empty_dim_slices = False  # prefixes of a loop invariant may be empty
        # The concrete domain (cross-check): tiles also carry NumPy arrays computed
        # from seeded random inputs, and every loop is unrolled.
        self.concrete_seed = concrete_seed
        self.hovers = concrete_seed is None  # an editor shows the symbolic run's tiles
        self.concrete_shift = concrete_shift
        self.input_values: dict[str, np.ndarray] = {}
        self.induction = induction and concrete_seed is None
        self.assumptions: tuple[Span, ...] = ()  # invariants of loops proven by induction
        self.iterations: list[Iteration] = []  # of unrolled loops (see loops.py)
        self._spans: dict[cst.CSTNode, Span] = {}
        self._literals: dict[cst.CSTNode, object] = {}
        # the symbolic loop indices the statement being run is under (each write
        # happens once per combination of their values)
        self.loop_vars: tuple[sym.LoopVar, ...] = ()

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
            iterations=tuple(self.iterations),
        )

    # ------------------------------------------------------------ reporting

    def span(self, node: cst.CSTNode) -> Span:
        # cached: an unrolled loop asks for the same nodes' spans every iteration
        hit = self._spans.get(node)
        if hit is None:
            rng: CodeRange = self.positions[node]
            hit = Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)
            self._spans[node] = hit
        return hit

    def report(self, error: KernelError, fallback: cst.CSTNode) -> None:
        self.reports += 1
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
        if self.steps > self.step_limit:
            self.report(
                KernelError(
                    "STL002",
                    f"too large to follow: more than {self.step_limit} statements to interpret "
                    "(the analyzer's step budget); the loops are too large to unroll",
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
        except Exception as error:
            # an error of the analyzer itself: the innermost statement is where it happened
            locate(error, node)
            raise

    def _unsupported(self, node: cst.CSTNode) -> KernelError:
        kind = {
            "While": "a `while` loop",
            "Try": "a `try` statement",
            "With": "a `with` statement",
            "ClassDef": "a class definition",
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
            # `c = d = TypedResult(...)`: one object, bound to both names
            value = self.assign_target(target.target, value, node.value)

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

    def assign_target(self, target: cst.BaseExpression, value: Any, value_node: cst.CSTNode) -> Any:
        """Bind ``value`` to ``target``; the value bound (a library may name it)."""
        if isinstance(target, cst.Name):
            value = self.library.bind(self, target.value, value, value_node)
            if _hoverable(value):
                span = self.span(target)
                self.tile_types[span] = value
                self.tile_where[span] = self.where
            self.store(target.value, value)
            return value
        if isinstance(target, (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in target.elements):
                raise KernelError("STL002", "unsupported: a starred assignment target", node=target)
            if not isinstance(value, tuple):
                raise KernelError("STL002", f"unsupported: unpacking {kind(value)}", node=target)
            if len(value) != len(target.elements):
                raise python_error(
                    ValueError(
                        f"cannot unpack {len(value)} value(s) into {len(target.elements)} names"
                    ),
                    target,
                )
            return tuple(
                self.assign_target(element.value, item, value_node)
                for element, item in zip(target.elements, value)
            )
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
        if is_generator(node):
            # calling it would only make a generator object: its body would not run
            raise KernelError("STL002", "unsupported: generator functions (`yield`)", node=node)
        if isinstance(node.params.star_kwarg, cst.Param):
            raise KernelError(
                "STL002", "unsupported: **kwargs parameters", node=node.params.star_kwarg
            )
        defaults = {}
        for param in parameters(node):
            if param.default is not None:
                defaults[param.name.value] = self.eval(param.default)
        frame = self.frames[-1]
        enclosing = (frame, *frame.enclosing) if frame.local is not None else ()
        self.store(node.name.value, Function(node, defaults, enclosing))

    def exec_Return(self, node: cst.Return) -> None:
        if len(self.frames) == 1:
            raise KernelError("STL002", "`return` outside a function")
        raise _Return(None if node.value is None else self.eval(node.value))

    def exec_Break(self, node: cst.Break) -> None:
        raise _Break

    def exec_Continue(self, node: cst.Continue) -> None:
        raise _Continue

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
            self.reports,
        )

    def _restore(self, saved: tuple) -> None:
        frames, ndiag, reported, nobl, nwrites, dims, inputs, results, _, reports = saved
        self.reports = reports
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
        frame = self.frames[-1]
        for tracker in self.trackers:
            if tracker.frame is None or tracker.frame is frame:
                tracker.written.add(name)
        frame.names[name] = value

    def _scope_of(self, node: cst.Name) -> _Frame | None:
        """The frame ``node`` resolves in (LEGB), None for a builtin or an undefined name."""
        name = node.value
        frame = self.frames[-1]
        if frame is not self.frames[0]:
            if frame.local is None:
                if name in frame.names:
                    return frame
            elif name in frame.local:
                if name in frame.names:
                    return frame
                raise python_error(
                    UnboundLocalError(
                        f"cannot access local variable '{name}' "
                        "where it is not associated with a value"
                    ),
                    node,
                )
            for outer in frame.enclosing:
                if outer.local is not None and name in outer.local:
                    if name not in outer.names:
                        raise python_error(
                            NameError(f"cannot access free variable '{name}' before assignment"),
                            node,
                        )
                    return outer
        return self.frames[0] if name in self.frames[0].names else None

    def lookup(self, node: cst.Name) -> Any:
        name = node.value
        scope = self._scope_of(node)
        for tracker in self.trackers:
            if (tracker.frame is None or tracker.frame is scope) and name not in tracker.written:
                tracker.read_first.add(name)
        if scope is not None:
            value = scope.names[name]
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
        name = _EVAL_NAMES.get(type(node))
        if name is None:
            name = _EVAL_NAMES[type(node)] = f"eval_{type(node).__name__}"
        handler = getattr(self, name, None)
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
        if self.hovers and type(node) in _HOVERED and _hoverable(value):  # exact types
            span = self.span(node)
            self.tile_types[span] = value
            self.tile_where[span] = self.where
        return value

    def eval_Name(self, node: cst.Name) -> Any:
        if node.value in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.value]
        return self.lookup(node)

    def eval_Integer(self, node: cst.Integer) -> int:
        return int(self._literal(node))

    def eval_Float(self, node: cst.Float) -> float:
        # the float Python reads, and the decimal written
        return cast(reals.Real, self._literal(node))

    def eval_SimpleString(self, node: cst.SimpleString) -> SpecText:
        return SpecText(str(self._literal(node)), node)

    def _literal(self, node: cst.Integer | cst.Float | cst.SimpleString) -> object:
        # cached: libcst evaluates a literal with ast.literal_eval (a compile)
        # each time, and an unrolled loop reads the same literals every iteration
        hit = self._literals.get(node)
        if hit is None:
            if isinstance(node, cst.Float):
                hit = reals.literal(node.value)
            else:
                hit = node.evaluated_value
            self._literals[node] = hit
        return hit

    def eval_ConcatenatedString(self, node: cst.ConcatenatedString) -> SpecText:
        value = node.evaluated_value
        if not isinstance(value, str):
            raise KernelError("STL002", "unsupported: f-strings and bytes in a kernel")
        return SpecText(value, node)

    def eval_Tuple(self, node: cst.Tuple) -> tuple:
        items: list[Any] = []
        for element in node.elements:
            value = self.eval(element.value)
            if isinstance(element, cst.StarredElement):
                items.extend(self._unpacked(value, element))
            else:
                items.append(value)
        return tuple(items)

    def _unpacked(self, value: Any, node: cst.CSTNode) -> tuple:
        if isinstance(value, tuple):
            return value
        if isinstance(value, range):
            return tuple(value)
        raise KernelError("STL002", f"unsupported: unpacking {kind(value)}", node=node)

    def eval_UnaryOperation(self, node: cst.UnaryOperation) -> Any:
        value = self.eval(node.expression)
        if isinstance(node.operator, (cst.Minus, cst.Plus)):
            op = "-" if isinstance(node.operator, cst.Minus) else "+"
            done = self.library.unary(self, op, value)
            if done is not NOT_MINE:
                return done
        if isinstance(node.operator, cst.Not):
            return not self.truth(value, node)
        if isinstance(value, Sym):
            if isinstance(node.operator, cst.Minus):
                return sym.scale(value, -1)
            if isinstance(node.operator, cst.Plus):
                return value
            raise NeedsUnroll("~ of a loop index")
        number = as_number(value, node)
        if isinstance(node.operator, cst.Minus):
            return number_binary("*", -1, number) if isinstance(number, float) else -number
        if isinstance(node.operator, cst.Plus):
            return number
        if isinstance(node.operator, cst.BitInvert) and isinstance(number, int):
            return ~number
        raise python_error(TypeError("bad operand type for unary ~: 'float'"), node)

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
            a, b = as_number(left, None), as_number(right, None)
            return b if b > a else a
        if op == "@":
            raise KernelError("STL002", "unsupported operator `@` on numbers")
        if isinstance(left, Sym) or isinstance(right, Sym):
            if isinstance(left, float) or isinstance(right, float):
                raise NeedsUnroll("a loop index with a float")
            return sym_binary(op, _as_index(left), _as_index(right))
        if isinstance(left, tuple) and isinstance(right, tuple) and op == "+":
            return left + right
        return number_binary(op, as_number(left, None), as_number(right, None))

    def eval_BooleanOperation(self, node: cst.BooleanOperation) -> Any:
        # Python returns an operand, not a bool: `0 or 5` is 5
        left = self.eval(node.left)
        if self.truth(left, node.left) == isinstance(node.operator, cst.And):
            return self.eval(node.right)
        return left

    def eval_Comparison(self, node: cst.Comparison) -> bool:
        left = self.eval(node.left)
        for target in node.comparisons:
            op = _COMPARE.get(type(target.operator).__name__)
            if op is None:
                raise KernelError("STL002", "unsupported comparison operator", node=target)
            right = self.eval(target.comparator)
            holds = self.compare(op, left, right, target)
            if not holds:
                return False
            left = right
        return True

    def eval_IfExp(self, node: cst.IfExp) -> Any:
        if self.truth(self.eval(node.test), node.test):
            return self.eval(node.body)
        return self.eval(node.orelse)

    def compare(self, op: str, left: Any, right: Any, node: cst.CSTNode) -> bool:
        """``left op right`` as Python decides it."""
        if op in ("is", "is not"):
            # Singletons, and objects the interpreter creates exactly where Python
            # does (results, dims, functions); numbers, strings, tuples and tiles
            # have no identity a kernel can rely on.
            singleton = any(v is None or isinstance(v, bool) for v in (left, right))
            if not singleton and any(isinstance(v, _NO_IDENTITY) for v in (left, right)):
                raise KernelError(
                    "STL002",
                    f"unsupported: `{op}` between {kind(left)} and {kind(right)}",
                    help="compare numbers with == and !=",
                    node=node,
                )
            return (left is right) == (op == "is")
        if isinstance(left, Sym) or isinstance(right, Sym):
            if isinstance(left, float) or isinstance(right, float):
                raise NeedsUnroll("a loop index compared with a float")
            return sym.compare(op, _as_index(left, node), _as_index(right, node))
        a, b = _python_value(left), _python_value(right)
        if a is _UNKNOWN or b is _UNKNOWN:
            raise KernelError(
                "STL002", f"unsupported: `{op}` between {kind(left)} and {kind(right)}", node=node
            )
        try:
            return bool(_COMPARISONS[op](a, b))
        except TypeError as error:
            raise python_error(error, node) from None

    def truth(self, value: Any, node: cst.CSTNode) -> bool:
        if isinstance(value, Sym):
            return sym.compare("!=", value, 0)
        if value is None or isinstance(value, (bool, int, float, tuple, range)):
            return bool(value)
        if isinstance(value, SpecText):
            return bool(value.value)
        if isinstance(value, (Function, Builtin, Module)):
            return True
        raise KernelError("STL002", f"unsupported condition: the truth of {kind(value)}", node=node)

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
        if isinstance(base, tuple) and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index) and index.star is None:
                position = as_int(self.eval(index.value), index.value)
                if isinstance(position, Sym):
                    raise NeedsUnroll("a tuple indexed by a loop index")
                if not -len(base) <= position < len(base):
                    raise python_error(IndexError("tuple index out of range"))
                return base[position]
        raise KernelError(
            "STL002", "unsupported subscript: only a dim can be sliced, as in `K[0:5]`"
        )

    def eval_Call(self, node: cst.Call) -> Any:
        func = self.eval(node.func)
        args = []
        kwargs: dict[str, Any] = {}
        for arg in node.args:
            if arg.star == "**":
                raise KernelError("STL002", "unsupported: **kwargs in a call", node=arg)
            value = self.eval(arg.value)
            if arg.star == "*":
                args.extend(self._unpacked(value, arg))
            elif arg.keyword is not None:
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

    def run_in_frame(self, frame: _Frame, body: cst.BaseSuite | cst.BaseExpression) -> Any:
        """What a function body (a block, or a lambda's expression) returns in ``frame``."""
        self.frames.append(frame)
        try:
            if isinstance(body, cst.BaseExpression):
                return self.eval(body)
            self.exec_block(body)
        except _Return as ret:
            return ret.value
        finally:
            self.frames.pop()
        return None

    def call_function(self, func: Function, args: list, kwargs: dict, node: cst.Call) -> Any:
        if len(self.frames) > MAX_DEPTH:
            raise KernelError("STL002", "unsupported: helper functions nested too deeply")
        names = bind_arguments(func, args, kwargs)
        before = self.reports
        value = self.run_in_frame(
            _Frame(names, local_names(func.node), func.enclosing), func.node.body
        )
        if self.reports > before:
            # Python would have stopped inside the call (reported there): the
            # caller's statement has no value to go on with
            raise Poisoned
        return value

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
                raise python_error(TypeError(f"range expected 1 to 3 arguments, got {len(ints)}"))
            concrete = [sym.concrete(i) for i in ints]
            if len(concrete) == 3 and concrete[2] == 0:
                raise python_error(ValueError("range() arg 3 must not be zero"))
            loop = range(*concrete)
            if loop.stop.bit_length() > 62 or loop.start.bit_length() > 62:
                raise KernelError("STL002", "unsupported: a range past 2**62")
            return loop
        if name in ("min", "max"):
            return self._min_max(name, args, node)
        if name in ONE_ARGUMENT and len(args) != 1:
            raise KernelError("STL002", f"{name}() takes one argument, {len(args)} given")
        (value,) = args
        if name == "bool":
            return self.truth(value, node)
        if name == "float" and isinstance(value, SpecText):
            return _parse_float(value.value)
        if isinstance(value, Tile):
            short = name.removeprefix("np.")
            raise KernelError(
                "STL002",
                f"np.{short} and math.{short} work on numbers, not tiles",
                help=f"use tnp.{short}, which keeps the tile's DimType and ExprType",
            )
        if isinstance(value, Sym):
            if name in ("int", "math.floor", "math.ceil"):
                return value
            if name == "abs" and sym.compare(">=", value, 0):
                return value
            raise NeedsUnroll(name)
        number = as_number(value, node)
        if name in ("abs", "float", "int", "math.floor", "math.ceil"):
            return _number_call(name, number)
        return math_function(name, number)

    def _min_max(self, name: str, args: list, node: cst.Call) -> Any:
        if len(args) == 1:
            args = list(self._unpacked(args[0], node))
        if not args:
            raise python_error(ValueError(f"{name}() iterable argument is empty"))
        best = args[0]
        for other in args[1:]:
            # Python keeps the first of equal values
            if isinstance(best, Sym) or isinstance(other, Sym):
                less = self.compare("<", other, best, node)
            else:
                less = as_number(other, node) < as_number(best, node)
            greater = not less and self.compare(">", other, best, node)
            if less if name == "min" else greater:
                best = other
        return best


def _number_call(name: str, number: int | float) -> int | float:
    """``abs``, ``float`` and ``int`` of a number, as Python computes them."""
    try:
        if name == "int":
            return int(number)
        if name in ("math.floor", "math.ceil"):
            return getattr(math, name.removeprefix("math."))(number)
        if name == "float":
            return reals.Real(float(number), reals.exact_of(number))
        result = abs(number)
    except (OverflowError, ValueError) as error:
        raise python_error(error) from None
    if isinstance(number, float):
        exact = reals.exact_of(number)
        return reals.Real(result, exact if number >= 0 else reals.negate(exact))
    return result


def math_function(name: str, number: int | float) -> float:
    """``math.sqrt/exp/log/log2`` (Python raises on a bad argument) and the ``np.``
    ones (NumPy returns inf or nan instead); the result keeps its exact real."""
    short = name.removeprefix("np.")
    exact = reals.exact_of(number)
    try:
        if name.startswith("np."):
            with np.errstate(all="ignore"):
                value = float(getattr(np, short)(np.float64(number)))
        else:
            value = float(getattr(math, short)(number))
    except (OverflowError, ValueError) as error:
        raise python_error(error) from None
    if short == "sqrt":
        return reals.real(value, reals.sqrt(exact))
    if short == "exp":
        return reals.real(value, reals.exp(exact))
    return reals.real(value, reals.log(short, exact))


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
    "Is": "is",
    "IsNot": "is not",
}


def dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    return ""


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise python_error(error) from None
    return reals.literal(text.strip()) if math.isfinite(value) else reals.Real(value, None)


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


_UNKNOWN = object()
_NO_IDENTITY = (int, float, str, SpecText, tuple, range, Tile, Sym)


def _python_value(value: Any) -> Any:
    """The Python value of numbers, strings, None and tuples of them (compared by value)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, SpecText):
        return value.value
    if isinstance(value, tuple):
        items = tuple(_python_value(v) for v in value)
        return _UNKNOWN if any(i is _UNKNOWN for i in items) else items
    return _UNKNOWN


def _as_index(value: Any, node: cst.CSTNode | None = None) -> sym.Int:
    return value if isinstance(value, Sym) else as_int(value, node)


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


_EVAL_NAMES: dict[type, str] = {}  # node type -> handler name, built once per type
_HOVERED = (cst.Name, cst.Call)  # expressions whose tiles an editor shows on hover


def _hoverable(value: Any) -> bool:
    """Values an editor shows on hover (tiles and front-end values with a DimType)."""
    kind = type(value)
    hit = _HOVERABLE.get(kind)
    if hit is None:  # a class decides for its instances: asked once per class
        hit = _HOVERABLE[kind] = callable(getattr(kind, "hover", None)) and not issubclass(
            kind, type
        )
    return hit


_HOVERABLE: dict[type, bool] = {}


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
