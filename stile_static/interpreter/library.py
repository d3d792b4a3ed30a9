"""How a kernel library's names behave inside the Python-subset interpreter.

The interpreter (:mod:`stile_static.interpreter.core`) follows Python: scopes,
numbers, symbolic loop indices, loops, helper functions. Everything a kernel
library adds (its modules, its values, its calls and methods, what a name bound
to a new input or result means) comes from a :class:`Library`. Each hook
returns :data:`NOT_MINE` for a value or call the library does not own; the
interpreter then applies Python's own meaning or reports STL002.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import libcst as cst

if TYPE_CHECKING:
    from .core import Interpreter
    from .values import Method

NOT_MINE: Any = NotImplemented


class Library:
    """The default library owns nothing: plain Python only."""

    #: importable module name -> the name of the :class:`Module` value it binds
    modules: Mapping[str, str] = {}
    #: module value name -> its members (None: known but not supported)
    members: Mapping[str, Mapping[str, Any]] = {}

    def import_from(self, source: str, name: str) -> Any:
        """The value of ``from source import name``."""
        members = self.members.get(self.modules.get(source, ""), {})
        value = members.get(name)
        return NOT_MINE if value is None else value

    def attribute(self, interp: Interpreter, base: Any, attr: str) -> Any:
        return NOT_MINE

    def subscript(self, interp: Interpreter, base: Any, node: cst.Subscript) -> Any:
        return NOT_MINE

    def call(self, interp: Interpreter, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
        """A call of ``Builtin(name)`` for a name of one of this library's modules."""
        return NOT_MINE

    def call_method(
        self, interp: Interpreter, method: Method, args: list, kwargs: dict, node: cst.Call
    ) -> Any:
        return NOT_MINE

    def binary(self, interp: Interpreter, op: str, left: Any, right: Any) -> Any:
        """``left op right`` when either operand is one of this library's values."""
        return NOT_MINE

    def operator_help(
        self, op: str, left: Any, right: Any, left_text: str, right_text: str
    ) -> str | None:
        """A help line for an operator the kernel applied and the library rejects."""
        return None

    def unary(self, interp: Interpreter, op: str, value: Any) -> Any:
        """``op`` is ``-`` or ``+``."""
        return NOT_MINE

    def bind(self, interp: Interpreter, name: str, value: Any, node: cst.CSTNode) -> Any:
        """The value stored when ``value`` is assigned to ``name`` (inputs and
        results are named by the variable they are first bound to)."""
        return value

    def statement_failed(self, interp: Interpreter, node: cst.CSTNode) -> None:
        """A statement raised a diagnostic: forget what it may have half done."""
