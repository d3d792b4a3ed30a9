"""Memory element by element: which store last wrote each element, and what a load sees.

Every tensor a kernel writes (a result, a scratch buffer, a host copy) has
:class:`Cells`: per element, the store that last wrote it (a :class:`Record`:
which launch, which program, the terms it stored) or its initial content
(zeros, an input's values, undefined for ``torch.empty``). A stored term is a
function of the tensor's own dims, each the index along one of its axes, so
the element alone says what it holds: a load picks, lane by lane, the term
the last earlier store left there.

Order is the real one: program order inside a program, launch order across
launches, the host's copies where the wrapper makes them. Programs of one
launch run in no order: a load of an element another program of the same
launch stores, before or after it in the interpretation's order, is a race
(STL047), never a value.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError
from ...ir.terms import Term, free_dims
from .. import blocks
from ..blocks import Block, Undef


@dataclass(frozen=True, eq=False)
class Record:
    """One ``tl.store``: where it ran and the terms it left (``None``: a value that is
    no function of the element alone, readable only through the same pointer)."""

    launch: int
    program: tuple[int, ...]
    span: Span
    terms: tuple[Term | Undef, ...] | None
    # an atomic read-modify-write (``tl.atomic_add``): atomics of several programs of one
    # launch into one element commute, so they are no race among themselves
    atomic: bool = False


@dataclass(frozen=True)
class Read:
    """A load that read some elements in the current launch."""

    program: tuple[int, ...]
    span: Span


@dataclass(eq=False)
class Cells:
    """The elements of one tensor: their dims, initial content and last writers."""

    name: str
    sizes: tuple[int, ...]
    dims: list[str]  # names the stored terms use; placeholders until a store says
    known: list[bool]  # whether dims[k] is a real dim (of a spec, or of a stored value)
    initial: Term | None  # None: undefined (torch.empty)
    owner: np.ndarray = field(init=False)  # record id per element, -1: initial content
    piece: np.ndarray = field(init=False)  # index into that record's terms
    rival: np.ndarray = field(init=False)  # a record of another program of the same launch
    rival_piece: np.ndarray = field(init=False)
    serial: int = -1  # the tensor's
    reads: list[Read] = field(default_factory=list)
    first_read: np.ndarray = field(init=False)  # index into reads, -1: not read this launch
    other_read: np.ndarray = field(init=False)  # a read by a second program
    launch_writer: np.ndarray = field(init=False)  # record of this launch's first store
    launch_writers: np.ndarray = field(init=False)  # whether two programs of it store

    def __post_init__(self) -> None:
        self.owner = np.full(self.sizes, -1, np.int64)
        self.piece = np.zeros(self.sizes, np.int64)
        self.rival = np.full(self.sizes, -1, np.int64)
        self.rival_piece = np.zeros(self.sizes, np.int64)
        self.forget_reads()

    def forget_reads(self) -> None:
        self.reads = []
        self.first_read = np.full(self.sizes, -1, np.int64)
        self.other_read = np.full(self.sizes, -1, np.int64)
        self.launch_writer = np.full(self.sizes, -1, np.int64)
        self.launch_writers = np.zeros(self.sizes, bool)


@dataclass(frozen=True)
class Planned:
    """Which program of a launch stores each element of a tensor, learnt from a first run
    of the launch: a load can tell a race before the other program has run."""

    writer: np.ndarray  # per element: -1, or the index of a store into ``stores``
    several: np.ndarray  # stored by two programs
    stores: tuple[Record, ...]


ARRAYS = (
    "owner",
    "piece",
    "rival",
    "rival_piece",
    "first_read",
    "other_read",
    "launch_writer",
    "launch_writers",
)


def placeholder(name: str, k: int) -> str:
    return f"_{name}{k}"


def _where(name: str, dims: list[str], element: tuple[int, ...]) -> str:
    shown = [d if not d.startswith("_") else f"dim{k}" for k, d in enumerate(dims)]
    return f"{name}[" + ", ".join(f"{d}={i}" for d, i in zip(shown, element)) + "]"


def _program(pid: tuple[int, ...]) -> str:
    return "program (" + ", ".join(str(p) for p in pid) + ")"


@dataclass
class Memory:
    """Cells of every tensor written so far, for one run of a case's launches."""

    records: list[Record] = field(default_factory=list)
    cells: dict[int, Cells] = field(default_factory=dict)
    launch: int = -1
    program: tuple[int, ...] = (0, 0, 0)
    # what a first run of the current launch stored, by tensor (see Planned)
    planned: dict[int, Planned] = field(default_factory=dict)
    # a load of this launch read what no store had written yet, or what another program
    # stores later: run the launch again knowing who stores what (see Planned)
    run_again: bool = False
    copies: list[int] = field(default_factory=list)  # tensors host copies wrote, in order
    undecided: list = field(default_factory=list)  # copies that may be the tensor itself

    def plan(self) -> dict[int, Planned]:
        """The stores of the current launch so far, for a rerun of it (see Planned)."""
        out = {}
        for serial, cells in self.cells.items():
            if (cells.launch_writer >= 0).any():
                out[serial] = Planned(
                    cells.launch_writer.copy(), cells.launch_writers.copy(), tuple(self.records)
                )
        return out

    def snapshot(self) -> Memory:
        """A copy to go back to: the arrays copied, the records (immutable) shared."""
        cells = {}
        for serial, c in self.cells.items():
            twin = copy.copy(c)
            for name in ARRAYS:
                setattr(twin, name, getattr(c, name).copy())
            twin.dims, twin.known, twin.reads = list(c.dims), list(c.known), list(c.reads)
            cells[serial] = twin
        return Memory(
            list(self.records),
            cells,
            self.launch,
            self.program,
            dict(self.planned),
            self.run_again,
            list(self.copies),
            list(self.undecided),
        )

    def begin_launch(self) -> None:
        self.launch += 1
        self.planned = {}
        self.run_again = False
        for cells in self.cells.values():
            cells.forget_reads()

    def of(self, serial: int) -> Cells | None:
        return self.cells.get(serial)

    def make(
        self, serial: int, name: str, sizes: tuple[int, ...], dims, initial: Term | None
    ) -> Cells:
        """The cells of a tensor, made on its first store or copy."""
        cells = self.cells.get(serial)
        if cells is None:
            sizes = tuple(sizes) or (1,)  # a 0-d tensor: one element, at index 0
            rank = len(sizes)
            named = list(dims) if dims else [placeholder(name, k) for k in range(rank)]
            cells = Cells(name, tuple(sizes), named, [bool(dims)] * rank, initial, serial)
            self.cells[serial] = cells
        return cells

    # ------------------------------------------------------------ loads

    def load(
        self, cells: Cells, index: list[np.ndarray], lanes: np.ndarray, span: Span
    ) -> tuple[np.ndarray, list, KernelError | None]:
        """Per lane of ``lanes`` (others: 0), which of the returned pieces it reads."""
        shape = lanes.shape
        index = _one_element(index, shape)
        choice = np.zeros(shape, np.int64)
        initial: Term | Undef = (
            cells.initial
            if cells.initial is not None
            else Undef(span, f"read from {cells.name}, which nothing wrote")
        )
        options: list = [initial]
        if not lanes.any():
            return choice, options, None
        at = tuple(np.broadcast_to(i, shape)[lanes] for i in index)
        owner = cells.owner[at]
        piece = cells.piece[at]
        rival = cells.rival[at]
        error = None
        raced = np.zeros(owner.shape, bool)
        if (owner < 0).any():
            self.run_again = True
        if any(
            self.records[int(n)].atomic and self.records[int(n)].launch == self.launch
            for n in np.unique(owner[owner >= 0])
        ):
            self.run_again = True  # other programs may add to it later: the plan tells
        plan = self.planned.get(cells.serial)
        if plan is not None:
            writer = plan.writer[at]
            others = (writer >= 0) & (
                plan.several[at]
                | np.array(
                    [w >= 0 and plan.stores[w].program != self.program for w in writer.tolist()],
                    dtype=bool,
                ).reshape(writer.shape)
            )
            if others.any():
                raced |= others
                k = int(np.argwhere(others)[0][0])
                store = plan.stores[int(writer[k])]
                writer_program = store.program
                if writer_program == self.program:
                    writer_program = next(
                        r.program
                        for r in plan.stores
                        if r.launch == self.launch and r.program != self.program
                    )
                element = tuple(int(a[k]) for a in at)
                error = race(cells, element, span, store.span, writer_program, self.program)
        for n in np.unique(owner[owner >= 0]):
            record = self.records[int(n)]
            here = owner == n
            if record.launch == self.launch and record.program != self.program:
                raced |= here
                if error is None:
                    element = tuple(int(a[here][0]) for a in at)
                    error = race(cells, element, span, record.span, record.program, self.program)
            elif record.terms is None:
                raise KernelError(
                    "STL002",
                    f"unsupported: a load from {cells.name} of what a store left there "
                    "that is no function of the element alone",
                    notes=(f"stored at line {record.span.line}",),
                    help="read it back with the same pointer block in the program that "
                    "stored it, or store a value that runs along the tensor's dims",
                    node=span,
                )
        if error is None and (rival >= 0).any():
            first = int(np.argwhere(rival >= 0)[0][0])
            element = tuple(int(a[first]) for a in at)
            one = self.records[int(rival[first])]
            two = self.records[int(owner[first])]
            error = KernelError(
                "STL047",
                f"this load reads {_where(cells.name, cells.dims, element)}, which "
                f"{_program(one.program)} and {_program(two.program)} of one launch both "
                "store: which value it holds depends on their order",
                notes=(f"stored at lines {one.span.line} and {two.span.line}",),
                help="let exactly one program write each element",
                node=span,
            )
            raced |= rival >= 0
        keys: dict[tuple[int, int], int] = {}
        picked = np.zeros(owner.shape, np.int64)
        for k, (n, p) in enumerate(zip(owner.tolist(), piece.tolist())):
            if n < 0 and not raced[k]:
                continue
            if raced[k]:
                key = (-2, 0)
            else:
                key = (n, p)
            if key not in keys:
                keys[key] = len(options)
                if key[0] == -2:
                    options.append(Undef(span, "raced", reported=True))
                else:
                    terms = self.records[n].terms
                    assert terms is not None
                    options.append(terms[p])
            picked[k] = keys[key]
        choice[lanes] = picked
        self.note_read(cells, at, span)
        return choice, options, error

    def held(
        self, cells: Cells, index: list[np.ndarray], lanes: np.ndarray, span: Span, what: str
    ) -> tuple[np.ndarray, list, KernelError | None]:
        """What an atomic update of ``lanes`` finds in the elements (as :meth:`load`):
        the atomics of other programs of this launch commute with it, their plain
        stores do not (STL047)."""
        shape = lanes.shape
        index = _one_element(index, shape)
        choice = np.zeros(shape, np.int64)
        initial: Term | Undef = (
            cells.initial
            if cells.initial is not None
            else Undef(span, f"{what} adds to {cells.name}, whose initial content is undefined")
        )
        options: list = [initial]
        if not lanes.any():
            return choice, options, None
        at = tuple(np.broadcast_to(i, shape)[lanes] for i in index)
        owner, piece, rival = cells.owner[at], cells.piece[at], cells.rival[at]
        error = None
        picked = np.zeros(owner.shape, np.int64)
        keys: dict[tuple[int, int], int] = {}
        for k, (n, p) in enumerate(zip(owner.tolist(), piece.tolist())):
            if n < 0:
                continue
            record = self.records[n]
            mine = record.launch != self.launch or record.program == self.program
            plain_rival = not mine and not record.atomic
            if plain_rival or rival[k] >= 0:
                if error is None:
                    element = tuple(int(a[k]) for a in at)
                    error = KernelError(
                        "STL047",
                        f"this atomic update of {_where(cells.name, cells.dims, element)} "
                        f"meets a plain store of it by {_program(record.program)} of the "
                        "same launch: which value the element ends with depends on their "
                        "order",
                        notes=(f"stored at line {record.span.line}",),
                        help="update the element with atomics only within one launch",
                        node=span,
                    )
                key = (-2, 0)
            else:
                key = (n, p)
            if key not in keys:
                keys[key] = len(options)
                if key[0] == -2:
                    options.append(Undef(span, "raced", reported=True))
                else:
                    if record.terms is None:
                        raise KernelError(
                            "STL002",
                            f"unsupported: {what} of what a store left in {cells.name} "
                            "that is no function of the element alone",
                            notes=(f"stored at line {record.span.line}",),
                            node=span,
                        )
                    options.append(record.terms[p])
            picked[k] = keys[key]
        choice[lanes] = picked
        return choice, options, error

    def note_read(self, cells: Cells, at: tuple[np.ndarray, ...], span: Span) -> None:
        """Remember that this program read these elements (a later store by another
        program of this launch races with it)."""
        cells.reads.append(Read(self.program, span))
        me = len(cells.reads) - 1
        first = cells.first_read[at]
        fresh = first < 0
        other = _each_distinct(first, lambda f: cells.reads[f].program != self.program)
        cells.first_read[at] = np.where(fresh, me, first)
        cells.other_read[at] = np.where(other, me, cells.other_read[at])

    # ------------------------------------------------------------ stores

    def store(
        self,
        cells: Cells,
        index: list[np.ndarray],
        lanes: np.ndarray,
        value: Block,
        span: Span,
        atomic: bool = False,
        pin: bool = True,
    ) -> KernelError | None:
        """Record that ``lanes`` of ``value`` land on the elements ``index`` gives
        (``atomic``: an atomic update, whose value already holds what was there; ``pin``:
        lanes whose terms run along no dim of the tensor may hold their values fixed at
        their own elements)."""
        shape = lanes.shape
        index = _one_element(index, shape)
        if not lanes.any():
            return None
        at = tuple(np.broadcast_to(i, shape)[lanes] for i in index)
        error = self._read_race(cells, at, span)
        if error is not None:
            self.run_again = True  # the load used a value this store may precede
        terms: tuple[Term | Undef, ...] | None = tuple(
            replace(t, reported=True) if isinstance(t, Undef) else t for t in value.terms
        )
        if not self._align(cells, index, lanes, value):
            # a lane of x[N] with N fixed (a reduction's one-lane run) that lands on no
            # element along N holds x at that index: bind it there, then align again
            pinned = blocks.pin_fixed(value, ())
            if pin and not (pinned is not value and self._align(cells, index, lanes, pinned)):
                # lanes landing on elements whose indices are not the stored terms' (a
                # flat tensor): each lane holds its value at its own element, a term of
                # no free dim, which any element can hold
                pinned = blocks.pin_lanes(value, np.broadcast_to(lanes, shape))
            if pinned is not None and self._align(cells, index, lanes, pinned):
                value = pinned
                terms = tuple(
                    replace(t, reported=True) if isinstance(t, Undef) else t for t in pinned.terms
                )
            else:
                terms = None
        record = Record(self.launch, self.program, span, terms, atomic)
        self.records.append(record)
        n = len(self.records) - 1
        before = cells.owner[at]
        racing = _each_distinct(
            before,
            lambda b: (
                self.records[b].launch == self.launch
                and self.records[b].program != self.program
                and not (atomic and self.records[b].atomic)
            ),
        )
        if atomic:  # an earlier race on the element stays one
            racing_before = cells.rival[at] >= 0
            cells.rival_piece[at] = np.where(
                racing, cells.piece[at], np.where(racing_before, cells.rival_piece[at], 0)
            )
            cells.rival[at] = np.where(racing, before, cells.rival[at])
        else:
            cells.rival[at] = np.where(racing, before, -1)
            cells.rival_piece[at] = np.where(racing, cells.piece[at], 0)
        cells.owner[at] = n
        cells.piece[at] = np.broadcast_to(value.pieces, shape)[lanes]
        first = cells.launch_writer[at]
        other = _each_distinct(first, lambda f: self.records[f].program != self.program)
        cells.launch_writers[at] |= other
        cells.launch_writer[at] = np.where(first >= 0, first, n)
        return error

    def _read_race(
        self, cells: Cells, at: tuple[np.ndarray, ...], span: Span
    ) -> KernelError | None:
        """A load of another program of this launch read an element this store writes."""
        for column in (cells.first_read, cells.other_read):
            reads = column[at]
            other = _each_distinct(reads, lambda r: cells.reads[r].program != self.program)
            if other.any():
                k = int(other.argmax())  # the first such lane
                read = cells.reads[int(reads[k])]
                element = tuple(int(a[k]) for a in at)
                return race(cells, element, read.span, span, self.program, read.program)
        return None

    def _align(
        self, cells: Cells, index: list[np.ndarray], lanes: np.ndarray, value: Block
    ) -> bool:
        """Whether every dim the stored terms depend on is the index along one of the
        tensor's dims; a scratch tensor's dims are named after the first such store."""
        coords = blocks.coordinates(value)
        used: set[str] = set()
        for piece, term in enumerate(value.terms):
            if isinstance(term, Undef) or not (lanes & (value.pieces == piece)).any():
                continue
            used |= free_dims(term)
        shape = lanes.shape
        for d in sorted(used):
            if d in cells.dims:
                k = cells.dims.index(d)
                if d not in coords or not _same(coords[d], index[k], lanes, shape):
                    return False
                continue
            if d not in coords:
                return False
            k = next(
                (
                    k
                    for k in range(len(cells.dims))
                    if not cells.known[k] and _same(coords[d], index[k], lanes, shape)
                ),
                None,
            )
            if k is None:
                return False
            cells.dims[k] = d
            cells.known[k] = True
        return True

    # ------------------------------------------------------------ host copies

    def copy(self, dst: Cells, src: Cells | None, initial: Term | None, dims) -> None:
        """``dst`` now holds what ``src`` holds (``None``: an input, whose values are
        ``initial``); its terms run along ``dims``."""
        result = all(dst.known)
        if src is None:
            dst.owner[...] = -1
            dst.rival[...] = -1
            dst.initial = initial
            dst.known = [True] * len(dst.sizes)
        else:
            dst.owner[...] = src.owner
            dst.piece[...] = src.piece
            dst.rival[...] = src.rival
            dst.rival_piece[...] = src.rival_piece
            dst.initial = src.initial
            dst.known = [True] * len(dst.sizes) if result else list(src.known)
        dst.dims = list(dims)

    # ------------------------------------------------------------ final content

    def final(
        self, cells: Cells
    ) -> list[tuple[Record, Term | Undef, list[tuple[tuple[int, int], ...]]]]:
        """What each record left in the tensor at the end: (record, term, the boxes of
        its elements), a rival write of another program of the same launch included;
        in order of record, then piece."""
        out = []
        shape = cells.owner.shape
        for owner, piece in ((cells.owner, cells.piece), (cells.rival, cells.rival_piece)):
            flat_owner = owner.reshape(-1)
            where = np.flatnonzero(flat_owner >= 0)
            owners, pieces = flat_owner[where], piece.reshape(-1)[where]
            # grouped by (record, piece); within a group the elements stay in index order
            order = np.lexsort((pieces, owners))
            owners, pieces, where = owners[order], pieces[order], where[order]
            cuts = np.flatnonzero((owners[1:] != owners[:-1]) | (pieces[1:] != pieces[:-1]))
            starts = [0, *(cuts + 1).tolist()]
            for lo, hi in zip(starts, [*starts[1:], owners.size]):
                if lo == hi:
                    continue
                record = self.records[int(owners[lo])]
                if record.terms is None:
                    continue
                term = record.terms[int(pieces[lo])]
                out.append((record, term, blocks.boxes_of_cells(where[lo:hi], shape)))
        return out


def _each_distinct(values: np.ndarray, test: Callable[[int], bool]) -> np.ndarray:
    """Per element of ``values`` (indices into a list of records or reads; negative:
    none), ``test`` of it, False where negative: ``test`` runs once per distinct index,
    not once per lane."""
    out = np.zeros(values.shape, dtype=bool)
    some = values >= 0
    if not some.any():
        return out
    distinct, inverse = np.unique(values[some], return_inverse=True)
    passed = np.array([bool(test(int(v))) for v in distinct.tolist()], dtype=bool)
    out[some] = passed[inverse.reshape(-1)]
    return out


def _one_element(index: list[np.ndarray], shape: tuple[int, ...]) -> list[np.ndarray]:
    """The index of a 0-d tensor's one element (see Memory.make)."""
    return index if index else [np.zeros(shape, np.int64)]


def _same(coord: np.ndarray, index: np.ndarray, lanes: np.ndarray, shape) -> bool:
    return bool(
        (np.broadcast_to(coord, shape)[lanes] == np.broadcast_to(index, shape)[lanes]).all()
    )


def race(
    cells: Cells,
    element: tuple[int, ...],
    load: Span,
    store: Span,
    writer: tuple[int, ...],
    reader: tuple[int, ...],
) -> KernelError:
    return KernelError(
        "STL047",
        f"this load reads {_where(cells.name, cells.dims, element)}, which another program "
        f"of the same launch stores: expected a value no program of this launch writes, "
        f"found the store at line {store.line} by {_program(writer)}",
        notes=(
            f"the load runs in {_program(reader)}; programs of one launch run in no fixed "
            "order, so it may see the element before or after that store",
        ),
        help="write it in one launch and read it in a later one, or let each program "
        "read only what it stores itself",
        node=load,
    )
