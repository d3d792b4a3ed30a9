"""The front-end interface: how a kernel dialect plugs into the shared pipeline.

A front end recognises the files written in its dialect and turns one into
:class:`~stile_static.ir.obligations.Facts`: the logical dims and inputs, the
results with their specs, the writes (for coverage) and the obligations (for
the prover). Everything after that (the prover, coverage, the cross-check's
comparison, the reporters, the language server) is shared and never needs to
know which dialect a file is written in.

To add a dialect: write a :class:`FrontEnd` (usually a
:class:`~stile_static.frontends.library.Library` for the Python-subset
interpreter plus the code that decides what to run) and add it to
:data:`stile_static.frontends.FRONT_ENDS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from ..core.diagnostics import Diagnostic, Span
from ..ir.obligations import Facts


@dataclass(frozen=True)
class SourceFile:
    """A parsed kernel file: its tree, with positions, and its text."""

    path: str
    text: str
    module: cst.Module
    wrapper: cst.MetadataWrapper
    positions: Mapping[cst.CSTNode, Any]

    def span(self, node: cst.CSTNode) -> Span:
        rng = self.positions[node]
        return Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)


@dataclass
class Analysis:
    """What a front end found in one file.

    ``facts`` has one entry per configuration checked (the typed-NumPy dialect
    has one; a Triton wrapper has one per case and autotune config), each
    verified on its own dims and inputs. ``tile_types`` maps source ranges to
    values with a ``hover()`` text, for editors.
    """

    diagnostics: list[Diagnostic]
    facts: list[Facts]
    tile_types: dict[Span, Any] = field(default_factory=dict)


class FrontEnd(ABC):
    """One kernel dialect."""

    name: str

    @abstractmethod
    def recognises(self, source: SourceFile) -> bool:
        """Whether the file is written in this dialect (and so is a kernel file)."""

    @abstractmethod
    def analyse(self, source: SourceFile) -> Analysis:
        """Interpret the file symbolically: diagnostics, facts and hovers."""

    @abstractmethod
    def run_concretely(self, source: SourceFile, seed: int, shift: float) -> list[Facts]:
        """Run the file in the concrete domain for the cross-check: facts whose
        obligations' tiles carry the NumPy arrays the kernel computes, on inputs
        drawn with ``seed`` and shifted by ``shift``."""


def imports_module(module: cst.Module, root: str) -> bool:
    """Whether the file imports ``root`` (or a submodule) anywhere in it."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            nonlocal found
            found = found or any(_root(a.name) == root for a in node.names)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            nonlocal found
            if node.module is not None and not node.relative:
                found = found or _root(node.module) == root

    module.visit(Finder())
    return found


def _root(node: cst.BaseExpression) -> str:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else ""
