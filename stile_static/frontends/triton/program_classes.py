"""One generic program per class of programs of a launch (a fast path, with a sound fallback).

A class is a box of the grid: per axis a range of program ids. Its generic
program runs once with ``tl.program_id(axis)`` an int32 whose value is a
symbol (:class:`~.ints.Pid`) along each axis where the class has several
programs. Integers stay affine in them; a scalar computed from them in a way
that is not affine (``pid // n``, ``pid % n``, ``min``: a grouped ordering) is
computed for every program of the class at once and is a key of its own
(:class:`~.ints.Derived`). A fact that depends on them is decided for the whole
class or cuts the class (:class:`~.ints.Split`: a comparison whose truth
flips, an int32 value that wraps, a quotient of an offset that changes);
anything else (``int()`` of a program id, a reduction along an axis that moves
with it, a load of a tensor the launch or an earlier one writes, an atomic, any
finding) gives the class up (:class:`~..blocks.NotGeneric`), and the launch is
run program by program.

A store of a class is a family: at the class's origin (every key at its least)
its lanes cover one box of the result exactly once, each unit of the key that
moves a dim shifts the box along it by exactly its width, and the keys that
move it take each tuple of a box of values once over the class's programs (a
bijection, checked on every program's values), so the family's footprint is
one box, each element once. Families of a launch must be pairwise disjoint.
The stores then need no per-element memory: each family is one write and one
obligation on its box.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst
import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError, Poisoned
from ...interpreter.core import StepBudget
from ...ir.terms import Term
from .. import blocks
from ..blocks import Axis, Block, Moving, NotGeneric, Undef
from . import ints as I
from .ints import Pid, Ptr, Split
from .memory import Stored, check_target_store, decode, load_block

MAX_CLASSES = 8  # more classes than this: the launch is run program by program
# what the launches of this process ran: generic class programs, launches done with
# them, and programs run one by one (the concrete path); tests read them
COUNTS = {"classes": 0, "generic_launches": 0, "programs": 0}
ENABLED = True  # False: every launch program by program (tests compare the two)
Box = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Family:
    """The elements a store writes over a class: ``box`` of ``tensor`` holds ``term``."""

    tensor: int  # the serial of the base tensor
    span: Span
    term: Term | None  # None: a tensor that is no result
    box: Box


class NoMemory:
    """The per-element memory while a generic program runs: any use gives the class up
    (a read of what a store wrote, an atomic, a scratch tensor)."""

    def __getattr__(self, name: str) -> Any:
        raise NotGeneric(f"the per-element memory ({name})")


@dataclass
class ClassRun:
    """The program ids of the class being run (an int, or a :class:`Pid`), and the
    families its stores made."""

    pids: tuple[int | Pid, ...]
    families: list[Family]

    # whether the programs of the class give each tuple of these keys' values once
    one_to_one: dict[tuple[I.ProgramKey, ...], bool] = field(default_factory=dict)

    def program_id(self, axis: int) -> I.Ints:
        pid = self.pids[axis]
        if isinstance(pid, int):
            return I.typed(pid, "int32")
        one = np.asarray(1, np.int64)
        return I.Ints((), {None: np.asarray(0, np.int64), pid: one}, np.zeros((), bool), "int32")

    def distinct(self, keys: tuple[I.ProgramKey, ...]) -> bool:
        """Whether ``keys`` take each tuple of a box of values exactly once over the
        programs of the class (a bijection from the class onto that box), vectorized
        over every program."""
        if keys not in self.one_to_one:
            self.one_to_one[keys] = _bijection(keys, self._size())
        return self.one_to_one[keys]

    def _size(self) -> int:
        return int(np.prod([p.hi - p.lo for p in self.pids if isinstance(p, Pid)]))


def _bijection(keys: tuple[I.ProgramKey, ...], programs: int) -> bool:
    if not keys:
        return programs == 1
    spans = [k.most_program - k.least_program + 1 for k in keys]
    if int(np.prod(spans, dtype=object)) != programs:
        return False
    if all(isinstance(k, Pid) for k in keys) and len({k.axis for k in keys}) == len(keys):
        # program ids of distinct axes whose spans multiply to the class's size are
        # every axis the class spans: the class is their box, each tuple once (no need
        # to count over millions of programs)
        return True
    flat = np.zeros(keys[0].values.shape, np.int64)
    for key, span in zip(keys, spans):
        flat = flat * span + (key.values - key.least_program)
    return bool(np.bincount(flat.ravel(), minlength=programs).max() == 1)


def run(interp: Any, kernel: Any, args: list, kwargs: dict, launch: Any) -> list[Family] | None:
    """The families of every class of the launch's grid, or None when a class is given
    up (the caller runs the launch program by program; nothing here changed its state).

    Classes run in program order. On a 1-d grid, a one-program class whose run raises
    a finding (an int32 offset that wraps: STL046) stops the launch there, as the
    program-by-program path stops at that program: every earlier program is in a class
    already run clean, and this program's run is that path's own (its pid is a number,
    and it used no per-element memory). The families so far are kept and the finding
    raised."""
    work = [tuple((0, n) for n in interp.grid)]
    done = 0
    families: list[Family] = []
    memory = interp.memory
    one_dim = interp.grid[1:] == (1, 1)
    try:
        while work:
            work.sort()
            box = work.pop(0)
            done += 1
            if done > MAX_CLASSES:
                return None
            pids = tuple(
                lo if hi - lo == 1 else Pid(k, lo, hi, box) for k, (lo, hi) in enumerate(box)
            )
            run_state = ClassRun(pids, [])
            single = all(isinstance(p, int) for p in pids)
            try:
                failure = _run_class(interp, kernel, args, kwargs, launch, run_state, box, single)
            except Split as split:
                lo, hi = box[split.axis]
                edges = [lo, *(c for c in split.cuts if lo < c < hi), hi]
                if len(edges) == 2:
                    return None
                for a, b in zip(edges[:-1], edges[1:]):
                    part = list(box)
                    part[split.axis] = (a, b)
                    work.append(tuple(part))
                continue
            if failure is not None:
                if not (single and one_dim and _disjoint(families)):
                    return None
                interp.families.extend(families)
                raise failure
            families.extend(run_state.families)
            COUNTS["classes"] += 1
        if not _disjoint(families):
            return None
        if interp.hovers:
            _show_last(interp, kernel, args, kwargs, launch)
    except NotGeneric:
        return None
    finally:
        interp.memory = memory
        interp.generic = None
    COUNTS["generic_launches"] += 1
    return families


def _show_last(interp: Any, kernel: Any, args: list, kwargs: dict, launch: Any) -> None:
    """Run the grid's last program alone, for what an editor shows on hover: the values
    of the last program, as the program-by-program path leaves them. Its stores and
    findings are dropped (its class has given them already)."""
    last = tuple((n - 1, n) for n in interp.grid)
    state = ClassRun(tuple(lo for lo, _ in last), [])
    saved = _saved(interp)
    try:
        _run_class(interp, kernel, args, kwargs, launch, state, last, True)
    except (NotGeneric, Split):
        pass
    finally:
        _restore(interp, saved)


def _run_class(
    interp: Any,
    kernel: Any,
    args: list,
    kwargs: dict,
    launch: Any,
    state: ClassRun,
    box: tuple[tuple[int, int], ...],
    single: bool,
) -> KernelError | Poisoned | None:
    """Run the class's generic program. A finding gives the class up (NotGeneric), with
    the interpreter's findings put back as they were, except the error that stops a
    one-program class: it is returned, its run's findings kept (with a number for its
    program id and no use of the per-element memory, they are the program-by-program
    run's)."""
    saved = _saved(interp)
    interp.program = tuple(lo for lo, _ in box)
    if interp.where is not None:
        interp.where = replace(interp.where, program=interp.program, generic=not single)
    interp.generic = state
    interp.memory = NoMemory()
    interp.scratch = []
    interp.in_kernel = True
    interp.steps = 0
    try:
        interp.call_function(kernel.function, list(args), dict(kwargs), launch.node)
    except (KernelError, Poisoned) as error:
        if not single:
            _restore(interp, saved)
            raise NotGeneric("a finding") from None
        return error
    except StepBudget:
        # the program by program run meets the budget too, and reports it there
        _restore(interp, saved)
        raise NotGeneric("the step budget") from None
    except BaseException:
        _restore(interp, saved)
        raise
    finally:
        interp.in_kernel = False
    # a finding, even one a loop's attempt by induction took back (STL002s stay listed)
    if (interp.reports, interp.failures, len(interp.unfollowed)) != saved[2:5]:
        _restore(interp, saved)
        raise NotGeneric("a finding")
    return None


def _saved(interp: Any) -> tuple:
    return (
        len(interp.diagnostics),
        set(interp._reported),
        interp.reports,
        interp.failures,
        len(interp.unfollowed),
        interp.store_failed,
        dict(interp.notes),
    )


def _restore(interp: Any, saved: tuple) -> None:
    ndiag, reported, reports, failures, nunfollowed, failed, notes = saved
    del interp.diagnostics[ndiag:]
    del interp.unfollowed[nunfollowed:]
    interp._reported, interp.reports, interp.failures = reported, reports, failures
    interp.store_failed, interp.notes = failed, notes


# ------------------------------------------------------------ memory


@contextmanager
def own_findings() -> Iterator[None]:
    """A finding raised by a load or store of a generic program gives the class up:
    the program-by-program path, which reports such findings itself, decides it (a
    one-program class stops the launch only at findings of the code both share)."""
    try:
        yield
    except KernelError:
        raise NotGeneric("a finding at a load or store") from None


Motion = tuple[tuple[I.ProgramKey, int], ...]  # (key, what one more of it adds), by key


def _motion(steps: dict[I.ProgramKey, int]) -> Motion:
    def order(key: I.ProgramKey) -> tuple[int, int]:
        return (0, key.axis) if isinstance(key, Pid) else (1, key.serial)

    return tuple(sorted(((k, m) for k, m in steps.items() if m), key=lambda km: order(km[0])))


def _uniform_step(arr: np.ndarray, shape: tuple[int, ...], admitted: np.ndarray) -> int:
    lanes = np.broadcast_to(arr, shape)[admitted]
    if not lanes.size or not (lanes == lanes[0]).all():
        raise NotGeneric("lanes that move by different amounts per program")
    return int(lanes[0])


def _decode(ptr: Ptr, admitted: np.ndarray, what: str) -> tuple[list[np.ndarray], list[Motion]]:
    """Each dim's index at the class's origin (every program key at its least value),
    and what one more of each key adds to it; a pointer outside the tensor at any
    program of the class gives it up."""
    tensor = ptr.tensor
    keys = I.program_keys(ptr.offset)
    if not keys:
        index, _, error = decode(tensor, ptr, admitted, what)
        if error is not None:
            raise NotGeneric("an access outside the tensor")
        return index, [()] * len(index)
    base = tensor.base or tensor
    if not base.sizes:
        raise NotGeneric("a program-dependent pointer to a scalar")
    if tensor.base is not None:
        raise NotGeneric("a program-dependent pointer into a view")
    own = {st: k for k, st in enumerate(tensor.strides)}
    strides = [
        k.stride if isinstance(k, I.PidTimes) else k
        for k in ptr.offset.symbols
        if not isinstance(k, (Pid, I.Derived))
    ]
    if len(base.sizes) > 1 and not any(k in own for k in strides):
        steps = _flat_steps(ptr, strides, admitted)
    else:
        if any(k not in own for k in strides):
            raise NotGeneric("a program-dependent pointer built with another tensor's stride")
        # a program key adds to the stride-free part (the last dim's index) and, times
        # a stride of the tensor, to that stride's dim
        steps = [{} for _ in base.sizes]
        for key, arr in ptr.offset.parts.items():
            if isinstance(key, (Pid, I.Derived)):
                k, program = len(steps) - 1, key
            elif isinstance(key, I.PidTimes):
                k, program = own[key.stride], key.pid
            else:
                continue
            step = _uniform_step(arr, ptr.shape, admitted)
            steps[k][program] = steps[k].get(program, 0) + step
    origin = Ptr(tensor, I.at_least_programs(ptr.offset))
    index, _, error = decode(tensor, origin, admitted, what)
    if error is not None:
        raise NotGeneric("an access outside the tensor at a program of the class")
    moves = [_motion(s) for s in steps]
    _inside(index, admitted, ptr.shape, moves, base.sizes)
    return index, moves


def _flat_steps(ptr: Ptr, strides: list, admitted: np.ndarray) -> list[dict]:
    """A flat (row-major) offset into a contiguous tensor of several dims, strides of
    other tensors at their known values, as the program-by-program path reads it. One
    more of a key adds ``c`` to the flat index: with ``c`` a multiple ``m`` of the
    row-major stride ``R_k`` of dim ``k`` (the first such dim), it adds ``m`` to dim
    ``k``'s index, as long as that index stays inside the dim (checked by
    :func:`_inside` over the class: then no carry reaches an earlier dim)."""
    tensor = ptr.tensor
    if not tensor.contiguous or any(getattr(k, "value", None) is None for k in strides):
        raise NotGeneric("a program-dependent flat offset with a symbolic stride")
    sizes = tensor.sizes
    rows = [int(np.prod(sizes[k + 1 :], dtype=np.int64)) for k in range(len(sizes))]
    steps: list[dict] = [{} for _ in sizes]
    for key, coeff in I.by_program(ptr.offset)[1].items():
        c = _uniform_step(coeff, ptr.shape, admitted)
        if not c:
            raise NotGeneric("lanes that move by different amounts per program")
        k = next(k for k, r in enumerate(rows) if c % r == 0)
        steps[k][key] = steps[k].get(key, 0) + c // rows[k]
    return steps


def _inside(
    index: list[np.ndarray],
    admitted: np.ndarray,
    shape: tuple[int, ...],
    moves: list[Motion],
    sizes: tuple[int, ...],
) -> None:
    """Every admitted lane inside the tensor at every program of the class: each dim's
    index is affine in the program keys, so its extremes are at the ends of their
    ranges (taken independently: an enclosure of the programs' tuples)."""
    for at, motion, size in zip(index, moves, sizes):
        lanes = np.broadcast_to(at, shape)[admitted]
        if not lanes.size:
            continue
        reach = [m * (k.most_program - k.least_program) for k, m in motion]
        low = int(lanes.min()) + sum(min(0, r) for r in reach)
        high = int(lanes.max()) + sum(max(0, r) for r in reach)
        if low < 0 or high >= size:
            raise NotGeneric("an access outside the tensor at a program of the class")


def load(
    interp: Any,
    ptr: Ptr,
    admitted: np.ndarray,
    other: Block | None,
    node: Any,
    masked_axes: frozenset[int] = frozenset(),
) -> Block:
    """A load of an input by the generic program: the block at the first program, its
    axes moving as the pointer does."""
    base = ptr.tensor.base or ptr.tensor
    if base.role != "input":
        raise NotGeneric("a load of a tensor the kernel writes")
    index, moves = _decode(ptr, admitted, "a load")
    first = Ptr(ptr.tensor, I.at_least_programs(ptr.offset))
    span = interp.span(node)
    block, errors = load_block(ptr.tensor, first, admitted, other, span, NoMemory(), masked_axes)
    if errors:
        raise NotGeneric("a finding at a load")
    if not any(moves):
        return block
    dims = base.dims or ()
    moving = {d: m for d, m in zip(dims, moves) if m}
    axes = tuple(
        ax if ax is None or ax.dim not in moving else Axis(ax.dim, ax.offset, moving[ax.dim])
        for ax in block.axes
    )
    fixed = tuple((d, Moving(i, moving[d]) if d in moving else i) for d, i in block.fixed)
    seen = {ax.dim for ax in axes if ax is not None} | {d for d, _ in fixed}
    if any(d not in seen for d in moving):
        raise NotGeneric("a load that moves along a dim its block does not hold")
    return Block(block.shape, axes, fixed, block.pieces, block.terms)


def store(interp: Any, ptr: Ptr, admitted: np.ndarray, value: Block, node: cst.Call) -> None:
    """A store into a result by the generic program: recorded as a :class:`Family`."""
    state: ClassRun = interp.generic
    base = ptr.tensor.base or ptr.tensor
    if base.role == "input":
        raise NotGeneric("a store into an input")
    if base.target is None:
        # a tensor no result is read from: in a case of one launch and no host work,
        # nothing reads it after the launch and loads of it are not generic, so only
        # where the store lands matters (inside, each element once)
        index, moves = _decode(ptr, admitted, "a store")
        box = _family_box(state, ptr, moves, _box(index, admitted, ptr.shape))
        state.families.append(Family(base.serial, interp.span(node), None, box))
        return
    if base.dims is None:
        raise NotGeneric("a store into a result without dims")
    value = blocks.broadcast(value, ptr.shape)
    foreign = [i for d, i in value.fixed if d not in base.dims]
    if any(isinstance(i, Moving) for i in foreign):
        raise NotGeneric("a stored value fixed along a moving dim the result does not have")
    if foreign:
        value = blocks.pin_fixed(value, base.dims)  # as the program-by-program store does
    index, moves = _decode(ptr, admitted, "a store")
    span = interp.span(node)
    axis_moves = {ax.dim: ax.moves for ax in value.axes if ax is not None}
    for d, i in value.fixed:
        axis_moves[d] = i.moves if isinstance(i, Moving) else ()
    # the block at the first program, checked as the program-by-program path checks it
    first = tuple((d, i.offset if isinstance(i, Moving) else i) for d, i in value.fixed)
    at_first = Block(value.shape, value.axes, first, value.pieces, value.terms)
    if check_target_store(base, index, admitted, at_first, span):
        raise NotGeneric("a finding at a store")
    for d, m in zip(base.dims, moves):
        if d in axis_moves and axis_moves[d] != m:
            raise NotGeneric("a stored block that moves unlike its pointer")
    if any(m and d not in axis_moves for d, m in zip(base.dims, moves)):
        # a value that does not depend on the moving dim: not followed on this path
        raise NotGeneric("a stored value that stays while its pointer moves")
    pieces = np.unique(np.broadcast_to(value.pieces, ptr.shape)[admitted])
    if len(pieces) != 1 or isinstance(value.terms[int(pieces[0])], Undef):
        raise NotGeneric("a store of several pieces")
    box = _family_box(state, ptr, moves, _box(index, admitted, ptr.shape))
    term = value.terms[int(pieces[0])]
    assert not isinstance(term, Undef)
    state.families.append(Family(base.serial, span, term, box))


def _family_box(state: ClassRun, ptr: Ptr, moves: list[Motion], box: Box) -> Box:
    """The elements a store writes over the programs of the class: its box at the
    origin shifted by exactly its width per unit of one program key along each dim that
    moves, the programs taking each tuple of those keys' values once; else given up."""
    used: dict[I.ProgramKey, tuple[int, int]] = {}
    for k, motion in enumerate(moves):
        if len(motion) > 1:
            raise NotGeneric("a stored dim that moves with two program ids")
        for key, m in motion:
            if key in used:
                raise NotGeneric("a program id that moves two dims of a store")
            used[key] = (k, m)
    if not state.distinct(tuple(used)):
        # two programs of the class store the same elements (or the keys' values
        # are no box): the per-element memory decides
        raise NotGeneric("programs of a class that store the same elements")
    out = list(box)
    for key, (k, m) in used.items():
        lo, hi = out[k]
        if m != hi - lo:
            raise NotGeneric("programs that store with overlaps or holes between them")
        out[k] = (lo, hi + m * (key.most_program - key.least_program))
    return tuple(out)


def _box(index: list[np.ndarray], admitted: np.ndarray, shape: tuple[int, ...]) -> Box:
    """The box the admitted lanes' elements make, each once; else the class is given up."""
    at = [np.broadcast_to(i, shape)[admitted] for i in index]
    if not at or not at[0].size:
        raise NotGeneric("a store with no lane admitted")
    box = tuple((int(a.min()), int(a.max()) + 1) for a in at)
    size = int(np.prod([hi - lo for lo, hi in box]))
    if size != at[0].size or len(np.unique(np.stack(at), axis=1).T) != size:
        raise NotGeneric("a store that is not one box of elements, each once")
    return box


def _disjoint(families: list[Family]) -> bool:
    for k, a in enumerate(families):
        for b in families[k + 1 :]:
            meet = all(x < w and v < y for (x, y), (v, w) in zip(a.box, b.box))
            if a.tensor == b.tensor and meet:
                return False
    return True


def stored(families: list[Family], serial: int, target: str) -> list[Stored]:
    """The families of one result as the checker's :class:`~.memory.Stored` records."""
    out: dict[Span, Stored] = {}
    for family in families:
        if family.tensor != serial:
            continue
        assert family.term is not None  # a result's families hold terms
        record = out.setdefault(family.span, Stored(target, family.span))
        record.boxes.append(family.box)
        record.pieces.append((family.term, [family.box]))
    return list(out.values())
