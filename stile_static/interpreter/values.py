"""Values of the abstract interpreter besides ints, dims and tiles, and their conversions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from ..core.errors import KernelError
from ..ir import reals
from ..ir import symbolic as sym
from ..ir.symbolic import Int, NeedsUnroll, Sym
from ..ir.tiles import Dim, Tile

PYTHON_ERROR = "STL004"  # the code of an exception Python would raise


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
    defaults: dict[str, Any]  # by parameter name, positional and keyword-only alike
    # the frames of the calls it was defined in, innermost first: a closure reads
    # their variables' current values
    enclosing: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Closure:
    """A ``lambda`` or nested ``def`` with the names of the frame it was made in."""

    node: cst.Lambda | cst.FunctionDef
    names: dict[str, Any] = field(compare=False)
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class PythonMethod:
    """A method of a list, dict or tuple, bound to its receiver."""

    receiver: Any = field(compare=False)
    name: str


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
    if isinstance(value, Sym):
        return f"the loop index `{value}`"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, float):
        return f"the float {float(value)!r}"
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


def as_number(value: Any, node: cst.CSTNode | None) -> int | float:
    """A Python number (bools are ints, as in Python); a loop index asks for unrolling."""
    if isinstance(value, Sym):
        raise NeedsUnroll("a loop index used as a number")
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, (int, float)):
        raise KernelError("STL002", f"expected a number, found {kind(value)}", node=node)
    return value


def as_int(value: Any, node: cst.CSTNode | None) -> Int:
    """An int as Python accepts one where an index is needed (a float is a TypeError)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, Sym)):
        return value
    if isinstance(value, float):
        raise python_error(
            TypeError(f"'float' object cannot be interpreted as an integer ({value!r})"), node
        )
    raise KernelError("STL002", f"expected an integer, found {kind(value)}", node=node)


def python_error(error: Exception, node: cst.CSTNode | None = None) -> KernelError:
    """The diagnostic for an exception Python raises at this point of the kernel."""
    return KernelError(
        PYTHON_ERROR,
        f"Python raises {type(error).__name__} here: {error}",
        help="the kernel stops at this point when it runs",
        node=node,
    )


# ints past this many bits are not followed (``10 ** 10 ** 8`` would take minutes)
MAX_INT_BITS = 1 << 20
# the continuous operators keep the exact real; the others take Python's float
_CONTINUOUS = ("+", "-", "*", "/", "**")


def number_binary(op: str, a: int | float, b: int | float) -> int | float:
    """``a op b`` exactly as Python computes it; a float result remembers its exact real."""
    _check_size(op, a, b)
    x, y = _plain(a), _plain(b)
    try:
        value = {
            "+": lambda: x + y,
            "-": lambda: x - y,
            "*": lambda: x * y,
            "/": lambda: x / y,
            "//": lambda: x // y,
            "%": lambda: x % y,
            "**": lambda: x**y,
        }[op]()
    except (ArithmeticError, ValueError, TypeError) as error:
        raise python_error(error) from None
    if isinstance(value, complex):
        raise KernelError("STL002", f"unsupported: {a!r} ** {b!r} is a complex number")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise KernelError("STL002", f"unsupported: an int of more than {MAX_INT_BITS} bits")
    if not isinstance(value, float):
        return value
    if op in _CONTINUOUS:
        return reals.real(value, reals.exact_binary(op, reals.exact_of(a), reals.exact_of(b)))
    return reals.real(value, None)  # floor and modulo: Python's float is the value


def _plain(value: int | float) -> int | float:
    return float(value) if isinstance(value, float) else int(value)


def _check_size(op: str, a: int | float, b: int | float) -> None:
    """Refuse, before computing it, an int too large to follow."""
    if isinstance(a, float) or isinstance(b, float):
        return
    bits_a, bits_b = abs(int(a)).bit_length(), abs(int(b)).bit_length()
    if op == "*" and bits_a + bits_b > MAX_INT_BITS + 1:
        big = True
    elif op == "**" and b > 0 and bits_a > 1:
        big = (bits_a - 1) * int(b) > MAX_INT_BITS
    else:
        big = False
    if big:
        raise KernelError(
            "STL002",
            f"unsupported: `{op}` makes an int of more than {MAX_INT_BITS} bits",
            help="Python would spend a long time on it; no kernel needs such a number",
        )


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
