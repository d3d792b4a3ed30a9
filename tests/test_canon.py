"""The canonical form denotes the same function as the term it came from."""

from __future__ import annotations

import random

import numpy as np
import pytest

from stile_static.ir.terms import (
    IDENTITY,
    NEG_INF,
    POS_INF,
    UNDEF,
    Binary,
    Const,
    Load,
    Reduce,
    Term,
    Unary,
    Where,
    at_index,
    const,
    constraint,
    free_dims,
    select,
)
from stile_static.prover import canon
from stile_static.prover.evaluator import evaluate_named

SIZES = {"A": 3, "B": 4}
LEAVES = [Load("x", ("A",)), Load("y", ("A", "B")), Load("z", ("B",))]


def random_term(rng: random.Random, depth: int) -> Term:
    if depth == 0 or rng.random() < 0.2:
        choice = rng.random()
        if choice < 0.15:
            return const(rng.choice([0, 1, 2, -3, 0.5]))
        if choice < 0.2:
            return NEG_INF
        return rng.choice(LEAVES)
    kind = rng.random()
    if kind < 0.2:
        return Unary(rng.choice(["exp", "neg", "recip", "sin"]), random_term(rng, depth - 1))
    if kind < 0.75:
        op = rng.choice(["+", "-", "*", "/", "maximum"])
        return Binary(op, random_term(rng, depth - 1), random_term(rng, depth - 1))
    dim = rng.choice(list(SIZES))
    lo = rng.randrange(0, SIZES[dim])
    hi = rng.randrange(lo, SIZES[dim] + 1)
    return Reduce(rng.choice(["sum", "max"]), dim, lo, hi, random_term(rng, depth - 1))


def values(term: Term, inputs: dict) -> np.ndarray:
    named = evaluate_named(term, inputs, sizes=SIZES)
    axes = tuple(sorted(SIZES))
    array = named.array
    for axis in axes:
        if axis not in named.axes:
            array = np.expand_dims(array, -1)
            named = type(named)(array, named.axes + (axis,))
    order = [named.axes.index(a) for a in axes]
    return np.broadcast_to(np.transpose(array, order), tuple(SIZES[a] for a in axes))


@pytest.mark.parametrize("seed", range(300))
def test_canonical_form_is_equivalent(seed: int) -> None:
    rng = random.Random(seed)
    term = random_term(rng, 4)
    try:
        form = canon.normalize(term)
    except canon.CannotNormalize:
        return  # the fallback is the raw term itself, which is trivially equivalent
    back = canon.to_term(form)
    data = np.random.default_rng(seed)
    inputs = {
        "x": data.standard_normal(3),
        "y": data.standard_normal((3, 4)),
        "z": data.standard_normal(4),
    }
    with np.errstate(all="ignore"):
        want, got = values(term, inputs), values(back, inputs)
    # Where the original is a finite real, the canonical form must agree with it.
    defined = np.isfinite(want)
    np.testing.assert_allclose(got[defined], want[defined], rtol=1e-7, atol=1e-9)


def test_most_random_terms_are_normalized() -> None:
    normalized = 0
    for seed in range(300):
        try:
            canon.normalize(random_term(random.Random(seed), 4))
            normalized += 1
        except canon.CannotNormalize:
            pass
    assert normalized > 200


def test_equal_forms_for_tiled_sums() -> None:
    x = Load("x", ("A", "B"))
    tiled = Binary("+", Reduce("sum", "B", 0, 2, x), Reduce("sum", "B", 2, 4, x))
    assert canon.normalize(tiled) == canon.normalize(Reduce("sum", "B", 0, 4, x))
    partial = Reduce("sum", "B", 0, 2, x)
    assert canon.normalize(partial) != canon.normalize(Reduce("sum", "B", 0, 4, x))


def test_max_accumulator_from_minus_infinity() -> None:
    x = Load("x", ("A", "B"))
    acc: Term = NEG_INF
    for lo in (0, 2):
        acc = Binary("maximum", acc, Reduce("max", "B", lo, lo + 2, x))
    assert canon.normalize(acc) == canon.normalize(Reduce("max", "B", 0, 4, x))
    zero_start = Binary("maximum", Const(const(0).value), Reduce("max", "B", 0, 4, x))
    assert canon.normalize(zero_start) != canon.normalize(Reduce("max", "B", 0, 4, x))


def test_factor_moves_out_of_a_sum_only_when_independent() -> None:
    x, z = Load("x", ("A",)), Load("z", ("B",))
    inside = Reduce("sum", "B", 0, 4, Binary("*", x, z))
    outside = Binary("*", x, Reduce("sum", "B", 0, 4, z))
    assert canon.normalize(inside) == canon.normalize(outside)
    wrong = Binary("*", z, Reduce("sum", "B", 0, 4, z))
    assert canon.normalize(Reduce("sum", "B", 0, 4, Binary("*", z, z))) != canon.normalize(wrong)


def test_symbolic_prefix_ranges_merge_only_when_ordered() -> None:
    from stile_static.ir import symbolic as sym

    ik = sym.variable(sym.LoopVar("ik", range(32, 256, 32)))
    x = Load("x", ("A", "B"))
    prefix = Reduce("sum", "B", 0, ik, x)
    tile = Reduce("sum", "B", ik, sym.add(ik, 32), x)
    merged = canon.normalize(Reduce("sum", "B", 0, sym.add(ik, 32), x))
    assert canon.normalize(Binary("+", prefix, tile)) == merged
    maybe_negative = sym.variable(sym.LoopVar("j", range(-64, 64, 32)))
    unordered = Binary(
        "+", Reduce("sum", "B", 0, maybe_negative, x), Reduce("sum", "B", maybe_negative, 32, x)
    )
    assert canon.normalize(unordered) != canon.normalize(Reduce("sum", "B", 0, 32, x))


def test_max_over_a_prefix_that_may_be_empty_is_not_normalized() -> None:
    from stile_static.ir import symbolic as sym

    ik = sym.variable(sym.LoopVar("ik", range(0, 256, 32)))
    with pytest.raises(canon.CannotNormalize):
        canon.normalize(Reduce("max", "B", 0, ik, Load("x", ("A", "B"))))


# ---------------------------------------------------------------- masks and new functions

A_LT_2 = constraint({"A": 1}, -2, "<")  # A < 2
B_GE_1 = constraint({"B": 1}, -1, ">=")  # B >= 1
A_LE_B = constraint({"A": 1, "B": -1}, 0, "<=")  # A <= B


def random_masked_term(rng: random.Random, depth: int) -> Term:
    """Terms with the functions, min reductions and masks added for Triton and Pallas."""
    if depth == 0 or rng.random() < 0.2:
        choice = rng.random()
        if choice < 0.15:
            return const(rng.choice([0, 1, 2, -3, 0.5]))
        if choice < 0.2:
            return rng.choice([NEG_INF, POS_INF])
        return rng.choice(LEAVES)
    kind = rng.random()
    if kind < 0.2:
        fn = rng.choice(["exp", "exp2", "log", "log2", "rsqrt", "sigmoid", "neg", "sqrt"])
        return Unary(fn, random_masked_term(rng, depth - 1))
    if kind < 0.45:
        cond = tuple(rng.sample([A_LT_2, B_GE_1, A_LE_B], rng.randint(1, 2)))
        return Where(cond, random_masked_term(rng, depth - 1), random_masked_term(rng, depth - 1))
    if kind < 0.75:
        op = rng.choice(["+", "-", "*", "/", "maximum", "minimum"])
        return Binary(op, random_masked_term(rng, depth - 1), random_masked_term(rng, depth - 1))
    dim = rng.choice(list(SIZES))
    lo = rng.randrange(0, SIZES[dim])
    hi = rng.randrange(lo, SIZES[dim] + 1)
    op = rng.choice(["sum", "max", "min"])
    body = random_masked_term(rng, depth - 1)
    if rng.random() < 0.5:  # a mask with the reduction's identity, the clipping case
        body = Where((rng.choice([A_LT_2, B_GE_1, A_LE_B]),), body, IDENTITY[op])
    return Reduce(op, dim, lo, hi, body)


def _inputs(seed: int) -> dict:
    data = np.random.default_rng(seed)
    return {
        "x": data.uniform(0.2, 2.0, 3),
        "y": data.standard_normal((3, 4)),
        "z": data.uniform(-2.0, 2.0, 4),
    }


def assert_same_values(term: Term, back: Term, seed: int) -> None:
    inputs = _inputs(seed)
    with np.errstate(all="ignore"):
        want, got = values(term, inputs), values(back, inputs)
    # Where the original is a finite real, the canonical form must agree with it;
    # where it is an infinity, the canonical form is that infinity or undefined.
    defined = np.isfinite(want)
    np.testing.assert_allclose(got[defined], want[defined], rtol=1e-7, atol=1e-9)
    infinite = np.isinf(want)
    assert np.all((got[infinite] == want[infinite]) | np.isnan(got[infinite]))


@pytest.mark.parametrize("seed", range(300))
def test_canonical_form_with_masks_is_equivalent(seed: int) -> None:
    term = random_masked_term(random.Random(seed), 4)
    try:
        form = canon.normalize(term)
    except canon.CannotNormalize:
        return
    assert_same_values(term, canon.to_term(form), seed)


def test_most_masked_terms_are_normalized() -> None:
    normalized = 0
    for seed in range(300):
        try:
            canon.normalize(random_masked_term(random.Random(seed), 4))
            normalized += 1
        except canon.CannotNormalize:
            pass
    assert normalized > 150


def _same(a: Term, b: Term, seed: int = 0) -> bool:
    """Equal canonical forms (and then, checked, equal values)."""
    equal = canon.normalize(a) == canon.normalize(b)
    if equal:
        assert_same_values(a, b, seed)
    return equal


@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_a_mask_with_the_identity_clips_the_reduction(op: str) -> None:
    y = Load("y", ("A", "B"))
    masked = Reduce(op, "B", 0, 4, Where((B_GE_1,), y, IDENTITY[op]))
    assert _same(masked, Reduce(op, "B", 1, 4, y))
    # a bound B < 3 from the other side, and both at once as a conjunction
    below = constraint({"B": 1}, -3, "<")
    assert _same(Reduce(op, "B", 0, 4, Where((below,), y, IDENTITY[op])), Reduce(op, "B", 0, 3, y))
    both = Reduce(op, "B", 0, 4, Where((B_GE_1, below), y, IDENTITY[op]))
    assert _same(both, Reduce(op, "B", 1, 3, y))
    # the mask written the other way round: identity where the bound holds
    flipped = Reduce(op, "B", 0, 4, Where((below,), IDENTITY[op], y))
    assert _same(flipped, Reduce(op, "B", 3, 4, y))


def test_a_mask_with_another_value_does_not_clip() -> None:
    y = Load("y", ("A", "B"))
    wrong = Reduce("sum", "B", 0, 4, Where((B_GE_1,), y, const(1)))
    assert not _same(wrong, Reduce("sum", "B", 1, 4, y))
    max_with_zero = Reduce("max", "B", 0, 4, Where((B_GE_1,), y, const(0)))
    assert not _same(max_with_zero, Reduce("max", "B", 1, 4, y))


def test_a_mask_on_two_dims_stays_a_mask() -> None:
    y = Load("y", ("A", "B"))
    causal = Reduce("sum", "B", 0, 4, Where((A_LE_B,), Unary("exp", y), const(0)))
    same = Reduce("sum", "B", 0, 4, Where((A_LE_B,), Unary("exp", y), const(0)))
    assert _same(causal, same)
    assert not _same(causal, Reduce("sum", "B", 0, 4, Unary("exp", y)))


def test_masks_float_out_of_operations() -> None:
    y, x = Load("y", ("A", "B")), Load("x", ("A",))
    a, b = Where((A_LT_2,), y, const(0)), Where((A_LT_2,), x, const(2))
    assert _same(Binary("*", a, b), Where((A_LT_2,), Binary("*", y, x), const(0)))
    assert _same(Unary("exp", a), Where((A_LT_2,), Unary("exp", y), const(1)))
    assert _same(Binary("+", a, x), Where((A_LT_2,), Binary("+", y, x), x))
    assert _same(Where((A_LT_2,), y, y), y)
    # a mask inside a sum times a factor floats to the top, where clipping sees it
    body = Binary("*", x, Where((B_GE_1,), y, const(0)))
    assert _same(Reduce("sum", "B", 0, 4, body), Reduce("sum", "B", 1, 4, Binary("*", x, y)))


def test_masked_softmax_denominator_from_minus_infinity() -> None:
    y = Load("y", ("A", "B"))
    scores = Where((B_GE_1,), y, NEG_INF)  # masked lanes are -inf, exp makes them 0
    total = Reduce("sum", "B", 0, 4, Unary("exp", scores))
    assert _same(total, Reduce("sum", "B", 1, 4, Unary("exp", y)))
    top = Reduce("max", "B", 0, 4, scores)
    assert _same(top, Reduce("max", "B", 1, 4, y))


def test_infinities_are_not_folded_dishonestly() -> None:
    with pytest.raises(canon.CannotNormalize):
        canon.normalize(Binary("-", NEG_INF, NEG_INF))
    with pytest.raises(canon.CannotNormalize):
        canon.normalize(Binary("+", NEG_INF, POS_INF))
    with pytest.raises(canon.CannotNormalize):
        canon.normalize(Binary("+", UNDEF, const(0)))
    assert canon.normalize(Unary("exp", NEG_INF)) == canon.normalize(const(0))
    assert canon.normalize(Binary("+", Load("x", ("A",)), NEG_INF)) == canon.NEG_INF
    assert canon.normalize(Binary("minimum", POS_INF, Load("x", ("A",)))) == canon.normalize(
        Load("x", ("A",))
    )


def test_logs_of_exponentials() -> None:
    x = Load("x", ("A",))
    assert _same(Unary("log", Unary("exp", x)), x)
    assert _same(Unary("log2", Unary("exp2", x)), x)
    assert not _same(Unary("log", Unary("exp2", x)), x)


def test_the_exponential_factor_of_a_log_comes_out() -> None:
    """log(l * exp(-m)) = log(l) - m: a running log-sum-exp with its max factored out."""
    y, m = Load("y", ("A", "B")), Load("x", ("A",))
    total = Reduce("sum", "B", 0, 4, Unary("exp", y))
    scaled = Binary("*", total, Unary("exp", Unary("neg", m)))
    assert _same(Unary("log", scaled), Binary("-", Unary("log", total), m))
    assert not _same(Unary("log", Binary("+", total, m)), Binary("+", Unary("log", total), m))


def test_log_softmax_is_x_minus_the_log_of_the_sum() -> None:
    """log(exp(y) / sum(exp(y))) = y - log(sum(exp(y))), via log(1/a) = -log(a); the
    max-shifted form kernels compute has the same canonical form."""
    y, m = Load("y", ("A", "B")), Reduce("max", "B", 0, 4, Load("y", ("A", "B")))
    total = Reduce("sum", "B", 0, 4, Unary("exp", y))
    spec = Unary("log", Binary("/", Unary("exp", y), total))
    assert _same(spec, Binary("-", y, Unary("log", total)))
    shifted = Binary("-", y, m)
    lse = Unary("log", Reduce("sum", "B", 0, 4, Unary("exp", shifted)))
    assert _same(spec, Binary("-", shifted, lse))
    assert _same(Unary("log", Unary("recip", total)), Unary("neg", Unary("log", total)))
    assert not _same(spec, Binary("-", y, Unary("log", Binary("+", total, y))))


def test_exp2_factors_combine_like_exp() -> None:
    x, y = Load("x", ("A",)), Load("y", ("A", "B"))

    def exp2(t: Term) -> Term:
        return Unary("exp2", t)

    assert _same(Binary("*", exp2(Binary("-", x, y)), exp2(y)), exp2(x))
    assert _same(Binary("/", exp2(x), exp2(x)), const(1))
    assert _same(exp2(const(3)), const(8))
    assert not _same(Binary("*", exp2(x), Unary("exp", x)), exp2(Binary("*", const(2), x)))
    # online softmax in base 2: the running sum rescaled by exp2(m_old - m_new)
    row = Reduce("max", "B", 0, 4, y)
    spec = Reduce("sum", "B", 0, 4, exp2(Binary("-", y, row)))
    m1 = Reduce("max", "B", 0, 2, y)
    l1 = Reduce("sum", "B", 0, 2, exp2(Binary("-", y, m1)))
    m2 = Binary("maximum", m1, Reduce("max", "B", 2, 4, y))
    l2 = Binary(
        "+",
        Binary("*", exp2(Binary("-", m1, m2)), l1),
        Reduce("sum", "B", 2, 4, exp2(Binary("-", y, m2))),
    )
    assert _same(l2, spec)


def test_structurally_equal_subterms_share_one_form_but_exact_and_float_constants_do_not() -> None:
    """The canonical form memoises by structure too; 1 and 1.0 stay different constants."""
    from fractions import Fraction

    from stile_static.ir.terms import Binary, Const, Load
    from stile_static.prover import canon

    x = Load("x", ("M",))
    exact = Binary("*", Const(Fraction(1)), Load("x", ("M",)))
    floating = Binary("*", Const(1.0), x)
    form = canon.normalize(Binary("+", exact, floating))
    ((_, coefficient),) = form.terms
    assert isinstance(coefficient, float) and coefficient == 2.0
    twice = canon.normalize(Binary("+", exact, Binary("*", Const(Fraction(1)), x)))
    ((_, coefficient),) = twice.terms
    assert coefficient == 2 and not isinstance(coefficient, float)


def random_selected_term(rng: random.Random, depth: int) -> Term:
    """Masked terms with comparisons of data values (``where(x > 0, x, 0)``) among them."""
    if depth == 0 or rng.random() < 0.2:
        return random_masked_term(rng, 0)
    if rng.random() < 0.35:
        op = rng.choice(["<", "<=", ">", ">=", "==", "!="])
        parts = [random_selected_term(rng, depth - 1) for _ in range(2)]
        left, right = (rng.choice(parts + LEAVES + [const(0)]) for _ in range(2))
        return select(op, left, right, parts[0], parts[1])
    if rng.random() < 0.5:
        op = rng.choice(["+", "-", "*", "maximum"])
        left, right = random_selected_term(rng, depth - 1), random_selected_term(rng, depth - 1)
        return Binary(op, left, right)
    if rng.random() < 0.5:
        dim = rng.choice(list(SIZES))
        body = random_selected_term(rng, depth - 1)
        return Reduce(rng.choice(["sum", "max"]), dim, 0, SIZES[dim], body)
    return random_masked_term(rng, depth)


@pytest.mark.parametrize("seed", range(300))
def test_canonical_form_with_data_comparisons_is_equivalent(seed: int) -> None:
    term = random_selected_term(random.Random(seed), 4)
    try:
        form = canon.normalize(term)
    except canon.CannotNormalize:
        return
    assert_same_values(term, canon.to_term(form), seed)


def test_most_terms_with_data_comparisons_are_normalized() -> None:
    normalized = 0
    for seed in range(300):
        try:
            canon.normalize(random_selected_term(random.Random(seed), 4))
            normalized += 1
        except canon.CannotNormalize:
            pass
    assert normalized > 150


def test_data_comparisons_are_guards_whose_branches_combine() -> None:
    x, s = Load("x", ("A",)), Load("z", ("B",))
    zero = const(0)
    # trident's leaky ReLU: where(x > 0, x, 0) + s * where(x > 0, 0, x)
    kernel = Binary(
        "+", select(">", x, zero, x, zero), Binary("*", s, select(">", x, zero, zero, x))
    )
    assert _same(kernel, select(">", x, zero, x, Binary("*", s, x)))
    assert _same(select("<", zero, x, x, zero), select(">", x, zero, x, zero))
    assert _same(select("!=", x, zero, x, s), select("==", x, zero, s, x))
    assert _same(select(">", x, zero, s, s), s)  # both branches alike
    # the comparison decides: a strict and a loose one are different conditions
    assert not _same(select(">", x, zero, x, s), select(">=", x, zero, x, s))
    # a comparison that does not involve the reduced dim moves out of the sum
    y = Load("y", ("A", "B"))
    inside = Reduce("sum", "B", 0, 4, select(">", x, zero, y, zero))
    assert _same(inside, select(">", x, zero, Reduce("sum", "B", 0, 4, y), zero))


def test_a_term_at_an_index_is_its_value_there() -> None:
    y = Load("y", ("A", "B"))
    inputs = _inputs(0)
    body = Binary("maximum", Binary("*", y, y), const(0))
    row = at_index(body, "A", 1)  # loads y[A=1, B]
    assert free_dims(row) == {"B"}
    want = np.maximum(inputs["y"][1] ** 2, 0)
    np.testing.assert_allclose(values(row, inputs), np.broadcast_to(want, (3, 4)))
    assert canon.normalize(row) == canon.normalize(at_index(body, "A", 1))
    assert canon.normalize(row) != canon.normalize(at_index(body, "A", 2))
    # an index condition on the fixed dim is decided there; a reduction binds it again
    assert at_index(Where((A_LT_2,), y, const(0)), "A", 1) == at_index(y, "A", 1)
    assert at_index(Where((A_LT_2,), y, const(0)), "A", 2) == const(0)
    total = Reduce("sum", "A", 0, 3, y)
    assert at_index(total, "A", 1) == total


def _zeros_inputs(seed: int) -> dict:
    """Inputs with exact zeros (and equal values), where a comparison's two sides meet."""
    data = np.random.default_rng(seed)
    return {
        "x": data.integers(-2, 3, 3).astype(float),
        "y": data.integers(-2, 3, (3, 4)).astype(float),
        "z": data.uniform(-2.0, 2.0, 4),
    }


def _same_at_equality(a: Term, b: Term) -> bool:
    """Equal canonical forms; then equal values too, also where compared values are equal."""
    equal = canon.normalize(a) == canon.normalize(b)
    if equal:
        for seed in range(8):
            inputs = _zeros_inputs(seed)
            back = canon.to_term(canon.normalize(a))
            for term in (a, b):
                np.testing.assert_allclose(values(back, inputs), values(term, inputs), atol=1e-12)
    return equal


def test_a_comparison_whose_branches_agree_at_equality_is_one_guard() -> None:
    x, s, zero = Load("x", ("A",)), Load("z", ("B",)), const(0)
    leaky = select(">", x, zero, x, Binary("*", s, x))
    # x >= 0 and x > 0 pick the same value where x = 0: both branches are 0 there
    assert _same_at_equality(select(">=", x, zero, x, Binary("*", s, x)), leaky)
    assert _same_at_equality(select("<", x, zero, Binary("*", s, x), x), leaky)
    assert _same_at_equality(select("<=", x, zero, Binary("*", s, x), x), leaky)
    assert _same_at_equality(select("==", x, zero, Binary("*", const(3), x), x), x)
    # attorch's leaky ReLU: relu(x) + s * minimum(0, x)
    attorch = Binary("+", Binary("maximum", zero, x), Binary("*", s, Binary("minimum", zero, x)))
    assert _same_at_equality(attorch, leaky)
    assert _same_at_equality(Binary("maximum", x, zero), select(">", x, zero, x, zero))
    # where the branches differ at equality, or the sides meet where no atom is 0,
    # the comparison's value at equality decides: strict and loose stay apart
    assert not _same_at_equality(
        select(">=", x, zero, Binary("+", x, const(1)), x),
        select(">", x, zero, Binary("+", x, const(1)), x),
    )
    assert not _same_at_equality(
        select(">=", x, const(1), x, zero), select(">", x, const(1), x, zero)
    )
    assert not _same_at_equality(select("==", x, zero, s, x), x)
    y = Load("y", ("A", "B"))
    # x / y need not vanish where x does (y may be 0 there too)
    ratio = Binary("/", x, y)
    assert not _same_at_equality(
        select(">=", x, zero, ratio, zero), select(">", x, zero, ratio, zero)
    )
    # y = x is no atom being 0: y and 0 differ there
    assert not _same_at_equality(select(">=", y, x, y, zero), select(">", y, x, y, zero))
