"""Long terms and range lists in reports stay short and keep the difference visible."""

from __future__ import annotations

from stile_static.ir.terms import Binary, Const, Load, Reduce, Unary, show
from stile_static.prover.abbreviate import abbreviate, collapse_ranges


def scores(lo: int, hi: int) -> Reduce:
    product = Binary("*", Load("K", ("n", "d")), Load("Q", ("m", "d")))
    return Reduce("sum", "d", lo, hi, product)


def test_short_terms_are_shown_as_they_are() -> None:
    term = Binary("+", scores(0, 16), Const(1))
    assert abbreviate([term, term]) == ([show(term), show(term)], [])


def test_a_shared_subterm_is_named_once_and_the_difference_stays() -> None:
    s = scores(0, 16)
    kernel = s
    spec = s
    for k in range(12):
        kernel = Binary("+", kernel, Unary("exp", Binary("*", s, Const(k))))
        spec = Binary("+", spec, Unary("exp", Binary("*", s, Const(k + (k == 7)))))
    (k_form, s_form), shared = abbreviate([kernel, spec], width=400)
    assert len(show(kernel)) > 400
    assert shared[0] == f"s1 = {show(s)}"
    # the part both sides agree on is named too: what is left is the difference
    assert shared[1].startswith("s2 = ((((((s1 + exp(s1 * 0)) + exp(s1 * 1))")
    assert "..." not in k_form and len(k_form) < 150 and len(s_form) < 150
    assert "(s2 + exp(s1 * 7)) + exp(s1 * 8)" in k_form
    assert "(s2 + exp(s1 * 8)) + exp(s1 * 8)" in s_form


def test_names_avoid_the_kernels_inputs() -> None:
    s = Reduce("sum", "d", 0, 16, Binary("*", Load("s1", ("n", "d")), Load("Q", ("m", "d"))))
    term = s
    for k in range(20):
        term = Binary("+", term, Binary("*", s, Const(k)))
    (form,), shared = abbreviate([term], width=200)
    assert shared and shared[0].startswith("_s1 = sum[d 0:16](s1[n, d]")


def test_runs_of_equal_adjacent_pieces_collapse() -> None:
    assert collapse_ranges([(32 * i, 32 * i + 32) for i in range(64)]) == (
        "64 pieces of 32 over [0:2048)"
    )
    assert collapse_ranges([(0, 8), (8, 16), (16, 24), (30, 40)]) == (
        "3 pieces of 8 over [0:24), [30:40)"
    )
    assert collapse_ranges([(0, 8), (8, 12), (12, 14)]) == "[0:8), [8:12), [12:14)"
