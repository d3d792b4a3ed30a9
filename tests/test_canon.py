"""The canonical form denotes the same function as the term it came from."""

from __future__ import annotations

import random

import numpy as np
import pytest

from stile_static.ir.terms import NEG_INF, Binary, Const, Load, Reduce, Term, Unary, const
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
    named = evaluate_named(term, inputs)
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
