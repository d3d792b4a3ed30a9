"""``# stile:`` annotations: the spec, cases and assumptions of a kernel's host wrapper.

Comment lines directly above a top-level ``def`` (or above its decorators;
other comment lines may sit between them, a blank line ends the block)::

    # stile: y = softmax[N](x[M N])      an output: a parameter, `return` or `return[i]`
    # stile: case M=7 N=100              one configuration: dim sizes, parameter values
    # stile: assume x.is_contiguous()    a precondition the caller guarantees
    # stile: input w[N]                  an array no spec names, with its dims
    # stile: dtype x=float16             a tensor's element type (default float32)

In a spec, ``x[M N]`` names the parameter ``x`` and declares its dims in shape
order; later uses (in any line of the same annotation) may write ``x`` alone.
A parameter that never gets dims is a scalar input, symbolic unless a case
gives it a value. Dims no case line sizes are searched (:mod:`.sizes`).

A malformed line is an STL023 diagnostic at its own column; spec errors keep
their codes (STL020, STL021, STL022). Front ends call :func:`find_annotations`
and :func:`configurations`; the checker reports the diagnostics of files that
no front end reads (:func:`annotation_diagnostics`).
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..core.diagnostics import Diagnostic, Span
from ..core.scope import Scope
from ..ir.specs import InputInfo, Spec
from ..ir.terms import Binary, Load, Reduce, Select, Term, Unary, Where, const, select_parts
from .parser import KEYWORDS, NAMING, SpecError, parse_spec, spec_tokens
from .sizes import DimCondition, block_literals, dim_condition, search

__all__ = [
    "BAD_ANNOTATION",
    "Annotation",
    "Annotations",
    "Assumption",
    "Case",
    "Configuration",
    "OutputLine",
    "Resolved",
    "Target",
    "TargetSpec",
    "annotation_diagnostics",
    "configurations",
    "configure",
    "searched_cases",
    "find_annotations",
    "is_annotated",
]

BAD_ANNOTATION = "STL023"

_DIRECTIVE = re.compile(r"#\s*stile:\s*")
_SUPPRESSION = re.compile(r"ignore(?![\w-])")
_TARGET = re.compile(
    r"(?:(?P<ret>return)\s*(?:\[\s*(?P<index>[^\]]*?)\s*\])?|(?P<name>[A-Za-z_]\w*))\s*=(?!=)"
)
_NAME = re.compile(r"[A-Za-z_]\w*")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Target:
    """What an output line specifies: parameter ``name`` (written in place), the
    return value (``name == "return"``), or item ``index`` of a returned tuple."""

    name: str
    index: int | None
    span: Span

    @property
    def is_return(self) -> bool:
        return self.name == "return"

    def __str__(self) -> str:
        return f"return[{self.index}]" if self.index is not None else self.name


@dataclass(frozen=True)
class OutputLine:
    """``# stile: TARGET = SPEC``: the spec text and where it is in the source."""

    target: Target
    text: str
    span: Span  # the spec text (one line)

    def span_of(self, start: int, end: int) -> Span:
        """The source span of ``text[start:end]``."""
        line, column = self.span.line, self.span.column
        return Span(line, column + start, line, column + max(end, start + 1))


@dataclass(frozen=True)
class Case:
    """One configuration: dim sizes and parameter values, in written order.

    ``span`` is the ``case`` line, or None when there is no case line.
    """

    dims: tuple[tuple[str, int], ...]
    values: tuple[tuple[str, Any], ...] = ()
    span: Span | None = None
    chosen: tuple[str, ...] = ()  # dims whose sizes were searched (no case line gives them)
    # every size searched for each chosen dim (this case is one of them)
    searched: tuple[tuple[str, tuple[int, ...]], ...] = ()
    annotation: int = 0  # the first line of the annotation it belongs to (0: unknown)

    def __str__(self) -> str:
        items = [f"{n}={v}" for n, v in self.dims] + [f"{n}={v!r}" for n, v in self.values]
        return " ".join(items)

    def scope(self, config: str = "") -> Scope:
        """What a verdict reached in this case covers (``config``: the autotune configs)."""
        return Scope(
            "sampled" if self.chosen else "case",
            self.dims,
            tuple((n, repr(v)) for n, v in self.values),
            self.chosen,
            config,
            self.searched,
            annotation=self.annotation,
        )


@dataclass(frozen=True)
class Assumption:
    """``# stile: assume EXPR``: a precondition for the front end to evaluate."""

    text: str
    expression: cst.BaseExpression
    span: Span
    # a condition on dims only (`M % 32 == 0`): it filters the sizes, the front end skips it
    condition: DimCondition | None = None


@dataclass(frozen=True)
class Annotation:
    """The ``# stile:`` lines of one wrapper function, parsed."""

    function: cst.FunctionDef
    name: str
    params: tuple[str, ...]
    outputs: tuple[OutputLine, ...]
    tensors: tuple[InputInfo, ...]  # parameters declared with dims (shape order)
    scalars: tuple[str, ...]  # parameters named without dims
    dims: tuple[str, ...]
    cases: tuple[Case, ...]  # as written; none: every dim is searched
    assumptions: tuple[Assumption, ...]
    span: Span  # from the first annotation line to the last
    dtypes: tuple[tuple[str, str], ...] = ()  # `dtype NAME=TYPE`: element types of tensors

    @property
    def inputs(self) -> tuple[InputInfo, ...]:
        return self.tensors + tuple(InputInfo(s, ()) for s in self.scalars)

    @property
    def conditions(self) -> tuple[DimCondition, ...]:
        return tuple(a.condition for a in self.assumptions if a.condition is not None)


@dataclass(frozen=True)
class Annotations:
    """Every annotation of a file, and the diagnostics of lines that did not parse."""

    annotations: tuple[Annotation, ...]
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class TargetSpec:
    """One output's spec for one configuration."""

    target: Target
    spec: Spec
    text: str
    span: Span


@dataclass(frozen=True)
class Configuration:
    """An annotation for one case: what a front end checks.

    ``inputs`` are the declared tensors and the scalars without a value
    (symbolic); scalars the case gives a number are constants in the specs.
    """

    annotation: Annotation
    case: Case
    dims: tuple[tuple[str, int], ...]
    values: tuple[tuple[str, Any], ...]
    inputs: tuple[InputInfo, ...]
    specs: tuple[TargetSpec, ...]

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self.dims)

    @property
    def parameter_values(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass(frozen=True)
class Resolved:
    """The configurations of an annotation, and the errors of those that failed."""

    configurations: tuple[Configuration, ...]
    diagnostics: tuple[Diagnostic, ...]


class AnnotationError(Exception):
    """One malformed annotation line; ``diagnostic`` says where and why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


# --------------------------------------------------------------------------- comments


@dataclass(frozen=True)
class _Line:
    """A ``# stile:`` comment: ``body`` starts at 0-based ``column`` of ``line``."""

    line: int
    column: int
    body: str


class _Problem(Exception):
    """An error at ``body[start:end]`` of the line being parsed."""

    def __init__(
        self, message: str, start: int, end: int, help: str | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.message, self.start, self.end, self.help = message, start, end, help
        self.code = code or BAD_ANNOTATION


def _comments(text: str) -> Iterator[tokenize.TokenInfo]:
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                yield token
    except (tokenize.TokenError, SyntaxError, ValueError):
        return


def _directives(text: str) -> list[_Line]:
    """Every ``# stile:`` comment that is not a suppression (``# stile: ignore``)."""
    found = []
    for token in _comments(text):
        match = _DIRECTIVE.match(token.string)
        if match is None:
            continue
        body = _without_comment(token.string[match.end() :]).rstrip()
        if _SUPPRESSION.match(body):
            continue
        line, column = token.start
        found.append(_Line(line, column + match.end(), body))
    return found


def _without_comment(body: str) -> str:
    """``body`` up to a `` #`` outside quotes: the rest of the line is a comment."""
    quote = ""
    for i, ch in enumerate(body):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or body[i - 1].isspace()):
            return body[:i]
    return body


def is_annotated(module: cst.Module | str) -> bool:
    """Whether the file has a ``# stile:`` line other than a suppression."""
    text = module if isinstance(module, str) else module.code
    return "stile:" in text and bool(_directives(text))


# --------------------------------------------------------------------------- finding


def find_annotations(module: cst.Module | str, path: str = "<string>") -> Annotations:
    """The annotations of every top-level function, and STL020-023 diagnostics."""
    if isinstance(module, str):
        module = cst.parse_module(module)
    text = module.code
    lines = _directives(text)
    if not lines:
        return Annotations((), ())
    comment_lines = {t.start[0] for t in _comments(text) if _own_line(text, t)}
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    by_line = {line.line: line for line in lines}
    used: set[int] = set()
    annotations: list[Annotation] = []
    diagnostics: list[Diagnostic] = []
    for statement in _functions(module):
        block = _block(statement, positions, comment_lines)
        mine = [by_line[n] for n in block if n in by_line]
        if not mine:
            continue
        used.update(line.line for line in mine)
        annotation = _parse_block(statement, mine, path, diagnostics)
        if annotation is not None:
            annotations.append(annotation)
    for line in lines:
        if line.line not in used:
            diagnostics.append(
                _diagnostic(
                    path,
                    line,
                    _Problem(
                        "a `# stile:` annotation must be directly above a top-level function",
                        0,
                        len(line.body),
                        "put it on the lines just above the wrapper's `def` (or its "
                        "decorators), with no blank line between",
                    ),
                )
            )
    return Annotations(tuple(annotations), tuple(sorted(diagnostics, key=lambda d: d.sort_key)))


def _functions(module: cst.Module) -> list[cst.FunctionDef]:
    """Top-level functions and the methods of top-level classes (``forward`` of a
    ``torch.autograd.Function``), in the order written."""
    out: list[cst.FunctionDef] = []
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            out.append(statement)
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            out.extend(s for s in statement.body.body if isinstance(s, cst.FunctionDef))
    return out


def _own_line(text: str, token: tokenize.TokenInfo) -> bool:
    return not token.line[: token.start[1]].strip()


def _block(
    function: cst.FunctionDef, positions: Mapping[cst.CSTNode, Any], comment_lines: set[int]
) -> list[int]:
    """The comment lines directly above the function (and between its decorators)."""
    def_line = positions[function].start.line
    first = positions[function.decorators[0]].start.line if function.decorators else def_line
    block = [n for n in range(first, def_line) if n in comment_lines]
    above = first - 1
    while above in comment_lines:
        block.append(above)
        above -= 1
    return sorted(block)


# --------------------------------------------------------------------------- parsing


@dataclass
class _Draft:
    """What the lines of one block say, before names are resolved."""

    outputs: list[tuple[OutputLine, _Line]]
    cases: list[tuple[list[tuple[str, Any, int, int]], _Line]]
    assumptions: list[Assumption]
    inputs: list[tuple[OutputLine, _Line]]  # `input NAME[DIMS]`: text and span of NAME[DIMS]
    dtypes: dict[str, str]  # `dtype NAME=TYPE`


def _parse_block(
    function: cst.FunctionDef, lines: list[_Line], path: str, diagnostics: list[Diagnostic]
) -> Annotation | None:
    params = _parameters(function)
    draft = _Draft([], [], [], [], {})
    reported = len(diagnostics)
    for line in lines:
        try:
            _parse_line(line, params, draft, path)
        except _Problem as problem:
            diagnostics.append(_diagnostic(path, line, problem))
    span = Span(lines[0].line, lines[0].column + 1, lines[-1].line, lines[-1].column + 1)
    if not draft.outputs:
        if len(diagnostics) == reported:  # else a bad target line may be the output
            diagnostics.append(
                _diagnostic(
                    path,
                    lines[0],
                    _Problem(
                        f"the annotation of `{function.name.value}` has no output line",
                        0,
                        len(lines[0].body),
                        "add `# stile: TARGET = SPEC` with TARGET a parameter, "
                        "`return` or `return[i]`",
                    ),
                )
            )
        return None
    names = _Names(params)
    for declaration, line in draft.inputs:
        try:
            names.declare(declaration)
        except _Problem as problem:
            diagnostics.append(_spec_diagnostic(path, declaration, line, problem))
    declared = []
    for output, line in draft.outputs:
        try:
            names.declare(output)
            declared.append((output, line))
        except _Problem as problem:
            diagnostics.append(_spec_diagnostic(path, output, line, problem))
    case_dims = {name for items, _ in draft.cases for name, *_ in items if name not in params}
    for output, line in declared:
        try:
            names.check(output, case_dims)
        except _Problem as problem:
            diagnostics.append(_spec_diagnostic(path, output, line, problem))
    if len(diagnostics) > reported:
        return None  # the cases would only repeat what the specs got wrong
    cases = []
    for items, line in draft.cases:
        try:
            cases.append(_case(items, line, names, params))
        except _Problem as problem:
            diagnostics.append(_diagnostic(path, line, problem))
    if len(diagnostics) > reported:
        return None  # reported; checking a half-understood annotation would only add noise
    return Annotation(
        function=function,
        name=function.name.value,
        params=params,
        outputs=tuple(output for output, _ in draft.outputs),
        tensors=tuple(InputInfo(n, d) for n, d in names.tensors.items()),
        scalars=tuple(names.scalars),
        dims=tuple(names.dims),
        cases=tuple(cases),
        assumptions=tuple(
            replace(a, condition=dim_condition(a.text, names.dims)) for a in draft.assumptions
        ),
        span=span,
        dtypes=tuple(draft.dtypes.items()),
    )


def _parameters(function: cst.FunctionDef) -> tuple[str, ...]:
    p = function.params
    every = [*p.posonly_params, *p.params, *p.kwonly_params]
    for star in (p.star_arg, p.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return tuple(param.name.value for param in every)


def _parse_line(line: _Line, params: tuple[str, ...], draft: _Draft, path: str) -> None:
    body = line.body
    keyword = _NAME.match(body)
    rest_at = keyword.end() if keyword else 0
    is_target = re.match(r"\s*(=(?!=)|\[)", body[rest_at:]) is not None
    if keyword and keyword.group() == "case" and not is_target:
        draft.cases.append((_case_items(body, rest_at), line))
        return
    if keyword and keyword.group() == "assume" and not is_target:
        draft.assumptions.append(_assumption(body, rest_at, line))
        return
    if keyword and keyword.group() == "input" and not is_target:
        draft.inputs.append((_input(body, rest_at, params, draft, line), line))
        return
    if keyword and keyword.group() == "dtype" and not is_target:
        _dtypes(body, rest_at, params, draft)
        return
    match = _TARGET.match(body)
    if match is None:
        raise _Problem(
            "cannot read this `# stile:` line",
            0,
            max(len(keyword.group()) if keyword else len(body), 1),
            "write `# stile: TARGET = SPEC`, `# stile: case NAME=VALUE ...`, "
            "`# stile: assume EXPR`, `# stile: input NAME[DIMS]` or "
            "`# stile: dtype NAME=TYPE`",
        )
    target = _target(match, params, line)
    for previous, _ in draft.outputs:
        if str(previous.target) == str(target):
            raise _Problem(
                f"`{target}` already has a spec on line {previous.target.span.line}",
                match.start(),
                match.end() - 1,
            )
    start = match.end() + (len(body[match.end() :]) - len(body[match.end() :].lstrip()))
    text = body[start:]
    column = line.column + start + 1
    span = Span(line.line, column, line.line, column + max(len(text), 1))
    draft.outputs.append((OutputLine(target, text, span), line))


# element types a `dtype` line may give (torch's and Triton's names)
DTYPE_NAMES = frozenset(
    "float32 float16 bfloat16 float64 int8 int16 int32 int64 uint8 bool".split()
)
_DTYPE_ITEM = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<type>[A-Za-z_]\w*)")


def _dtypes(body: str, at: int, params: tuple[str, ...], draft: _Draft) -> None:
    """``dtype NAME=TYPE ...``: the element type of each named tensor parameter."""
    help = "write `# stile: dtype NAME=TYPE ...`, as in `# stile: dtype x=float16`"
    pos = at
    found = False
    while pos < len(body) and body[pos:].strip():
        match = _DTYPE_ITEM.match(body, pos)
        if match is None:
            raise _Problem("cannot read this `dtype` line", pos, max(len(body) - pos, 1), help)
        name, kind = match.group("name"), match.group("type")
        if name not in params:
            raise _Problem(
                f"`{name}` is not a parameter of the wrapper",
                match.start("name"),
                match.end("name"),
                _did_you_mean(name, params) or "name one of the wrapper's parameters",
            )
        if kind not in DTYPE_NAMES:
            raise _Problem(
                f"unknown dtype `{kind}`",
                match.start("type"),
                match.end("type"),
                "dtypes: " + ", ".join(sorted(DTYPE_NAMES)),
            )
        if name in draft.dtypes:
            raise _Problem(f"`{name}` has a dtype already", match.start("name"), match.end("name"))
        draft.dtypes[name] = kind
        found = True
        pos = match.end()
    if not found:
        raise _Problem("cannot read this `dtype` line", at, max(len(body) - at, 1), help)


_INPUT = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s*\[(?P<dims>[^\]]*)\]\s*$")


def _input(body: str, at: int, params: tuple[str, ...], draft: _Draft, line: _Line) -> OutputLine:
    """``input NAME[DIMS]``: a wrapper parameter no spec names, with its dims in shape
    order (a plain list of dim names)."""
    match = _INPUT.match(body, at)
    help = "write `# stile: input NAME[DIMS]`, as in `# stile: input w[N]`"
    if match is None:
        raise _Problem("cannot read this `input` line", at, max(len(body) - at, 1), help)
    name, dims = match.group("name"), match.group("dims").split()
    start, end = match.start("name"), match.end("name")
    if name not in params:
        raise _Problem(
            f"`{name}` is not a parameter of the wrapper",
            start,
            end,
            _did_you_mean(name, params) or "name one of the wrapper's parameters",
        )
    bad = next((d for d in dims if not _NAME.fullmatch(d)), None)
    if not dims or bad is not None:
        raise _Problem(
            f"the dims of `{name}` must be dim names, found `{match.group('dims').strip()}`",
            match.start("dims"),
            max(match.end("dims"), match.start("dims") + 1),
            help,
        )
    for earlier, _ in draft.inputs:
        if earlier.text.split("[")[0] == name:
            raise _Problem(f"`{name}` is declared twice", start, end)
    text = body[start:].rstrip()
    column = line.column + start + 1
    span = Span(line.line, column, line.line, column + len(text))
    return OutputLine(Target(name, None, span), text, span)


def _target(match: re.Match[str], params: tuple[str, ...], line: _Line) -> Target:
    start, end = match.start(), match.end() - 1
    while end > start and match.string[end - 1].isspace():
        end -= 1
    span = Span(line.line, line.column + start + 1, line.line, line.column + end + 1)
    if match.group("ret"):
        raw = match.group("index")
        if raw is None:
            return Target("return", None, span)
        if not raw.isdigit():
            where = match.start("index")
            raise _Problem(
                f"`return[{raw}]`: the item of a returned tuple is a non-negative integer",
                where,
                where + max(len(raw), 1),
            )
        return Target("return", int(raw), span)
    name = match.group("name")
    if name not in params:
        raise _Problem(
            f"`{name}` is not a parameter of the function",
            start,
            start + len(name),
            _did_you_mean(name, params) or "the target is a parameter, `return` or `return[i]`",
        )
    return Target(name, None, span)


def _case_items(body: str, at: int) -> list[tuple[str, Any, int, int]]:
    """``NAME=VALUE`` items: name, value, and the value's span in ``body``."""
    items: list[tuple[str, Any, int, int]] = []
    seen: set[str] = set()
    i = at
    while True:
        while i < len(body) and body[i].isspace():
            i += 1
        if i >= len(body):
            break
        name = _NAME.match(body, i)
        if name is None or body[name.end() : name.end() + 1] != "=":
            end = name.end() if name else i + 1
            raise _Problem("expected `NAME=VALUE`", i, end, "e.g. `# stile: case M=7 N=100`")
        if name.group() in seen:
            raise _Problem(f"`{name.group()}` is given twice", i, name.end())
        seen.add(name.group())
        start = name.end() + 1
        end = _value_end(body, start)
        raw = body[start:end]
        try:
            value = ast.literal_eval(raw) if raw else _missing()
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise _Problem(
                f"`{raw}` is not a Python literal" if raw else f"`{name.group()}=` has no value",
                start if raw else i,
                end if raw else start,
                "values are literals: numbers, strings, True/False, tuples like `(32, 32)`",
            ) from None
        if raw.endswith(",") and not raw.startswith(("(", "[", "{", "'", '"')):
            raise _Problem(
                "the items of a case line are separated by spaces, not commas",
                end - 1,
                end,
                "write `# stile: case M=7 N=100`: NAME=VALUE items, separated by spaces",
            )
        items.append((name.group(), value, start, end))
        i = end
    if not items:
        raise _Problem("a case gives no values", 0, at, "e.g. `# stile: case M=7 N=100`")
    return items


def _missing() -> Any:
    raise ValueError("no value")


def _value_end(body: str, i: int) -> int:
    """The end of a value: whitespace outside brackets and quotes ends it."""
    depth, quote = 0, ""
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch.isspace() and depth <= 0:
            break
        i += 1
    return i


def _assumption(body: str, at: int, line: _Line) -> Assumption:
    start = at + (len(body[at:]) - len(body[at:].lstrip()))
    text = body[start:]
    if not text:
        raise _Problem(
            "`assume` needs an expression", 0, at, "e.g. `# stile: assume x.is_contiguous()`"
        )
    try:
        expression = cst.parse_expression(text)
    except cst.ParserSyntaxError as error:
        # libcst puts the position in the message ("error at 1:3: expected NAME")
        where = re.search(r"error at 1:(\d+): ", error.message)
        offset = min(int(where.group(1)) - 1, len(text)) if where else 0
        reason = error.message[where.end() :] if where else error.message
        raise _Problem(
            f"cannot parse the assumption: {reason}", start + offset, start + offset + 1
        ) from None
    column = line.column + start + 1
    span = Span(line.line, column, line.line, column + len(text))
    return Assumption(text, expression, span)


# --------------------------------------------------------------------------- names


class _Names:
    """Declared tensors (``x[M N]``), scalars and dims of one annotation."""

    def __init__(self, params: tuple[str, ...]) -> None:
        self.params = params
        self.tensors: dict[str, tuple[str, ...]] = {}
        self.declared_at: dict[str, int] = {}
        self.scalars: list[str] = []
        self.dims: list[str] = []

    def declare(self, output: OutputLine) -> None:
        """Record every ``param[D ...]`` of the spec (first declaration wins)."""
        tokens = spec_tokens(output.text)
        for i, (kind, text, start, _) in enumerate(tokens):
            if kind != "ident" or text not in self.params or tokens[i + 1][1] != "[":
                continue
            dims, end = _bracket_dims(tokens, i + 1)
            known = self.tensors.get(text)
            if known is None:
                self.tensors[text] = dims
                for d in dims:
                    if d not in self.dims:
                        self.dims.append(d)
            elif set(known) != set(dims):
                raise _Problem(
                    f"`{text}` has dims ({' '.join(known)}) in this annotation, "
                    f"not ({' '.join(dims)})",
                    start,
                    end,
                    f"write `{text}[{' '.join(known)}]` or just `{text}`",
                    NAMING,
                )

    def check(self, output: OutputLine, case_dims: set[str]) -> None:
        """Every name is a keyword, a parameter or a dim; bare parameters are scalars."""
        tokens = spec_tokens(output.text)
        _no_numpy_matmul(tokens)
        for i, (kind, text, start, end) in enumerate(tokens):
            # a name written like an input (`xx[M N]`) first: its dims are unknown too
            known = text in KEYWORDS or text in self.params or text in self.dims
            if kind == "ident" and tokens[i + 1][1] == "[" and not known:
                raise self.unknown(text, start, end)
        for i, (kind, text, start, end) in enumerate(tokens):
            if kind != "ident" or text in KEYWORDS or text in self.dims:
                continue
            if text in self.params:
                if text not in self.tensors and text not in self.scalars:
                    if tokens[i + 1][1] != "[":
                        self.scalars.append(text)
                continue
            if text in case_dims:
                self.dims.append(text)
                continue
            raise self.unknown(text, start, end)

    def unknown(self, name: str, start: int, end: int) -> _Problem:
        return _Problem(
            f"`{name}` is neither a parameter nor a dim",
            start,
            end,
            _did_you_mean(name, (*self.params, *self.dims))
            or "declare a dim with a parameter, as in `x[M N]`",
            NAMING,
        )


def _bracket_dims(
    tokens: list[tuple[str, str, int, int]], opener: int
) -> tuple[tuple[str, ...], int]:
    """The dim names directly inside ``[...]`` (overrides like ``N[0:4]`` skipped)."""
    dims: list[str] = []
    depth = 0
    for kind, text, _, end in tokens[opener:]:
        if text == "[":
            depth += 1
        elif text == "]":
            depth -= 1
            if depth == 0:
                return tuple(dims), end
        elif kind == "ident" and depth == 1:
            dims.append(text)
        elif kind == "eof":
            return tuple(dims), end
    return tuple(dims), tokens[-1][3]


def _no_numpy_matmul(tokens: list[tuple[str, str, int, int]]) -> None:
    """``x @ W.T`` is NumPy, not the spec language: say how a spec writes it."""
    for i, (kind, text, start, end) in enumerate(tokens):
        transposed = text == "." and tokens[i + 1][1] == "T"
        if kind == "bad" and (text == "@" or transposed):
            what = "`.T` (a transpose)" if transposed else "`@` (a matrix product)"
            raise _Problem(
                f"{what} is not spec syntax",
                start,
                tokens[i + 1][3] if transposed else end,
                "a spec names each dim, so a transpose is only the order of the dims: "
                "`x @ W.T` with W of shape (N, K) is `(x[M K], W[N K] -> M N)`",
                NAMING,
            )


def _did_you_mean(name: str, candidates: tuple[str, ...]) -> str | None:
    # a name in the wrong case first (`w` for `W`): difflib rates it as no match
    folded = [c for c in candidates if c.lower() == name.lower() and c != name]
    close = folded or difflib.get_close_matches(name, list(candidates), n=1)
    return f"did you mean `{close[0]}`?" if close else None


# --------------------------------------------------------------------------- cases


def _case(
    items: list[tuple[str, Any, int, int]], line: _Line, names: _Names, params: tuple[str, ...]
) -> Case:
    dims: list[tuple[str, int]] = []
    values: list[tuple[str, Any]] = []
    for name, value, start, end in items:
        if name in names.dims:
            if type(value) is not int or value <= 0:
                raise _Problem(
                    f"the size of dim `{name}` must be a positive integer, not `{value!r}`",
                    start,
                    end,
                )
            dims.append((name, value))
        elif name in names.tensors:
            raise _Problem(
                f"`{name}` is a tensor in the spec; its shape comes from its dims",
                start - len(name) - 1,
                end,
                f"give the sizes of {', '.join(names.tensors[name]) or 'its dims'} instead",
            )
        elif name in params:
            if name in names.scalars and not _is_number(value):
                raise _Problem(
                    f"`{name}` is a scalar in the spec; its value must be a number",
                    start,
                    end,
                )
            values.append((name, value))
        else:
            raise _Problem(
                f"`{name}` is neither a dim nor a parameter",
                start - len(name) - 1,
                start - 1,
                _did_you_mean(name, (*names.dims, *params)),
            )
    span = Span(line.line, line.column + 1, line.line, line.column + len(line.body) + 1)
    return Case(tuple(dims), tuple(values), span)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def searched_cases(
    dims: tuple[str, ...] | list[str],
    blocks: tuple[int, ...] = (),
    conditions: tuple[DimCondition, ...] = (),
    fixed: Mapping[str, int] | None = None,
) -> tuple[Case, ...]:
    """Cases for dims no case line gives, the same every run (see :mod:`.sizes`),
    smallest first; each knows every size searched for its dims."""
    dims = tuple(dims)
    if not dims:
        return (Case(()),)
    found = search(dims, blocks, conditions, fixed)
    searched = tuple((d, tuple(sorted({dict(c)[d] for c in found}))) for d in dims)
    return tuple(Case(c, chosen=dims, searched=searched) for c in found)


# --------------------------------------------------------------------------- configurations


def configurations(
    annotation: Annotation, path: str = "<string>", blocks: tuple[int, ...] = ()
) -> Resolved:
    """Every configuration to check: each case line (the dims it leaves out are
    searched, so it may stand for several), or searched sizes for every dim.
    ``blocks``: the block sizes the file uses (:func:`.sizes.block_literals`).
    A case line whose sizes an ``assume`` on dims excludes is not checked (STL045)."""
    cases: list[Case] = []
    written = annotation.cases or (Case((), (), None),)
    conditions = annotation.conditions
    excluded: list[Diagnostic] = []
    for case in written:
        given = dict(case.dims)
        missing = [d for d in annotation.dims if d not in given]
        fills = searched_cases(missing, blocks, conditions, given) if missing else (Case(()),)
        failing = [c for c in conditions if c.names <= set(given) and not c.holds(given)]
        if failing and case.span is not None:
            excluded.append(_excluded(path, case, failing[0], annotation))
            continue
        for fill in fills:
            dims = tuple((d, given.get(d) or dict(fill.dims)[d]) for d in annotation.dims)
            extra = tuple((d, s) for d, s in case.dims if d not in annotation.dims)
            full = Case(
                dims + extra,
                case.values,
                case.span,
                tuple(missing),
                fill.searched,
                annotation.span.line,
            )
            if full not in cases:
                cases.append(full)
    done: list[Configuration] = []
    diagnostics: dict[tuple, Diagnostic] = {}
    for case in cases:
        try:
            done.append(configure(annotation, case, path))
        except AnnotationError as error:
            d = error.diagnostic
            diagnostics.setdefault((d.span, d.code, d.message), d)
    for d in excluded:
        diagnostics.setdefault((d.span, d.code, d.message), d)
    if excluded and not done:
        d = _nothing_assumed(path, annotation, excluded)
        diagnostics.setdefault((d.span, d.code, d.message), d)
    return Resolved(tuple(done), tuple(diagnostics.values()))


def _excluded(path: str, case: Case, condition: DimCondition, annotation: Annotation) -> Diagnostic:
    assumption = next(a for a in annotation.assumptions if a.condition is condition)
    assert case.span is not None
    return Diagnostic(
        path,
        case.span,
        "STL045",
        f"case {case} violates the assumption `{condition.text}` "
        f"(line {assumption.span.line}); the case is not checked",
        severity="warning",
        help="drop the case, or change its sizes to ones the assumption admits",
        related=((assumption.span, "the assumption"),),
    )


def _nothing_assumed(path: str, annotation: Annotation, excluded: list[Diagnostic]) -> Diagnostic:
    """STL024: every case line violates an ``assume``, so nothing is checked."""
    first = annotation.span
    return Diagnostic(
        path,
        Span(first.line, first.column, first.line, first.column + 1),
        "STL024",
        f"nothing is checked: the assumptions of `{annotation.name}` exclude every case",
        notes=tuple(d.message for d in excluded),
        help="add a `# stile: case ...` line with sizes the assumptions admit",
    )


def configure(annotation: Annotation, case: Case, path: str = "<string>") -> Configuration:
    """The specs of every output for ``case`` (which must size every dim)."""
    sizes = dict(case.dims)
    missing = [d for d in annotation.dims if d not in sizes]
    if missing:
        raise ValueError(f"case {case} does not size {', '.join(missing)}")
    values = dict(case.values)
    constants = {s: values[s] for s in annotation.scalars if s in values}
    inputs = tuple(i for i in annotation.inputs if i.name not in constants)
    specs = []
    for output in annotation.outputs:
        try:
            spec = parse_spec(output.text, annotation.inputs, sizes, bare_names=True)
        except SpecError as error:
            raise AnnotationError(_spec_error(path, output, error, case)) from None
        term = _with_constants(spec.term, constants) if constants else spec.term
        specs.append(TargetSpec(output.target, Spec(term, spec.out_dims), output.text, output.span))
    return Configuration(annotation, case, case.dims, case.values, inputs, tuple(specs))


def _with_constants(term: Term, constants: Mapping[str, Any]) -> Term:
    """``term`` with the scalar inputs a case gives replaced by their values."""
    if isinstance(term, Load) and not term.dims and term.tensor in constants:
        return const(constants[term.tensor])
    if isinstance(term, Unary):
        return Unary(term.fn, _with_constants(term.arg, constants))
    if isinstance(term, Binary):
        left, right = _with_constants(term.left, constants), _with_constants(term.right, constants)
        return Binary(term.op, left, right)
    if isinstance(term, Reduce):
        body = _with_constants(term.body, constants)
        return Reduce(term.op, term.dim, term.lo, term.hi, body)
    if isinstance(term, Where):
        then = _with_constants(term.then, constants)
        return Where(term.cond, then, _with_constants(term.other, constants))
    if isinstance(term, Select):
        return Select(term.op, *(_with_constants(t, constants) for t in select_parts(term)))
    return term


def annotation_diagnostics(module: cst.Module | str, path: str = "<string>") -> list[Diagnostic]:
    """Every annotation error of a file: malformed lines, and specs that fail in a case."""
    if isinstance(module, str):
        module = cst.parse_module(module)
    found = find_annotations(module, path)
    out = {(d.span, d.code, d.message): d for d in found.diagnostics}
    blocks = block_literals(module)
    for annotation in found.annotations:
        for d in configurations(annotation, path, blocks).diagnostics:
            out.setdefault((d.span, d.code, d.message), d)
    return sorted(out.values(), key=lambda d: d.sort_key)


# --------------------------------------------------------------------------- diagnostics


def _diagnostic(path: str, line: _Line, problem: _Problem) -> Diagnostic:
    start = line.column + problem.start + 1
    end = line.column + max(problem.end, problem.start + 1) + 1
    return Diagnostic(
        path,
        Span(line.line, start, line.line, end),
        problem.code,
        problem.message,
        help=problem.help,
    )


def _spec_diagnostic(path: str, output: OutputLine, line: _Line, problem: _Problem) -> Diagnostic:
    span = output.span_of(problem.start, problem.end)
    return Diagnostic(path, span, problem.code, problem.message, help=problem.help)


def _spec_error(path: str, output: OutputLine, error: SpecError, case: Case) -> Diagnostic:
    notes = () if case.span is None and not case.dims else (f"in the case {case}",)
    return Diagnostic(
        path,
        output.span_of(error.start, error.end),
        error.code,
        error.message,
        notes=notes,
        help=error.help,
    )
