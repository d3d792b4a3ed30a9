"""The ``# stile:`` lines above a host wrapper: targets with specs, cases, assumptions.

    # stile: y = softmax[N](x[M N])      TARGET = SPEC (TARGET: a parameter, return, return[i])
    # stile: case M=7 N=100              one configuration: dim sizes, parameter values
    # stile: assume x.is_contiguous()    a precondition the caller guarantees

A trailing ``# ...`` comment on such a line is not part of it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import libcst as cst

from ...core.diagnostics import Span

_LINE = re.compile(r"^(\s*)#\s*stile:\s?(.*)$")
_TARGET = re.compile(r"^(return\s*\[\s*\d+\s*\]|return|[A-Za-z_]\w*)\s*=(?!=)\s*(.*)$")
_DECLARED = re.compile(r"\b([A-Za-z_]\w*)\s*\[\s*([A-Za-z_][\w\s]*)\]")


@dataclass(frozen=True)
class Target:
    name: str  # a parameter, "return" or "return[i]"
    spec: str
    span: Span  # the whole line's text after `# stile:`
    spec_span: Span


@dataclass(frozen=True)
class Case:
    values: tuple[tuple[str, object], ...]
    span: Span

    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.values)


@dataclass(frozen=True)
class Assume:
    text: str
    span: Span


@dataclass
class Annotation:
    """Everything written above one wrapper."""

    wrapper: cst.FunctionDef
    targets: list[Target] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    assumes: list[Assume] = field(default_factory=list)
    errors: list[tuple[Span, str]] = field(default_factory=list)


def is_annotation(line: str) -> bool:
    match = _LINE.match(line)
    return bool(match) and not match.group(2).lstrip().startswith("ignore")


def _strip_comment(text: str) -> str:
    cut = text.find("#")
    return (text if cut < 0 else text[:cut]).rstrip()


def read(lines: list[str], wrapper: cst.FunctionDef, first_line: int) -> Annotation:
    """The annotation block directly above line ``first_line`` (1-based: the first
    decorator, or the ``def``)."""
    ann = Annotation(wrapper)
    number = first_line - 1
    found: list[tuple[int, str, int]] = []
    while number >= 1:
        line = lines[number - 1]
        match = _LINE.match(line)
        if match and is_annotation(line):
            found.append((number, match.group(2), match.start(2) + 1))
        elif not line.strip().startswith("#"):
            break
        number -= 1
    for number, raw, column in reversed(found):
        text = _strip_comment(raw)
        span = Span(number, column, number, column + len(text))
        if text.startswith("case"):
            _read_case(ann, text[4:], span)
        elif text.startswith("assume"):
            ann.assumes.append(Assume(text[6:].strip(), span))
        else:
            match = _TARGET.match(text)
            if match is None:
                ann.errors.append(
                    (
                        span,
                        f"cannot read `{text}`: expected TARGET = SPEC, "
                        "`case NAME=VALUE ...` or `assume EXPR`",
                    )
                )
                continue
            name = re.sub(r"\s+", "", match.group(1))
            start = column + match.start(2)
            ann.targets.append(
                Target(
                    name,
                    match.group(2),
                    span,
                    Span(number, start, number, start + len(match.group(2))),
                )
            )
    return ann


def _read_case(ann: Annotation, text: str, span: Span) -> None:
    values: list[tuple[str, object]] = []
    for item in re.findall(r"(\w+)\s*=\s*(\([^)]*\)|\[[^\]]*\]|\S+)", text):
        name, raw = item
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            ann.errors.append((span, f"cannot read the value `{raw}` of {name}"))
            return
        values.append((name, value))
    if not values:
        ann.errors.append((span, "a case needs NAME=VALUE items"))
        return
    ann.cases.append(Case(tuple(values), span))


def declared_inputs(spec: str) -> list[tuple[str, tuple[str, ...]]]:
    """``x[M N]`` declarations in a spec (names that are wrapper parameters are inputs)."""
    return [(m.group(1), tuple(m.group(2).split())) for m in _DECLARED.finditer(spec)]
