"""The interpreter's Python: numbers, scopes and calls mean what they mean in Python."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stile_static.check.checker import check_source
from stile_static.core.errors import KernelError
from stile_static.interpreter.values import number_binary
from stile_static.ir import reals
from stile_static.ir.terms import Const, Unary

HEAD = """import math
from stile import dim
import stile.numpy as tnp
M = dim('M', 4)
x = tnp.randn(M)
"""


def verdict(body: str) -> set[str]:
    """The codes the analyzer reports for HEAD + body ('ok' when it verifies)."""
    report = check_source(HEAD + body, "k.py")
    codes = {d.code for d in report.diagnostics}
    return codes or ({"ok"} if report.proved else {"nothing proved"})


@pytest.mark.parametrize(
    ("value", "python"),
    [
        ("0 or 3", 3),
        ("2 and 5", 5),
        ("0.0 or 1.5", 1.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("-7 % 3", 2),
        ("7 / 2", 3.5),
        ("True + 1", 2),
        ("int(-2.9)", -2),
        ("3 if 1 / 49 * 49 == 1 else 5", 5),
        ("3 if 0.1 + 0.2 == 0.3 else 5", 5),
        ("min(3, 2.5)", 2.5),
        ("(1, 2)[-1]", 2),
        ("(1e16 + 1.0) - 1e16", 0.0),
        ("(2 ** 53 + 1) - 2 ** 53", 1),
        ("math.ceil(7 / 2)", 4),
        ("math.floor(-0.5)", -1),
    ],
)
def test_a_constant_is_the_value_python_computes(value: str, python: object) -> None:
    assert eval(value) == python  # noqa: S307 (the table is checked against Python itself)
    right = f"c = tnp.TypedResult('{python} * M')\nc.assign(x * ({value}))\n"
    wrong = f"c = tnp.TypedResult('{python} * M + M')\nc.assign(x * ({value}))\n"
    assert verdict(right) == {"ok"}
    assert verdict(wrong) == {"STL031"}


def test_float_literals_are_the_decimals_they_spell() -> None:
    assert reals.literal("0.1").exact == Const(Fraction(1, 10))
    assert reals.literal("1_000.5").exact == Const(Fraction(2001, 2))
    tenth = number_binary("*", reals.literal("0.1"), 3)
    assert tenth != 0.3 and tenth.exact == Const(Fraction(3, 10))  # type: ignore[union-attr]


def test_math_of_constants_stays_exact() -> None:
    root = number_binary("/", 1, reals.Real(8**0.5, reals.sqrt(Const(Fraction(8)))))
    assert root.exact is not None and "sqrt" in repr(root.exact)  # type: ignore[union-attr]
    assert reals.sqrt(Const(Fraction(16))) == Const(Fraction(4))
    assert reals.log("log2", Const(Fraction(1, 8))) == Const(Fraction(-3))
    assert reals.log("log", Const(Fraction(3))) == Unary("log", Const(Fraction(3)))
    assert verdict("c = tnp.TypedResult('M / sqrt(128)')\nc.assign(x / math.sqrt(128))\n") == {"ok"}


def test_huge_ints_are_refused_quickly() -> None:
    start = time.monotonic()
    with pytest.raises(KernelError):
        number_binary("**", 10, 10**8)
    assert time.monotonic() - start < 1


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        # LEGB: the enclosing call's `w`, not the module's
        (
            "w = 1\ndef make(w):\n    def f(t):\n        return t * w\n    return f\n"
            "c = tnp.TypedResult('2 * M')\nc.assign(make(2)(x))\n",
            {"ok"},
        ),
        # a closure reads the enclosing variable's value when it is called
        (
            "def make():\n    k = 1\n    def f(t):\n        return t * k\n    k = 2\n    return f\n"
            "c = tnp.TypedResult('2 * M')\nc.assign(make()(x))\n",
            {"ok"},
        ),
        # a default is evaluated once, where the function is defined
        (
            "k = 2\ndef f(t, s=k):\n    return t * s\nk = 3\n"
            "c = tnp.TypedResult('2 * M')\nc.assign(f(x))\n",
            {"ok"},
        ),
        # positional-only, keyword-only and *args
        (
            "def f(t, /, *more, k):\n    return t * k + len_(more)\ndef len_(m):\n    return 0\n"
            "c = tnp.TypedResult('2 * M')\nc.assign(f(x, 1, 2, k=2))\n",
            {"ok"},
        ),
        ("def f(t, /):\n    return t\nc = tnp.TypedResult('M')\nc.assign(f(t=x))\n", {"STL004"}),
        ("def f(t):\n    return t\nc = tnp.TypedResult('M')\nc.assign(f(x, x))\n", {"STL004"}),
        # assigned anywhere in the function: local everywhere in it
        (
            "k = 2\ndef f(t):\n    s = t * k\n    k = 3\n    return s\n"
            "c = tnp.TypedResult('2 * M')\nc.assign(f(x))\n",
            {"STL004"},
        ),
        # a result is an object
        (
            "c = tnp.TypedResult('M')\nd = c\nc = tnp.TypedResult('2 * M')\n"
            "d.assign(x)\nc.assign(x * 2)\n",
            {"ok"},
        ),
        # a body that leaves early is unrolled: only the first tile is written
        (
            "c = tnp.TypedResult('M')\nfor i in range(0, 4, 2):\n"
            "    c.assign(x.slice(M, i, i + 2))\n    break\n",
            {"STL040"},
        ),
        (
            "c = tnp.TypedResult('M')\nfor i in range(0, 4, 2):\n"
            "    if i == 2:\n        continue\n    c.assign(x.slice(M, i, i + 2))\n"
            "else:\n    c.assign(x.slice(M, 2, 4))\n",
            {"ok"},
        ),
        # the loop variable after the loop is the last index
        (
            "c = tnp.TypedResult('M')\nfor i in range(0, 4, 2):\n    pass\n"
            "c.assign(x.slice(M, 0, i))\nc.assign(x.slice(M, i, 4))\n",
            {"ok"},
        ),
    ],
)
def test_scopes_calls_and_control_flow(body: str, codes: set[str]) -> None:
    assert verdict(body) == codes


NUMBERS = st.one_of(
    st.integers(-1000, 1000),  # Python itself takes seconds for 10**6 ** 10**6
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
)


@settings(max_examples=400, deadline=None)
@given(a=NUMBERS, b=NUMBERS, op=st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]))
def test_arithmetic_is_pythons(a: object, b: object, op: str) -> None:
    """Same value and type as Python, or a diagnostic where Python raises; a float
    result from exact operands carries an exact real close to it."""
    try:
        python = eval(f"a {op} b", {"a": a, "b": b})  # noqa: S307
    except (ArithmeticError, ValueError):
        with pytest.raises(KernelError):
            number_binary(op, a, b)  # type: ignore[arg-type]
        return
    try:
        ours = number_binary(op, a, b)  # type: ignore[arg-type]
    except KernelError:
        assert isinstance(python, complex) or (op == "**" and isinstance(python, int))
        return
    assert type(ours) is type(python) or isinstance(ours, reals.Real)
    assert ours == python or (ours != ours and python != python)
    if isinstance(ours, reals.Real) and isinstance(ours.exact, Const) and math.isfinite(ours):
        assert math.isclose(float(ours.exact.value), ours, rel_tol=1e-9, abs_tol=1e-300)


def test_one_result_bound_to_two_names_is_one_result() -> None:
    body = "c = d = tnp.TypedResult('M')\nc.assign(x.slice(M, 0, 2))\nd.assign(x.slice(M, 2, 4))\n"
    assert verdict(body) == {"ok"}
