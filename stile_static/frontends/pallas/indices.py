"""Index vectors (``jnp.arange``, ``lax.broadcasted_iota``): integer blocks affine
in their positions, their arithmetic, and the masks their comparisons make."""

from __future__ import annotations

from typing import Any

from ...core.errors import KernelError
from . import blocks
from .api import is_number, known_int
from .blocks import Block
from .values import Iota, kind, mask_block


def not_mask(mask: Block) -> Block:
    cells: list[Any] = []
    for cell in mask.cells:
        if isinstance(cell, blocks.PosCond) and cell.negated() is not None:
            cells.append(cell.negated())
            continue
        if not isinstance(cell, bool):
            raise KernelError("STL002", "unsupported: ~ of data or of a mask of several conditions")
        cells.append(not cell)
    value = None if mask.value is None else ~mask.value.astype(bool)
    return Block(mask.shape, mask.axes, mask.cuts, tuple(cells), mask.fixed, value)


def iota_binary(op: str, left: Any, right: Any) -> Iota:
    if isinstance(left, Iota) and isinstance(right, Iota):
        if op not in ("+", "-"):
            raise KernelError("STL002", f"unsupported: `{op}` of two index vectors")
        shape = blocks.broadcast_shape(left.shape, right.shape)
        a, b = _widen(left, shape), _widen(right, shape)
        sign = 1 if op == "+" else -1
        return Iota(
            shape,
            tuple(x + sign * y for x, y in zip(a.coeffs, b.coeffs)),
            a.const + sign * b.const,
        )
    iota, other, flipped = (left, right, False) if isinstance(left, Iota) else (right, left, True)
    k = known_int(other, "index arithmetic operand")
    if op == "+":
        return Iota(iota.shape, iota.coeffs, iota.const + k)
    if op == "-":
        if flipped:
            return Iota(iota.shape, tuple(-c for c in iota.coeffs), k - iota.const)
        return Iota(iota.shape, iota.coeffs, iota.const - k)
    if op == "*":
        return Iota(iota.shape, tuple(c * k for c in iota.coeffs), iota.const * k)
    raise KernelError("STL002", f"unsupported: `{op}` on an index vector")


def _widen(iota: Iota, shape: tuple[int, ...]) -> Iota:
    extra = len(shape) - len(iota.shape)
    coeffs = (0,) * extra + iota.coeffs
    for k, (have, want) in enumerate(zip((1,) * extra + iota.shape, shape)):
        if have != want and coeffs[k] != 0:
            raise KernelError("STL002", "index vectors of different shapes")
    return Iota(shape, coeffs, iota.const)


MAX_MASK_CELLS = 64


def iota_compare(symbol: str, left: Any, right: Any) -> Block:
    if isinstance(left, Iota) and isinstance(right, Iota):
        diff = iota_binary("-", left, right)
        return iota_compare(symbol, diff, 0)
    if not isinstance(left, Iota):
        flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
        return iota_compare(flipped[symbol], right, left)
    k = right
    if not is_number(k):
        raise KernelError("STL002", f"unsupported: an index vector compared with {kind(k)}")
    values = left.values()
    bools = {
        "<": values < k,
        "<=": values <= k,
        ">": values > k,
        ">=": values >= k,
        "==": values == k,
        "!=": values != k,
    }[symbol]
    mask = mask_block(bools)
    if len(mask.cells) > MAX_MASK_CELLS:
        # a condition along several axes (a causal mask): one cell with the condition
        cond = blocks.PosCond(((left.coeffs, left.const - k, symbol),))
        if symbol in ("==", "!="):
            raise KernelError("STL002", f"unsupported: an index mask `{symbol}` over two axes")
        return blocks.uniform(left.shape, cond, value=bools)
    return mask
