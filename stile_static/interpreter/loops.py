"""How the interpreter follows ``range`` loops.

A loop whose body carries nothing from one iteration to the next runs once
with a symbolic index. A loop that carries values is proven by induction when
every carried variable states an invariant, and unrolled otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from ..core.errors import KernelError, Poisoned
from ..ir import symbolic as sym
from ..ir import tiles
from ..ir.obligations import Iteration
from ..ir.symbolic import Int, LoopVar, NeedsUnroll
from ..ir.tiles import DimSlice, Tile
from ..spec.parser import SpecError, parse_spec
from .values import Poison, SpecText


class _Break(Exception):
    """``break`` leaving the innermost loop."""


class _Continue(Exception):
    """``continue`` ending the innermost loop's iteration."""


@dataclass
class Tracker:
    """Names read before written, and names written, in one symbolic loop body.

    Only names of ``frame`` (the scope the loop runs in) are tracked: a helper's
    locals are fresh in every call and carry nothing from one iteration to the
    next, whatever their names. None tracks every scope.
    """

    read_first: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)
    frame: Any = None


class LoopRules:
    """The loop handlers of :class:`~stile_static.interpreter.Interpreter` (a mixin)."""

    def exec_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            raise KernelError("STL002", "unsupported: `async for`")
        loop = self._range_of(node.iter)
        if not isinstance(node.target, cst.Name):
            raise KernelError(
                "STL002", "a range loop needs a single loop variable", node=node.target
            )
        name = node.target.value
        if not self._run_loop(node, name, loop) and node.orelse is not None:
            self.exec_block(node.orelse.body)  # `for ... else`: the loop ended without break

    def _run_loop(self, node: cst.For, name: str, loop: range) -> bool:
        """Run the loop; whether it ended with ``break``."""
        if len(loop) == 0:
            return False
        # A body that can leave the loop early (return, break, continue) is
        # unrolled: which iterations run depends on where it leaves.
        once = len(loop) > 1 and not leaves_early(node.body)
        symbolic = self.concrete_seed is None  # the concrete domain needs every index
        if once and symbolic and self._try_symbolic(node, name, loop):
            return False
        if once and self.induction and invariant_calls(node):
            if self._try_induction(node, name, loop):
                return False
        assigned = assigned_in(node) - {name}
        span = self.span(node)
        for value in loop:
            self.store(name, value)
            try:
                self.exec_block(node.body)
            except _Break:
                self._record_iteration(span, name, value, assigned, symbolic)
                return True
            except _Continue:
                pass
            self._record_iteration(span, name, value, assigned, symbolic)
        return False

    def _record_iteration(
        self, span: Any, name: str, value: Any, assigned: set[str], symbolic: bool
    ) -> None:
        if not (isinstance(value, int) and symbolic):  # the concrete domain has no use for them
            return
        frame = self.frames[-1].names
        tiles = tuple((n, frame[n]) for n in sorted(assigned) if isinstance(frame.get(n), Tile))
        if tiles:
            self.iterations.append(Iteration(span, name, value, tiles))

    def _range_of(self, node: cst.BaseExpression) -> range:
        value = self.eval(node)
        if not isinstance(value, range):
            raise KernelError(
                "STL002", "unsupported: only `range(...)` loops can be followed", node=node
            )
        return value

    def _try_symbolic(self, node: cst.For, name: str, loop: range) -> bool:
        """Interpret the body once with a symbolic index; False if it must be unrolled."""
        saved = self._snapshot()
        var = LoopVar(name, loop)
        tracker = Tracker(frame=self.frames[-1])
        self.trackers.append(tracker)
        outer_vars = self.loop_vars
        self.loop_vars = (*outer_vars, var)
        try:
            self.store(name, sym.variable(var))
            self.exec_block(node.body)
        except NeedsUnroll:
            self._restore(saved)
            return False
        finally:
            self.trackers.remove(tracker)
            self.loop_vars = outer_vars
        if tracker.read_first & tracker.written:
            self._restore(saved)  # a value flows from one iteration to the next
            return False
        line = self.span(node).line
        for written in tracker.written:
            self.store(
                written,
                Poison(
                    f"`{written}` was assigned in the loop at line {line}, "
                    "which was checked once for a symbolic index; its value "
                    "after the loop is not tracked"
                ),
            )
        self._store_last_index(node, name, loop)
        for tracker_outer in self.trackers:
            if tracker_outer.frame is None or tracker_outer.frame is tracker.frame:
                tracker_outer.written |= tracker.written
        return True

    def _try_induction(self, node: cst.For, name: str, loop: range) -> bool:
        """Prove a carried loop once, by induction on its stated invariants.

        Every variable carried from one iteration to the next must be described
        by a ``v.assert_equivalent(spec, D[:i + T])`` at the end of the body. The
        first iteration runs concretely from the real initial values (checking
        the invariants on a non-empty prefix); then the body runs once for a
        symbolic later index with each carried variable replaced by its
        invariant for the previous index, and the asserts in the body become
        the induction step. After the loop each variable is its invariant for
        the last index. Returns False (state untouched) when any of this does
        not apply; the loop is then unrolled.
        """
        saved = self._snapshot()
        found = self._carried_tiles(node, name, loop)
        self._restore(saved)
        if found is None:
            return False
        carried, written, slices = found
        invariants = invariant_calls(node)
        if not carried <= set(invariants) or not _asserted_last(node, invariants, carried):
            return False
        # An invariant is evaluated outside the body for the previous and the last
        # index, so it may use the loop index but no name the body assigns.
        used = set().union(*(_names_in(invariants[v].args) for v in carried))
        if (used - {name}) & written:
            return False
        # The first iteration, concretely, from the initial values.
        self.store(name, loop[0])
        self.exec_block(node.body)
        if len(loop) == 1:
            return True
        peeled = self._snapshot()
        try:
            if self._induction_step(node, name, loop, carried, slices, invariants):
                return True
        except (KernelError, Poisoned, NeedsUnroll, SpecError):
            pass
        self._restore(peeled)
        for value in loop[1:]:
            self.store(name, value)
            self.exec_block(node.body)
        return True

    def _store_last_index(self, node: cst.For, name: str, loop: range) -> None:
        """After the loop, its variable holds the last index, as in Python (unless
        the body assigns it too)."""
        visitor = _Assigned()
        node.body.visit(visitor)
        if name not in visitor.names:
            self.store(name, loop[-1])

    def _carried_tiles(
        self, node: cst.For, name: str, loop: range
    ) -> tuple[set[str], set[str], dict[str, tuple[tiles.Slice, ...]]] | None:
        """Run the body once symbolically: the names it carries, the names it
        writes, and the DimTypes of the carried ones."""
        tracker = Tracker(frame=self.frames[-1])
        self.trackers.append(tracker)
        before = len(self.diagnostics)
        try:
            with sym.symbolic_bounds():
                self.store(name, sym.variable(LoopVar(name, loop)))
                self.exec_block(node.body)
        except NeedsUnroll:
            return None
        finally:
            self.trackers.remove(tracker)
        carried = tracker.read_first & tracker.written
        if len(self.diagnostics) != before or not carried:
            return None
        slices = {}
        for var in carried:
            value = self.frames[-1].names.get(var)
            if not isinstance(value, Tile) or any(
                sym.variables(s.lo) or sym.variables(s.hi) for s in value.slices
            ):
                return None  # the DimType must not move with the loop
            slices[var] = value.slices
        return carried, tracker.written, slices

    def _invariant_spec(self, call: cst.Call, name: str, index: Int) -> Any:
        """The spec of an invariant with its overrides evaluated at loop index ``index``."""
        text = self.eval(call.args[0].value)
        if not isinstance(text, SpecText):
            raise KernelError("STL002", "an invariant's spec must be a string literal")
        overrides = {}
        self.store(name, index)
        self.allow_empty_dim_slices = True
        try:
            for arg in call.args[1:]:
                value = self.eval(arg.value)
                if not isinstance(value, DimSlice):
                    raise KernelError("STL013", "invariant overrides look like N[: i + T]")
                overrides[value.dim.name] = (value.lo, value.hi)
        finally:
            self.allow_empty_dim_slices = False
        return parse_spec(text.value, list(self.inputs.values()), self.dims, overrides)

    def _induction_step(
        self,
        node: cst.For,
        name: str,
        loop: range,
        carried: set[str],
        slices: dict[str, tuple[tiles.Slice, ...]],
        invariants: dict[str, cst.Call],
    ) -> bool:
        var = LoopVar(name, loop[1:])
        index = sym.variable(var)
        previous = sym.sub(index, loop.step)
        with sym.symbolic_bounds():
            hypotheses = {v: self._invariant_spec(invariants[v], name, previous) for v in carried}
            for v in carried:
                self.store(v, Tile(slices[v], hypotheses[v].term))
            before = len(self.diagnostics)
            tracker = Tracker(frame=self.frames[-1])
            self.trackers.append(tracker)
            outer_vars = self.loop_vars
            self.loop_vars = (*outer_vars, var)
            try:
                self.store(name, index)
                self.exec_block(node.body)
            finally:
                self.trackers.remove(tracker)
                self.loop_vars = outer_vars
            if len(self.diagnostics) != before:
                return False  # report body errors with concrete indices instead
            if not (tracker.read_first & tracker.written) <= carried:
                return False  # the step carries something the discovery run did not
            for v in carried:
                value = self.frames[-1].names.get(v)
                if not isinstance(value, Tile) or value.slices != slices[v]:
                    return False
        conclusions = {v: self._invariant_spec(invariants[v], name, loop[-1]) for v in carried}
        line = self.span(node).line
        for written in tracker.written - carried:
            self.store(
                written,
                Poison(
                    f"`{written}` was assigned in the loop at line {line}, "
                    "which was proven by induction; its value after the "
                    "loop is not tracked"
                ),
            )
        self._store_last_index(node, name, loop)
        for v in carried:
            self.store(v, Tile(slices[v], conclusions[v].term))
        # what follows relies on the invariants (their failures are reported there)
        self.assumptions += tuple(self.span(invariants[v]) for v in sorted(carried))
        for outer in self.trackers:
            if outer.frame is None or outer.frame is tracker.frame:
                outer.written |= tracker.written
        return True


class _Exits(cst.CSTVisitor):
    """Finds ``return`` anywhere, and ``break``/``continue`` of this loop (not of inner ones)."""

    def __init__(self) -> None:
        self.found = False
        self.depth = 0

    def visit_Return(self, node: cst.Return) -> None:
        self.found = True

    def visit_Break(self, node: cst.Break) -> None:
        self.found = self.found or self.depth == 0

    def visit_Continue(self, node: cst.Continue) -> None:
        self.found = self.found or self.depth == 0

    def visit_For(self, node: cst.For) -> None:
        self.depth += 1

    def leave_For(self, node: cst.For) -> None:
        self.depth -= 1

    def visit_While(self, node: cst.While) -> None:
        self.depth += 1

    def leave_While(self, node: cst.While) -> None:
        self.depth -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a helper's own return

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def leaves_early(body: cst.BaseSuite) -> bool:
    """Whether the loop body holds a ``return``, ``break`` or ``continue`` of its own."""
    finder = _Exits()
    body.visit(finder)
    return finder.found


def invariant_calls(node: cst.For) -> dict[str, cst.Call]:
    """``v.assert_equivalent(spec, overrides...)`` statements at the top of the body, by ``v``."""
    found: dict[str, cst.Call] = {}
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for stmt in body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            call = small.value if isinstance(small, cst.Expr) else None
            if (
                isinstance(call, cst.Call)
                and isinstance(call.func, cst.Attribute)
                and call.func.attr.value == "assert_equivalent"
                and isinstance(call.func.value, cst.Name)
                and len(call.args) >= 2
                and all(a.keyword is None and not a.star for a in call.args)
            ):
                found[call.func.value.value] = call
    return found


class _Assigned(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.names.update(target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.names.update(target_names(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names.update(target_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        self.names.update(target_names(node.target))


def assigned_in(node: cst.For) -> set[str]:
    """The names the body of ``node`` assigns (its loop target included)."""
    visitor = _Assigned()
    node.body.visit(visitor)
    return visitor.names


def _asserted_last(node: cst.For, invariants: dict[str, cst.Call], carried: set[str]) -> bool:
    """Each invariant comes after every assignment to its variable in the body."""
    body = list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []
    position: dict[str, int] = {}
    for i, stmt in enumerate(body):
        for v in carried:
            if invariants[v] in _calls_in(stmt):
                position[v] = i
    for i, stmt in enumerate(body):
        visitor = _Assigned()
        stmt.visit(visitor)
        for v in carried & visitor.names:
            if v not in position or i >= position[v]:  # also `v.assert...(); v = x`
                return False
    return set(position) >= carried


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _names_in(args: Sequence[cst.Arg]) -> set[str]:
    visitor = _Names()
    for arg in args:
        arg.visit(visitor)
    return visitor.names


def _calls_in(stmt: cst.CSTNode) -> list[cst.Call]:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return []
    return [s.value for s in stmt.body if isinstance(s, cst.Expr) and isinstance(s.value, cst.Call)]


def target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in target_names(e.value)]
    return []
