"""prove_equal proves true equalities, refuses false ones, and stays bounded."""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction

import pytest

from stile_static.ir.terms import (
    NEG_INF,
    UNDEF,
    Binary,
    Const,
    Load,
    Reduce,
    Term,
    Unary,
    Where,
    add,
    const,
    constraint,
    div,
    mul,
    sub,
)
from stile_static.prover.egraph import ProofResult, load_rules, prove_equal, rules_dir, to_egglog

X = Load("x", ("M", "N"))
A = Load("a", ("M",))
B = Load("b", ("M",))
Y = Load("y", ("M",))  # does not depend on N
Z = Load("z", ("N",))  # does
POS_INF = Const(float("inf"))


def exp(t: Term) -> Term:
    return Unary("exp", t)


def maximum(a: Term, b: Term) -> Term:
    return Binary("maximum", a, b)


def total(lo: int, hi: int, body: Term, dim: str = "N") -> Term:
    return Reduce("sum", dim, lo, hi, body)


def peak(lo: int, hi: int, body: Term, dim: str = "N") -> Term:
    return Reduce("max", dim, lo, hi, body)


def _online_softmax(tiles: list[tuple[int, int]]) -> tuple[Term, Term]:
    """Running max m and denominator l of an online softmax over row x[M, N]."""
    m: Term = NEG_INF
    denominator: Term = const(0)
    for lo, hi in tiles:
        new_m = maximum(m, peak(lo, hi, X))
        rescaled = mul(exp(sub(m, new_m)), denominator)
        denominator = add(rescaled, total(lo, hi, exp(sub(X, new_m))))
        m = new_m
    return m, denominator


def fn(name: str, t: Term) -> Term:
    return Unary(name, t)


def minimum(a: Term, b: Term) -> Term:
    return Binary("minimum", a, b)


def lowest(lo: int, hi: int, body: Term, dim: str = "N") -> Term:
    return Reduce("min", dim, lo, hi, body)


CAUSAL = (constraint({"M": 1, "N": -1}, 0, "<="),)  # M <= N
MASKED = Where(CAUSAL, X, NEG_INF)


SPEC_MAX = peak(0, 10, X)
SPEC_SUM = total(0, 10, exp(sub(X, SPEC_MAX)))
ONLINE_MAX, ONLINE_SUM = _online_softmax([(0, 5), (5, 10)])

TRUE = {
    "constants_fold": (mul(const(3), mul(const(2), X)), mul(const(6), X)),
    "exact_rationals": (add(const(Fraction(1, 2)), const(Fraction(1, 3))), const(Fraction(5, 6))),
    "third_times_three": (mul(const(Fraction(1, 3)), const(3)), const(1)),
    "float_constant_is_exact": (Const(0.5), const(Fraction(1, 2))),
    "huge_constant": (mul(const(10**30), const(Fraction(1, 10**30))), const(1)),
    "commute_add": (add(A, B), add(B, A)),
    "commute_maximum": (maximum(A, B), maximum(B, A)),
    "distribute": (mul(A, add(B, X)), add(mul(X, A), mul(A, B))),
    "x_minus_x": (sub(X, X), const(0)),
    "adjacent_sums_merge": (add(total(0, 5, X), total(5, 10, X)), total(0, 10, X)),
    "adjacent_maxes_merge": (maximum(peak(0, 4, X), peak(4, 10, X)), peak(0, 10, X)),
    "factor_out_of_sum": (total(0, 10, mul(Y, X)), mul(Y, total(0, 10, X))),
    "sum_linearity": (total(0, 10, add(X, Z)), add(total(0, 10, Z), total(0, 10, X))),
    "constant_body": (total(2, 7, Y), mul(const(5), Y)),
    "exp_cancel": (mul(exp(sub(A, B)), exp(B)), exp(A)),
    "exp_quotient": (div(exp(A), exp(A)), const(1)),
    "exp_zero": (exp(sub(A, A)), const(1)),
    "exp_neg_inf": (add(mul(exp(NEG_INF), A), B), B),
    "maximum_neg_inf": (maximum(NEG_INF, X), X),
    "maximum_self": (maximum(X, X), X),
    "neg_inf_absorbs": (exp(sub(NEG_INF, peak(0, 5, X))), const(0)),
    "max_shift": (peak(0, 10, add(X, Y)), add(peak(0, 10, X), Y)),
    "max_positive_scale": (peak(0, 10, mul(exp(Y), X)), mul(exp(Y), peak(0, 10, X))),
    "sqrt_of_square": (Unary("sqrt", const(16)), const(4)),
    "reciprocal_of_exp": (Unary("recip", Unary("recip", exp(A))), exp(A)),
    "online_softmax_max": (ONLINE_MAX, SPEC_MAX),
    "online_softmax_sum": (ONLINE_SUM, SPEC_SUM),
    "exp2_of_sum": (mul(fn("exp2", A), fn("exp2", B)), fn("exp2", add(B, A))),
    "exp2_cancel": (mul(fn("exp2", sub(A, B)), fn("exp2", B)), fn("exp2", A)),
    "log_of_exp": (fn("log", exp(add(A, B))), add(B, A)),
    "rsqrt_of_positive": (fn("rsqrt", exp(A)), Unary("recip", fn("sqrt", exp(A)))),
    "sigmoid": (fn("sigmoid", A), Unary("recip", add(const(1), exp(mul(const(-1), A))))),
    "commute_minimum": (minimum(A, B), minimum(B, A)),
    "minimum_pos_inf": (minimum(POS_INF, X), X),
    "adjacent_mins_merge": (minimum(lowest(0, 4, X), lowest(4, 10, X)), lowest(0, 10, X)),
    "min_shift": (lowest(0, 10, add(X, Y)), add(lowest(0, 10, X), Y)),
    "identical_masks": (mul(exp(MASKED), A), mul(A, exp(MASKED))),
}

FALSE = {
    "different_scale": (mul(const(2), X), mul(const(3), X)),
    "float_third": (mul(Const(1 / 3), const(3)), const(1)),
    "short_range": (total(0, 5, X), total(0, 10, X)),
    "gap_in_ranges": (add(total(0, 4, X), total(5, 10, X)), total(0, 10, X)),
    "overlapping_ranges": (add(total(0, 6, X), total(5, 10, X)), total(0, 10, X)),
    "other_dim": (total(0, 10, X), total(0, 10, X, dim="M")),
    "exp_not_additive": (exp(add(A, B)), add(exp(A), exp(B))),
    "max_of_signed_scale": (peak(0, 10, mul(Y, X)), mul(Y, peak(0, 10, X))),
    "max_shift_dependent": (peak(0, 10, add(X, Z)), add(peak(0, 10, X), Z)),
    "sum_factor_dependent": (total(0, 10, mul(Z, X)), mul(Z, total(0, 10, X))),
    "max_is_not_sum": (peak(0, 10, X), total(0, 10, X)),
    "x_over_x": (div(A, A), const(1)),
    "reciprocal_twice": (Unary("recip", Unary("recip", A)), A),
    "zero_times_neg_inf": (mul(const(0), NEG_INF), const(0)),
    "inf_minus_inf": (add(NEG_INF, POS_INF), const(0)),
    "neg_inf_plus_neg_inf_scaled": (add(NEG_INF, mul(const(-1), NEG_INF)), NEG_INF),
    "empty_max_is_not_zero": (peak(3, 3, X), const(0)),
    "exp_max_empty_range": (peak(4, 4, exp(X)), exp(peak(4, 4, X))),
    "softmax_wrong_tile": (_online_softmax([(0, 5), (6, 10)])[1], SPEC_SUM),
    "nan_constant": (Const(float("nan")), Const(float("nan"))),
    "undefined_is_not_undefined": (UNDEF, UNDEF),
    "undefined_times_zero": (mul(const(0), UNDEF), const(0)),
    "undefined_masked_lanes": (Where(CAUSAL, X, UNDEF), Where(CAUSAL, X, UNDEF)),
    "log_of_exp2": (fn("log", fn("exp2", A)), A),
    "rsqrt_is_not_sqrt": (fn("rsqrt", exp(A)), fn("sqrt", exp(A))),
    "min_is_not_max": (lowest(0, 10, X), peak(0, 10, X)),
    "min_scaled_by_sign": (lowest(0, 10, mul(Y, X)), mul(Y, lowest(0, 10, X))),
    "different_masks": (Where(CAUSAL, X, NEG_INF), Where(CAUSAL, X, const(0))),
    "mask_dropped": (MASKED, X),
}


@pytest.mark.parametrize("name", sorted(TRUE))
def test_proves_true_equalities(name: str) -> None:
    lhs, rhs = TRUE[name]
    result = prove_equal(lhs, rhs)
    assert result.proved, name


@pytest.mark.parametrize("name", sorted(FALSE))
def test_refuses_false_equalities(name: str) -> None:
    lhs, rhs = FALSE[name]
    assert not prove_equal(lhs, rhs).proved, name
    assert not prove_equal(rhs, lhs).proved, name


def test_result_type_and_timing() -> None:
    result = prove_equal(add(A, B), add(B, A))
    assert isinstance(result, ProofResult)
    assert result.seconds >= 0
    with pytest.raises(AttributeError):
        result.proved = False  # type: ignore[misc]


def _size(term: Term) -> int:
    if isinstance(term, (Const, Load)):
        return 1
    if isinstance(term, Unary):
        return 1 + _size(term.arg)
    if isinstance(term, Binary):
        return 1 + _size(term.left) + _size(term.right)
    assert isinstance(term, Reduce)
    return 1 + _size(term.body)


def test_small_proofs_are_fast() -> None:
    """~30-node terms: median well under 50 ms once the rules are loaded."""
    lhs = add(
        add(
            mul(exp(sub(X, peak(0, 10, X))), add(Y, const(2))),
            total(0, 5, mul(Y, maximum(X, Z))),
        ),
        mul(const(3), sub(peak(0, 10, add(X, Y)), div(A, exp(B)))),
    )
    rhs = add(
        add(mul(Y, total(0, 5, maximum(Z, X))), mul(const(3), add(peak(0, 10, X), Y))),
        add(
            add(mul(const(2), exp(sub(X, peak(0, 10, X)))), mul(exp(sub(X, peak(0, 10, X))), Y)),
            mul(const(-3), mul(A, exp(mul(const(-1), B)))),
        ),
    )
    assert 25 <= _size(lhs) <= 35
    prove_equal(A, A)  # load the rules
    times = []
    for _ in range(5):
        result = prove_equal(lhs, rhs)
        assert result.proved
        times.append(result.seconds)
    assert sorted(times)[2] < 0.25  # generous: shared 2-core CI machines


def _shared_tower() -> Term:
    """A DAG whose tree form has ~2**14 nodes: encoding must stay linear."""
    term: Term = A
    for i in range(14):
        leaf = Load(f"v{i}", ("M",))
        term = mul(add(term, leaf), add(leaf, exp(add(term, const(i)))))
    return term


def _product_of_sums() -> Term:
    """(a0 + b0) * ... * (a9 + b9): distributivity and AC blow up."""
    term: Term = add(Load("a0", ("M",)), Load("b0", ("N",)))
    for i in range(1, 10):
        term = mul(term, add(Load(f"a{i}", ("M",)), Load(f"b{i}", ("N",))))
    return term


@pytest.mark.parametrize("build", [_shared_tower, _product_of_sums])
def test_explosive_input_terminates_quickly(build: Callable[[], Term]) -> None:
    term = build()
    start = time.perf_counter()
    assert not prove_equal(term, add(term, const(1))).proved
    assert not prove_equal(term, add(term, const(1)), iterations=40, node_limit=10**7).proved
    assert time.perf_counter() - start < 10.0


def test_bounds_are_respected() -> None:
    lhs, rhs = TRUE["online_softmax_sum"]
    assert not prove_equal(lhs, rhs, iterations=0).proved
    assert prove_equal(X, X, iterations=0).proved  # syntactic equality needs no rewriting
    start = time.perf_counter()
    assert not prove_equal(lhs, rhs, node_limit=10).proved
    assert time.perf_counter() - start < 1.0


def test_encoding() -> None:
    term = Reduce("sum", "N", 0, 5, div(Load("q", ("M", "N")), const(Fraction(-3, 4))))
    assert to_egglog(term) == (
        '(Sum "N" 0 5 (Div (Load "q" "M,N") (Num (bigrat (bigint -3) (bigint 4)))))'
    )
    assert to_egglog(NEG_INF) == "(NegInf)"
    assert to_egglog(POS_INF) == "(PosInf)"
    assert (
        to_egglog(const(2**70))
        == '(Num (bigrat (from-string "1180591620717411303424") (bigint 1)))'
    )
    assert to_egglog(maximum(exp(A), Unary("neg", A))) == (
        '(Max (Exp (Load "a" "M")) (Neg (Load "a" "M")))'
    )
    with pytest.raises(ValueError):
        to_egglog(Const(float("nan")))


def test_rules_are_found_and_concatenated_in_name_order() -> None:
    files = sorted(p.name for p in rules_dir().glob("*.egg"))
    assert files[0] == "00_terms.egg"
    text = load_rules()
    positions = [
        text.index(p.read_text(encoding="utf-8")) for p in sorted(rules_dir().glob("*.egg"))
    ]
    assert positions == sorted(positions)


def test_the_prover_loads_only_the_compiled_e_graph() -> None:
    """Start-up matters for a linter: egglog's Python DSL is not imported."""
    import subprocess
    import sys

    code = (
        "import sys; import stile_static.check.checker as c; "
        "print(c.prover.bindings.__name__, 'egglog' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["egglog.bindings", "False"]


def test_the_e_graph_proves_what_the_canonical_form_leaves_apart() -> None:
    """In these fixtures kernel and spec differ after canonicalisation; the rules
    (a positive factor out of a max, exp through a max) close the gap."""
    from stile_static.check.checker import check_file

    from .fixture_expectations import FIXTURES

    for name in ("row_max_scaled.py", "row_max_of_exp.py"):
        report = check_file(str(FIXTURES / name))
        assert report.diagnostics == [] and len(report.proved) == 1
        ((_, _, verdict),) = report.proved
        assert verdict.kernel_form != verdict.spec_form
