"""Named constants that kernels write as long decimals (``1.44269504`` for log2(e)).

A literal with at least six significant digits that is within float32 rounding
of one of these is read as the constant itself: the kernel computes in float32,
where the two are the same number, and rounding is not modelled (reals are).
``pi`` has no exact form in the term language (its term is None).
"""

from __future__ import annotations

import math

from . import activations
from .terms import Const, Term, Unary, const

LN2: Term = Unary("log", const(2))  # ln 2, exact (a symbolic constant)
LOG2E: Term = Unary("recip", LN2)  # log2(e) = 1 / ln 2
SQRT_2: Term = activations.SQRT_2

# name -> (the double nearest it, its exact term)
NAMED: dict[str, tuple[float, Term | None]] = {
    "log2(e)": (1 / math.log(2), LOG2E),
    "ln(2)": (math.log(2), LN2),
    "pi": (math.pi, None),
    "sqrt(2)": (math.sqrt(2), SQRT_2),
    "1/sqrt(2)": (1 / math.sqrt(2), Unary("recip", SQRT_2)),
    "sqrt(2/pi)": (math.sqrt(2 / math.pi), activations.SQRT_2_OVER_PI),
}
FLOAT32_ROUNDING = 2.0**-23


def significant_digits(text: str) -> int:
    mantissa = text.lower().replace("_", "").split("e")[0]
    return len(mantissa.replace(".", "").replace("-", "").lstrip("0"))


def recognise(text: str) -> tuple[str, float, Term | None] | None:
    """The named constant a float literal spells, if it spells one."""
    if significant_digits(text) < 6:
        return None
    value = float(text.replace("_", ""))
    for name, (exact, term) in NAMED.items():
        if abs(value - exact) <= exact * FLOAT32_ROUNDING:
            return name, exact, term
    return None


__all__ = ["NAMED", "Const", "recognise"]
