"""Comparisons of a loop index being proven with the program ids of the class the
loop runs in (ints._compare_loop): whatever they return holds at every program and
iteration of the class, checked against enumerating them all."""

from __future__ import annotations

import numpy as np
import pytest

from stile_static.frontends.blocks import NotGeneric
from stile_static.frontends.triton import ints as I
from stile_static.frontends.triton.loop_induction import LOOP_AXIS, LoopIndex
from stile_static.ir.numpy_ops import COMPARE_UFUNCS

BOX = ((2, 8), (0, 1), (0, 1))
OPS = ("<", "<=", ">", ">=", "==", "!=")


def keys() -> tuple[I.Pid, I.Derived, LoopIndex]:
    pid = I.Pid(0, 2, 8, BOX)
    grouped = I.Derived((pid.values % 3) * 2, BOX)  # not affine in the program id
    return pid, grouped, LoopIndex(LOOP_AXIS, 1, 9)


def truth_table(op, base, c_pid, c_grouped, c_loop, pid, grouped, loop) -> np.ndarray:
    """The truth of every lane (last axis) at every program and iteration."""
    p = pid.values.ravel()[:, None, None]
    g = grouped.values.ravel()[:, None, None]
    k = np.arange(loop.lo, loop.hi)[None, :, None]
    return COMPARE_UFUNCS[op](base + c_pid * p + c_grouped * g + c_loop * k, 0)


def outcome(seed: int) -> str:
    """One random comparison, its verdict checked against enumerating every program and
    iteration; which verdict it was."""
    rng = np.random.default_rng(seed)
    pid, grouped, loop = keys()
    op = OPS[seed % len(OPS)]
    lanes = 5
    base = rng.integers(-30, 30, lanes)
    c_pid = rng.integers(-2, 3, lanes) * (seed % 3 != 0)  # some without the program id
    c_grouped = rng.integers(-2, 3, lanes) * (seed % 4 != 1)
    c_loop = rng.integers(-4, 5, lanes)
    c_loop[0] = c_loop[0] or 1  # the loop index is a key of the difference
    if not (c_pid.any() or c_grouped.any()):
        c_grouped[1] = 1  # and so is a program key
    parts = {None: base, pid: c_pid, grouped: c_grouped, loop: c_loop}
    diff = I.make((lanes,), parts, dtype="int32")
    assert isinstance(diff, I.Ints)
    truth = truth_table(op, base, c_pid, c_grouped, c_loop, pid, grouped, loop)
    try:
        result = I.compare(op, diff, 0)
    except I.Split as split:
        assert split.axis == LOOP_AXIS
        assert split.cuts and all(loop.lo < c < loop.hi for c in split.cuts)
        for c in split.cuts:  # a lane flips there at some program
            j = c - loop.lo
            assert (truth[:, j - 1] != truth[:, j]).any()
        return "split"
    except NotGeneric:
        # not followed only where the truth changes from program to program
        assert (truth != truth[:1]).any()
        return "not followed"
    assert isinstance(result, I.Mask)
    assert (truth == result.array).all()
    return "decided"


@pytest.mark.parametrize("seed", range(60))
def test_the_verdict_holds_at_every_program_and_iteration(seed):
    outcome(seed)


def test_the_random_cases_reach_every_verdict():
    # the property is worth its name only if each verdict occurs among the cases
    assert {outcome(seed) for seed in range(60)} == {"split", "not followed", "decided"}


def test_a_uniform_comparison_is_decided():
    pid, grouped, loop = keys()
    # k * 16 + lane < 16 * 9 + 2 * grouped + pid: true for every lane, program, iteration
    lanes = np.arange(16)
    parts = {None: lanes - 16 * 9, pid: -1, grouped: -2, loop: 16}
    diff = I.make((16,), parts, dtype="int32")
    result = I.compare("<", diff, 0)
    assert isinstance(result, I.Mask) and result.array.all()


def test_a_flip_along_the_iterations_cuts_them():
    pid, _, loop = keys()
    # k + pid - 7 < 0 flips at k = 7 - pid: at 5, 4, 3 and 2 for the programs 2..5
    # (programs 6 and 7 are false from the first iteration, 1, on)
    grouped = I.Derived(pid.values.copy(), BOX)  # the same values, as a derived key
    for key in (pid, grouped):
        diff = I.make((4,), {None: np.full(4, -7), key: 1, loop: 1}, dtype="int32")
        with pytest.raises(I.Split) as split:
            I.compare("<", diff, 0)
        assert split.value.axis == LOOP_AXIS and split.value.cuts == (2, 5)


def test_a_non_affine_function_of_the_loop_index_and_a_program_id_is_not_followed():
    pid, _, loop = keys()
    scalar = I.make((), {None: 0, pid: 1, loop: 1}, dtype="int32")
    with pytest.raises(NotGeneric):
        I.binary("//", scalar, 2)
    with pytest.raises(NotGeneric):
        I.minimum_maximum("minimum", scalar, 3)
    # a sum of the two stays affine in both (no table over the programs is made)
    total = I.binary("+", scalar, I.make((), {None: 0, pid: 2}, dtype="int32"))
    assert set(I.program_keys(I.lift(total))) == {pid, loop}
