"""Integers that may depend on symbolic loop indices (affine forms)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


class NeedsUnroll(Exception):
    """A symbolic loop index reached a place that needs its concrete value."""


_serials = itertools.count()


@dataclass(frozen=True, eq=False)
class LoopVar:
    """The index of one symbolically interpreted loop; identity is the object."""

    name: str
    values: range
    serial: int = field(default_factory=lambda: next(_serials))


@dataclass(frozen=True)
class Sym:
    """``const + sum(coeff * var)``; never constant (that is a plain int)."""

    coeffs: tuple[tuple[LoopVar, int], ...]
    const: int

    def __str__(self) -> str:
        parts = [f"{c}*{v.name}" if c != 1 else v.name for v, c in self.coeffs]
        if self.const:
            parts.append(str(self.const))
        return " + ".join(parts).replace("+ -", "- ")


Int = int | Sym


def variable(var: LoopVar) -> Sym:
    return Sym(((var, 1),), 0)


def _make(coeffs: dict[LoopVar, int], const: int) -> Int:
    items = tuple((v, c) for v, c in coeffs.items() if c != 0)
    return Sym(items, const) if items else const


def _parts(x: Int) -> tuple[dict[LoopVar, int], int]:
    return (dict(x.coeffs), x.const) if isinstance(x, Sym) else ({}, x)


def add(x: Int, y: Int) -> Int:
    cx, kx = _parts(x)
    cy, ky = _parts(y)
    for v, c in cy.items():
        cx[v] = cx.get(v, 0) + c
    return _make(cx, kx + ky)


def scale(x: Int, k: int) -> Int:
    cx, kx = _parts(x)
    return _make({v: c * k for v, c in cx.items()}, kx * k)


def sub(x: Int, y: Int) -> Int:
    return add(x, scale(y, -1))


def bounds(x: Int) -> tuple[int, int]:
    """Smallest and largest value over every combination of loop indices."""
    if not isinstance(x, Sym):
        return x, x
    lo = hi = x.const
    for v, c in x.coeffs:
        ends = (c * v.values[0], c * v.values[-1])
        lo += min(ends)
        hi += max(ends)
    return lo, hi


def concrete(x: Int) -> int:
    if isinstance(x, Sym):
        raise NeedsUnroll(f"{x} is symbolic")
    return x


def compare(op: str, x: Int, y: Int) -> bool:
    """``x op y`` when it holds for all loop indices or for none; else unroll."""
    lo, hi = bounds(sub(x, y))
    table = {
        "<": (hi < 0, lo >= 0),
        "<=": (hi <= 0, lo > 0),
        ">": (lo > 0, hi <= 0),
        ">=": (lo >= 0, hi < 0),
        "==": (lo == hi == 0, lo > 0 or hi < 0),
        "!=": (lo > 0 or hi < 0, lo == hi == 0),
    }
    always, never = table[op]
    if always:
        return True
    if never:
        return False
    raise NeedsUnroll(f"{x} {op} {y} depends on the loop index")


def variables(x: Int) -> tuple[LoopVar, ...]:
    return tuple(v for v, _ in x.coeffs) if isinstance(x, Sym) else ()


def substitute(x: Int, values: dict[LoopVar, int]) -> int:
    if not isinstance(x, Sym):
        return x
    return x.const + sum(c * values[v] for v, c in x.coeffs)


def key(x: Int) -> str:
    """A string that identifies ``x`` exactly (two loops may share a variable name)."""
    if not isinstance(x, Sym):
        return str(x)
    terms = "+".join(f"{c}*{v.name}#{v.serial}" for v, c in x.coeffs)
    return f"({terms}+{x.const})"


_symbolic_bounds = [False]


@contextmanager
def symbolic_bounds() -> Iterator[None]:
    """While active, reductions may range over bounds that depend on a loop index
    (inside an induction step); otherwise such a bound asks for unrolling."""
    saved = _symbolic_bounds[0]
    _symbolic_bounds[0] = True
    try:
        yield
    finally:
        _symbolic_bounds[0] = saved


def bound(x: Int) -> Int:
    return x if _symbolic_bounds[0] else concrete(x)


def width(lo: Int, hi: Int) -> int | None:
    """``hi - lo`` when it does not depend on a loop index."""
    diff = sub(hi, lo)
    return diff if isinstance(diff, int) else None
