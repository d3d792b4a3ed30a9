"""Whole arrays of the wrapper: what a pallas_call returns, and jnp on it.

A launch's output becomes, once the grid has run, one block over the whole
array (:func:`assemble`): every write-back is stored at its place, and
elements no grid step writes stay undefined. The wrapper computes with it in
the block algebra of kernels (``jnp.sum``, ``jnp.exp``, arithmetic,
``m[:, None]``), and passes it, or what it computed, to the next pallas_call,
whose refs then hold the terms of the first launch's results: a second pass
reads what the first one wrote, so several launches and the host code between
them are followed in the same term language. Nothing here is a value on the
device: a host block is what JAX's array would hold, element by element.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError
from . import blocks
from .blocks import Axis, Block, Undef


@dataclass(frozen=True)
class Computed:
    """An operand of a pallas_call that the wrapper computed: an earlier launch's
    output, or jnp of it. ``block`` holds every element."""

    name: str
    shape: tuple[int, ...]
    block: Block
    dims: None = None  # no logical dims of its own: its block's axes say what it holds


@dataclass(frozen=True)
class Split:
    """A whole array reshaped so that one axis becomes two of ``parts`` and ``size``
    (``k.reshape(k_splits, n // k_splits, d)``). No block of the algebra holds it
    (the inner axis's offset changes with the outer index), so only a pallas_call
    takes it, as an operand read window by window: a window of one outer index
    is a window of the array it came from."""

    name: str
    base: Block
    axis: int
    size: int
    dims: None = None

    @property
    def shape(self) -> tuple[int, ...]:
        shape, k = self.base.shape, self.axis
        return shape[:k] + (shape[k] // self.size, self.size) + shape[k + 1 :]

    def window(
        self, starts: tuple[int, ...], sizes: tuple[int | None, ...], beyond: Undef
    ) -> Block:
        k = self.axis
        outer, inner = (starts[k], sizes[k]), (starts[k + 1], sizes[k + 1])
        width = 1 if inner[1] is None else inner[1]
        if outer[1] not in (None, 1) or inner[0] + width > self.size:
            raise KernelError(
                "STL002",
                f"unsupported: a block of {self.name} that spans several of its split rows",
                help="only blocks of one index along the outer axis of the split are followed",
            )
        base_starts = starts[:k] + (outer[0] * self.size + inner[0],) + starts[k + 2 :]
        base_sizes = sizes[:k] + (inner[1],) + sizes[k + 2 :]
        block = blocks.window(self.base, base_starts, base_sizes, beyond)
        if outer[1] == 1:
            block = blocks.expand(block, sum(1 for n in sizes[:k] if n is not None))
        return block


def split(block: Block, shape: tuple[int, ...], name: str) -> Split | None:
    """``block`` reshaped to ``shape`` when that splits exactly one axis in two."""
    have = block.shape
    if len(shape) != len(have) + 1:
        return None
    for k in range(len(have)):
        if (
            shape[:k] == have[:k]
            and shape[k + 2 :] == have[k + 1 :]
            and shape[k] * shape[k + 1] == have[k]
            and shape[k + 1] > 0
        ):
            return Split(name, block, k, shape[k + 1])
    return None


def assemble(
    shape: tuple[int, ...], writebacks: list, what: str, span: Span, concrete: bool
) -> Block:
    """The whole output from its write-backs, in the order the grid wrote them
    (a later write-back of a block replaces the earlier one, as on the device)."""
    never = Undef(span, f"elements of {what} that no grid step writes")
    out = blocks.uniform(shape, never, value=np.full(shape, np.nan) if concrete else None)
    pinned = _pinned_dims(writebacks)
    for wb in writebacks:
        content = _with_squeezed_axes(wb, pinned)
        try:
            out = blocks.store(out, content, wb.starts, None, f"the result of {what}")
        except blocks.Misaligned as error:
            # blocks of the output hold elements the others disagree on: what the
            # array holds is a wrong value (reported where it reaches a result)
            value = None if out.value is None else np.full(shape, np.nan)
            return blocks.wrong(shape, error, value)
    return out


def _pinned_dims(writebacks: list) -> dict[int, str]:
    """Per squeezed axis of the output, the dim that the blocks written there pin
    to the index they are written at, in every write-back (a row per grid step)."""
    axes: dict[int, str] = {}
    if not writebacks:
        return axes
    for a, squeezed in enumerate(writebacks[0].squeezed):
        if not squeezed:
            continue
        common: set[str] | None = None
        for wb in writebacks:
            if all(isinstance(cell, Undef) for cell in wb.content.cells):
                continue  # holds no element at all (a wrong value): says nothing
            here = {d for d, i in wb.content.fixed if i == wb.starts[a]}
            common = here if common is None else common & here
        if common is not None and len(common) == 1:
            axes[a] = next(iter(common))
    # a dim that fits several axes (one kv head and one split, both at index 0)
    # pins none of them: which one it is is not known
    named = [d for d in axes.values()]
    return {a: d for a, d in axes.items() if named.count(d) == 1}


def _with_squeezed_axes(wb: Any, pinned: dict[int, str]) -> Block:
    """The written block with an axis of size 1 where the out_spec squeezes one;
    the dim a row pins becomes that axis."""
    block: Block = wb.content
    for a, squeezed in enumerate(wb.squeezed):
        if not squeezed:
            continue
        block = blocks.expand(block, a)
        dim = pinned.get(a)
        if dim is not None:
            fixed = tuple((d, i) for d, i in block.fixed if d != dim)
            axes = block.axes[:a] + (Axis(dim, wb.starts[a]),) + block.axes[a + 1 :]
            block = replace(block, axes=axes, fixed=fixed)
    return block
