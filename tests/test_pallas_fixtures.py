"""The Pallas front end: fixtures exist, checking never imports jax, and the block
algebra's masks, undefined lanes and reductions (the fixtures themselves run in
tests/test_fixtures.py)."""

from __future__ import annotations

import sys

import numpy as np

from stile_static.check.checker import Options, check_file
from stile_static.frontends.pallas import blocks
from stile_static.frontends.pallas.blocks import Axis, Block, Undef
from stile_static.frontends.pallas.values import mask_block
from stile_static.ir.terms import Load, Reduce, const, show

from .fixture_expectations import FIXTURES

PALLAS = sorted((FIXTURES / "pallas").glob("*.py"))


def test_there_are_pallas_fixtures() -> None:
    assert len(PALLAS) >= 10


def test_checking_pallas_never_imports_jax() -> None:
    for path in PALLAS[:4]:
        check_file(str(path), Options(cross_check=True))
    assert not any(name == "jax" or name.startswith("jax.") for name in sys.modules)


def _row(n: int, size: int) -> Block:
    """A block of x over N[0:size) whose lanes past n are padding."""
    full = Block((n,), (Axis("N", 0),), ((0, n),), (Load("x", ("N",)),))
    return blocks.window(full, (0,), (size,), Undef(None, "padding"))


def test_a_masked_sum_covers_only_the_array() -> None:
    row = _row(10, 16)
    mask = mask_block(np.arange(16) < 10)
    total = blocks.reduce(blocks.where(mask, row, blocks.scalar(const(0))), "sum", 0)
    assert total.cells == (Reduce("sum", "N", 0, 10, Load("x", ("N",))),)


def test_an_unmasked_sum_over_padding_is_undefined() -> None:
    total = blocks.reduce(_row(10, 16), "sum", 0)
    (cell,) = total.cells
    assert isinstance(cell, Undef) and cell.what == "padding"


def test_blocks_at_different_offsets_do_not_add_up_lane_by_lane() -> None:
    full = Block((64,), (Axis("N", 0),), ((0, 64),), (Load("x", ("N",)),))
    a = blocks.window(full, (0,), (32,), Undef(None, "past"))
    b = blocks.window(full, (32,), (32,), Undef(None, "past"))
    lanes = blocks.binary("+", a, b)
    assert isinstance(lanes, blocks.LaneSum)
    # ... but summing the lanes sums both blocks
    (cell,) = blocks.reduce(lanes, "sum", 0).cells
    assert "sum[N 0:32]" in show(cell) and "sum[N 32:64]" in show(cell)
    # anything else is a value the terms cannot express
    (wrong,) = blocks.unary("exp", lanes).cells
    assert isinstance(wrong, Undef) and wrong.wrong
