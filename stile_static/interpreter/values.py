"""Values of the abstract interpreter besides ints, dims and tiles, and their conversions."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import libcst as cst

from ..core.errors import KernelError
from ..ir import symbolic as sym
from ..ir.symbolic import Int, NeedsUnroll, Sym
from ..ir.tiles import Dim, Tile


@dataclass(frozen=True)
class Module:
    """A module the kernel imported: ``tnp``, ``tnp.random``, ``np``, ``math``, ``stile``."""

    name: str


@dataclass(frozen=True)
class Builtin:
    name: str


@dataclass(frozen=True)
class Method:
    receiver: Any
    name: str


@dataclass(frozen=True)
class Function:
    node: cst.FunctionDef
    defaults: dict[str, Any]


@dataclass(frozen=True)
class SpecText:
    """A string literal, remembered with its node so spec errors point inside it."""

    value: str
    node: cst.CSTNode


@dataclass(frozen=True)
class Poison:
    """A name whose value is unknown after an error (or a symbolic loop)."""

    reason: str | None = None


def kind(value: Any) -> str:
    if isinstance(value, Tile):
        return f"a tile ({value.describe()})"
    if isinstance(value, Dim):
        return f"dim {value.name}"
    noun = getattr(value, "noun", None)
    if isinstance(noun, str):
        return noun  # a front end's own value names itself
    if isinstance(value, SpecText):
        return "a string"
    if isinstance(value, Function):
        return f"function {value.node.name.value}"
    if isinstance(value, Module):
        return f"module {value.name}"
    return type(value).__name__


def as_number(value: Any, node: cst.CSTNode | None) -> int | float | Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise KernelError("STL002", f"expected a number, found {kind(value)}", node=node)
    return value


def as_int(value: Any, node: cst.CSTNode | None) -> Int:
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, Sym)) and not isinstance(value, bool):
        return value
    raise KernelError("STL002", f"expected an integer, found {kind(value)}", node=node)


def number_binary(op: str, a: Any, b: Any) -> Any:
    if op == "/":
        if b == 0:
            raise KernelError("STL002", "division by zero")
        if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
            q = Fraction(a) / Fraction(b)
            return int(q) if q.denominator == 1 else q
        return a / b
    if op in ("//", "%") and b == 0:
        raise KernelError("STL002", "division by zero")
    ops = {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "//": lambda: a // b,
        "%": lambda: a % b,
        "**": lambda: a**b,
    }
    return ops[op]()


def sym_binary(op: str, left: Any, right: Any) -> Int:
    if op == "+":
        return sym.add(as_int(left, None), as_int(right, None))
    if op == "-":
        return sym.sub(as_int(left, None), as_int(right, None))
    if op == "*":
        if isinstance(left, Sym) and isinstance(right, int):
            return sym.scale(left, right)
        if isinstance(right, Sym) and isinstance(left, int):
            return sym.scale(right, left)
    raise NeedsUnroll(op)
