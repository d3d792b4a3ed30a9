"""Python floats that remember the real number they stand for.

A kernel's Python code computes with floats, and its control flow (``if``,
``range``, ``//``) must see exactly the floats Python computes: ``1 / 49 * 49
== 1`` is False. A constant that reaches a tile, though, means the real
number its author wrote: the literal ``0.1`` is one tenth (as ``0.1`` in a
spec is), ``1 / math.sqrt(8)`` is ``1 / sqrt(8)``. A :class:`Real` is a float
(so Python's arithmetic and comparisons apply unchanged) carrying that real
number as an exact term; ``exact`` is None where no exact form is known.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from .terms import Binary, Const, Term, Unary

MAX_EXACT_BITS = 4096  # past this, a fraction is no longer worth keeping exact
MAX_EXACT_NODES = 64  # past this, a symbolic constant is no longer worth keeping exact


class Real(float):
    """A float (Python's value) with the exact real it stands for."""

    exact: Term | None

    def __new__(cls, value: float, exact: Term | None) -> Real:
        self = super().__new__(cls, value)
        object.__setattr__(self, "exact", exact)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Real is immutable")

    def __repr__(self) -> str:
        return float.__repr__(self)


class Written(Real):
    """A float literal of the source, before any arithmetic (which gives a plain Real);
    ``text`` is the literal as written."""

    text: str


def literal(text: str) -> Written:
    """A float literal: Python's float, and the decimal it spells."""
    clean = text.replace("_", "")
    out = Written(float(clean), Const(Fraction(clean)))
    object.__setattr__(out, "text", clean)
    return out


def exact_of(value: Any) -> Term | None:
    """The exact real of an int, a bool, a Real or a plain (binary) float."""
    if isinstance(value, Real):
        return value.exact
    if isinstance(value, bool):
        return Const(Fraction(int(value)))
    if isinstance(value, int):
        return _fraction_term(Fraction(value))
    if isinstance(value, float) and math.isfinite(value):
        return Const(Fraction(value))
    return None


def _fraction_term(value: Fraction) -> Term | None:
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_EXACT_BITS:
        return None
    return Const(value)


def _fraction(term: Term | None) -> Fraction | None:
    if isinstance(term, Const) and isinstance(term.value, Fraction):
        return term.value
    return None


def exact_binary(op: str, a: Term | None, b: Term | None) -> Term | None:
    """The exact real of ``a op b`` for the continuous operators ``+ - * / **``."""
    if a is None or b is None:
        return None
    fa, fb = _fraction(a), _fraction(b)
    if fa is not None and fb is not None:
        if op == "+":
            return _fraction_term(fa + fb)
        if op == "-":
            return _fraction_term(fa - fb)
        if op == "*":
            return _fraction_term(fa * fb)
        if op == "/":
            return None if fb == 0 else _fraction_term(fa / fb)
    if op == "**":
        return _power(a, fa, fb)
    if op in ("+", "-", "*", "/"):
        if op == "/" and fb == 0:
            return None
        return _bounded(Binary(op, a, b))
    return None


def _bounded(term: Term) -> Term | None:
    """``term``, unless it has grown past MAX_EXACT_NODES (a constant built in a loop)."""
    stack, seen = [term], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_EXACT_NODES:
            return None
        if isinstance(node, Unary):
            stack.append(node.arg)
        elif isinstance(node, Binary):
            stack.extend((node.left, node.right))
    return term


def _power(base: Term, fbase: Fraction | None, exponent: Fraction | None) -> Term | None:
    if exponent is None:
        return None
    if exponent.denominator == 1 and abs(exponent.numerator) <= 64:
        n = exponent.numerator
        if fbase is not None:
            if fbase == 0 and n < 0:
                return None
            return _fraction_term(fbase**n)
        out: Term = Const(Fraction(1))
        for _ in range(abs(n)):
            out = Binary("*", out, base)
        return _bounded(Binary("/", Const(Fraction(1)), out) if n < 0 else out)
    if exponent == Fraction(1, 2):
        return sqrt(base)
    if exponent == Fraction(-1, 2):
        root = sqrt(base)
        return None if root is None else Binary("/", Const(Fraction(1)), root)
    return None


def sqrt(a: Term | None) -> Term | None:
    """``sqrt(a)``: a fraction when ``a`` is the square of one, else a symbolic root."""
    fa = _fraction(a)
    if a is None or (fa is not None and fa < 0):
        return None
    if fa is not None:
        num, den = math.isqrt(fa.numerator), math.isqrt(fa.denominator)
        if num * num == fa.numerator and den * den == fa.denominator:
            return Const(Fraction(num, den))
    return Unary("sqrt", a)


def exp(a: Term | None) -> Term | None:
    if a is None:
        return None
    if _fraction(a) == 0:
        return Const(Fraction(1))
    return Unary("exp", a)


def negate(a: Term | None) -> Term | None:
    return exact_binary("*", Const(Fraction(-1)), a)


def log(fn: str, a: Term | None) -> Term | None:
    """``log(a)`` or ``log2(a)``: rational where it is one (``log2(8) = 3``), else symbolic."""
    fa = _fraction(a)
    if a is None or (fa is not None and fa <= 0):
        return None
    if fa is None:
        return Unary(fn, a)
    if fa == 1:
        return Const(Fraction(0))
    if fn == "log2":
        for value, sign in ((fa, 1), (1 / fa, -1)):
            if value.denominator == 1 and value.numerator & (value.numerator - 1) == 0:
                return Const(Fraction(sign * (value.numerator.bit_length() - 1)))
    return Unary(fn, a)


# Python's float may drift from the real it stands for by rounding, far less
# than this (relative); past it (cancellation: (1e16 + 1.0) - 1e16 is 0.0 in
# Python, 1 in the reals) the float is what runs, so it is what the tile gets.
AGREEMENT = 1e-9


def real(value: float, exact: Term | None) -> Real:
    """``value`` with ``exact`` as its real, if the two agree; else with the float itself."""
    if not math.isfinite(value):
        return Real(value, None)
    if exact is not None:
        approx = approximate(exact)
        scale = max(abs(value), abs(approx)) if approx is not None else 0.0
        if approx is not None and abs(approx - value) <= AGREEMENT * scale:
            return Real(value, exact)
    return Real(value, Const(Fraction(value)))


_FUNCTIONS = {"sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log2": math.log2}


def approximate(term: Term) -> float | None:
    """The float nearest ``term`` (a constant term), or None if it has none."""
    try:
        if isinstance(term, Const):
            return float(term.value)
        if isinstance(term, Unary) and term.fn in _FUNCTIONS:
            arg = approximate(term.arg)
            return None if arg is None else _FUNCTIONS[term.fn](arg)
        if isinstance(term, Binary) and term.op in ("+", "-", "*", "/"):
            a, b = approximate(term.left), approximate(term.right)
            if a is None or b is None:
                return None
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else math.nan}[term.op]
    except (OverflowError, ValueError, ZeroDivisionError):
        return None
    return None
