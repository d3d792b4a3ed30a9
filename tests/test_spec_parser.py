"""Spec parser: every spec is checked numerically against an independent NumPy formula."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

import numpy as np
import pytest

from stile_static.ir.terms import Binary, Const, Load, Reduce, Unary
from stile_static.prover.evaluator import evaluate
from stile_static.spec.parser import InputInfo, Spec, SpecError, parse_spec

DIMS = {"M": 3, "N": 6, "K": 5, "qctx": 4, "nctx": 8, "dhead": 16}
INPUTS = (
    InputInfo("a", ("M", "N")),
    InputInfo("b", ("N", "K")),
    InputInfo("x", ("N",)),
    InputInfo("y", ("M",)),
    InputInfo("Q", ("qctx", "dhead")),
    InputInfo("K", ("nctx", "dhead")),
    InputInfo("V", ("nctx", "dhead")),
)

Arrays = Mapping[str, np.ndarray]


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {i.name: rng.standard_normal([DIMS[d] for d in i.dims]) for i in INPUTS}


def value(spec: Spec, arrays: Arrays) -> np.ndarray:
    return evaluate(spec.term, arrays, spec.out_dims, DIMS)


def softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def attention(v: Arrays, ctx: slice = slice(None)) -> np.ndarray:
    scores = v["Q"] @ v["K"][ctx].T / 4
    return softmax(scores, axis=1) @ v["V"][ctx]


FLASH = (
    "(softmax[nctx]((Q[qctx dhead], K[nctx dhead] -> qctx nctx) / sqrt(16)),"
    " V[nctx dhead] -> qctx dhead)"
)

EXAMPLES: list[tuple[str, tuple[str, ...], Callable[[Arrays], np.ndarray]]] = [
    ("2 * M N", ("M", "N"), lambda v: 2 * v["a"]),
    ("(M N, N K -> M K)", ("M", "K"), lambda v: v["a"] @ v["b"]),
    ("6 * (M N, N K -> M K)", ("M", "K"), lambda v: 6 * (v["a"] @ v["b"])),
    ("exp(M N)", ("M", "N"), lambda v: np.exp(v["a"])),
    ("softmax[N](N)", ("N",), lambda v: softmax(v["x"], axis=0)),
    ("softmax[N](M N)", ("M", "N"), lambda v: softmax(v["a"], axis=1)),
    ("sum[N](M N)", ("M",), lambda v: v["a"].sum(axis=1)),
    ("max[N](M N)", ("M",), lambda v: v["a"].max(axis=1)),
    ("N[0:4]", ("N",), lambda v: v["x"]),
    ("(M N -> M)", ("M",), lambda v: v["a"].sum(axis=1)),
    ("(M N -> N)", ("N",), lambda v: v["a"].sum(axis=0)),
    ("sqrt(16)", (), lambda v: np.array(4.0)),
    ("(M -> M N)", ("M", "N"), lambda v: np.repeat(v["y"][:, None], DIMS["N"], axis=1)),
    ("(N, N -> )", (), lambda v: np.array(v["x"] @ v["x"])),
    ("N M", ("N", "M"), lambda v: v["a"].T),
    ("(M N, N K -> K M)", ("K", "M"), lambda v: (v["a"] @ v["b"]).T),
    ("1 + 2 * M N - -M N / 4", ("M", "N"), lambda v: 1 + 2 * v["a"] + v["a"] / 4),
    ("(1 + 2) * M N", ("M", "N"), lambda v: 3 * v["a"]),
    ("M N * N", ("M", "N"), lambda v: v["a"] * v["x"][None, :]),
    ("y[M] + x[N]", ("M", "N"), lambda v: v["y"][:, None] + v["x"][None, :]),
    (
        "maximum(sin(M N), cos(M N)) - sqrt(exp(M N))",
        ("M", "N"),
        lambda v: np.maximum(np.sin(v["a"]), np.cos(v["a"])) - np.sqrt(np.exp(v["a"])),
    ),
    ("1e-3 * M N + 0.25", ("M", "N"), lambda v: 1e-3 * v["a"] + 0.25),
    (FLASH, ("qctx", "dhead"), attention),
    ("Q[dhead qctx]", ("dhead", "qctx"), lambda v: v["Q"].T),
]


@pytest.mark.parametrize(("text", "out_dims", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_match_numpy(
    text: str,
    out_dims: tuple[str, ...],
    expected: Callable[[Arrays], np.ndarray],
    arrays: dict[str, np.ndarray],
) -> None:
    spec = parse_spec(text, INPUTS, DIMS)
    assert spec.out_dims == out_dims
    np.testing.assert_allclose(value(spec, arrays), expected(arrays), rtol=1e-12, atol=1e-12)


def test_term_shapes() -> None:
    assert parse_spec("sqrt(16)", INPUTS, DIMS).term == Const(Fraction(4))
    assert parse_spec("sqrt(9/4)", INPUTS, DIMS).term == Unary(
        "sqrt", Binary("/", Const(Fraction(9)), Const(Fraction(4)))
    )
    assert parse_spec("sqrt(0.25)", INPUTS, DIMS).term == Const(Fraction(1, 2))
    assert parse_spec("sqrt(2)", INPUTS, DIMS).term == Unary("sqrt", Const(Fraction(2)))
    assert parse_spec("1e-3", INPUTS, DIMS).term == Const(Fraction(1, 1000))
    assert parse_spec("-N", INPUTS, DIMS).term == Unary("neg", Load("x", ("N",)))
    assert parse_spec("N M", INPUTS, DIMS).term == Load("a", ("M", "N"))
    assert parse_spec("(M N, N K -> M K)", INPUTS, DIMS).term == Reduce(
        "sum", "N", 0, 6, Binary("*", Load("a", ("M", "N")), Load("b", ("N", "K")))
    )
    # Several dropped dims: nested sums in sorted order, outermost first.
    term = parse_spec("(M N -> )", INPUTS, DIMS).term
    assert isinstance(term, Reduce) and term.dim == "M"
    assert isinstance(term.body, Reduce) and term.body.dim == "N"


def test_bare_list_fitting_two_inputs_is_ambiguous() -> None:
    inputs = (InputInfo("a", ("M", "N")), InputInfo("c", ("N", "M")))
    with pytest.raises(SpecError) as info:
        parse_spec("2 * M N + 1", inputs, DIMS)
    error = info.value
    assert error.code == "STL021"
    assert (error.start, error.end) == (4, 7)
    assert error.help is not None
    assert "`a[M N]`" in error.help and "`c[M N]`" in error.help


def test_attention_bare_context_list_is_ambiguous() -> None:
    text = "(Q[qctx dhead], nctx dhead -> qctx nctx)"
    with pytest.raises(SpecError) as info:
        parse_spec(text, INPUTS, DIMS)
    assert info.value.code == "STL021"
    assert text[info.value.start : info.value.end] == "nctx dhead"
    assert "K[nctx dhead]" in str(info.value.help) and "V[nctx dhead]" in str(info.value.help)


def test_named_form_disambiguates(arrays: dict[str, np.ndarray]) -> None:
    spec = parse_spec("V[nctx dhead] - 2 * K[dhead nctx]", INPUTS, DIMS)
    assert spec.out_dims == ("nctx", "dhead")
    np.testing.assert_allclose(value(spec, arrays), arrays["V"] - 2 * arrays["K"])
    # Swapping K and V changes the value: the two are really told apart.
    swapped = parse_spec("(Q[qctx dhead], V[nctx dhead] -> qctx nctx)", INPUTS, DIMS)
    np.testing.assert_allclose(value(swapped, arrays), arrays["Q"] @ arrays["V"].T)


def test_input_named_like_a_dim() -> None:
    inputs = (InputInfo("N", ("N",)),)
    assert parse_spec("N[N]", inputs, DIMS).term == Load("N", ("N",))
    spec = parse_spec("sum[N](N[1:3])", inputs, DIMS)
    assert spec.term == Reduce("sum", "N", 1, 3, Load("N", ("N",)))


def test_override_argument_restricts_reductions(arrays: dict[str, np.ndarray]) -> None:
    spec = parse_spec("sum[N](M N)", INPUTS, DIMS, {"N": (2, 5)})
    np.testing.assert_allclose(value(spec, arrays), arrays["a"][:, 2:5].sum(axis=1))
    prefix = parse_spec(FLASH, INPUTS, DIMS, {"nctx": (0, 3)})
    np.testing.assert_allclose(value(prefix, arrays), attention(arrays, slice(0, 3)))
    assert not np.allclose(value(prefix, arrays), attention(arrays))


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("sum[N](M N[0:4])", slice(0, 4)),
        ("sum[N](M N[:4])", slice(0, 4)),
        ("sum[N](M N[4:])", slice(4, 6)),
        ("sum[N[1:3]](M N)", slice(1, 3)),
        ("(M N, N[2:5] -> M)", slice(2, 5)),
    ],
)
def test_inline_override_restricts_reductions(
    text: str, window: slice, arrays: dict[str, np.ndarray]
) -> None:
    spec = parse_spec(text, INPUTS, DIMS)
    if "," in text:
        expected = arrays["a"][:, window] @ arrays["x"][window]
    else:
        expected = arrays["a"][:, window].sum(axis=1)
    np.testing.assert_allclose(value(spec, arrays), expected)


def test_inline_override_applies_to_earlier_reductions(arrays: dict[str, np.ndarray]) -> None:
    spec = parse_spec("sum[N](M N) + 0 * N[0:2]", INPUTS, DIMS)
    expected = arrays["a"][:, :2].sum(axis=1)[:, None] + 0 * arrays["x"][None, :]
    np.testing.assert_allclose(value(spec, arrays), expected)


def test_equal_overrides_combine() -> None:
    spec = parse_spec("sum[N](M N[0:4]) + sum[N](M N[:4])", INPUTS, DIMS, {"N": (0, 4)})
    assert isinstance(spec.term, Binary) and isinstance(spec.term.left, Reduce)
    assert (spec.term.left.lo, spec.term.left.hi) == (0, 4)


@pytest.mark.parametrize(
    ("text", "overrides", "span"),
    [
        ("sum[N](M N[0:2]) + sum[N](M N[0:3])", None, (28, 34)),
        ("sum[N](M N[0:2])", {"N": (0, 3)}, (9, 15)),
        ("N[0:7]", None, (0, 6)),
        ("N[3:3]", None, (0, 6)),
        ("N[4:2]", None, (0, 6)),
    ],
)
def test_bad_or_conflicting_override_ranges(
    text: str, overrides: dict[str, tuple[int, int]] | None, span: tuple[int, int]
) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, INPUTS, DIMS, overrides)
    assert info.value.code == "STL022"
    assert (info.value.start, info.value.end) == span


def test_bad_override_argument() -> None:
    for overrides in ({"N": (0, 99)}, {"Z": (0, 1)}):
        with pytest.raises(SpecError) as info:
            parse_spec("sum[N](M N)", INPUTS, DIMS, overrides)
        assert info.value.code == "STL022"


@pytest.mark.parametrize(
    ("text", "span", "message"),
    [
        ("(M N, N K -> M K", (16, 16), "expected a dim or `)`, found end of spec"),
        ("exp(M N", (7, 7), "expected `)`, found end of spec"),
        ("M N )", (4, 5), "found `)`"),
        ("2 * M N $ 3", (8, 9), "unexpected character `$`"),
        ("(M N, -> M)", (6, 8), "expected an expression, found `->`"),
        ("(M N, N K)", (9, 10), "expected `->`"),
        ("", (0, 0), "expected an expression, found end of spec"),
        ("   ", (3, 3), "found end of spec"),
        ("2 *", (3, 3), "expected an expression"),
        ("sum[N](M N) M", (12, 13), "expected an operator or end of spec, found `M`"),
        ("2M N", (1, 2), "found `M`"),
        ("sum[M N](M N)", (6, 7), "expected `]`, found `N`"),
        ("maximum(M N)", (11, 12), "expected `,`, found `)`"),
        ("exp M N", (4, 5), "expected `(` after `exp`"),
        ("N[0.5:2]", (2, 5), "expected an integer bound, found `0.5`"),
        ("1e * M N", (0, 2), "malformed number `1e`"),
        ("(M N", (4, 4), "expected `)`, found end of spec"),
        ("(M N -> M, K)", (9, 10), "expected a dim or `)`, found `,`"),
    ],
)
def test_syntax_errors(text: str, span: tuple[int, int], message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, INPUTS, DIMS)
    assert info.value.code == "STL020"
    assert (info.value.start, info.value.end) == span
    assert message in info.value.message


@pytest.mark.parametrize(
    ("text", "span", "message"),
    [
        ("2 * M Z", (6, 7), "unknown dim `Z`"),
        ("(M N, N K -> M Z)", (15, 16), "unknown dim `Z`"),
        ("(M N, N K -> M M)", (15, 16), "listed twice"),
        ("M K", (0, 3), "no input has dims (M K)"),
        ("W[M N]", (0, 1), "unknown input `W`"),
        ("K[M N]", (2, 5), "input `K` has dims (nctx dhead)"),
        ("sum[M](N)", (4, 5), "reduces over M"),
        ("max[K](M N)", (4, 5), "reduces over K"),
        ("a + 1", (0, 1), "`a` is an input"),
        ("foo(M N)", (0, 3), "unknown function `foo`"),
    ],
)
def test_naming_errors(text: str, span: tuple[int, int], message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, INPUTS, DIMS)
    assert info.value.code == "STL022"
    assert (info.value.start, info.value.end) == span
    assert message in info.value.message


def test_no_input_message_lists_inputs_and_near_miss_help() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("M K", INPUTS, DIMS)
    assert "a[M N]" in str(info.value.help) and "b[N K]" in str(info.value.help)
    with pytest.raises(SpecError) as info:
        parse_spec("nctxx dhead", INPUTS, DIMS)
    assert info.value.help == "did you mean `nctx`?"


def test_unclosed_paren_help_points_at_opener() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("2 * (M N, N K -> M K", INPUTS, DIMS)
    assert info.value.help == "the `(` at offset 4 is never closed"


def test_deep_nesting_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("(" * 5000 + "N" + ")" * 5000, INPUTS, DIMS)
    assert info.value.code == "STL020"
