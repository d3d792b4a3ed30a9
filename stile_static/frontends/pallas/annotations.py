"""The ``# stile:`` lines above a Pallas wrapper: targets with specs, cases.

``# stile: return = SPEC`` (or ``return[i]``, or a parameter) names what the
wrapper computes; ``# stile: case M=7 N=100 block=(32, 32)`` gives the sizes
of the dims and values of wrapper parameters for one configuration. In SPEC,
``x[M N]`` declares the wrapper parameter ``x`` with its dims in shape order.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from ...core.diagnostics import Diagnostic, Span
from ...ir.specs import InputInfo, Spec
from ...spec.parser import SpecError, parse_spec
from ..base import SourceFile

_PREFIX = re.compile(r"^\s*#\s*stile:\s*")
_DECLARED = re.compile(r"\b([A-Za-z_]\w*)\[\s*([A-Za-z_][\w\s]*)\]")
_TARGET = re.compile(r"^(return(?:\[(\d+)\])?|[A-Za-z_]\w*)\s*=(?!=)\s*(.*)$")
DEFAULT_SIZES = (64, 100, 20)


@dataclass(frozen=True)
class Target:
    name: str  # "return", "return[1]" or a parameter
    index: int | None
    spec_text: str
    span: Span
    spec_span: Span
    spec: Spec | None = None


@dataclass(frozen=True)
class Case:
    sizes: dict[str, int]
    values: dict[str, Any]
    span: Span
    text: str


@dataclass
class Annotated:
    name: str
    node: cst.FunctionDef
    targets: list[Target] = field(default_factory=list)  # specs unparsed (per case)
    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scalars: list[str] = field(default_factory=list)  # wrapper parameters the specs name
    cases: list[Case] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def targets_for(self, case: Case) -> tuple[list[Target], list[SpecError]]:
        infos = [InputInfo(n, d) for n, d in self.inputs.items()]
        infos += [InputInfo(n, ()) for n in self.scalars]
        out, errors = [], []
        for t in self.targets:
            text = _spell_out(t.spec_text, self.inputs)
            try:
                spec: Spec | None = parse_spec(text, infos, case.sizes)
            except SpecError as error:
                spec = None
                errors.append(error)
            out.append(Target(t.name, t.index, t.spec_text, t.span, t.spec_span, spec))
        return out, errors


def _spell_out(text: str, inputs: dict[str, tuple[str, ...]]) -> str:
    """Later uses of a declared input may omit its dims: ``x`` is ``x[M N]``
    (same length, so error positions stay right only up to the first one)."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        following = text[match.end() :].lstrip()
        if name in inputs and not following.startswith("["):
            return f"{name}[{' '.join(inputs[name])}]"
        return name

    return re.sub(r"\b([A-Za-z_]\w*)\b", fill, text)


def find(source: SourceFile) -> list[Annotated]:
    lines = source.text.splitlines()
    found = []
    for stmt in source.module.body:
        if not isinstance(stmt, cst.FunctionDef):
            continue
        first = source.span(stmt).line
        if stmt.decorators:
            first = min(first, source.span(stmt.decorators[0]).line)
        comments: list[tuple[int, str]] = []
        number = first - 1
        while number >= 1 and lines[number - 1].lstrip().startswith("#"):
            comments.append((number, lines[number - 1]))
            number -= 1
        stile = [(n, text) for n, text in reversed(comments) if _PREFIX.match(text)]
        if stile:
            found.append(_parse(source, stmt, stile))
    return found


def _strip_trailing_comment(text: str) -> str:
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "#" and depth == 0:
            return text[:i].rstrip()
    return text.rstrip()


def _parse(source: SourceFile, node: cst.FunctionDef, lines: list[tuple[int, str]]) -> Annotated:
    annotated = Annotated(node.name.value, node)
    params = {p.name.value for p in (*node.params.params, *node.params.kwonly_params)}
    case_lines = []
    for number, text in lines:
        start = _PREFIX.match(text).end()  # type: ignore[union-attr]
        body = _strip_trailing_comment(text[start:])
        span = Span(number, start + 1, number, start + 1 + len(body))
        if body.startswith("case ") or body == "case":
            case_lines.append((body[4:].strip(), span))
            continue
        match = _TARGET.match(body)
        if match is None:
            annotated.diagnostics.append(
                Diagnostic(source.path, span, "STL020", f"cannot read the annotation `{body}`")
            )
            continue
        name, index, spec_text = match.group(1), match.group(2), match.group(3)
        spec_col = start + 1 + body.index(spec_text, len(name))
        spec_span = Span(number, spec_col, number, spec_col + len(spec_text))
        annotated.targets.append(
            Target(name, int(index) if index else None, spec_text, span, spec_span)
        )
        for declared, dims in _DECLARED.findall(spec_text):
            if declared in params:
                annotated.inputs[declared] = tuple(dims.split())
        for word in re.findall(r"[A-Za-z_]\w*", spec_text):
            if word in params and word not in annotated.scalars:
                annotated.scalars.append(word)
    annotated.scalars = [n for n in annotated.scalars if n not in annotated.inputs]
    dims = sorted({d for ds in annotated.inputs.values() for d in ds})
    for text, span in case_lines:
        try:
            sizes, values = _case_items(text, set(dims))
        except ValueError as error:
            annotated.diagnostics.append(
                Diagnostic(source.path, span, "STL020", f"cannot read the case: {error}")
            )
            continue
        missing = [d for d in dims if d not in sizes]
        if missing:
            annotated.diagnostics.append(
                Diagnostic(source.path, span, "STL020", f"the case gives no size for {missing}")
            )
            continue
        annotated.cases.append(Case(sizes, values, span, text))
    if not case_lines:
        first = lines[0][0]
        span = Span(first, 1, first, 2)
        for size in DEFAULT_SIZES:
            sizes = {d: size + 4 * k for k, d in enumerate(dims)}
            text = " ".join(f"{d}={s}" for d, s in sizes.items())
            annotated.cases.append(Case(sizes, {}, span, text))
    return annotated


def _case_items(text: str, dims: set[str]) -> tuple[dict[str, int], dict[str, Any]]:
    items, depth, current = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch.isspace() and depth == 0:
            if current:
                items.append(current)
            current = ""
        else:
            current += ch
    if current:
        items.append(current)
    sizes: dict[str, int] = {}
    values: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"`{item}` is not NAME=VALUE")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raise ValueError(f"`{raw}` is not a literal") from None
        if name in dims:
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"the size of {name} must be a positive integer")
            sizes[name] = value
        else:
            values[name] = value
    return sizes, values
