"""Spec parser: every spec is checked numerically against an independent NumPy formula."""

from __future__ import annotations

import math
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


# ---------------------------------------------------------------- additions for Triton and Pallas

SCALAR_INPUTS = (*INPUTS, InputInfo("eps", ()), InputInfo("S", ("qctx", "nctx")))


@pytest.fixture(scope="module")
def more_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        **arrays,
        "eps": np.asarray(0.125),
        "S": rng.standard_normal((DIMS["qctx"], DIMS["nctx"])),
        "pos": rng.uniform(0.5, 2.0, (DIMS["M"], DIMS["N"])),
    }


def _layer_norm(v: Arrays) -> np.ndarray:
    a = v["a"]
    centred = a - a.mean(axis=1, keepdims=True)
    return centred / np.sqrt(a.var(axis=1, keepdims=True) + v["eps"])


def _causal_softmax(v: Arrays) -> np.ndarray:
    q, k = np.arange(DIMS["qctx"])[:, None], np.arange(DIMS["nctx"])[None, :]
    scores = np.where(k <= q, v["S"], -np.inf)
    return softmax(scores, axis=1)


ADDED: list[tuple[str, tuple[str, ...], Callable[[Arrays], np.ndarray]]] = [
    ("mean[N](M N)", ("M",), lambda v: v["a"].mean(axis=1)),
    ("mean[N](M N[1:4])", ("M",), lambda v: v["a"][:, 1:4].mean(axis=1)),
    (
        "mean[N](M N) + 0 * N[1:4] M",  # an override after the mean changes its size
        ("M", "N"),
        lambda v: np.repeat(v["a"][:, 1:4].mean(axis=1)[:, None], 6, axis=1),
    ),
    ("var[N](M N)", ("M",), lambda v: v["a"].var(axis=1)),
    ("var[N[0:3]](M N)", ("M",), lambda v: v["a"][:, :3].var(axis=1)),
    ("min[N](M N)", ("M",), lambda v: v["a"].min(axis=1)),
    ("(M N - mean[N](M N)) * rsqrt(var[N](M N) + eps)", ("M", "N"), _layer_norm),
    (
        "exp2(M N) + log(exp(M N)) - log2(exp2(N))",
        ("M", "N"),
        lambda v: np.exp2(v["a"]) + v["a"] - v["x"],
    ),
    ("sigmoid(M N)", ("M", "N"), lambda v: 1 / (1 + np.exp(-v["a"]))),
    ("abs(M N) + tanh(M N)", ("M", "N"), lambda v: np.abs(v["a"]) + np.tanh(v["a"])),
    ("relu(M N)", ("M", "N"), lambda v: np.maximum(v["a"], 0)),
    ("clamp(M N, -1, 0.5)", ("M", "N"), lambda v: np.clip(v["a"], -1, 0.5)),
    ("erf(M N)", ("M", "N"), lambda v: np.vectorize(math.erf)(v["a"])),
    (
        "gelu(M N)",
        ("M", "N"),
        lambda v: 0.5 * v["a"] * (1 + np.vectorize(math.erf)(v["a"] / np.sqrt(2))),
    ),
    (
        "gelu_tanh(M N)",
        ("M", "N"),
        lambda v: (
            0.5 * v["a"] * (1 + np.tanh(np.sqrt(2 / np.pi) * (v["a"] + 0.044715 * v["a"] ** 3)))
        ),
    ),
    ("minimum(M N, 0)", ("M", "N"), lambda v: np.minimum(v["a"], 0)),
    ("eps * N", ("N",), lambda v: 0.125 * v["x"]),
    ("eps[] + 1", (), lambda v: np.asarray(1.125)),
    ("where(N < 4, N, 0)", ("N",), lambda v: np.where(np.arange(6) < 4, v["x"], 0)),
    (
        "where(2 < N & N <= 4 and M >= 1, M N, -1)",
        ("M", "N"),
        lambda v: np.where(
            (np.arange(6)[None, :] > 2)
            & (np.arange(6)[None, :] <= 4)
            & (np.arange(3)[:, None] >= 1),
            v["a"],
            -1,
        ),
    ),
    (
        "where(N == 2 * M - 1, M N, 0)",
        ("M", "N"),
        lambda v: np.where(np.arange(6)[None, :] == 2 * np.arange(3)[:, None] - 1, v["a"], 0),
    ),
    (
        "where(-N + 3 > M, M N, 0)",
        ("M", "N"),
        lambda v: np.where(3 - np.arange(6)[None, :] > np.arange(3)[:, None], v["a"], 0),
    ),
    ("where(N < 0, N, 7)", ("N",), lambda v: np.full(6, 7.0)),
    ("where(N < 100, N, 0)", ("N",), lambda v: v["x"]),
    ("softmax[nctx](where(nctx <= qctx, S[qctx nctx], -inf))", ("qctx", "nctx"), _causal_softmax),
    ("max[N](where(N < 2, M N, -inf))", ("M",), lambda v: v["a"][:, :2].max(axis=1)),
    ("maximum(M N, -inf) + 0 * minimum(M N, inf)", ("M", "N"), lambda v: v["a"]),
]


@pytest.mark.parametrize(("text", "out_dims", "expected"), ADDED, ids=[e[0] for e in ADDED])
def test_added_forms_match_numpy(
    text: str,
    out_dims: tuple[str, ...],
    expected: Callable[[Arrays], np.ndarray],
    more_arrays: dict[str, np.ndarray],
) -> None:
    spec = parse_spec(text, SCALAR_INPUTS, DIMS)
    assert spec.out_dims == out_dims
    got = evaluate(spec.term, more_arrays, spec.out_dims, DIMS)
    np.testing.assert_allclose(got, expected(more_arrays), rtol=1e-12, atol=1e-12)


def test_added_term_shapes() -> None:
    from stile_static.ir.terms import NEG_INF, POS_INF, Where, constraint

    assert parse_spec("-inf", INPUTS, DIMS).term == NEG_INF
    assert parse_spec("inf", INPUTS, DIMS).term == POS_INF
    assert parse_spec("eps", SCALAR_INPUTS, DIMS).term == Load("eps", ())
    assert parse_spec("min[N](M N)", INPUTS, DIMS).term == Reduce(
        "min", "N", 0, 6, Load("a", ("M", "N"))
    )
    mean = parse_spec("mean[N](M N[0:4])", INPUTS, DIMS).term
    assert mean == Binary("/", Reduce("sum", "N", 0, 4, Load("a", ("M", "N"))), Const(Fraction(4)))
    masked = parse_spec("where(nctx <= qctx, S[qctx nctx], 0)", SCALAR_INPUTS, DIMS).term
    cond = constraint({"nctx": 1, "qctx": -1}, 0, "<=")
    assert masked == Where((cond,), Load("S", ("qctx", "nctx")), Const(Fraction(0)))
    # a condition that always holds is dropped, one that never holds selects `b`
    assert parse_spec("where(N < 6, N, 0)", INPUTS, DIMS).term == Load("x", ("N",))
    assert parse_spec("where(N >= 6, N, 0)", INPUTS, DIMS).term == Const(Fraction(0))


def test_bare_input_names_only_when_asked() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("a + 1", INPUTS, DIMS)
    assert info.value.code == "STL022"
    spec = parse_spec("a + b[N K] - x", INPUTS, DIMS, bare_names=True)
    assert spec.out_dims == ("M", "N", "K")


@pytest.mark.parametrize(
    ("text", "span", "message"),
    [
        ("where(N = 3, N, 0)", (8, 9), "expected a comparison"),
        ("where(N, N, 0)", (7, 8), "expected a comparison"),
        ("where(N < 3.5, N, 0)", (10, 13), "expected an integer, found `3.5`"),
        ("where(N < 3 N, 0)", (12, 13), "expected `,`, found `N`"),
        ("where(N < 3, N)", (14, 15), "expected `,`, found `)`"),
        ("where(N < 3 or M < 2, M N, 0)", (12, 14), "expected `,`, found `or`"),
        ("where(N < (3), N, 0)", (10, 11), "expected a dim or an integer"),
        ("minimum(M N)", (11, 12), "expected `,`, found `)`"),
        ("mean[N]", (7, 7), "expected `(`"),
        ("M N & N", (4, 5), "expected an operator or end of spec, found `&`"),
        ("rsqrt M N", (6, 7), "expected `(` after `rsqrt`"),
    ],
)
def test_added_syntax_errors(text: str, span: tuple[int, int], message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, INPUTS, DIMS)
    assert info.value.code == "STL020"
    assert (info.value.start, info.value.end) == span
    assert message in info.value.message


@pytest.mark.parametrize(
    ("text", "span", "message"),
    [
        ("where(N < Z, N, 0)", (10, 11), "unknown dim `Z`"),
        ("where(a < 3, N, 0)", (6, 7), "`a` is an input; a spec refers to it through its dims"),
        ("mean[K](M N)", (5, 6), "reduces over K"),
        ("var[Z](M N)", (4, 5), "unknown dim `Z`"),
        ("atan(M N)", (0, 4), "unknown function `atan`"),
    ],
)
def test_added_naming_errors(text: str, span: tuple[int, int], message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, INPUTS, DIMS)
    assert info.value.code == "STL022"
    assert (info.value.start, info.value.end) == span
    assert message in info.value.message


def test_unknown_function_help_lists_the_new_functions() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("atan(M N)", INPUTS, DIMS)
    assert info.value.help is not None
    names = ("rsqrt", "exp2", "sigmoid", "minimum", "where", "mean[D]", "var[D]", "min[D]")
    for name in (*names, "tanh", "erf", "gelu_tanh", "relu", "clamp(x, lo, hi)"):
        assert name in info.value.help


def test_where_on_a_comparison_of_values(arrays: Arrays) -> None:
    spec = parse_spec("where(a[M N] > 0, a[M N], 0.01 * a[M N])", INPUTS, DIMS)
    a = arrays["a"]
    np.testing.assert_allclose(value(spec, arrays), np.where(a > 0, a, 0.01 * a))
    spec = parse_spec("where(x[N] != y[M], 1, x[N] - y[M])", INPUTS, DIMS)
    x, y = arrays["x"], arrays["y"]
    want = np.where(y[:, None] != x[None, :], 1.0, x[None, :] - y[:, None])
    np.testing.assert_allclose(value(spec, arrays), want.T if spec.out_dims[0] == "N" else want)


def test_where_still_reads_a_condition_on_indices(arrays: Arrays) -> None:
    spec = parse_spec("where(N < 3, x[N], 0)", INPUTS, DIMS)
    x = arrays["x"]
    np.testing.assert_allclose(value(spec, arrays), np.where(np.arange(6) < 3, x, 0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("where(a[M N] >, 1, 2)", "expected an expression"),
        ("where(a[M N] 0, 1, 2)", "expected a comparison"),
        ("where(a[M N] > 0 and N < 2, 1, 2)", "expected `,`"),
        ("where(N <, 1, 2)", "expected a dim or an integer"),
    ],
)
def test_a_broken_comparison_is_a_syntax_error_where_it_breaks(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, INPUTS, DIMS)
    assert caught.value.code == "STL020"
    assert message in caught.value.message
