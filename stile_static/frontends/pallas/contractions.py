"""Contractions of data blocks: ``lax.dot_general`` and what lowers to it.

``dot_general`` multiplies two blocks and sums over paired (contracting) axes,
keeping paired batch axes; its result holds the batch axes, then the free axes
of the left operand, then those of the right, as JAX orders them. Every sum is
a :class:`~stile_static.ir.terms.Reduce` over the global range of the summed
dim, cell by cell, the same term a spec's ``(X, Y -> Z)`` and Triton's
``tl.dot`` give. ``jnp.dot``, ``jnp.matmul`` (``@``), ``lax.dot`` and
``jnp.einsum`` are written as ``dot_general`` plus transposes and reductions,
with the shape rules of the real functions: what JAX refuses is STL005, what
it accepts and the term language cannot say (a diagonal, a broadcast size-1
axis in an einsum) is STL002.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...core.errors import KernelError
from ...ir.terms import Term
from . import blocks
from .blocks import (
    Axis,
    Block,
    Cell,
    Misaligned,
    Undef,
    _combine,
    _fold,
    _merge_axis,
    _piece,
    is_identity,
    merge_fixed,
    refine,
    settle,
)

Dims = tuple[int, ...]


def refused(message: str, node: Any = None, help: str | None = None) -> KernelError:
    """A contraction JAX refuses when it traces the kernel."""
    return KernelError(
        "STL005",
        message,
        notes=("JAX raises a TypeError or ValueError when it traces this call",),
        help=help,
        node=node,
    )


def _checked_axes(dims: Dims, ndim: int, side: str, what: str, node: Any) -> Dims:
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int):
            raise KernelError("STL002", f"the {side} axes of {what} must be known integers")
        if not 0 <= d < ndim:
            raise refused(
                f"{what}: axis {d} of the {side} operand is out of range for {ndim} dimensions",
                node,
                help=f"use axes in 0..{ndim - 1}",
            )
        out.append(d)
    if len(set(out)) != len(out):
        raise refused(f"{what}: an axis of the {side} operand is named twice ({dims})", node)
    return tuple(out)


def dot_general(
    left: Any,
    right: Any,
    contracting: tuple[Dims, Dims],
    batch: tuple[Dims, Dims] = ((), ()),
    what: str = "lax.dot_general",
    node: Any = None,
) -> Block:
    """``lax.dot_general(left, right, (contracting, batch))``."""
    left, right = settle(left, what), settle(right, what)
    lc, rc = (
        _checked_axes(d, b.ndim, s, what, node) for d, b, s in _sides(contracting, left, right)
    )
    lb, rb = (_checked_axes(d, b.ndim, s, what, node) for d, b, s in _sides(batch, left, right))
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise refused(
            f"{what}: the two operands name different numbers of contracting or batch axes", node
        )
    if set(lc) & set(lb) or set(rc) & set(rb):
        raise refused(f"{what}: an axis is both contracting and batch", node)
    for kind_, pairs in (("contracting", zip(lc, rc)), ("batch", zip(lb, rb))):
        for a, b in pairs:
            if left.shape[a] != right.shape[b]:
                raise refused(
                    f"{what}: {kind_} axes of different sizes: axis {a} of the left operand has "
                    f"{left.shape[a]}, axis {b} of the right one {right.shape[b]}",
                    node,
                    help="the paired axes must have the same size",
                )
    lfree = tuple(k for k in range(left.ndim) if k not in lc and k not in lb)
    rfree = tuple(k for k in range(right.ndim) if k not in rc and k not in rb)
    shape = (
        tuple(left.shape[a] for a in lb)
        + tuple(left.shape[a] for a in lfree)
        + tuple(right.shape[b] for b in rfree)
    )
    value = _value(left, right, lc, rc, lb, rb)
    try:
        paired = [_pair(left, right, a, b, what) for a, b in zip(lb + lc, rb + rc)]
        batch_axes, inner = paired[: len(lb)], paired[len(lb) :]
        out_axes = (
            tuple(batch_axes)
            + tuple(left.axes[a] for a in lfree)
            + tuple(right.axes[b] for b in rfree)
        )
        fixed = merge_fixed([left.fixed, right.fixed], out_axes + tuple(inner), what)
    except Misaligned as error:
        return blocks.wrong(shape, error, value)
    kept = [a.dim for a in out_axes if a.dim is not None]
    if len(set(kept)) != len(kept):
        raise KernelError("STL002", f"unsupported: a {what} whose result has one dim on two axes")
    for axis in inner:
        if axis.dim is not None and (
            axis.dim in kept or [i.dim for i in inner].count(axis.dim) > 1
        ):
            raise KernelError(
                "STL002", f"unsupported: a {what} that sums over {axis.dim} and keeps it"
            )
    # paired axes share the union of both operands' cuts
    lcuts, rcuts = list(left.cuts), list(right.cuts)
    for a, b in zip(lb + lc, rb + rc):
        union = tuple(sorted(set(left.cuts[a]) | set(right.cuts[b])))
        lcuts[a], rcuts[b] = union, union
    lgrid = _grid(left, tuple(lcuts))
    rgrid = _grid(right, tuple(rcuts))
    spans = [list(zip(c[:-1], c[1:])) for c in lcuts]
    rspans = [list(zip(c[:-1], c[1:])) for c in rcuts]
    out_cuts = (
        tuple(lcuts[a] for a in lb)
        + tuple(lcuts[a] for a in lfree)
        + tuple(rcuts[b] for b in rfree)
    )
    cells: list[Cell] = []
    for bi in itertools.product(*(range(len(spans[a])) for a in lb)):
        for li in itertools.product(*(range(len(spans[a])) for a in lfree)):
            for ri in itertools.product(*(range(len(rspans[b])) for b in rfree)):
                cells.append(
                    _cell(lgrid, rgrid, spans, lc, rc, lb, rb, lfree, rfree, bi, li, ri, inner)
                )
    return Block(shape, out_axes, out_cuts, tuple(cells), fixed, value)


def _sides(dims: tuple[Dims, Dims], left: Block, right: Block) -> list:
    return [(dims[0], left, "left"), (dims[1], right, "right")]


def _pair(left: Block, right: Block, a: int, b: int, what: str) -> Axis:
    n = left.shape[a]
    return _merge_axis(
        left.axes[a], right.axes[b], what, left.axes[a].describe(n), right.axes[b].describe(n)
    )


def _grid(block: Block, cuts: tuple[tuple[int, ...], ...]) -> np.ndarray:
    grid = np.empty(tuple(len(c) - 1 for c in cuts), dtype=object)
    for k, cell in enumerate(refine(block, cuts)):
        grid.reshape(-1)[k] = cell
    return grid


def _cell(
    lgrid: np.ndarray,
    rgrid: np.ndarray,
    spans: list,
    lc: Dims,
    rc: Dims,
    lb: Dims,
    rb: Dims,
    lfree: Dims,
    rfree: Dims,
    bi: tuple[int, ...],
    li: tuple[int, ...],
    ri: tuple[int, ...],
    inner: list[Axis],
) -> Cell:
    """One output cell: the sum over every box of the contracting axes."""
    parts: list[Term] = []
    undefined: Undef | None = None
    for ci in itertools.product(*(range(len(spans[a])) for a in lc)):
        lpos = [0] * lgrid.ndim
        rpos = [0] * rgrid.ndim
        for axes_l, axes_r, idx in ((lb, rb, bi), (lc, rc, ci)):
            for a, b, k in zip(axes_l, axes_r, idx):
                lpos[a], rpos[b] = k, k
        for a, k in zip(lfree, li):
            lpos[a] = k
        for b, k in zip(rfree, ri):
            rpos[b] = k
        x, y = lgrid[tuple(lpos)], rgrid[tuple(rpos)]
        for cell in (x, y):
            if isinstance(cell, (bool, blocks.PosCond, blocks.DataCmp)):
                raise KernelError("STL002", "unsupported: a contraction of a mask")
            if isinstance(cell, Undef):
                undefined = undefined or cell
        if isinstance(x, Undef) or isinstance(y, Undef):
            continue
        if is_identity(x, "sum") or is_identity(y, "sum"):
            continue
        term: Term = _fold("*", x, y)
        for axis, a, k in reversed(list(zip(inner, lc, ci))):
            lo, hi = spans[a][k]
            term = _piece("sum", axis, lo, hi, term)
        parts.append(term)
    return undefined or _combine("sum", parts)


def _value(left: Block, right: Block, lc: Dims, rc: Dims, lb: Dims, rb: Dims) -> np.ndarray | None:
    """The concrete result (the cross-check), computed by NumPy."""
    if left.value is None or right.value is None:
        return None
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    ls = [next(letters) for _ in range(left.ndim)]
    rs = [next(letters) for _ in range(right.ndim)]
    for a, b in zip(lc + lb, rc + rb):
        rs[b] = ls[a]
    out = (
        [ls[a] for a in lb]
        + [ls[a] for a in range(left.ndim) if a not in lc and a not in lb]
        + [rs[b] for b in range(right.ndim) if b not in rc and b not in rb]
    )
    with np.errstate(all="ignore"):
        return np.asarray(
            np.einsum(f"{''.join(ls)},{''.join(rs)}->{''.join(out)}", left.value, right.value)
        )


# --------------------------------------------------------------- the callers


def dimension_numbers(
    value: Any, what: str, node: Any
) -> tuple[tuple[Dims, Dims], tuple[Dims, Dims]]:
    """``((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))`` as JAX takes
    them: each a sequence of axes or a single axis."""

    def axes(item: Any) -> Dims:
        if isinstance(item, int) and not isinstance(item, bool):
            return (item,)
        if isinstance(item, (tuple, list)) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in item
        ):
            return tuple(item)
        raise malformed()

    def pair(item: Any) -> tuple[Dims, Dims]:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise malformed()
        return axes(item[0]), axes(item[1])

    def malformed() -> KernelError:
        return refused(
            f"{what}: dimension_numbers must be ((lhs_contracting, rhs_contracting), "
            "(lhs_batch, rhs_batch))",
            node,
            help="for `x @ y.T` write (((1,), (1,)), ((), ()))",
        )

    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise malformed()
    return pair(value[0]), pair(value[1])


def jnp_dot(left: Any, right: Any, node: Any = None) -> Any:
    """``jnp.dot``: a product with a scalar; else the last axis of ``left`` with
    the only axis of a vector ``right``, or with the second-to-last of ``right``."""
    left, right = settle(left, "jnp.dot"), settle(right, "jnp.dot")
    if left.ndim == 0 or right.ndim == 0:
        return blocks.binary("*", left, right, "jnp.dot")
    inner = 0 if right.ndim == 1 else right.ndim - 2
    return dot_general(left, right, ((left.ndim - 1,), (inner,)), ((), ()), "jnp.dot", node)


def lax_dot(left: Any, right: Any, node: Any = None) -> Block:
    """``lax.dot`` without dimension numbers: vectors and matrices only."""
    left, right = settle(left, "lax.dot"), settle(right, "lax.dot")
    if left.ndim not in (1, 2) or right.ndim not in (1, 2):
        raise refused(
            f"lax.dot of shapes {left.shape} and {right.shape}: without dimension_numbers it "
            "takes vectors and matrices only",
            node,
            help="pass dimension_numbers=, or use lax.dot_general",
        )
    return dot_general(left, right, ((left.ndim - 1,), (0,)), ((), ()), "lax.dot", node)


def matmul(left: Any, right: Any, what: str = "jnp.matmul", node: Any = None) -> Block:
    """``jnp.matmul`` and ``@``: the leading axes are batch axes, broadcast."""
    left, right = settle(left, what), settle(right, what)
    if left.ndim == 0 or right.ndim == 0:
        raise refused(f"{what} of a scalar: both operands need at least one axis", node, "use `*`")
    if left.ndim == 1 or right.ndim == 1:
        lc = left.ndim - 1
        rc = 0 if right.ndim == 1 else right.ndim - 2
        return dot_general(left, right, ((lc,), (rc,)), ((), ()), what, node)
    batch = blocks.broadcast_shape(left.shape[:-2], right.shape[:-2])
    left = blocks.broadcast_to(left, batch + left.shape[-2:])
    right = blocks.broadcast_to(right, batch + right.shape[-2:])
    nb = len(batch)
    lb = tuple(range(nb))
    return dot_general(left, right, ((nb + 1,), (nb,)), (lb, lb), what, node)


# ---------------------------------------------------------------- jnp.einsum


def einsum(subscripts: str, operands: Sequence[Any], node: Any = None, at: Any = None) -> Block:
    """``jnp.einsum(subscripts, *operands)``: pairwise contractions, left to right
    (the order changes only the rounding), then the output's order. ``at`` is the
    subscripts' argument, where a form that is not followed is reported."""
    inputs, output = _parse(subscripts, len(operands), at)
    ops = [settle(o, "jnp.einsum") for o in operands]
    sizes: dict[str, int] = {}
    for letters, op in zip(inputs, ops):
        if len(letters) != op.ndim:
            raise refused(
                f"jnp.einsum: operand {''.join(letters)!r} names {len(letters)} axes of a block "
                f"with {op.ndim}",
                at,
            )
        for letter, n in zip(letters, op.shape):
            if sizes.setdefault(letter, n) != n:
                if 1 in (n, sizes[letter]):
                    raise KernelError(
                        "STL002",
                        f"unsupported: jnp.einsum broadcasts a size-1 axis {letter!r}",
                        help="give both operands the full size along it",
                        node=at,
                    )
                raise refused(
                    f"jnp.einsum: {letter!r} has size {sizes[letter]} in one operand and {n} "
                    "in another",
                    at,
                )
    work = list(zip([list(s) for s in inputs], ops))
    # a letter in one operand only, not in the output, is summed there first
    for k, (letters, op) in enumerate(work):
        elsewhere = set(output).union(*(set(w[0]) for j, w in enumerate(work) if j != k))
        work[k] = _sum_away(letters, op, elsewhere)
    letters, acc = work[0]
    for k in range(1, len(work)):
        other, op = work[k]
        needed = set(output).union(*(set(w[0]) for w in work[k + 1 :]))
        both = [c for c in letters if c in other]
        batch = [c for c in both if c in needed]
        inner = [c for c in both if c not in needed]
        acc = dot_general(
            acc,
            op,
            (tuple(letters.index(c) for c in inner), tuple(other.index(c) for c in inner)),
            (tuple(letters.index(c) for c in batch), tuple(other.index(c) for c in batch)),
            "jnp.einsum",
            node,
        )
        letters = (
            batch + [c for c in letters if c not in both] + [c for c in other if c not in both]
        )
        letters, acc = _sum_away(letters, acc, needed)
    order = tuple(letters.index(c) for c in output)
    return acc if order == tuple(range(len(order))) else blocks.transpose(acc, order)


def _sum_away(letters: list[str], block: Block, keep: set[str]) -> tuple[list[str], Block]:
    for k in reversed(range(len(letters))):
        if letters[k] not in keep:
            block = blocks.reduce(block, "sum", k, what="jnp.einsum")
            letters = letters[:k] + letters[k + 1 :]
    return letters, block


def _parse(subscripts: str, count: int, at: Any) -> tuple[list[str], str]:
    text = subscripts.replace(" ", "")
    if "." in text:
        raise KernelError(
            "STL002",
            "unsupported: an ellipsis (`...`) in jnp.einsum subscripts",
            help="name every axis with a letter",
            node=at,
        )
    lhs, arrow, out = text.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != count:
        raise refused(
            f"jnp.einsum: the subscripts name {len(inputs)} operands, the call passes {count}", at
        )
    for part in [*inputs, out]:
        for c in part:
            if not c.isascii() or not c.isalpha():
                raise refused(f"jnp.einsum: {c!r} is not a subscript letter", at)
    for part in inputs:
        if len(set(part)) != len(part):
            raise KernelError(
                "STL002",
                f"unsupported: a letter repeated within one operand ({part!r}): a diagonal "
                "or trace is not followed",
                node=at,
            )
    if not arrow:
        joined = "".join(inputs)
        out = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    if len(set(out)) != len(out):
        raise refused(f"jnp.einsum: the output {out!r} names a letter twice", at)
    missing = [c for c in out if c not in "".join(inputs)]
    if missing:
        raise refused(f"jnp.einsum: output letter {missing[0]!r} is in no operand", at)
    if count == 0:
        raise refused("jnp.einsum needs at least one operand", at)
    return inputs, out
