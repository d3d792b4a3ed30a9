"""Triton's integer types: widths, promotion, wrapping and C division.

A value inside a ``@triton.jit`` function is either a Triton tensor (a scalar
or a block) with a signed integer type, or a Python int (a literal, a
constexpr): Python ints keep Python's semantics among themselves, as Triton
folds them at compile time. A Python int meeting a typed operand takes the
operand's type and must fit it (Triton refuses ``Scalar ... is out of range``
otherwise); two typed operands promote to the wider one. Arithmetic wraps to
the width in two's complement; ``//`` truncates toward zero and ``%`` takes the
sign of the dividend, as in C.

Unsigned types are not modelled (a cast to one is STL002), and int64 values
beyond 2**62 in magnitude are STL002 rather than followed (no kernel offset
comes near them; the bound keeps NumPy's int64 exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError

WIDTHS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
UNSIGNED = ("uint8", "uint16", "uint32", "uint64", "int1")
EXACT_LIMIT = 2**62  # beyond it, int64 arithmetic in NumPy could itself wrap
INT32_MAX = 2**31 - 1


def bounds(dtype: str) -> tuple[int, int]:
    bits = WIDTHS[dtype]
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def fits(value: int, dtype: str) -> bool:
    lo, hi = bounds(dtype)
    return lo <= value <= hi


def argument_type(value: int) -> str:
    """The type Triton gives an integer argument: int32 when it fits, else int64."""
    if fits(value, "int32"):
        return "int32"
    if fits(value, "int64"):
        return "int64"
    raise KernelError(
        "STL002",
        f"unsupported: the integer argument {value} needs uint64, which is not modelled",
    )


def promote(a: str | None, b: str | None) -> str | None:
    """The type of ``a OP b``: None (Python semantics) only when both are Python ints."""
    if a is None:
        return b
    if b is None:
        return a
    return a if WIDTHS[a] >= WIDTHS[b] else b


def check_scalar(value: int, dtype: str) -> None:
    """A Python int meeting an operand of ``dtype`` is converted to it, if it fits."""
    if not fits(value, dtype):
        raise KernelError(
            "STL005",
            f"the Python int {value} does not fit the {dtype} operand it meets: "
            f"Triton refuses it (`Scalar {value} is out of range for type {dtype}`)",
            help="cast the other operand first, e.g. `x.to(tl.int64)`",
        )


def wrap(values: np.ndarray, dtype: str) -> np.ndarray:
    """Two's complement wrap of exact values to ``dtype``."""
    bits = WIDTHS[dtype]
    if bits == 64:
        return values  # guarded by ``exact``: int64 values never reach 2**63 here
    half = 1 << (bits - 1)
    return ((values + half) & ((1 << bits) - 1)) - half


def exact(*arrays: np.ndarray) -> None:
    """Refuse values NumPy's int64 cannot hold exactly through one more operation."""
    for arr in arrays:
        if arr.size and int(np.max(np.abs(arr))) >= EXACT_LIMIT:
            raise KernelError(
                "STL002",
                "unsupported: an integer beyond 2**62 in magnitude (int64 arithmetic "
                "that large is not followed)",
            )


def c_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """C's ``/`` on integers: the quotient truncated toward zero."""
    q = np.abs(x) // np.abs(y)
    return np.where((x < 0) != (y < 0), -q, q)


def c_mod(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """C's ``%``: ``x - y * c_div(x, y)``, with the sign of the dividend."""
    return x - y * c_div(x, y)


def check_shift(amount: np.ndarray, dtype: str) -> None:
    if (amount < 0).any() or (amount >= WIDTHS[dtype]).any():
        raise KernelError(
            "STL002",
            f"unsupported: a shift by {int(amount.min())}..{int(amount.max())} bits of "
            f"a {dtype} value (LLVM leaves shifts outside 0..{WIDTHS[dtype] - 1} undefined)",
        )


@dataclass(frozen=True)
class Overflow:
    """Where an integer operation first wrapped, with the numbers of one lane."""

    span: Span | None
    source: str  # the expression as written
    op: str
    dtype: str
    exact: int  # the value without wrapping
    wrapped: int  # the value the program computes
    operands: tuple[tuple[str, int, bool], ...]  # (source, value, typed) of each operand
    assumed: tuple[str, ...] = ()  # the strides taken at their least value

    def error(self, use: str) -> KernelError:
        """STL046: the wrapped value reaches ``use`` (a load's or a store's offset)."""
        _, hi = bounds(self.dtype)
        shown = f"`{self.source}`" if self.source else "an integer expression"
        notes = [
            f"{shown} is {self.dtype}: beyond {hi:,} it wraps around (two's complement), "
            f"so {use} goes to the wrong address"
        ]
        threshold = self.threshold()
        if threshold:
            notes.append(threshold)
        notes.extend(self.assumed)
        return KernelError(
            "STL046",
            f"{self.dtype} overflow in a pointer offset: {shown} should be {self.exact:,}, "
            f"found {self.wrapped:,} (wrapped)",
            notes=tuple(notes),
            help=self.fix(),
            node=self.span,
        )

    def threshold(self) -> str:
        """From which value of each operand the expression overflows, the other fixed."""
        lo, hi = bounds(self.dtype)
        if self.op == "to":
            return f"a cast to {self.dtype} keeps only the values {lo:,} to {hi:,}"
        if len(self.operands) != 2:
            return ""
        (a_src, a, _), (b_src, b, _) = self.operands
        if self.op == "*" and a and b:
            parts = [
                f"`{src}` >= {hi // abs(other) + 1:,} (with `{other_src}` = {other:,})"
                for src, other_src, other in ((a_src, b_src, b), (b_src, a_src, a))
            ]
            return (
                "the product overflows from "
                + " or from ".join(parts)
                + f": an int32 offset reaches no further than {hi:,} elements"
            )
        if self.op in ("+", "-"):
            what = "sum" if self.op == "+" else "difference"
            return (
                f"here `{a_src}` = {a:,} and `{b_src}` = {b:,}: the {what} "
                f"leaves {self.dtype} from {hi + 1:,} on"
            )
        return ""

    def fix(self) -> str:
        if self.op == "to":
            return "do not narrow an offset: keep it int32, or widen it with `.to(tl.int64)`"
        typed = [src for src, _, is_typed in self.operands if is_typed]
        if len(self.operands) == 2 and typed:
            (a_src, _, a_typed), (b_src, _, _) = self.operands
            if a_typed:
                return f"compute it in int64: `{a_src}.to(tl.int64) {self.op} {b_src}`"
            return f"compute it in int64: `{a_src} {self.op} {b_src}.to(tl.int64)`"
        return "compute the offset in int64: cast an operand with `.to(tl.int64)` first"
