"""One generic program per class of programs of a launch (a fast path, with a sound fallback).

A class is a box of the grid: per axis a range of program ids. Its generic
program runs once with ``tl.program_id(axis)`` an int32 whose value is a
symbol (:class:`~.ints.Pid`) when the class has several programs along the
axis. Integers stay affine in it; a fact that depends on it is decided for the
whole class or cuts the class (:class:`~.ints.Split`: a comparison whose truth
flips, an int32 value that wraps); anything else (``//``, ``%``, ``int()`` of
it, a reduction along an axis that moves with it, a load of a tensor the
launch or an earlier one writes, an atomic, any finding) gives the class up
(:class:`~..blocks.NotGeneric`), and the launch is run program by program.

A store of a class is a family: at the first program its lanes cover one box
of the result exactly once, and each next program shifts the box along one dim
by exactly its width, so the family's footprint is one box. Families of a
launch must be pairwise disjoint. The stores then need no per-element memory:
each family is one write and one obligation on its box.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
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

    def program_id(self, axis: int) -> I.Ints:
        pid = self.pids[axis]
        if isinstance(pid, int):
            return I.typed(pid, "int32")
        one = np.asarray(1, np.int64)
        return I.Ints((), {None: np.asarray(0, np.int64), pid: one}, np.zeros((), bool), "int32")


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
            pids = tuple(lo if hi - lo == 1 else Pid(k, lo, hi) for k, (lo, hi) in enumerate(box))
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


def _decode(ptr: Ptr, admitted: np.ndarray, what: str) -> tuple[list[np.ndarray], list[int]]:
    """Each dim's index at the class's first program, and what each next program adds
    to it; a pointer outside the tensor at any program of the class gives it up."""
    tensor = ptr.tensor
    pid = I.pid_of(ptr.offset)
    if pid is None:
        index, _, error = decode(tensor, ptr, admitted, what)
        if error is not None:
            raise NotGeneric("an access outside the tensor")
        return index, [0] * len(index)
    base = tensor.base or tensor
    if not base.sizes:
        raise NotGeneric("a program-dependent pointer to a scalar")
    own = {st: k for k, st in enumerate(tensor.strides)}
    keys = [k.stride if isinstance(k, I.PidTimes) else k for k in ptr.offset.symbols]
    if tensor.base is not None:
        raise NotGeneric("a program-dependent pointer into a view")
    if len(base.sizes) > 1 and not any(k in own for k in keys):
        return _decode_flat(ptr, pid, keys, admitted, what)
    if any(k not in own for k in keys if k != pid):
        raise NotGeneric("a program-dependent pointer built with another tensor's stride")
    # the program id adds to the stride-free part (the last dim's index) and, times a
    # stride of the tensor, to that stride's dim
    moves = [0] * len(base.sizes)
    for key, arr in ptr.offset.parts.items():
        if key == pid or isinstance(key, I.PidTimes):
            k = len(moves) - 1 if key == pid else own.get(key.stride)
            if k is None:
                raise NotGeneric("a program id times another tensor's stride")
            lanes = np.broadcast_to(arr, ptr.shape)[admitted]
            if not lanes.size or not (lanes == lanes[0]).all():
                raise NotGeneric("lanes that move by different amounts per program")
            moves[k] += int(lanes[0])
    first, _ = _decode_ends(ptr, pid, admitted, what)
    return first, moves


def _decode_ends(ptr: Ptr, pid: Pid, admitted: np.ndarray, what: str) -> list[list[np.ndarray]]:
    """The elements ``ptr`` reaches at the class's first and last programs; an access
    outside the tensor at either gives the class up."""
    ends = []
    for p in (pid.lo, pid.hi - 1):
        at = Ptr(ptr.tensor, I.at_program(ptr.offset, pid, p))
        index, _, error = decode(ptr.tensor, at, admitted, what)
        if error is not None:
            raise NotGeneric("an access outside the tensor at a program of the class")
        ends.append(index)
    return ends


def _decode_flat(
    ptr: Ptr, pid: Pid, keys: list, admitted: np.ndarray, what: str
) -> tuple[list[np.ndarray], list[int]]:
    """A flat (row-major) offset into a contiguous tensor of several dims, strides of
    other tensors at their known values, as the program-by-program path reads it. Each
    next program adds ``c`` to the flat index: with ``c`` a multiple ``m`` of the
    row-major stride ``R_k`` of dim ``k`` (the first such dim), dims after ``k`` keep
    their index and dim ``k`` moves by ``m``, as long as no dim before ``k`` changes;
    that prefix is monotone in the program id, so equal at both ends it is constant."""
    tensor = ptr.tensor
    if not tensor.contiguous or any(getattr(k, "value", None) is None for k in keys if k != pid):
        raise NotGeneric("a program-dependent flat offset with a symbolic stride")
    coeff = np.asarray(ptr.offset.part(pid), np.int64)
    for key, arr in ptr.offset.parts.items():
        if isinstance(key, I.PidTimes):
            coeff = coeff + key.stride.value * np.asarray(arr, np.int64)
    lanes = np.broadcast_to(coeff, ptr.shape)[admitted]
    if not lanes.size or not (lanes == lanes[0]).all() or not lanes[0]:
        raise NotGeneric("lanes that move by different amounts per program")
    c = int(lanes[0])
    sizes = tensor.sizes
    rows = [int(np.prod(sizes[k + 1 :], dtype=np.int64)) for k in range(len(sizes))]
    k = next(k for k, r in enumerate(rows) if c % r == 0)
    ends = [
        [np.broadcast_to(i, ptr.shape)[admitted] for i in index]
        for index in _decode_ends(ptr, pid, admitted, what)
    ]
    if any((a != b).any() for a, b in zip(ends[0][:k], ends[1][:k])):
        raise NotGeneric("a flat offset that carries into an earlier dim")
    moves = [0] * len(sizes)
    moves[k] = c // rows[k]
    first = Ptr(tensor, I.at_program(ptr.offset, pid, pid.lo))
    index, _, _ = decode(tensor, first, admitted, what)
    return index, moves


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
    pid = I.pid_of(ptr.offset)
    first = ptr if pid is None else Ptr(ptr.tensor, I.at_program(ptr.offset, pid, pid.lo))
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
        axis_moves[d] = i.moves if isinstance(i, Moving) else 0
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


def _family_box(state: ClassRun, ptr: Ptr, moves: list[int], box: Box) -> Box:
    """The elements a store writes over the programs of the class: its box at the first
    program shifted by exactly its width per program along one dim; else given up."""
    pid = I.pid_of(ptr.offset)
    if any(isinstance(p, Pid) and p != pid for p in state.pids):
        # programs along another axis of the class store the same elements
        raise NotGeneric("programs of a class that store the same elements")
    if pid is not None:
        moving = [k for k, m in enumerate(moves) if m]
        if len(moving) != 1:
            raise NotGeneric("programs of a class that store the same elements")
        k = moving[0]
        lo, hi = box[k]
        if moves[k] != hi - lo:
            raise NotGeneric("programs that store with overlaps or holes between them")
        box = (*box[:k], (lo, hi + moves[k] * (pid.hi - pid.lo - 1)), *box[k + 1 :])
    return box


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
