"""Data blocks: the values of a block-programmed kernel (Triton, Pallas), one program at a time.

A block is an n-dimensional array of *lanes*. Each lane holds a term of the
term language (a function of logical dims), chosen from a short list of
*pieces*: a load under a mask gives the loaded term on its admitted lanes and
``other`` (or :class:`Undef`) on the others, and every operation combines the
pieces of its operands lane by lane. Which element of the logical dims a lane
stands for is given per block axis (an :class:`Axis`: the dim and the global
index of the axis's first lane) and by the dims a program fixes (a row id).
Everything about lanes is concrete (NumPy arrays over the lane grid): masks,
piece choices and reductions split into the runs of lanes that hold one
piece, so a masked reduction is exactly the reduction over the admitted range.

The API, used by the Triton and Pallas front ends:

* :func:`uniform`, :func:`select` (a mask picks between two blocks),
  :func:`elementwise`, :func:`expand`, :func:`broadcast`, :func:`transpose`,
  :func:`reduce`, :func:`dot`;
* :func:`fold_binary`, :func:`fold_unary`: term constructors that fold the
  constants a masked lane produces (``x + -inf``, ``exp(-inf)``, ``0 * x``);
* :func:`regions`: the boxes of logical elements a set of lanes covers, with
  the piece each box holds (stores become obligations on these boxes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..core.diagnostics import Span
from ..core.errors import KernelError
from ..ir.terms import (
    Binary,
    Const,
    Constraint,
    Load,
    Reduce,
    Select,
    Term,
    Unary,
    Where,
    at_index,
    children,
    const,
    constraint,
    constraint_key,
    free_dims,
    one_index_reductions_fixed,
    rewrite,
    select_parts,
    show_short,
    where,
)
from ..ir.terms import select as compared_select

NEG_INF = float("-inf")
POS_INF = float("inf")


class NotGeneric(BaseException):
    """A program-dependent fact the generic program of a class of programs does not
    follow (a reduction along an axis that moves with the program id): the class is
    run program by program instead. Not an ``Exception``, so that no handler of the
    interpreter takes it for a finding."""


@dataclass(frozen=True)
class Moving:
    """The one index of a dim a block's lanes share (``Block.fixed``) in the generic
    program of a class of programs: ``offset`` at the class's origin (every program id
    at its least), plus, for each ``(key, step)`` of ``moves``, ``step`` per unit of
    that program id (or integer derived from them). Any arithmetic on it gives the
    class up."""

    offset: int
    moves: tuple[tuple[object, int], ...]

    def __index__(self) -> int:
        raise NotGeneric("the index of a dim that moves with the program id")

    __int__ = __index__

    def _arithmetic(self, *_: object) -> int:
        raise NotGeneric("arithmetic on the index of a dim that moves with the program id")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _arithmetic
    __lt__ = __le__ = __gt__ = __ge__ = __neg__ = _arithmetic

    def __str__(self) -> str:
        return f"{self.offset}+" + "+".join(f"{m}*({k})" for k, m in self.moves)


@dataclass(frozen=True)
class Axis:
    """A block axis that runs along ``dim``: lane ``i`` is global index ``offset + i``.
    In the generic program of a class of programs, ``offset`` is the class's origin's
    and ``moves`` what one more of each program id adds to it (as :class:`Moving`)."""

    dim: str
    offset: int
    moves: tuple[tuple[object, int], ...] = ()


@dataclass(frozen=True)
class Undef:
    """Lanes without a defined value: masked off without ``other``, or wrapped by ``%``."""

    span: Span  # the load that produced them
    why: str
    reported: bool = False  # its cause is already a diagnostic (an out-of-bounds load)


Piece = Term | Undef


@dataclass(frozen=True, eq=False)
class Block:
    """Lanes of ``shape``; lane ``l`` holds ``terms[pieces[l]]``."""

    shape: tuple[int, ...]
    axes: tuple[Axis | None, ...]
    fixed: tuple[tuple[str, int], ...]  # dims this block's lanes share one index of
    pieces: np.ndarray  # int array of ``shape``
    terms: tuple[Piece, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def describe(self) -> str:
        """The block's DimType: each axis's dim and global range, then fixed dims."""
        parts = []
        for n, ax in zip(self.shape, self.axes):
            parts.append(f"{ax.dim}[{ax.offset}:{ax.offset + n}]" if ax else f"_[{n}]")
        parts += [f"{d}={i}" for d, i in self.fixed]
        return " ".join(parts) or "scalar"

    def defined_terms(self) -> list[Term]:
        return [t for t in self.terms if not isinstance(t, Undef)]

    def hover(self) -> str:
        """DimType and ExprType (each piece), as an editor shows them on hover."""
        shown = [
            "undefined" if isinstance(t, Undef) else show_short(t, 200) for t in self.terms[:3]
        ]
        more = f" (and {len(self.terms) - 3} more pieces)" if len(self.terms) > 3 else ""
        return f"DimType: {self.describe()}\nExprType: {' | '.join(shown)}{more}"


class LayoutMismatch(KernelError):
    """Operands whose lanes stand for different elements."""


def _mismatch(message: str, code: str = "STL011") -> KernelError:
    return LayoutMismatch(
        code,
        message,
        help="operands of an elementwise operation must hold the same elements lane by lane",
    )


def _normalize(
    shape: tuple[int, ...],
    axes: Sequence[Axis | None],
    fixed: dict[str, int],
    pieces: np.ndarray,
    terms: Sequence[Piece],
) -> Block:
    """A block with unused pieces dropped, equal terms merged and size-1 axes fixed."""
    axes = list(axes)
    fixed = dict(fixed)
    for i, ax in enumerate(axes):
        if ax is not None and shape[i] == 1:
            fixed[ax.dim] = (
                Moving(ax.offset, ax.moves) if ax.moves else ax.offset
            )  # one lane: its dim has one index
            axes[i] = None
    if len(terms) == 1:
        return Block(tuple(shape), tuple(axes), tuple(sorted(fixed.items())), pieces, tuple(terms))
    used, inverse = np.unique(pieces, return_inverse=True)
    index: dict[object, int] = {}
    kept: list[Piece] = []
    remap = []
    for pid in used:
        piece = terms[int(pid)]
        key = piece if isinstance(piece, Undef) else term_key(piece)
        if key not in index:
            index[key] = len(kept)
            kept.append(piece)
        remap.append(index[key])
    new_pieces = np.asarray(remap, dtype=np.int64)[inverse].reshape(shape)
    return Block(tuple(shape), tuple(axes), tuple(sorted(fixed.items())), new_pieces, tuple(kept))


def uniform(piece: Piece, shape: tuple[int, ...] = ()) -> Block:
    """A block whose every lane holds ``piece`` (no axis runs along a dim)."""
    return Block(tuple(shape), (None,) * len(shape), (), np.zeros(shape, np.int64), (piece,))


def loaded(
    shape: tuple[int, ...],
    axes: Sequence[Axis | None],
    fixed: dict[str, int],
    choice: np.ndarray,
    options: Sequence[Piece],
) -> Block:
    """A block built by a load: ``choice`` picks one of ``options`` per lane."""
    return _normalize(
        shape, axes, fixed, np.broadcast_to(np.asarray(choice, np.int64), shape), options
    )


# ------------------------------------------------------------- alignment


def _merge_layout(blocks: Sequence[Block]) -> tuple[tuple[int, ...], list, dict[str, int]]:
    try:
        shape = tuple(np.broadcast_shapes(*(b.shape for b in blocks)))
    except ValueError:
        shapes = ", ".join(str(list(b.shape)) for b in blocks)
        raise KernelError("STL010", f"block shapes {shapes} do not broadcast") from None
    axes: list[Axis | None] = [None] * len(shape)
    fixed: dict[str, int] = {}
    for b in blocks:
        pad = len(shape) - b.ndim
        for i, ax in enumerate(b.axes):
            if ax is None:
                continue
            seen = axes[pad + i]
            if seen is None:
                axes[pad + i] = ax
            elif seen != ax:
                n = shape[pad + i]
                code = "STL011" if seen.dim == ax.dim else "STL010"
                raise _mismatch(
                    f"operands disagree on block axis {pad + i}: "
                    f"{seen.dim}[{seen.offset}:{seen.offset + n}] vs "
                    f"{ax.dim}[{ax.offset}:{ax.offset + n}]",
                    code,
                )
        for d, i in b.fixed:
            if fixed.setdefault(d, i) != i:
                raise _mismatch(
                    f"operands hold different elements of {d}: {d}={fixed[d]} vs {d}={i}"
                )
    mapped = [ax.dim for ax in axes if ax is not None]
    for d in mapped:
        if mapped.count(d) > 1:
            raise _mismatch(f"the result would run along {d} on two axes", "STL010")
        if d in fixed:
            raise _mismatch(f"one operand runs along {d}, another holds one element {d}={fixed[d]}")
    return shape, axes, fixed


def pin_fixed(value: Block, dims: Sequence[str]) -> Block:
    """The block with each dim it fixes that is not one of ``dims`` bound at its index:
    a lane of ``x[M, N]`` with N fixed at 0 holds ``sum[N in 0:1](x[M, N])``, which is
    ``x[M, 0]`` (a block of one lane along N, as for a row of one element)."""
    pinned = [(d, i) for d, i in value.fixed if d not in dims]
    if not pinned:
        return value
    terms = []
    for term in value.terms:
        if not isinstance(term, Undef):
            for d, i in pinned:
                if d in _free_dims(term):
                    term = Reduce("sum", d, i, i + 1, term)
        terms.append(term)
    fixed = tuple((d, i) for d, i in value.fixed if d in dims)
    return Block(value.shape, value.axes, fixed, value.pieces, tuple(terms))


def broadcast(block: Block, shape: tuple[int, ...]) -> Block:
    if block.shape == tuple(shape):
        return block
    out_shape, axes, fixed = _merge_layout([block, uniform(Const(Fraction(0)), shape)])
    pieces = np.broadcast_to(block.pieces, out_shape)
    return Block(out_shape, tuple(axes), tuple(sorted(fixed.items())), pieces, block.terms)


def elementwise(blocks: Sequence[Block], build: Callable[..., Piece], strict: bool = True) -> Block:
    """``build`` applied lane by lane; when ``strict``, an undefined operand makes the
    lane undefined without calling ``build``."""
    shape, axes, fixed = _merge_layout(blocks)
    if all(len(b.terms) == 1 for b in blocks):  # the common case: one piece each
        operands = [b.terms[0] for b in blocks]
        undefined = next((t for t in operands if isinstance(t, Undef)), None) if strict else None
        piece = undefined if undefined is not None else build(*operands)
        return _normalize(shape, axes, fixed, np.zeros(shape, np.int64), [piece])
    arrays = [np.broadcast_to(b.pieces, shape) for b in blocks]
    counts = [len(b.terms) for b in blocks]
    code = np.zeros(shape, np.int64)
    for arr, n in zip(arrays, counts):
        code = code * n + arr
    used, inverse = np.unique(code, return_inverse=True)
    terms: list[Piece] = []
    for c in used:
        parts = []
        rest = int(c)
        for n in reversed(counts):
            parts.append(rest % n)
            rest //= n
        operands = [b.terms[i] for b, i in zip(blocks, reversed(parts))]
        undefined = next((t for t in operands if isinstance(t, Undef)), None) if strict else None
        terms.append(undefined if undefined is not None else build(*operands))
    return _normalize(shape, axes, fixed, inverse.reshape(shape), terms)


def select(mask: np.ndarray, then: Block, other: Block) -> Block:
    """``where(mask, then, other)`` with a concrete mask over lanes."""
    mask_block = Block(
        tuple(mask.shape),
        (None,) * mask.ndim,
        (),
        np.asarray(mask, np.int64),
        (Const(Fraction(0)), Const(Fraction(1))),
    )
    return elementwise(
        [mask_block, then, other],
        lambda m, a, b: a if m == Const(Fraction(1)) else b,
        strict=False,
    )


@dataclass(frozen=True, eq=False)
class Compared:
    """``left OP right`` lane by lane, a comparison of data values: what ``tl.where``
    takes as its condition (``tl.where(x > 0, x, 0)``); no other use is followed."""

    op: str  # < <= > >= == !=
    left: Block
    right: Block

    def describe(self) -> str:
        return f"a comparison of data values ({self.left.describe()} {self.op} ...)"


def choose(cond: Compared, then: Block, other: Block) -> Block:
    """``where(cond, then, other)`` for a comparison of data values, lane by lane."""
    return elementwise(
        [cond.left, cond.right, then, other],
        lambda a, b, t, e: compared_select(cond.op, a, b, t, e),
    )


def expand(block: Block, index: Sequence[object]) -> Block:
    """``b[:, None]``: ``None`` inserts an axis of one lane, ``slice(None)`` keeps one."""
    axes: list[Axis | None] = []
    shape: list[int] = []
    source = 0
    key: list[object] = []
    for item in index:
        if item is None:
            axes.append(None)
            shape.append(1)
            key.append(None)
        else:
            axes.append(block.axes[source])
            shape.append(block.shape[source])
            key.append(slice(None))
            source += 1
    while source < block.ndim:
        axes.append(block.axes[source])
        shape.append(block.shape[source])
        key.append(slice(None))
        source += 1
    pieces = block.pieces[tuple(key)]
    return Block(tuple(shape), tuple(axes), block.fixed, pieces, block.terms)


def transpose(block: Block, order: Sequence[int] | None = None) -> Block:
    order = list(reversed(range(block.ndim))) if order is None else list(order)
    return Block(
        tuple(block.shape[i] for i in order),
        tuple(block.axes[i] for i in order),
        block.fixed,
        np.transpose(block.pieces, order),
        block.terms,
    )


def reshape_unit(block: Block, shape: tuple[int, ...]) -> Block:
    """A reshape that only adds or drops axes of one lane (the only one supported)."""
    if [n for n in block.shape if n != 1] != [n for n in shape if n != 1]:
        raise KernelError(
            "STL002",
            f"unsupported reshape of a {list(block.shape)} block to {list(shape)}",
            help="only reshapes that add or remove axes of size 1 are followed",
        )
    axes: list[Axis | None] = []
    real = iter([ax for n, ax in zip(block.shape, block.axes) if n != 1])
    for n in shape:
        axes.append(next(real) if n != 1 else None)
    return Block(tuple(shape), tuple(axes), block.fixed, block.pieces.reshape(shape), block.terms)


@dataclass(frozen=True, eq=False)
class BlockSum:
    """A lane-by-lane sum of blocks whose lanes stand for different elements.

    ``acc += tl.load(x + off + tl.arange(0, B))`` over a loop adds elements
    ``off`` apart in one lane; no single term over the logical dims says what a
    lane holds, but a ``sum`` over the lanes is the sum of each addend's.
    """

    addends: tuple[Block, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.addends[0].shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def describe(self) -> str:
        return " + ".join(f"({b.describe()})" for b in self.addends)

    def hover(self) -> str:
        return f"DimType: {self.describe()}\n(a lane-by-lane sum of blocks of different elements)"


def add(a: Block | BlockSum, b: Block | BlockSum) -> Block | BlockSum:
    """``a + b``; lanes standing for different elements make a :class:`BlockSum`."""
    left = a.addends if isinstance(a, BlockSum) else (a,)
    right = b.addends if isinstance(b, BlockSum) else (b,)
    out = list(left)
    for block in right:
        for i, seen in enumerate(out):
            try:
                out[i] = elementwise([seen, block], lambda x, y: fold_binary("+", x, y))
                break
            except LayoutMismatch:
                continue
        else:
            if tuple(np.broadcast_shapes(out[0].shape, block.shape)) != out[0].shape:
                raise KernelError("STL002", "unsupported: a sum of blocks that broadcasts")
            out.append(block)
    return out[0] if len(out) == 1 else BlockSum(tuple(out))


def sum_lanes(value: BlockSum, axis: int) -> Block | BlockSum:
    """``tl.sum`` over ``axis`` of a :class:`BlockSum`: the sum of each addend's."""
    total: Block | BlockSum | None = None
    for block in value.addends:
        part = reduce(block, axis, "sum", lambda op: True)
        total = part if total is None else add(total, part)
    assert total is not None
    return total


# ------------------------------------------------------------- reductions

IDENTITY = {"sum": Fraction(0), "max": NEG_INF, "min": POS_INF}
COMBINE = {"sum": "+", "max": "maximum", "min": "minimum"}


def _is_const(term: Piece, value: float | Fraction) -> bool:
    return isinstance(term, Const) and term.value == value


def _runs(row: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, stop, value)`` for each run of equal values."""
    cuts = np.flatnonzero(np.diff(row)) + 1
    starts = np.concatenate(([0], cuts))
    stops = np.concatenate((cuts, [len(row)]))
    return [(int(s), int(e), int(row[s])) for s, e in zip(starts, stops)]


@dataclass(frozen=True)
class MovingReduce(Reduce):
    """A reduction over ``[lo, hi)`` at the first iteration of a class of loop
    iterations, whose range moves by ``moves`` per unit of ``key``. It exists only
    while a loop is proven by induction (see :func:`moving_reductions`), which
    replaces it by the reduction over the class's whole range when ``key`` is the loop's
    index, or gives up (a range that moves with a program id instead)."""

    moves: int = 0
    key: object = None


# free_dims of the terms blocks reduce, kept across calls: an unrolled loop reduces a
# term that holds every earlier iteration's, and walking that history again at each
# iteration costs the square of the trip count (a term is kept alive with its entry,
# so its id names it; the memo is dropped past a size, as a bound on memory)
_FREE: dict[int, tuple[Term, frozenset[str]]] = {}
_FREE_LIMIT = 1 << 20


def _free_dims(term: Term) -> frozenset[str]:
    if len(_FREE) > _FREE_LIMIT:
        _FREE.clear()
    return free_dims(term, _FREE)


_MOVING = [False]  # whether axes move with a loop's iteration (not with a program id)


@contextmanager
def moving_reductions() -> Iterator[None]:
    """While a loop is proven by induction, a reduction along an axis that moves with
    one key (the loop's index, or a program id of the class the loop runs in) is a
    :class:`MovingReduce`, for the induction to sum over the iterations or give up."""
    saved = _MOVING[0]
    _MOVING[0] = True
    try:
        yield
    finally:
        _MOVING[0] = saved


def _reduce_run(op: str, term: Term, axis: Axis | None, start: int, stop: int) -> Term:
    if axis is not None and axis.moves:
        if not _MOVING[0]:
            raise NotGeneric("a reduction whose range moves with the program id")
        if len(axis.moves) != 1:  # a range moving with the loop index and a program id
            raise NotGeneric("a reduction whose range moves with two program ids")
        if axis.dim in _free_dims(term):
            lo, hi = axis.offset + start, axis.offset + stop
            key, step = axis.moves[0]
            return MovingReduce(op, axis.dim, lo, hi, term, step, key)
    if axis is not None and axis.dim in _free_dims(term):
        return Reduce(op, axis.dim, axis.offset + start, axis.offset + stop, term)
    if op == "sum":
        return fold_binary("*", const(stop - start), term)
    return term


def _combine(op: str, parts: list[Term]) -> Term:
    identity = IDENTITY[op]
    kept = [p for p in parts if not _is_const(p, identity)]
    if not kept:
        return const(identity)
    out = kept[0]
    for p in kept[1:]:
        out = fold_binary(COMBINE[op], out, p)
    return out


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` of a 2-D integer array (the
    distinct rows in lexicographic order, and per row its distinct row), by sorting the
    rows: NumPy's own makes a structured type with one field per column, whose cost
    grows with the number of columns however few the rows are."""
    count, width = rows.shape
    if width == 0 or count == 0:
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        return unique, inverse.reshape(-1)
    if count == 1:
        return rows.copy(), np.zeros(1, np.int64)
    order = np.lexsort(rows.T[::-1])  # the first column is the primary key
    ranked = rows[order]
    new = np.ones(count, dtype=bool)
    new[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    inverse = np.empty(count, np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ranked[new], inverse


def reduce(block: Block, axis: int, op: str, available: Callable[[str], bool]) -> Block:
    """``sum``/``max``/``min`` over one axis, split into runs of one piece each.

    An undefined lane makes the reduced lane undefined (the store reports it).
    ``available(op)`` says whether the term language has that reduction.
    """
    if not available(op):
        raise KernelError("STL002", f"unsupported: a `{op}` reduction")
    if not 0 <= axis < block.ndim:
        # the front end checks the axis as its language does: no wrapping here
        raise KernelError("STL002", f"axis {axis} of a {block.ndim}-d block")
    n = block.shape[axis]
    rest_shape = block.shape[:axis] + block.shape[axis + 1 :]
    rows = np.moveaxis(block.pieces, axis, -1).reshape(-1, n)
    unique, inverse = unique_rows(rows)
    terms: list[Piece] = []
    for row in unique:
        parts: list[Term] = []
        undefined: Undef | None = None
        for start, stop, pid in _runs(row):
            piece = block.terms[pid]
            if isinstance(piece, Undef):
                undefined = piece
                break
            parts.append(_reduce_run(op, piece, block.axes[axis], start, stop))
        terms.append(undefined if undefined is not None else _combine(op, parts))
    fixed = dict(block.fixed)
    axes = block.axes[:axis] + block.axes[axis + 1 :]
    return _normalize(rest_shape, axes, fixed, inverse.reshape(rest_shape), terms)


def dot(a: Block, b: Block) -> Block:
    """``a @ b`` for 2-D blocks: a's axis 1 contracts with b's axis 0."""
    if a.ndim != 2 or b.ndim != 2:
        raise KernelError("STL002", "unsupported: dot of blocks that are not 2-D")
    if a.shape[1] != b.shape[0]:
        raise KernelError("STL010", f"dot of a {list(a.shape)} block with a {list(b.shape)} block")
    ka, kb = a.axes[1], b.axes[0]
    if ka is not None and kb is not None and ka != kb:
        n = a.shape[1]
        raise _mismatch(
            "dot operands disagree on the contracted axis: "
            f"{ka.dim}[{ka.offset}:{ka.offset + n}] vs {kb.dim}[{kb.offset}:{kb.offset + n}]",
            "STL011" if ka.dim == kb.dim else "STL010",
        )
    k_axis = ka or kb
    # the result's layout: a's rows, b's columns, fixed dims of both
    rows = uniform(Const(Fraction(0)), (a.shape[0], 1))
    rows = Block(rows.shape, (a.axes[0], None), a.fixed, rows.pieces, rows.terms)
    cols = uniform(Const(Fraction(0)), (1, b.shape[1]))
    cols = Block(cols.shape, (None, b.axes[1]), b.fixed, cols.pieces, cols.terms)
    shape, axes, fixed = _merge_layout([rows, cols])
    ua, ia = unique_rows(a.pieces)
    ub, ib = unique_rows(b.pieces.T)
    terms: list[Piece] = []
    for ra in ua:
        for cb in ub:
            parts: list[Term] = []
            undefined: Undef | None = None
            for start, stop, code in _runs(ra * len(b.terms) + cb):
                ta, tb = a.terms[code // len(b.terms)], b.terms[code % len(b.terms)]
                if isinstance(ta, Undef) or isinstance(tb, Undef):
                    undefined = ta if isinstance(ta, Undef) else tb  # type: ignore[assignment]
                    break
                product = fold_binary("*", ta, tb)
                parts.append(_reduce_run("sum", product, k_axis, start, stop))
            terms.append(undefined if undefined is not None else _combine("sum", parts))
    pieces = ia.reshape(-1)[:, None] * len(ub) + ib.reshape(-1)[None, :]
    return _normalize(shape, axes, fixed, pieces, terms)


# ------------------------------------------------------------- term identity

_keys: dict[int, tuple[Term, int]] = {}
_ids: dict[tuple, int] = {}


def term_key(term: Term) -> int:
    """A number that is equal for structurally equal terms (hash-consing).

    Terms of unrolled loops share subterms (a DAG); hashing them as trees
    would take exponential time, so each node is keyed once, by identity.
    """
    stack: list[tuple[Term, bool]] = [(term, False)]
    while stack:
        node, ready = stack.pop()
        hit = _keys.get(id(node))
        if hit is not None and hit[0] is node:
            continue
        kids = children(node)
        if not ready:
            stack.append((node, True))
            stack.extend((c, False) for c in kids)
            continue
        if isinstance(node, Const):
            shape: tuple = ("c", type(node.value).__name__, node.value)
        elif isinstance(node, Reduce):
            moves = (node.moves, id(node.key)) if isinstance(node, MovingReduce) else 0
            shape = ("r", node.op, node.dim, str(node.lo), str(node.hi), moves)
        elif isinstance(node, (Unary, Binary)):
            shape = ("u", node.fn) if isinstance(node, Unary) else ("b", node.op)
        elif isinstance(node, Select):
            shape = ("s", node.op)
        elif isinstance(node, Where):
            shape = ("w", tuple(constraint_key(c) for c in node.cond))
        else:
            shape = (type(node).__name__, repr(node))
        full = shape + tuple(_keys[id(c)][1] for c in kids)
        _keys[id(node)] = (node, _ids.setdefault(full, len(_ids)))
    return _keys[id(term)][1]


# ------------------------------------------------------------- term folding


def _number(term: Term) -> float | Fraction | None:
    return term.value if isinstance(term, Const) else None


def _addends(term: Term, sign: int = 1) -> list[tuple[int, Term]]:
    if isinstance(term, Binary) and term.op in ("+", "-"):
        right = -sign if term.op == "-" else sign
        return _addends(term.left, sign) + _addends(term.right, right)
    if isinstance(term, Unary) and term.fn == "neg":
        return _addends(term.arg, -sign)
    return [(sign, term)]


def _is_log_of_positive(term: Term) -> bool:
    return isinstance(term, Unary) and term.fn == "log" and positive(term.arg)


def _exp_of_logs(arg: Term) -> Term | None:
    """``exp(u + log x - log y) = exp(u) * x / y`` for positive ``x``, ``y`` (a running
    log-sum-exp, as flash attention keeps it, inside an exponential)."""
    addends = _addends(arg)
    if len(addends) < 2 or not any(_is_log_of_positive(t) for _, t in addends):
        return None
    rest: Term | None = None
    factors: list[tuple[int, Term]] = []
    for sign, t in addends:
        if _is_log_of_positive(t):
            assert isinstance(t, Unary)
            factors.append((sign, t.arg))
            continue
        signed = t if sign > 0 else Unary("neg", t)
        rest = signed if rest is None else Binary("+", rest, signed)
    out = fold_unary("exp", rest) if rest is not None else const(1)
    for sign, x in factors:
        out = fold_binary("*" if sign > 0 else "/", out, x)
    return out


def fold_unary(fn: str, arg: Term) -> Term:
    """``fn(arg)``, folded where ``arg`` is a constant the result is exact for, and
    ``log(exp(u)) = u``, ``exp(log x) = x`` for positive ``x``."""
    if fn == "log" and isinstance(arg, Unary) and arg.fn == "exp":
        return arg.arg
    if fn == "exp":
        if _is_log_of_positive(arg):
            assert isinstance(arg, Unary)
            return arg.arg
        split = _exp_of_logs(arg)
        if split is not None:
            return split
    value = _number(arg)
    if value is not None:
        if fn == "neg":
            return Const(-value)
        if fn in ("exp", "exp2") and value == NEG_INF:
            return const(0)
        if fn in ("exp", "exp2") and value == 0:
            return const(1)
        if fn == "recip" and isinstance(value, Fraction) and value != 0:
            return Const(1 / value)
    return Unary(fn, arg)


_positive: dict[tuple[int, frozenset[str]], tuple[Term, bool]] = {}


def positive(term: Term, names: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether ``term`` is > 0 for all inputs (``names``: scalar inputs assumed > 0).

    Memoised by node identity: kernel terms are DAGs that are exponential as trees."""
    key = (id(term), frozenset(names))
    hit = _positive.get(key)
    if hit is not None and hit[0] is term:
        return hit[1]
    found = _positive_node(term, key[1])
    _positive[key] = (term, found)
    return found


def _positive_node(term: Term, names: frozenset[str]) -> bool:
    if isinstance(term, Const):
        return term.value > 0
    if isinstance(term, Load):
        return not term.dims and term.tensor in names
    if isinstance(term, Unary):
        if term.fn in ("exp", "exp2"):
            return True
        return term.fn in ("sqrt", "rsqrt", "recip", "log") and (
            positive(term.arg, names) if term.fn != "log" else _greater_than_one(term.arg)
        )
    if isinstance(term, Binary) and term.op in ("*", "/", "+", "maximum", "minimum"):
        return positive(term.left, names) and positive(term.right, names)
    if isinstance(term, Reduce) and term.op in ("sum", "max", "min"):
        nonempty = isinstance(term.lo, int) and isinstance(term.hi, int) and term.lo < term.hi
        return nonempty and positive(term.body, names)
    return False


def _greater_than_one(term: Term) -> bool:
    return isinstance(term, Const) and term.value > 1


def fold_binary(
    op: str, left: Term, right: Term, positive_names: frozenset[str] | set[str] = frozenset()
) -> Term:
    """``left op right`` with constants folded exactly, and the identities of
    the masked lanes (``x + -inf = -inf`` for finite ``x``; ``0 * x = 0``;
    ``-inf * c = -inf`` for ``c > 0``)."""
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        folded = _fold_numbers(op, a, b)
        if folded is not None:
            return folded
    infinite = (a is not None and math.isinf(a)) or (b is not None and math.isinf(b))
    if op in ("+", "-") and infinite and (a is None or b is None):
        # finite x: x + -inf = -inf, -inf - x = -inf, x - (-inf) = inf
        inf = a if a is not None else b
        sign = -1 if (op == "-" and b is not None) else 1
        return Const(inf * sign)  # type: ignore[operator]
    if op == "*" and not infinite:
        if a == 0 or b == 0:
            return const(0)
        if a == 1:
            return right
        if b == 1:
            return left
    if op in ("*", "/") and infinite and (a is None) != (b is None):
        c = a if a is not None else b
        other = right if a is not None else left
        assert c is not None
        if op == "*" or b is None:
            if positive(other, positive_names):
                return Const(c)
            negated = Unary("neg", other)
            if positive(negated, positive_names) or (
                isinstance(other, Unary)
                and other.fn == "neg"
                and positive(other.arg, positive_names)
            ):
                return Const(-c)
        raise KernelError(
            "STL002",
            f"unsupported: {c} times a value of unknown sign",
            help="give the scalar a value in a `# stile: case` line, or state "
            "`# stile: assume NAME > 0`",
        )
    if op in ("+",) and (a == 0 or b == 0) and not infinite:
        return right if a == 0 else left
    if op == "-" and b == 0:
        return left
    if op == "/" and b == 1:
        return left
    if op == "maximum" and (a == NEG_INF or b == NEG_INF):
        return right if a == NEG_INF else left
    if op == "minimum" and (a == POS_INF or b == POS_INF):
        return right if a == POS_INF else left
    return Binary(op, left, right)


def _fold_numbers(op: str, a: float | Fraction, b: float | Fraction) -> Const | None:
    if op == "/" and b == 0:
        return None
    try:
        value = {
            "+": lambda: a + b,
            "-": lambda: a - b,
            "*": lambda: a * b,
            "/": lambda: a / b,
            "maximum": lambda: max(a, b),
            "minimum": lambda: min(a, b),
        }[op]()
    except KeyError:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return const(value) if not isinstance(value, float) or math.isinf(value) else Const(value)


# ------------------------------------------------------------- regions


def coordinates(block: Block) -> dict[str, np.ndarray]:
    """The global index of each dim the block runs along or fixes, per lane."""
    out: dict[str, np.ndarray] = {}
    for i, ax in enumerate(block.axes):
        if ax is not None:
            shape = [1] * block.ndim
            shape[i] = block.shape[i]
            lane = np.arange(block.shape[i]).reshape(shape)
            out[ax.dim] = np.broadcast_to(ax.offset + lane, block.shape)
    for d, i in block.fixed:
        out[d] = np.full(block.shape, i)
    return out


def pin_lanes(block: Block, lanes: np.ndarray) -> Block | None:
    """The block with every lane of ``lanes`` holding its value at its own element: each
    dim its term depends on fixed at the lane's index (``x[M=m, N=n]``), a term of no
    free dim; None if a term depends on a dim the block does not run along."""
    coords = coordinates(block)
    shape = block.shape
    pieces = np.broadcast_to(block.pieces, shape)
    choice = np.zeros(shape, np.int64)
    terms: list[Piece] = []
    seen: dict[tuple, int] = {}
    for lane in zip(*np.nonzero(lanes)) if shape else [()]:
        piece = block.terms[int(pieces[lane])]
        free = () if isinstance(piece, Undef) else tuple(sorted(_free_dims(piece)))
        if any(d not in coords for d in free):
            return None
        at = tuple(int(coords[d][lane]) for d in free)
        key = (int(pieces[lane]), at)
        if key not in seen:
            if not isinstance(piece, Undef):
                piece = one_index_reductions_fixed(piece)
            for d, i in zip(free, at):
                piece = at_index(piece, d, i)
            seen[key] = len(terms)
            terms.append(piece)
        choice[lane] = seen[key]
    if not terms:
        return None
    return Block(shape, (None,) * len(shape), (), choice, tuple(terms))


def boxes(mask: np.ndarray) -> list[tuple[tuple[int, int], ...]]:
    """Cover the true cells of ``mask`` with disjoint boxes (greedy, in index order).

    Each box starts at the first true cell left (in C order) and grows along the last
    axis, then the one before, ..., as far as the slab it would add is all true.
    """
    mask = np.array(mask, dtype=bool, copy=True)
    out: list[tuple[tuple[int, int], ...]] = []
    if mask.ndim == 0:
        return [()] if mask else []
    flat = mask.reshape(-1)  # a view: the copy above is contiguous
    ndim, pos = mask.ndim, 0
    while pos < flat.size:
        pos += int(flat[pos:].argmax())
        if not flat[pos]:
            break
        start = [int(i) for i in np.unravel_index(pos, mask.shape)]
        stop = [s + 1 for s in start]
        for axis in reversed(range(ndim)):
            # the box is all true, so a step is allowed when the slab it adds is
            region = tuple(
                slice(stop[k], None) if k == axis else slice(start[k], stop[k]) for k in range(ndim)
            )
            slab = mask[region]
            if ndim > 1:
                slab = slab.all(axis=tuple(k for k in range(ndim) if k != axis))
            stop[axis] += slab.size if slab.all() else int(slab.argmin())
        mask[tuple(slice(a, b) for a, b in zip(start, stop))] = False
        out.append(tuple(zip(start, stop)))
        pos += 1
    return out


def boxes_of_cells(flat: np.ndarray, shape: tuple[int, ...]) -> list[tuple[tuple[int, int], ...]]:
    """:func:`boxes` of the mask of ``shape`` whose true cells are the flat indices
    ``flat``, made within their bounding box only (the same boxes, at the cost of the
    bounding box rather than of the whole mask)."""
    if not shape:
        return [()] if flat.size else []
    if not flat.size:
        return []
    at = np.unravel_index(flat, shape)
    low = [int(a.min()) for a in at]
    crop = np.zeros([int(a.max()) + 1 - lo for a, lo in zip(at, low)], dtype=bool)
    crop[tuple(a - lo for a, lo in zip(at, low))] = True
    return [tuple((a + lo, b + lo) for (a, b), lo in zip(box, low)) for box in boxes(crop)]


# ------------------------------------------------------------- base-2 and friends

LN2: Term = Unary("log", Const(Fraction(2)))  # ln 2, exact (a symbolic constant)
LOG2E: Term = Unary("recip", LN2)  # log2(e) = 1 / ln 2


def lower(fn: str, arg: Term) -> Term:
    """``fn(arg)`` written with ``exp``, ``log``, ``sqrt`` and ``recip`` only.

    Kernels compute in base 2 (``exp2(x * log2(e))``) and with ``rsqrt``; specs
    are written with ``exp`` and ``1/sqrt``. Each rewrite is an identity
    wherever both sides are defined: ``exp2(x) = exp(x ln 2)``, ``log2(x) =
    log(x) / ln 2``, ``rsqrt(x) = 1/sqrt(x)``, ``sigmoid(x) = 1/(1 + exp(-x))``;
    ``ln 2`` stays a symbol, so ``log2(e) * ln 2`` cancels exactly.
    """
    if fn == "exp2":
        if isinstance(arg, Const):
            return fold_unary("exp2", arg)
        return fold_unary("exp", fold_binary("*", arg, LN2))
    if fn == "log2":
        return fold_binary("*", fold_unary("log", arg), LOG2E)
    if fn == "rsqrt":
        return fold_unary("recip", fold_unary("sqrt", arg))
    if fn == "sigmoid":
        return fold_unary(
            "recip", fold_binary("+", const(1), fold_unary("exp", fold_unary("neg", arg)))
        )
    return fold_unary(fn, arg)


def lower_term(term: Term) -> Term:
    """:func:`lower` applied everywhere in ``term`` (a spec's term, say)."""

    def rule(node: Term, walk: Callable[[Term], Term]) -> Term | None:
        return lower(node.fn, walk(node.arg)) if isinstance(node, Unary) else None

    return rewrite(term, rule)


def specialize(term: Term, region: dict[str, tuple[int, int]]) -> Term:
    """``term`` on ``region`` (a global range per free dim): the conditions of its
    ``Where`` nodes (index comparisons, such as a causal ``Nk <= Nq``) decided
    wherever they hold, or fail, for every index of the region and of the
    enclosing reductions' ranges; a dim with one index is replaced by it. Exact on
    the region, which is all an obligation on a tile of that region is about."""
    if not region:
        return term

    def decide(c: Constraint, ranges: dict[str, tuple[int, int]]) -> Constraint | bool:
        coeffs = {d: k for d, k in c.coeffs if not _single(ranges.get(d))}
        shift = sum(k * ranges[d][0] for d, k in c.coeffs if _single(ranges.get(d)))
        if not isinstance(c.const, int):
            return constraint(coeffs, c.const + shift, c.op)
        low = high = c.const + shift
        for d, k in coeffs.items():
            span = ranges.get(d)
            if span is None or span[0] >= span[1]:
                return constraint(coeffs, c.const + shift, c.op)
            ends = (k * span[0], k * (span[1] - 1))
            low, high = low + min(ends), high + max(ends)
        always = {"<": high < 0, "<=": high <= 0, "==": low == high == 0}[c.op]
        never = {"<": low >= 0, "<=": low > 0, "==": high < 0 or low > 0}[c.op]
        if always:
            return True
        if never:
            return False
        return constraint(coeffs, c.const + shift, c.op)

    def walk(node: Term, ranges: dict[str, tuple[int, int]]) -> Term:
        if isinstance(node, Unary):
            return Unary(node.fn, walk(node.arg, ranges))
        if isinstance(node, Binary):
            return Binary(node.op, walk(node.left, ranges), walk(node.right, ranges))
        if isinstance(node, Reduce):
            inner = dict(ranges)
            if isinstance(node.lo, int) and isinstance(node.hi, int):
                inner[node.dim] = (node.lo, node.hi)
            else:
                inner.pop(node.dim, None)  # the binder shadows the region's dim
            return Reduce(node.op, node.dim, node.lo, node.hi, walk(node.body, inner))
        if isinstance(node, Where):
            conds = [decide(c, ranges) for c in node.cond]
            return where(conds, walk(node.then, ranges), walk(node.other, ranges))
        if isinstance(node, Select):
            return Select(node.op, *(walk(t, ranges) for t in select_parts(node)))
        return node

    return walk(term, dict(region))


def _single(span: tuple[int, int] | None) -> bool:
    return span is not None and span[1] - span[0] == 1
