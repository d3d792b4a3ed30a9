"""The block algebra of block-programmed kernels: pieces, masks, reductions, dot."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from stile_static.core.diagnostics import Span
from stile_static.core.errors import KernelError
from stile_static.frontends import blocks
from stile_static.frontends.blocks import Axis, Undef
from stile_static.ir.terms import NEG_INF, Binary, Const, Load, Reduce, Unary, const

SPAN = Span(1, 1, 1, 2)
X = Load("x", ("M", "N"))


def row(n: int, valid: int, other: Const | Undef) -> blocks.Block:
    """Lanes 0..n of row 3 of x, the first ``valid`` of them loaded."""
    choice = np.where(np.arange(n) < valid, 0, 1)
    return blocks.loaded((n,), [Axis("N", 0)], {"M": 3}, choice, [X, other])


def test_a_masked_max_reduces_over_the_admitted_lanes_only() -> None:
    out = blocks.reduce(row(8, 5, NEG_INF), 0, "max", lambda op: True)
    assert out.terms == (Reduce("max", "N", 0, 5, X),)
    assert out.fixed == (("M", 3),)


def test_other_zero_in_a_max_stays_in_the_result() -> None:
    out = blocks.reduce(row(8, 5, const(0)), 0, "max", lambda op: True)
    (term,) = out.terms
    assert term == Binary("maximum", Reduce("max", "N", 0, 5, X), const(0))


def test_a_sum_over_constant_lanes_counts_them() -> None:
    out = blocks.reduce(row(8, 5, const(2)), 0, "sum", lambda op: True)
    (term,) = out.terms
    assert term == Binary("+", Reduce("sum", "N", 0, 5, X), const(6))


def test_undefined_lanes_make_the_reduction_undefined() -> None:
    undefined = Undef(SPAN, "masked off")
    out = blocks.reduce(row(8, 5, undefined), 0, "sum", lambda op: True)
    assert out.terms == (undefined,)


def test_exp_of_minus_infinity_folds_to_zero_and_drops_out_of_a_sum() -> None:
    shifted = blocks.elementwise([row(8, 5, NEG_INF)], lambda t: blocks.fold_binary("-", t, X))
    exps = blocks.elementwise([shifted], lambda t: blocks.fold_unary("exp", t))
    assert const(0) in exps.terms
    out = blocks.reduce(exps, 0, "sum", lambda op: True)
    (term,) = out.terms
    assert isinstance(term, Reduce) and (term.lo, term.hi) == (0, 5)


def test_blocks_of_different_elements_do_not_combine_elementwise() -> None:
    a = blocks.loaded((4,), [Axis("N", 0)], {}, np.zeros(4), [X])
    b = blocks.loaded((4,), [Axis("N", 4)], {}, np.zeros(4), [X])
    with pytest.raises(blocks.LayoutMismatch):
        blocks.elementwise([a, b], lambda s, t: blocks.fold_binary("+", s, t))
    total = blocks.add(a, b)
    assert isinstance(total, blocks.BlockSum)
    (term,) = blocks.sum_lanes(total, 0).terms
    assert term == Binary("+", Reduce("sum", "N", 0, 4, X), Reduce("sum", "N", 4, 8, X))


def test_dot_contracts_the_shared_axis_over_its_unmasked_lanes() -> None:
    a_term, b_term = Load("a", ("M", "K")), Load("b", ("K", "N"))
    k_valid = np.arange(4)[None, :] < 3
    a = blocks.loaded((2, 4), [Axis("M", 0), Axis("K", 0)], {}, ~k_valid, [a_term, const(0)])
    b = blocks.loaded((4, 2), [Axis("K", 0), Axis("N", 0)], {}, ~k_valid.T, [b_term, const(0)])
    out = blocks.dot(a, b)
    assert out.axes == (Axis("M", 0), Axis("N", 0))
    assert out.terms == (Reduce("sum", "K", 0, 3, Binary("*", a_term, b_term)),)


def test_dot_of_misaligned_contraction_axes_is_a_mismatch() -> None:
    a = blocks.loaded((2, 4), [Axis("M", 0), Axis("K", 0)], {}, np.zeros((2, 4)), [X])
    b = blocks.loaded((4, 2), [Axis("K", 4), Axis("N", 0)], {}, np.zeros((4, 2)), [X])
    with pytest.raises(KernelError) as caught:
        blocks.dot(a, b)
    assert caught.value.code == "STL011"


def test_select_keeps_the_undefined_lanes_it_does_not_pick() -> None:
    undefined = Undef(SPAN, "masked off")
    loaded = row(4, 2, undefined)
    mask = np.arange(4) < 2
    out = blocks.select(mask, loaded, blocks.uniform(const(0)))
    assert set(out.terms) == {X, const(0)}


def test_base_two_functions_lower_to_exp_and_log_with_a_symbolic_ln2() -> None:
    t = blocks.lower("exp2", blocks.fold_binary("*", X, blocks.LOG2E))
    assert t == Unary("exp", Binary("*", Binary("*", X, blocks.LOG2E), blocks.LN2))
    assert blocks.lower("exp2", NEG_INF) == const(0)
    assert blocks.lower("rsqrt", X) == Unary("recip", Unary("sqrt", X))


def test_minus_infinity_times_a_value_of_unknown_sign_is_unsupported() -> None:
    s = Load("s", ())
    with pytest.raises(KernelError):
        blocks.fold_binary("*", NEG_INF, s)
    assert blocks.fold_binary("*", NEG_INF, s, {"s"}) == NEG_INF


def test_exp_of_a_running_log_sum_exp_splits_the_log_out() -> None:
    total = Reduce("sum", "N", 0, 4, Unary("exp", X))
    m = Load("m", ())
    lse = Binary("+", m, Unary("log", total))
    out = blocks.fold_unary("exp", Binary("-", lse, m))
    assert out == Binary("*", Unary("exp", Binary("+", m, Unary("neg", m))), total)


def test_specialize_decides_index_conditions_on_a_region() -> None:
    from stile_static.ir.terms import constraint, where

    causal = constraint({"Nk": 1, "Nq": -1}, 0, "<=")  # Nk <= Nq
    body = where([causal], Load("s", ("Nq", "Nk")), NEG_INF)
    term = Reduce("max", "Nk", 0, 8, body)
    above = blocks.specialize(term, {"Nq": (8, 16)})
    assert above == Reduce("max", "Nk", 0, 8, Load("s", ("Nq", "Nk")))
    one = blocks.specialize(term, {"Nq": (3, 4)})
    assert isinstance(one, Reduce) and one.body != body  # Nq replaced by 3


def test_term_keys_are_structural() -> None:
    a = Binary("+", X, Const(Fraction(1)))
    b = Binary("+", Load("x", ("M", "N")), const(1))
    assert blocks.term_key(a) == blocks.term_key(b)
    assert blocks.term_key(a) != blocks.term_key(Binary("-", X, const(1)))
