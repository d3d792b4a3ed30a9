"""A kernel's loop over blocks proven by induction, with the invariant inferred.

Triton kernels state no invariant, so one is inferred for the accumulation
pattern: ``acc`` starts as a block, and each iteration adds to it reductions
(``tl.dot``, ``tl.sum``) along an axis that moves by its own width per
iteration (loads through pointers advanced by a fixed step, ``ptrs += B *
stride``, or offsets ``k * B + arange``). The invariant: before iteration
``k`` of a class of iterations ``[lo, hi)``, every carried pointer is its value
at ``lo`` plus ``(k - lo)`` steps, and every lane of ``acc`` is its value at
``lo`` plus the reduction over the range the iterations ``lo..k-1`` covered.

The loop runs in a program whose ids are numbers or inside a class of programs
whose ids are symbols (:mod:`.program_classes`); a carried pointer's value at
``lo`` may depend on those program keys, its step may not. The loop index is a
symbol over the class of iterations (an :class:`~.ints.Pid` of axis
:data:`LOOP_AXIS`, kept apart from the grid's: no box, so no table over the
programs is made of it), so the machinery of program classes decides the facts
that depend on it (**the split rule**): a mask comparison is uniform over the
class or cuts it (the interior iterations and the ragged last one), also when it
involves program keys (decided at each tuple of their values), loads are in
bounds at the class's first and last iteration and each program key's ends
(affine in ``k``, so at every one), an int32 value that wraps cuts the class. A
split of the grid's axes met in the body, or a reduction whose range moves with
a program key rather than ``k``, unrolls the loop. The body runs
once with every carried block replaced by opaque terms (one per piece) and
every carried pointer by its affine form: the **step** holds when each lane of
``acc`` comes out as its opaque term plus a sum of reductions whose range moves
by exactly its width (then the iterations tile one range), and each pointer
comes out one step further. The **base** is the value at ``lo``; the **exit**
is the invariant at ``hi``: reductions over the union of the ranges, pointers
``hi - lo`` steps on.

The loop's first iteration (whose ``acc`` may change layout: ``tl.zeros`` has
no dims) and its last one (whose values the code after the loop sees) run
concretely, as does any class of fewer than :data:`MIN_CLASS` iterations.
Anything else (another carried value, a store, a finding, a value that is not
affine in ``k``, more than :data:`MAX_CLASSES` classes) makes the rest of the
loop run iteration by iteration as before: never a weaker verdict.
:data:`COUNTS` and :data:`FALLBACKS` tell tests which path ran and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst
import numpy as np

from ...core.errors import KernelError, Poisoned
from ...interpreter.loops import Tracker, assigned_in, leaves_early
from ...interpreter.values import Poison
from ...ir.terms import Binary, Load, Reduce, Term, children
from .. import blocks
from ..blocks import Block, MovingReduce, NotGeneric, Undef, fold_binary, term_key
from . import int_types as IT
from . import ints as I
from . import program_classes
from .ints import Ints, Pid, Ptr, Split
from .program_classes import ClassRun, NoMemory

OPAQUE = "<carried "  # the name of an opaque term a carried block runs with starts so
LOOP_AXIS = 3  # the axis of a loop index's Pid: grids have axes 0, 1 and 2
MIN_TRIP = 4  # shorter loops are unrolled: the first and last iterations run concretely
MIN_CLASS = 2  # a class of fewer iterations runs concretely
MAX_CLASSES = 8  # more classes of iterations than this: the rest is unrolled
# what the loops of this process did: classes proven, loops done that way, loops whose
# rest was unrolled after an attempt; tests read them, and FALLBACKS says why
COUNTS = {"classes": 0, "loops": 0, "fallbacks": 0}
FALLBACKS: list[str] = []
ENABLED = True  # False: every loop unrolled (tests compare the two)


@dataclass(frozen=True)
class LoopIndex(Pid):
    """The index of a loop being proven, over the iterations ``lo..hi-1`` of a class:
    to the machinery of program classes, a program id along :data:`LOOP_AXIS`."""

    def __str__(self) -> str:
        return "the loop index"


class _GiveUp(Exception):
    """The class cannot be proven this way (the reason is the message)."""


@dataclass(frozen=True)
class _Carried:
    """A carried value at the class's first iteration, with the hypothesis it runs as."""

    before: Block | Ptr
    hypothesis: Block | Ptr
    step: Ints | None = None  # a pointer's offset step per iteration


def run(interp: Any, node: cst.For, loop: range) -> bool:
    """Run the kernel loop ``for NAME in loop`` with induction where it applies;
    False (nothing run) when the loop is not one to try, and it is unrolled."""
    if not _eligible(interp, node, loop):
        return False
    name = node.target.value  # type: ignore[attr-defined]
    candidates = _assigned(node)
    before = _values(interp, candidates)
    _concrete(interp, node, loop[0])
    steps = _steps(before, _values(interp, candidates))
    # classes of iteration numbers: iteration j runs with the index loop[j]
    last = len(loop) - 1
    work = [(1, last)]
    classes = 0
    proven = False
    while work:
        lo, hi = work.pop(0)
        if hi - lo < MIN_CLASS:
            for j in range(lo, hi):
                _concrete(interp, node, loop[j])
            continue
        classes += 1
        why = "more classes of iterations than the limit" if classes > MAX_CLASSES else None
        if why is None:
            try:
                _prove_class(interp, node, name, loop, lo, hi, candidates, steps)
                COUNTS["classes"] += 1
                proven = True
                continue
            except Split as split:
                edges = [lo, *(c for c in split.cuts if lo < c < hi), hi]
                if split.axis != LOOP_AXIS:
                    # a fact of the program ids alone that the iterations meet: the
                    # unrolled iterations meet it too, and cut the class of programs
                    why = "a fact that cuts the class of programs"
                elif len(edges) > 2:
                    work[:0] = list(zip(edges[:-1], edges[1:]))
                    classes -= 1
                    continue
                else:
                    why = "a split that cuts nothing"
            except _GiveUp as give_up:
                why = str(give_up)
        COUNTS["fallbacks"] += 1
        FALLBACKS.append(f"line {interp.span(node).line}: iterations {lo}..{last} unrolled: {why}")
        for j in range(lo, hi):
            _concrete(interp, node, loop[j])
        for a, b in work:
            for j in range(a, b):
                _concrete(interp, node, loop[j])
        work = []
    _concrete(interp, node, loop[last])
    if proven:
        COUNTS["loops"] += 1
    return True


def _eligible(interp: Any, node: cst.For, loop: range) -> bool:
    if not (ENABLED and interp.in_kernel and isinstance(node.target, cst.Name)):
        return False
    if len(loop) < MIN_TRIP or leaves_early(node.body):
        return False
    if getattr(interp, "loop_class", None) is not None:
        return False  # a loop inside a loop being proven is unrolled in it
    return all(IT.argument_type(v) == "int32" for v in (loop.start, loop.stop, loop[-1]))


def _concrete(interp: Any, node: cst.For, k: int) -> None:
    """Iteration ``k`` as the unrolled loop runs it."""
    interp.assign_target(node.target, I.typed(k, IT.argument_type(k), weak=True), node.iter)
    interp.exec_block(node.body)


def _assigned(node: cst.For) -> set[str]:
    return assigned_in(node) - {node.target.value}  # type: ignore[attr-defined]


def _values(interp: Any, names: set[str]) -> dict[str, Any]:
    frame = interp.frames[-1].names
    return {n: frame[n] for n in names if n in frame}


def _steps(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Ints]:
    """What the first iteration added to each pointer it carries: the step guessed for
    every later one (the induction step checks it)."""
    steps = {}
    for name, old in before.items():
        new = after.get(name)
        if isinstance(old, Ptr) and isinstance(new, Ptr) and new.tensor is old.tensor:
            if new.shape == old.shape:
                steps[name] = I.lift(I.binary("-", new.offset, old.offset))
    return steps


# ------------------------------------------------------------ one class


def _prove_class(
    interp: Any,
    node: cst.For,
    name: str,
    loop: range,
    lo: int,
    hi: int,
    candidates: set[str],
    steps: dict[str, Ints],
) -> None:
    """Prove the iterations ``lo..hi-1`` at once and leave the state after them; raise
    :class:`_GiveUp` or :class:`~.ints.Split` with the state untouched."""
    pid = LoopIndex(LOOP_AXIS, lo, hi)
    frame = interp.frames[-1]
    carried = {}
    for var, value in _values(interp, candidates).items():
        made = _hypothesis(var, value, pid, steps.get(var))
        if made is not None:
            carried[var] = made
    names = dict(frame.names)
    saved = program_classes._saved(interp)
    outer = (interp.generic, interp.memory, interp.scratch)
    tracker = Tracker(frame=frame)
    interp.trackers.append(tracker)
    try:
        for var, c in carried.items():
            frame.names[var] = c.hypothesis
        # the index of iteration j (lo <= j < hi) is start + step * j
        start, step = np.asarray(loop.start, np.int64), np.asarray(loop.step, np.int64)
        index = Ints((), {None: start, pid: step}, np.zeros((), bool), "int32")
        # the class of programs the loop runs in: its program ids stay what they are
        # (numbers, or symbols over the class), its stores are the loop's to make
        grid = interp.generic.pids if interp.generic is not None else tuple(interp.program)
        interp.generic = ClassRun(grid, [])
        interp.memory = NoMemory()
        interp.loop_class = pid
        with blocks.moving_reductions():
            frame.names[name] = index
            interp.exec_block(node.body)
        run_state = interp.generic
        if run_state.families:
            raise _GiveUp("a store in the loop")
        if (interp.reports, interp.failures, len(interp.unfollowed)) != saved[2:5]:
            raise _GiveUp("a finding in the loop")
        if len(interp.diagnostics) != saved[0]:
            raise _GiveUp("a finding in the loop")
        flowing = (tracker.read_first & tracker.written) - {name}
        missing = flowing - set(carried)
        if missing:
            raise _GiveUp(f"`{sorted(missing)[0]}` is carried and is no block or pointer")
        after = {v: frame.names.get(v) for v in flowing}
        exits = {v: _exit(v, carried[v], after[v], pid) for v in sorted(flowing)}
    except (_GiveUp, Split):
        frame.names = names
        program_classes._restore(interp, saved)
        raise
    except (NotGeneric, KernelError, Poisoned) as error:
        frame.names = names
        program_classes._restore(interp, saved)
        raise _GiveUp(_reason(error)) from None
    finally:
        interp.generic, interp.memory, interp.scratch = outer
        interp.loop_class = None
        interp.trackers.remove(tracker)
    line = interp.span(node).line
    for written in tracker.written - set(exits):
        frame.names[written] = Poison(
            f"`{written}` was assigned in the loop at line {line}, whose iterations "
            f"{lo}..{hi - 1} were proven at once; its value there is not tracked"
        )
    frame.names.update(exits)
    for outer_tracker in interp.trackers:
        if outer_tracker.frame is None or outer_tracker.frame is frame:
            outer_tracker.written |= tracker.written


def _reason(error: BaseException) -> str:
    if isinstance(error, KernelError):
        return f"{error.code} {error.message}"
    if isinstance(error, Poisoned):
        return "a value that could not be followed"
    return str(error) or type(error).__name__


def _hypothesis(var: str, value: Any, pid: Pid, step: Ints | None) -> _Carried | None:
    """The value ``var`` runs as in the class's body, or None for one that cannot be
    carried (the step gives up if it is)."""
    if isinstance(value, Block):
        # an undefined lane stays as it is; a defined piece runs as an opaque term
        opaque = tuple(
            t if isinstance(t, Undef) else Load(f"{OPAQUE}{var}, piece {p}>", ())
            for p, t in enumerate(value.terms)
        )
        return _Carried(value, Block(value.shape, value.axes, value.fixed, value.pieces, opaque))
    if isinstance(value, Ptr) and step is not None and not I.program_keys(step):
        # the pointer at the class's first iteration may depend on the program ids of
        # the class the loop runs in (an affine key or a derived one); its step not
        if step.origin is not None or pid in I.program_keys(value.offset):
            return None
        return _Carried(value, Ptr(value.tensor, _affine(value.offset, step, pid, -pid.lo)), step)
    return None


def _affine(base: Ints, step: Ints, pid: Pid, shift: int) -> Ints:
    """``base + (k + shift) * step`` with ``k`` the class's loop index."""
    shape = tuple(np.broadcast_shapes(base.shape, step.shape))
    parts: dict = {}
    for key in {**base.parts, **step.parts}:
        parts[key] = base.part(key) + shift * step.part(key)
        parts[pid if key is None else I.PidTimes(pid, key)] = step.part(key)
    made = I.make(
        shape,
        parts,
        np.broadcast_to(base.wrapped, shape),
        base.dtype,
        None if base.overflowed is None else np.broadcast_to(base.overflowed, shape),
        base.origin,
    )
    return I.lift(made)


def _same_ints(a: Ints, b: Ints) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype or a.origin is not b.origin:
        return False
    if not np.array_equal(a.wrapped, b.wrapped):
        return False
    if not np.array_equal(a.lanes_overflowed(), b.lanes_overflowed()):
        return False
    return all(np.array_equal(a.part(k), b.part(k)) for k in {**a.parts, **b.parts})


def _exit(var: str, carried: _Carried, after: Any, pid: Pid) -> Block | Ptr:
    """Check the step for ``var`` and give its value after the class."""
    before = carried.before
    if isinstance(before, Ptr):
        assert carried.step is not None
        if not (isinstance(after, Ptr) and after.tensor is before.tensor):
            raise _GiveUp(f"`{var}` is no longer a pointer into the same tensor")
        expected = _affine(before.offset, carried.step, pid, 1 - pid.lo)
        if not _same_ints(I.lift(after.offset), expected):
            raise _GiveUp(f"`{var}` does not move by the same step every iteration")
        return Ptr(
            before.tensor,
            I.at_program(_affine(before.offset, carried.step, pid, -pid.lo), pid, pid.hi),
        )
    hypothesis = carried.hypothesis
    assert isinstance(hypothesis, Block)
    if not isinstance(after, Block):
        raise _GiveUp(f"`{var}` is no longer a block")
    if (after.shape, after.axes, after.fixed) != (before.shape, before.axes, before.fixed):
        raise _GiveUp(f"`{var}` changes its layout ({before.describe()} to {after.describe()})")
    opaque = {term_key(t): p for p, t in enumerate(hypothesis.terms)}
    pairs = np.stack(
        [
            np.broadcast_to(before.pieces, before.shape).reshape(-1),
            np.broadcast_to(after.pieces, after.shape).reshape(-1),
        ],
        axis=1,
    )
    unique, inverse = blocks.unique_rows(pairs)
    terms: list[Term | Undef] = []
    for p_before, p_after in unique:
        old = before.terms[int(p_before)]
        new = after.terms[int(p_after)]
        if isinstance(old, Undef) or isinstance(new, Undef):
            if new != old:  # undefined lanes must stay so, for the same reason
                raise _GiveUp(f"`{var}` has lanes that an iteration makes undefined")
            terms.append(old)
            continue
        head, added = _split_sum(new)
        if head is None or opaque.get(term_key(head)) != int(p_before):
            raise _GiveUp(f"`{var}` is not its value before the iteration plus reductions")
        total = old
        for reduction in added:
            total = _accumulate(total, _over_class(reduction, pid, var))
        terms.append(total)
    return blocks.loaded(
        before.shape, before.axes, dict(before.fixed), inverse.reshape(before.shape), terms
    )


def _split_sum(term: Term) -> tuple[Term | None, list[MovingReduce]]:
    """``term`` as ``opaque + r1 + r2 ...`` with each ``r`` a moving reduction; the
    opaque term (None when ``term`` is not of that form) and the reductions."""
    addends: list[Term] = []
    stack = [term]
    while stack:
        t = stack.pop()
        if isinstance(t, Binary) and t.op == "+":
            stack += [t.right, t.left]
        else:
            addends.append(t)
    heads = [t for t in addends if isinstance(t, Load) and _opaque(t)]
    rest = [t for t in addends if not (isinstance(t, Load) and _opaque(t))]
    if len(heads) != 1 or not all(isinstance(r, MovingReduce) for r in rest):
        return None, []
    return heads[0], rest  # type: ignore[return-value]


def _opaque(term: Load) -> bool:
    return term.tensor.startswith(OPAQUE)


def _over_class(reduction: MovingReduce, pid: Pid, var: str) -> Reduce:
    """The reductions of ``count`` iterations, each ``moves`` further than the one
    before: one reduction when they tile a range (the body cannot depend on the
    iteration: its dims are bound, its pieces the same over the class)."""
    width = reduction.hi - reduction.lo  # type: ignore[operator]
    if reduction.key != pid:
        # its range moves with a program id of the class, not with the iterations
        raise _GiveUp(f"`{var}` adds reductions whose range moves with a program id")
    if reduction.op != "sum" or reduction.moves != width or _has_moving(reduction.body):
        raise _GiveUp(f"`{var}` adds reductions that do not tile a range")
    hi = reduction.lo + reduction.moves * (pid.hi - pid.lo)  # type: ignore[operator]
    return Reduce("sum", reduction.dim, reduction.lo, hi, reduction.body)


def _has_moving(term: Term) -> bool:
    stack = [term]
    while stack:
        t = stack.pop()
        if isinstance(t, MovingReduce) or (isinstance(t, Load) and _opaque(t)):
            return True
        stack += list(children(t))
    return False


def _accumulate(total: Term, part: Reduce) -> Term:
    """``total + part``, merging a sum over the adjacent range of the same body."""
    if (
        isinstance(total, Reduce)
        and total.op == "sum"
        and total.dim == part.dim
        and total.hi == part.lo
        and term_key(total.body) == term_key(part.body)
    ):
        return Reduce("sum", part.dim, total.lo, part.hi, part.body)
    return fold_binary("+", total, part)
