"""Data blocks of Pallas kernels: piecewise values over a block's positions.

A block is what a kernel holds in registers or in a ref: an n-dimensional
array of concrete shape. Each axis maps its positions to a logical dim of the
kernel's arrays (``Axis(dim, offset)``: position ``p`` is global index
``offset + p``), or to no dim when the value does not vary along it. The
positions are cut into boxes (cells); every cell holds one value:

* a term (:mod:`stile_static.terms`) in the global indices of the dims,
* :class:`Undef`: lanes with no defined value (padding beyond the end of an
  array, an output block not written yet), remembered with where they came
  from so that a reduction or a write-back that uses them is reported there,
* a Python ``bool`` for masks.

A partial last block of an array is one cell of loads and one of undefined
padding; ``jnp.where(mask, x, other)`` replaces the cells the mask rules out.
Elementwise operations broadcast like NumPy and refine the cells of both
operands; reductions and ``dot`` sum cell by cell over global ranges. In the
concrete domain (the cross-check) a block also carries the NumPy array of its
values, NaN where undefined, computed by NumPy and not from the terms.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError
from ...ir.numpy_ops import COMPARE_UFUNCS, UNARY_UFUNCS
from ...ir.terms import (
    BINARY_OPS,
    UNARY_FUNCTIONS,
    Binary,
    Const,
    Constraint,
    Reduce,
    Term,
    Unary,
    Where,
    const,
    constraint,
    select,
    show_short,
)
from .axes import axis_index


@dataclass(frozen=True)
class Undef:
    """Lanes without a defined value; ``span`` is where they came from."""

    span: Span | None
    what: str
    fresh: bool = False  # an output block not written yet (not an error until read)
    # lanes computed from blocks that hold different elements: a wrong value the
    # term language cannot express (reported where it reaches an output)
    wrong: bool = False
    code: str = "STL044"  # what reading it is: undefined data, or a grid-order bug


@dataclass(frozen=True)
class PosCond:
    """A mask cell that depends on positions along several axes (a causal mask):
    every ``sum(coeffs[k] * p_k) + const  op  0`` holds (op in ``< <= == > >=``)."""

    parts: tuple[tuple[tuple[int, ...], int, str], ...]

    def negated(self) -> PosCond | None:
        if len(self.parts) != 1:
            return None
        coeffs, const_, op = self.parts[0]
        flipped = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}.get(op)
        return None if flipped is None else PosCond(((coeffs, const_, flipped),))


@dataclass(frozen=True)
class DataCmp:
    """A mask cell that compares data lane by lane (``x > 0``): only
    ``jnp.where`` takes it, as a ``Select`` term; any other use is STL002."""

    op: str  # < <= > >= == !=
    left: Term
    right: Term


Cell = Term | Undef | bool | PosCond | DataCmp


@dataclass(frozen=True)
class Axis:
    """Position ``p`` on this axis is global index ``offset + p`` of ``dim``."""

    dim: str | None
    offset: int = 0

    def describe(self, size: int) -> str:
        if self.dim is None:
            return f"[{size}]"
        return f"{self.dim}[{self.offset}:{self.offset + size}]"


NO_DIM = Axis(None)


@dataclass(frozen=True)
class Block:
    shape: tuple[int, ...]
    axes: tuple[Axis, ...]
    cuts: tuple[tuple[int, ...], ...]  # per axis: 0 = c0 < c1 < ... < cn = size
    cells: tuple[Cell, ...]  # row-major over the boxes of the cuts
    fixed: tuple[tuple[str, int], ...] = ()  # dims pinned to one index (squeezed axes)
    value: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def describe(self) -> str:
        parts = [a.describe(n) for a, n in zip(self.axes, self.shape)]
        parts += [f"{d}={i}" for d, i in self.fixed]
        return " ".join(parts) or "scalar"

    def hover(self) -> str:
        """What an editor shows: the block's DimType and what each piece holds."""
        lines = [f"DimType: {self.describe()}"]
        for box, cell in self.boxes()[:4]:
            where = " ".join(f"[{lo}:{hi}]" for lo, hi in box) or "scalar"
            if isinstance(cell, Undef):
                what = f"undefined ({cell.what})"
            elif isinstance(cell, bool):
                what = "mask on" if cell else "mask off"
            elif isinstance(cell, PosCond):
                what = "index condition"
            elif isinstance(cell, DataCmp):
                left, right = show_short(cell.left, 80), show_short(cell.right, 80)
                what = f"data comparison {left} {cell.op} {right}"
            else:
                what = show_short(cell, 200)
            lines.append(f"{where}: {what}")
        if len(self.cells) > 4:
            lines.append(f"... {len(self.cells) - 4} more pieces")
        return "\n".join(lines)

    def counts(self) -> tuple[int, ...]:
        return tuple(len(c) - 1 for c in self.cuts)

    def boxes(self) -> list[tuple[tuple[tuple[int, int], ...], Cell]]:
        """Every cell with its box of positions."""
        spans = [list(zip(c[:-1], c[1:])) for c in self.cuts]
        return [(box, cell) for box, cell in zip(itertools.product(*spans), self.cells)]


@dataclass(frozen=True)
class LaneSum:
    """Lane-wise ``op`` (``+`` or ``maximum``) of blocks that hold different elements.

    A loop that accumulates column block after column block into one vector
    (``acc + a``) adds, in each lane, elements of different columns: no term
    over the dims says what one lane holds, but a later reduction of the same
    kind along those lanes is the reduction of every part. Anything else done
    to it is a value the term language cannot express (reported if it reaches
    an output).
    """

    shape: tuple[int, ...]
    op: str
    parts: tuple[Block, ...]
    value: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def describe(self) -> str:
        return f"{self.op} of {len(self.parts)} blocks holding different elements"


def settle(block: Block | LaneSum, what: str = "this operation") -> Block:
    """A block; a lane-wise sum of different elements becomes a wrong value."""
    if isinstance(block, Block):
        return block
    error = misaligned(what, "lanes that add up different elements", "a block")
    return wrong(block.shape, error, block.value)


def uniform(
    shape: tuple[int, ...],
    cell: Cell,
    axes: tuple[Axis, ...] | None = None,
    fixed: tuple[tuple[str, int], ...] = (),
    value: np.ndarray | None = None,
) -> Block:
    axes = axes if axes is not None else tuple(NO_DIM for _ in shape)
    return Block(shape, axes, tuple((0, n) for n in shape), (cell,), fixed, value)


def scalar(cell: Cell, value: np.ndarray | None = None) -> Block:
    return uniform((), cell, (), (), value)


def is_identity(cell: Cell, op: str) -> bool:
    if not isinstance(cell, Const):
        return False
    identity = {"sum": 0, "max": float("-inf"), "min": float("inf")}[op]
    return cell.value == identity


# ------------------------------------------------------------------ layout


def _cell_at(block: Block, index: tuple[int, ...]) -> Cell:
    """The cell whose box starts at or contains the position ``index``."""
    flat = 0
    for axis, pos in enumerate(index):
        cuts = block.cuts[axis]
        k = int(np.searchsorted(cuts, pos, side="right")) - 1
        flat = flat * (len(cuts) - 1) + k
    return block.cells[flat]


def refine(block: Block, cuts: tuple[tuple[int, ...], ...]) -> tuple[Cell, ...]:
    """The cells of ``block`` over finer ``cuts`` (each a superset of the block's)."""
    if cuts == block.cuts:
        return block.cells
    starts = itertools.product(*(c[:-1] for c in cuts))
    return tuple(_cell_at(block, s) for s in starts)


def merged_cuts(*blocks: Block) -> tuple[tuple[int, ...], ...]:
    ndim = blocks[0].ndim
    return tuple(tuple(sorted(set().union(*(b.cuts[a] for b in blocks)))) for a in range(ndim))


class Misaligned(KernelError):
    """Operands that hold different elements lane by lane."""


def misaligned(what: str, left: str, right: str) -> KernelError:
    return Misaligned(
        "STL031",
        f"{what} combines blocks that hold different elements: {left} vs {right}",
        notes=(
            "each position of a block stands for one element of the arrays; "
            "these operands disagree on which",
        ),
        help="check the BlockSpec index maps and the offsets of the loads",
    )


def _merge_axis(a: Axis, b: Axis, what: str, la: str, lb: str) -> Axis:
    if a.dim is None:
        return b
    if b.dim is None or a == b:
        return a
    raise misaligned(what, la, lb)


def merge_fixed(
    parts: list[tuple[tuple[str, int], ...]],
    axes: tuple[Axis, ...],
    what: str,
    shape: tuple[int, ...] | None = None,
) -> tuple[tuple[str, int], ...]:
    """The pinned dims of operands with ``axes``. A dim pinned in one operand and
    an axis of size 1 along it at that index in another (``x_ref[...][0]`` beside
    ``x_ref[...]`` of a one-row block) agree: the axis carries it."""
    fixed: dict[str, int] = {}
    for part in parts:
        for d, i in part:
            if fixed.setdefault(d, i) != i:
                raise misaligned(what, f"{d}={fixed[d]}", f"{d}={i}")
    for k, axis in enumerate(axes):
        if axis.dim in fixed:
            one = shape is not None and shape[k] == 1 and axis.offset == fixed[axis.dim]
            if not one:
                raise misaligned(what, f"{axis.dim}={fixed[axis.dim]}", f"an axis along {axis.dim}")
            del fixed[axis.dim]
    return tuple(sorted(fixed.items()))


def broadcast_to(block: Block, shape: tuple[int, ...]) -> Block:
    """NumPy broadcasting; a size-1 axis stretched over a dim pins that dim."""
    block = settle(block, "a broadcast")
    if block.shape == shape:
        return block
    extra = len(shape) - block.ndim
    if extra < 0:
        raise not_broadcast(block.shape, shape)
    axes = [NO_DIM] * extra + list(block.axes)
    cuts = [(0, 1)] * extra + list(block.cuts)
    fixed = dict(block.fixed)
    for k, (have, want) in enumerate(zip((1,) * extra + block.shape, shape)):
        if have == want:
            continue
        if have != 1:
            raise not_broadcast(block.shape, shape)
        if axes[k].dim is not None:
            fixed[axes[k].dim] = axes[k].offset
        axes[k] = NO_DIM
        cuts[k] = (0, want)
    value = None
    if block.value is not None:
        value = np.broadcast_to(block.value.reshape((1,) * extra + block.shape), shape)
    return Block(shape, tuple(axes), tuple(cuts), block.cells, tuple(sorted(fixed.items())), value)


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise not_broadcast(*shapes) from None


def not_broadcast(*shapes: tuple[int, ...]) -> KernelError:
    """Shapes that NumPy's rules do not broadcast: JAX refuses the operation."""
    return KernelError(
        "STL005",
        f"shapes {' and '.join(map(str, shapes))} do not broadcast",
        notes=(
            "JAX raises a TypeError or ValueError when it traces this: each axis must "
            "have equal sizes or size 1",
        ),
        help="check the block shapes and the axes of the operands (a transpose missing?)",
    )


def align(blocks: list[Block], what: str) -> tuple[list[Block], tuple[Axis, ...], tuple]:
    """Broadcast ``blocks`` to one shape; their axes and pinned dims must agree."""
    shape = broadcast_shape(*(b.shape for b in blocks))
    wide = [broadcast_to(b, shape) for b in blocks]
    axes = list(wide[0].axes)
    for other in wide[1:]:
        for k, axis in enumerate(other.axes):
            axes[k] = _merge_axis(
                axes[k],
                axis,
                what,
                axes[k].describe(shape[k]),
                axis.describe(shape[k]),
            )
    fixed = merge_fixed([b.fixed for b in wide], tuple(axes), what, shape)
    return wide, tuple(axes), fixed


# ------------------------------------------------------------- operations


def _fold(op: str, left: Term, right: Term) -> Term:
    # masks go outside: Where(c, a, b) op x = Where(c, a op x, b op x), so that the
    # masked branch (-inf) is folded before anything multiplies it
    if isinstance(left, Where):
        if isinstance(right, Where) and right.cond == left.cond:
            return Where(
                left.cond, _fold(op, left.then, right.then), _fold(op, left.other, right.other)
            )
        return Where(left.cond, _fold(op, left.then, right), _fold(op, left.other, right))
    if isinstance(right, Where):
        return Where(right.cond, _fold(op, left, right.then), _fold(op, left, right.other))
    if isinstance(left, Const) and isinstance(right, Const):
        a, b = left.value, right.value
        finite = all(isinstance(v, Fraction) for v in (a, b))
        if finite and op in ("+", "-", "*"):
            return const({"+": a + b, "-": a - b, "*": a * b}[op])
        if finite and op == "/" and b != 0:
            return const(a / b)
        if op == "maximum" and not (a != a or b != b):
            return left if a >= b else right
        if op == "minimum" and not (a != a or b != b):
            return left if a <= b else right
        if not finite and op in ("+", "-", "*"):
            x, y = float(a), float(b)
            result = {"+": x + y, "-": x - y, "*": x * y}[op]
            if result == result:  # inf - inf and 0 * inf stay unfolded
                return const(result)
    if op in ("+", "-") and isinstance(left, Const) and left.value == float("-inf"):
        if not isinstance(right, Const) or isinstance(right.value, Fraction):
            return left  # -inf + finite
    return Binary(op, left, right)


def cell_binary(op: str, left: Cell, right: Cell) -> Cell:
    if isinstance(left, Undef):
        return left
    if isinstance(right, Undef):
        return right
    if isinstance(left, DataCmp) or isinstance(right, DataCmp):
        raise KernelError(
            "STL002",
            f"unsupported: `{op}` of a comparison of data (only jnp.where takes one)",
        )
    if isinstance(left, PosCond) or isinstance(right, PosCond):
        if op == "&":
            if isinstance(left, bool) or isinstance(right, bool):
                flag, other = (left, right) if isinstance(left, bool) else (right, left)
                return other if flag else False
            if isinstance(left, PosCond) and isinstance(right, PosCond):
                return PosCond(left.parts + right.parts)
        raise KernelError("STL002", f"unsupported: `{op}` of a mask over two axes")
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(left, bool) and isinstance(right, bool) and op in ("&", "|", "^"):
            return {"&": left and right, "|": left or right, "^": left != right}[op]
        raise KernelError("STL002", f"unsupported: `{op}` between a mask and data")
    if op not in BINARY_OPS:
        raise KernelError("STL002", f"unsupported operation `{op}` on data blocks")
    return _fold(op, left, right)


NUMPY_BINARY = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "&": np.logical_and,
    "|": np.logical_or,
    "^": np.logical_xor,
}
NUMPY_UNARY = {
    "exp": np.exp,
    "exp2": np.exp2,
    "log": np.log,
    "log2": np.log2,
    "sqrt": np.sqrt,
    "rsqrt": lambda v: 1 / np.sqrt(v),
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "sin": np.sin,
    "cos": np.cos,
    "abs": np.abs,
    "tanh": np.tanh,
    "erf": UNARY_UFUNCS["erf"],
    "neg": np.negative,
    "recip": np.reciprocal,
}


def wrong(shape: tuple[int, ...], error: KernelError, value: np.ndarray | None) -> Block:
    """The result of combining blocks that hold different elements."""
    return uniform(shape, Undef(None, error.message, wrong=True), value=value)


def _lane_parts(block: Block | LaneSum, op: str) -> tuple[Block, ...] | None:
    if isinstance(block, Block):
        return (block,)
    return block.parts if block.op == op else None


def binary(op: str, left: Any, right: Any, what: str | None = None) -> Any:
    what = what or f"`{op}`"
    value = None
    if left.value is not None and right.value is not None:
        with np.errstate(all="ignore"):
            value = NUMPY_BINARY[op](left.value, right.value)
    if isinstance(left, LaneSum) or isinstance(right, LaneSum):
        return _lane_binary(op, left, right, what, value)
    try:
        (a, b), axes, fixed = align([left, right], what)
    except Misaligned as error:
        shape = broadcast_shape(left.shape, right.shape)
        if op in ("+", "-", "maximum") and shape == left.shape == right.shape:
            parts = (left, right if op != "-" else unary("neg", right))
            return LaneSum(shape, "+" if op == "-" else op, parts, value)
        return wrong(shape, error, value)
    cuts = merged_cuts(a, b)
    cells = tuple(cell_binary(op, x, y) for x, y in zip(refine(a, cuts), refine(b, cuts)))
    value = None
    if a.value is not None and b.value is not None:
        with np.errstate(all="ignore"):
            value = NUMPY_BINARY[op](a.value, b.value)
    return Block(a.shape, axes, cuts, cells, fixed, value)


LN2 = Unary("log", const(2))


def _lane_binary(op: str, left: Any, right: Any, what: str, value: Any) -> Any:
    """``+``, ``-`` and ``maximum`` extend a lane-wise sum; ``*`` and ``/`` by a
    block constant along the lanes distribute over its parts."""
    shape = broadcast_shape(left.shape, right.shape)
    kind = "+" if op == "-" else op
    if op in ("+", "-", "maximum") and shape == left.shape == right.shape:
        lp, rp = _lane_parts(left, kind), _lane_parts(right, kind)
        if lp is not None and rp is not None:
            if op == "-":
                rp = tuple(unary("neg", p) for p in rp)
            return LaneSum(shape, kind, lp + rp, value)
    if op in ("*", "/") and isinstance(left, LaneSum) and left.op == "+":
        if isinstance(right, Block) and all(a.dim is None for a in right.axes):
            parts = tuple(binary(op, p, right, what) for p in left.parts)
            if all(isinstance(p, Block) for p in parts):
                return LaneSum(shape, "+", parts, value)
    if op == "*" and isinstance(right, LaneSum) and isinstance(left, Block):
        return _lane_binary(op, right, left, what, value)
    return wrong(shape, misaligned(what, "lanes that combine different elements", "a block"), value)


def unary_term(fn: str, cell: Term) -> Term:
    """``fn(cell)``; base-2 functions go through the natural ones (exp2(x) =
    exp(x * ln 2)) so that a kernel scaled by log2(e) meets a spec written with exp."""
    if isinstance(cell, Where):
        return Where(cell.cond, unary_term(fn, cell.then), unary_term(fn, cell.other))
    if fn in ("exp", "exp2") and isinstance(cell, Const) and cell.value == float("-inf"):
        return const(0)
    if fn == "exp2":
        return Unary("exp", _fold("*", cell, LN2))
    if fn == "log2":
        return _fold("*", Unary("log", cell), Unary("recip", LN2))
    if fn == "exp" and isinstance(cell, Const) and cell.value == float("-inf"):
        return const(0)
    if fn == "neg" and isinstance(cell, Const) and isinstance(cell.value, Fraction):
        return const(-cell.value)
    return Unary(fn, cell)


def unary(fn: str, block: Block) -> Block:
    block = settle(block, f"`{fn}`")
    if fn not in UNARY_FUNCTIONS:
        raise KernelError("STL002", f"unsupported: `{fn}` has no counterpart in the term language")
    cells = []
    for cell in block.cells:
        if isinstance(cell, (bool, DataCmp)):
            raise KernelError("STL002", f"unsupported: `{fn}` of a mask")
        if isinstance(cell, Undef):
            cells.append(cell)
        else:
            cells.append(unary_term(fn, cell))
    value = None
    if block.value is not None:
        with np.errstate(all="ignore"):
            value = NUMPY_UNARY[fn](block.value)
    return replace(block, cells=tuple(cells), value=value)


def where(mask: Block, yes: Block, no: Block) -> Block:
    mask, yes, no = (settle(b, "jnp.where") for b in (mask, yes, no))
    try:
        (m, a, b), axes, fixed = align([mask, yes, no], "jnp.where")
    except Misaligned as error:
        shape = broadcast_shape(mask.shape, yes.shape, no.shape)
        return wrong(shape, error, None)
    cuts = merged_cuts(m, a, b)
    cells = []
    pad = len(axes) - mask.ndim
    for c, x, y in zip(refine(m, cuts), refine(a, cuts), refine(b, cuts)):
        if isinstance(c, PosCond):
            c = _dim_condition(c, axes, pad)
        if isinstance(c, tuple):
            if isinstance(x, Undef) or isinstance(y, Undef):
                cells.append(x if isinstance(x, Undef) else y)
            else:
                cells.append(Where(c, x, y))  # type: ignore[arg-type]
            continue
        if isinstance(c, Undef):
            cells.append(c)
        elif isinstance(c, DataCmp):
            if isinstance(x, Undef) or isinstance(y, Undef):
                # JAX picks lane by lane; an undefined branch is reported even
                # where the comparison would not pick it (never a false accept)
                cells.append(x if isinstance(x, Undef) else y)
            else:
                cells.append(select(c.op, c.left, c.right, x, y))  # type: ignore[arg-type]
        elif not isinstance(c, bool):
            raise KernelError(
                "STL002",
                "unsupported: a condition that depends on the data (only index masks are followed)",
            )
        else:
            cells.append(x if c else y)
    value = None
    if m.value is not None and a.value is not None and b.value is not None:
        value = np.where(m.value.astype(bool), a.value, b.value)
    return Block(m.shape, axes, cuts, tuple(cells), fixed, value)


def compare(op: str, left: Block | LaneSum, right: Block | LaneSum) -> Block:
    """``left OP right`` of data, lane by lane: a mask of :class:`DataCmp` cells
    (undefined where either side is: comparing padding picks no branch)."""
    what = f"the comparison `{op}`"
    left, right = settle(left, what), settle(right, what)
    (a, b), axes, fixed = align([left, right], what)
    cuts = merged_cuts(a, b)
    cells: list[Cell] = []
    for x, y in zip(refine(a, cuts), refine(b, cuts)):
        if isinstance(x, Undef) or isinstance(y, Undef):
            cells.append(x if isinstance(x, Undef) else y)
        elif isinstance(x, (bool, PosCond, DataCmp)) or isinstance(y, (bool, PosCond, DataCmp)):
            raise KernelError("STL002", f"unsupported: {what} of a mask")
        else:
            cells.append(DataCmp(op, x, y))
    value = None
    if a.value is not None and b.value is not None:
        with np.errstate(all="ignore"):
            value = COMPARE_UFUNCS[op](a.value, b.value)
    return Block(a.shape, axes, cuts, tuple(cells), fixed, value)


def _dim_condition(cond: PosCond, axes: tuple[Axis, ...], pad: int) -> tuple | bool:
    """The condition on positions as constraints on the dims the axes run along."""
    out: list[Constraint] = []
    for coeffs, const_, op in cond.parts:
        by_dim: dict[str, int] = {}
        shift = const_
        for k, c in enumerate(coeffs):
            if not c:
                continue
            axis = axes[pad + k]
            if axis.dim is None:
                raise KernelError(
                    "STL002", "unsupported: a mask over two axes of a block not tied to dims"
                )
            by_dim[axis.dim] = by_dim.get(axis.dim, 0) + c
            shift -= c * axis.offset  # p = index - offset
        made = constraint(by_dim, shift, op)
        if made is False:
            return False
        if made is not True:
            out.append(made)  # type: ignore[arg-type]
    return tuple(out) if out else True


def _combine(op: str, parts: list[Term]) -> Term:
    if not parts:
        return const({"sum": 0, "max": float("-inf"), "min": float("inf")}[op])
    out = parts[0]
    for part in parts[1:]:
        out = Binary({"sum": "+", "max": "maximum", "min": "minimum"}[op], out, part)
    return out


def _piece(op: str, axis: Axis, lo: int, hi: int, cell: Term) -> Term:
    if axis.dim is None:
        return _fold("*", const(hi - lo), cell) if op == "sum" else cell
    return Reduce(op, axis.dim, axis.offset + lo, axis.offset + hi, cell)


def reduce(block: Any, op: str, axis: int, keepdims: bool = False, what: str = "") -> Any:
    """``sum``/``max``/``min`` along ``axis``, cell by cell over global ranges."""
    if isinstance(block, LaneSum):
        if block.op != {"sum": "+", "max": "maximum"}.get(op):
            return reduce(settle(block, f"a {op} reduction"), op, axis, keepdims, what)
        parts = [reduce(p, op, axis, keepdims, what) for p in block.parts]
        out = parts[0]
        for part in parts[1:]:
            out = binary(block.op, out, part)
        return out
    if op == "min" and "minimum" not in BINARY_OPS:
        raise KernelError("STL002", "unsupported: a min reduction has no counterpart in terms")
    what = what or f"the {op} reduction"
    axis = axis_index(axis, block.ndim, what)
    counts = block.counts()
    grid = np.array(block.cells, dtype=object).reshape(counts)
    moved = np.moveaxis(grid, axis, -1)
    rest_shape = moved.shape[:-1]
    cuts = block.cuts[axis]
    out_cells = []
    for idx in np.ndindex(*rest_shape):
        parts: list[Term] = []
        undefined: Undef | None = None
        for k in range(counts[axis]):
            cell = moved[idx + (k,)]
            if isinstance(cell, Undef):
                undefined = undefined or cell
                continue
            if isinstance(cell, (bool, DataCmp)):
                raise KernelError("STL002", f"unsupported: {op} of a mask")
            if is_identity(cell, op):
                continue
            parts.append(_piece(op, block.axes[axis], cuts[k], cuts[k + 1], cell))
        # undefined lanes make the whole reduction undefined (an error only if it
        # reaches an output, at the lanes' origin)
        out_cells.append(undefined or _combine(op, parts))
    shape = block.shape[:axis] + block.shape[axis + 1 :]
    axes = block.axes[:axis] + block.axes[axis + 1 :]
    out_cuts = block.cuts[:axis] + block.cuts[axis + 1 :]
    value = None
    if block.value is not None:
        fn = {"sum": np.sum, "max": np.max, "min": np.min}[op]
        value = np.asarray(fn(block.value, axis=axis))
    result = Block(shape, axes, out_cuts, tuple(out_cells), block.fixed, value)
    return expand(result, axis) if keepdims else result


def expand(block: Block, axis: int) -> Block:
    """A new axis of size 1 at ``axis`` (``x[:, None]``, ``keepdims``)."""
    block = settle(block, "a new axis")
    axis = axis_index(axis, block.ndim + 1, "a new axis of a block")
    value = None if block.value is None else np.expand_dims(block.value, axis)
    return Block(
        block.shape[:axis] + (1,) + block.shape[axis:],
        block.axes[:axis] + (NO_DIM,) + block.axes[axis:],
        block.cuts[:axis] + ((0, 1),) + block.cuts[axis:],
        block.cells,
        block.fixed,
        value,
    )


def reshape(block: Any, shape: tuple[int, ...], what: str) -> Block:
    """A reshape that only removes or adds axes of size 1 (``squeeze``,
    ``reshape(-1)`` of a column, ``x[None]``): the other axes keep their
    elements. Any other reshape mixes axes, which the algebra does not follow."""
    block = settle(block, what)
    size = int(np.prod(block.shape))
    if shape.count(-1) == 1:
        known = int(np.prod([n for n in shape if n != -1]))
        if known == 0 or size % known:
            raise _bad_reshape(block.shape, shape)
        shape = tuple(size // known if n == -1 else n for n in shape)
    if -1 in shape or int(np.prod(shape)) != size:
        raise _bad_reshape(block.shape, shape)
    if shape == block.shape:
        return block
    if [n for n in block.shape if n != 1] != [n for n in shape if n != 1]:
        raise KernelError(
            "STL002",
            f"unsupported: {what} from {block.shape} to {shape} mixes axes of the array",
            help="only reshapes that add or drop axes of size 1 are followed",
        )
    kept = tuple(None if n == 1 else n for n in block.shape)
    out = window(block, (0,) * block.ndim, kept, Undef(None, "out of range"))
    for k, n in enumerate(shape):
        if n == 1:
            out = expand(out, k)
    return out


def squeeze(block: Any, axis: Any, what: str) -> Block:
    """``jnp.squeeze``: the axes of size 1 named (all of them by default) dropped."""
    block = settle(block, what)
    if axis is None:
        drop = {k for k, n in enumerate(block.shape) if n == 1}
    else:
        named = axis if isinstance(axis, (tuple, list)) else (axis,)
        drop = {axis_index(a, block.ndim, what) for a in named}
        for k in drop:
            if block.shape[k] != 1:
                raise KernelError(
                    "STL005",
                    f"{what}: axis {k} has size {block.shape[k]}, not 1",
                    notes=("JAX raises a ValueError: only axes of size 1 can be squeezed",),
                )
    return reshape(block, tuple(n for k, n in enumerate(block.shape) if k not in drop), what)


def concatenate(parts: list, axis: int, what: str) -> Block:
    """``jnp.concatenate``: the parts side by side along ``axis``; where they hold
    elements that disagree with each other's place, a wrong value."""
    parts = [settle(p, what) for p in parts]
    if not parts:
        raise KernelError("STL005", f"{what} of no arrays", notes=("JAX raises a ValueError",))
    ndim = parts[0].ndim
    axis = axis_index(axis, ndim, what)
    if any(p.ndim != ndim for p in parts) or any(
        p.shape[:axis] + p.shape[axis + 1 :] != parts[0].shape[:axis] + parts[0].shape[axis + 1 :]
        for p in parts
    ):
        raise KernelError(
            "STL005",
            f"{what}: shapes {', '.join(str(p.shape) for p in parts)} differ off axis {axis}",
            notes=("JAX raises a TypeError: only the concatenated axis may differ",),
        )
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    concrete = all(p.value is not None for p in parts)
    out = uniform(
        tuple(shape),
        Undef(None, "nothing (every element is a part's)"),
        value=np.full(shape, np.nan) if concrete else None,
    )
    offset = 0
    for part in parts:
        starts = tuple(offset if k == axis else 0 for k in range(ndim))
        try:
            out = store(out, part, starts, None, what)
        except Misaligned as error:
            return wrong(tuple(shape), error, np.full(shape, np.nan) if concrete else None)
        offset += part.shape[axis]
    return out


def _bad_reshape(have: tuple[int, ...], want: tuple[int, ...]) -> KernelError:
    return KernelError(
        "STL005",
        f"cannot reshape an array of shape {have} into {want}",
        notes=("JAX raises a TypeError: the sizes differ",),
    )


def transpose(block: Block, order: tuple[int, ...] | None = None) -> Block:
    block = settle(block, "a transpose")
    order = order if order is not None else tuple(reversed(range(block.ndim)))
    counts = block.counts()
    grid = np.array(block.cells, dtype=object).reshape(counts)
    cells = tuple(np.transpose(grid, order).reshape(-1)) if block.cells else ()
    value = None if block.value is None else np.transpose(block.value, order)
    return Block(
        tuple(block.shape[k] for k in order),
        tuple(block.axes[k] for k in order),
        tuple(block.cuts[k] for k in order),
        cells,
        block.fixed,
        value,
    )


def window(
    block: Block, starts: tuple[int, ...], sizes: tuple[int | None, ...], beyond: Undef
) -> Block:
    """Positions ``[start, start + size)`` of each axis (``None``: one index, the
    axis disappears); positions outside the block are ``beyond``."""
    block = settle(block, "an index")
    axes, cuts, shape = [], [], []
    fixed = dict(block.fixed)
    pads = []
    for k, (start, size) in enumerate(zip(starts, sizes)):
        axis, n = block.axes[k], block.shape[k]
        width = 1 if size is None else size
        if size is None:
            if axis.dim is not None:
                fixed[axis.dim] = axis.offset + start
        else:
            axes.append(Axis(axis.dim, axis.offset + start) if axis.dim else NO_DIM)
            shape.append(size)
        inside = sorted({0, width} | {c - start for c in block.cuts[k] if 0 < c - start < width})
        for edge in (-start, n - start):
            if 0 < edge < width:
                inside = sorted(set(inside) | {edge})
        if size is not None:
            cuts.append(tuple(inside))
        pads.append((start, width, n, tuple(inside)))
    # every cell of the window: the block's cell at its start, or `beyond`
    spans = [list(zip(p[3][:-1], p[3][1:])) for p in pads]
    cells: list[Cell] = []
    for box in itertools.product(*spans):
        pos = tuple(p[0] + lo for p, (lo, _) in zip(pads, box))
        if all(0 <= q < p[2] for q, p in zip(pos, pads)):
            cells.append(_cell_at(block, pos))
        else:
            cells.append(beyond)
    value = None
    if block.value is not None:
        value = _window_values(block.value, pads, sizes)
    return Block(
        tuple(shape), tuple(axes), tuple(cuts), tuple(cells), tuple(sorted(fixed.items())), value
    )


def item(block: Block, axis: int, index: int, what: str) -> Block:
    """Item ``index`` along ``axis``: the axis goes, its dim pinned at that index."""
    starts = tuple(index if k == axis else 0 for k in range(block.ndim))
    sizes = tuple(None if k == axis else n for k, n in enumerate(block.shape))
    return window(block, starts, sizes, Undef(None, f"{what} past the end"))


def unpinned(block: Block, dim: str, index: int) -> Block:
    """``block`` with a new leading axis of one position along ``dim`` at ``index``,
    where its pinned dim moves (the items of a vmap stacked back); an item that
    does not hold that index is a value the algebra does not express."""
    fixed = dict(block.fixed)
    if fixed.pop(dim, None) != index:
        raise KernelError(
            "STL002",
            f"unsupported: a vmapped result that is not the item {dim}={index} of the batch",
        )
    value = None if block.value is None else block.value[None]
    return Block(
        (1, *block.shape),
        (Axis(dim, index), *block.axes),
        ((0, 1), *block.cuts),
        block.cells,
        tuple(sorted(fixed.items())),
        value,
    )


def _window_values(array: np.ndarray, pads: list, sizes: tuple[int | None, ...]) -> np.ndarray:
    fill = False if array.dtype == bool else np.nan
    out = np.full(tuple(p[1] for p in pads), fill, dtype=array.dtype)
    src, dst = [], []
    for start, width, n, _ in pads:
        lo, hi = max(start, 0), min(start + width, n)
        if lo >= hi:
            return out.reshape([w for w, s in zip(out.shape, sizes) if s is not None])
        src.append(slice(lo, hi))
        dst.append(slice(lo - start, hi - start))
    out[tuple(dst)] = array[tuple(src)]
    return out.reshape([p[1] for p, s in zip(pads, sizes) if s is not None])


def store(
    content: Block,
    value: Block,
    starts: tuple[int, ...],
    mask: Block | None,
    what: str,
) -> Block:
    """``content`` with ``value`` written at ``starts`` where ``mask`` holds.

    ``value`` has the window's shape (already broadcast). Positions past the
    end of ``content`` are dropped, as Pallas drops writes past an array. The
    content's axes say which element each position holds: a write whose
    elements disagree with what the rest of the content holds is an error,
    unless it replaces everything defined.
    """
    shape = content.shape
    cuts = []
    for k, n in enumerate(shape):
        points = set(content.cuts[k])
        for block in (value, mask) if mask is not None else (value,):
            for c in block.cuts[k]:
                if 0 < starts[k] + c < n:
                    points.add(starts[k] + c)
        for edge in (starts[k], starts[k] + value.shape[k]):
            if 0 < edge < n:
                points.add(edge)
        cuts.append(tuple(sorted(points)))
    old = refine(content, tuple(cuts))
    cells: list[Cell] = []
    kept_defined = False
    for box, before in zip(itertools.product(*(c[:-1] for c in cuts)), old):
        rel = tuple(p - s for p, s in zip(box, starts))
        inside = all(0 <= r < n for r, n in zip(rel, value.shape))
        written = inside and (mask is None or _cell_at(mask, rel) is True)
        if inside and mask is not None and not isinstance(_cell_at(mask, rel), bool):
            raise KernelError("STL002", "unsupported: a store mask that depends on the data")
        if written:
            cells.append(_cell_at(value, rel))
        else:
            cells.append(before)
            kept_defined |= not isinstance(before, Undef)
    implied = tuple(
        Axis(a.dim, a.offset - s) if a.dim is not None else a for a, s in zip(value.axes, starts)
    )
    if kept_defined:
        axes = tuple(
            _merge_axis(c, v, what, c.describe(n), v.describe(n))
            for c, v, n in zip(content.axes, implied, shape)
        )
        fixed = merge_fixed([content.fixed, value.fixed], axes, what, shape)
    else:
        axes, fixed = implied, value.fixed
    new_value = None
    if content.value is not None and value.value is not None:
        new_value = np.array(content.value, dtype=np.float64, copy=True)
        src, dst = [], []
        for start, size, n in zip(starts, value.shape, shape):
            lo, hi = max(start, 0), max(min(start + size, n), max(start, 0))
            src.append(slice(lo - start, hi - start))
            dst.append(slice(lo, hi))
        chosen = value.value[tuple(src)]
        if mask is not None and mask.value is not None:
            chosen = np.where(mask.value[tuple(src)], chosen, new_value[tuple(dst)])
        new_value[tuple(dst)] = chosen
    return Block(shape, axes, tuple(cuts), tuple(cells), fixed, new_value)
