"""Activation functions as terms: the one definition specs and kernel libraries share.

Each is written with the functions of the term language, exactly as the
libraries define it (``torch.nn.functional.gelu``, ``jax.nn.gelu``):

* ``relu(x) = maximum(x, 0)``;
* ``clamp(x, lo, hi) = minimum(maximum(x, lo), hi)``;
* ``gelu(x) = 0.5 * x * (1 + erf(x / sqrt(2)))``, the exact form;
* ``gelu_tanh(x) = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))``, the
  tanh approximation. ``pi`` has no exact form here, so ``sqrt(2/pi)`` is the
  double nearest it; a kernel literal within float32 rounding of that double
  (``0.7978845608``, ``0.79788456``) is read as the same constant.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .terms import Binary, Const, Term, Unary

SQRT_2_OVER_PI = Const(Fraction(math.sqrt(2 / math.pi)))
GELU_CUBIC = Const(Fraction("0.044715"))
SQRT_2: Term = Unary("sqrt", Const(Fraction(2)))
HALF = Const(Fraction(1, 2))
ONE = Const(Fraction(1))


def relu(x: Term) -> Term:
    return Binary("maximum", x, Const(Fraction(0)))


def clamp(x: Term, lo: Term, hi: Term) -> Term:
    return Binary("minimum", Binary("maximum", x, lo), hi)


def gelu(x: Term) -> Term:
    """The exact (erf) GELU."""
    inner = Unary("erf", Binary("/", x, SQRT_2))
    return Binary("*", Binary("*", HALF, x), Binary("+", ONE, inner))


def gelu_tanh(x: Term) -> Term:
    """The tanh approximation of GELU."""
    cube = Binary("*", Binary("*", x, x), x)
    arg = Binary("*", SQRT_2_OVER_PI, Binary("+", x, Binary("*", GELU_CUBIC, cube)))
    return Binary("*", Binary("*", HALF, x), Binary("+", ONE, Unary("tanh", arg)))


# spec functions of one argument that are built from others
DERIVED = {"relu": relu, "gelu": gelu, "gelu_tanh": gelu_tanh}
