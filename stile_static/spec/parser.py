"""Parse result specifications such as ``6 * (M N, N K -> M K)`` into terms.

The language (see DESIGN.md, "The specification language"):

    spec     := expr EOF
    expr     := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-" unary | primary
    primary  := NUMBER | "inf"
              | "(" expr ("," expr)* ["->" item*] ")"      grouping or einsum
              | FUNCTION "(" expr ")"
              | ("maximum" | "minimum") "(" expr "," expr ")"
              | "clamp" "(" expr "," expr "," expr ")"
              | REDUCTION "[" item "]" "(" expr ")"
              | "where" "(" cond "," expr "," expr ")"
              | INPUT "[" item* "]"                           named input
              | SCALAR                                        an input with no dims
              | item+                                         bare dim list
    item     := DIM ["[" [INT] ":" [INT] "]"]                 dim, optional override
    cond     := compare (("and" | "&") compare)*
    compare  := affine ("<" | "<=" | ">" | ">=" | "==") affine
              | expr ("<" | "<=" | ">" | ">=" | "==" | "!=") expr   values (one)
    affine   := ["-"] aterm (("+" | "-") aterm)*
    aterm    := INT | DIM | INT "*" DIM                      integers and dims only
    FUNCTION := exp | exp2 | log | log2 | sin | cos | sqrt | rsqrt | sigmoid
              | abs | tanh | erf | relu | gelu | gelu_tanh
    REDUCTION:= sum | max | min | mean | var | softmax

``mean[D](e)`` is ``sum[D](e)`` divided by the size of D's range (the
override's, when D has one); ``var[D](e)`` is the population variance
``mean[D]((e - mean[D](e)) * (e - mean[D](e)))``. ``where`` is ``a`` where
every comparison holds, else ``b``: comparisons of indices (dims and integers,
``Nk <= Nq``), or one comparison of values (``where(x[M N] > 0, x, 0.01 * x)``,
leaky ReLU); ``-inf`` and ``inf`` are constants.

Every parsed piece carries its dims (the names it is a function of, in
order) and its character span, so errors point at the exact tokens.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from ..ir import activations
from ..ir import symbolic as sym
from ..ir.specs import InputInfo, Spec
from ..ir.terms import (
    NEG_INF,
    POS_INF,
    Binary,
    Const,
    Constraint,
    Load,
    Reduce,
    Select,
    Term,
    Unary,
    Where,
    const,
    constraint,
    select,
    select_parts,
    where,
)

__all__ = ["KEYWORDS", "InputInfo", "Spec", "SpecError", "parse_spec", "spec_tokens"]

SYNTAX = "STL020"
AMBIGUOUS = "STL021"
NAMING = "STL022"

_FUNCTIONS = (
    "exp",
    "exp2",
    "log",
    "log2",
    "sin",
    "cos",
    "sqrt",
    "rsqrt",
    "sigmoid",
    "abs",
    "tanh",
    "erf",
    *activations.DERIVED,
)
_BINARY_FUNCTIONS = ("maximum", "minimum")
_TERNARY_FUNCTIONS = ("clamp",)
_CALLS = _FUNCTIONS + _BINARY_FUNCTIONS + _TERNARY_FUNCTIONS + ("where",)
_REDUCTIONS = ("sum", "max", "min", "mean", "var", "softmax")
_PUNCTUATION = "()[],:+-*/&"
_COMPARISONS = ("<=", ">=", "==", "<", ">")  # `!=` compares values only
# Names with a meaning of their own in a spec (never an input or a dim there).
KEYWORDS = frozenset(_CALLS + _REDUCTIONS + ("and", "inf"))


class SpecError(Exception):
    """A spec that cannot be parsed or resolved; ``start``/``end`` index the spec text."""

    def __init__(
        self, code: str, message: str, start: int, end: int, help: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.start = start
        self.end = end
        self.help = help

    def __repr__(self) -> str:
        return f"SpecError({self.code!r}, {self.message!r}, {self.start}, {self.end})"


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "ident", "op", "bad" (a stray character) or "eof"
    text: str
    start: int
    end: int

    def describe(self) -> str:
        if self.kind == "eof":
            return "end of spec"
        if self.kind == "bad" and self.text[0] in "0123456789.":
            return f"malformed number `{self.text}`"
        if self.kind == "bad":
            return f"unexpected character `{self.text}`"
        return f"`{self.text}`"


@dataclass(frozen=True)
class _Value:
    """A parsed subexpression: its term, its dims in order, and its span."""

    term: Term
    dims: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class _Item:
    """One dim of a dim list, as written (an override, if any, is already recorded)."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class _Override:
    lo: int
    hi: int
    start: int  # span of the override in the spec; -1 when it came from the caller
    end: int


MAX_NESTING = 100


def _check_nesting(text: str) -> None:
    """Refuse absurd nesting up front, whatever the interpreter's recursion limit."""
    depth = 0
    for offset, char in enumerate(text):
        if char in "([":
            depth += 1
            if depth > MAX_NESTING:
                raise SpecError(SYNTAX, "spec nests too deeply", offset, offset + 1)
        elif char in ")]":
            depth = max(depth - 1, 0)


def parse_spec(
    text: str,
    inputs: Sequence[InputInfo],
    dims: Mapping[str, int],
    overrides: Mapping[str, tuple[int, int]] | None = None,
    *,
    bare_names: bool = False,
) -> Spec:
    """Parse ``text`` into the term it denotes over global coordinates.

    With ``bare_names`` an input's name alone (``x`` for ``x[M N]``) refers to
    it, as in a ``# stile:`` annotation where the input's dims are declared once.
    """
    given = _caller_overrides(text, dims, overrides or {})
    _check_nesting(text)
    parser = _Parser(text, inputs, dims, given, bare_names)
    try:
        value = parser.parse()
    except RecursionError:
        raise SpecError(SYNTAX, "spec nests too deeply", 0, len(text)) from None
    ranges = {d: (o.lo, o.hi) for d, o in parser.overrides.items()}
    return Spec(_apply_ranges(value.term, ranges), value.dims)


def _caller_overrides(
    text: str, dims: Mapping[str, int], overrides: Mapping[str, tuple[int, int]]
) -> dict[str, _Override]:
    # Caller ranges have no place in the text, so their errors span the whole spec.
    result: dict[str, _Override] = {}
    for name, (lo, hi) in overrides.items():
        if name not in dims:
            raise SpecError(NAMING, f"override for unknown dim `{name}`", 0, len(text))
        # The caller checked symbolic bounds (a loop index) itself; a caller's range
        # may be empty (the prefix before a loop's first tile).
        concrete = isinstance(lo, int) and isinstance(hi, int)
        problem = _range_problem(name, lo, hi, dims[name]) if concrete and lo != hi else None
        if concrete and lo == hi and not 0 <= lo <= dims[name]:
            problem = f"range {name}[{lo}:{hi}] is outside {name}'s extent [0:{dims[name]})"
        if problem:
            raise SpecError(NAMING, problem, 0, len(text))
        result[name] = _Override(lo, hi, -1, -1)
    return result


def _range_problem(name: str, lo: int, hi: int, size: int) -> str | None:
    if not 0 <= lo <= hi <= size:
        return f"range {name}[{lo}:{hi}] is outside {name}'s extent [0:{size})"
    if lo == hi:
        return f"range {name}[{lo}:{hi}] is empty"
    return None


def _apply_ranges(term: Term, ranges: Mapping[str, tuple[int, int]]) -> Term:
    """Give every reduction its final range (overrides may appear after their reduction)."""
    if isinstance(term, Unary):
        return replace(term, arg=_apply_ranges(term.arg, ranges))
    if isinstance(term, Binary):
        return replace(
            term, left=_apply_ranges(term.left, ranges), right=_apply_ranges(term.right, ranges)
        )
    if isinstance(term, Reduce):
        lo, hi = ranges.get(term.dim, (term.lo, term.hi))
        if term.body is _ONE:  # the size of a mean's range (a loop index: unroll)
            return const(sym.concrete(sym.sub(hi, lo)))
        return replace(term, lo=lo, hi=hi, body=_apply_ranges(term.body, ranges))
    if isinstance(term, Where):
        return replace(
            term, then=_apply_ranges(term.then, ranges), other=_apply_ranges(term.other, ranges)
        )
    if isinstance(term, Select):
        return Select(term.op, *(_apply_ranges(t, ranges) for t in select_parts(term)))
    return term


# ``mean[D]`` divides by ``sum[D](_ONE)``, which becomes the size of D's final
# range once overrides are known (they may come later in the spec).
_ONE = Const(Fraction(1))


def spec_tokens(text: str) -> list[tuple[str, str, int, int]]:
    """``(kind, text, start, end)`` of each token of a spec; kind is ``num``,
    ``ident``, ``op``, ``bad`` or ``eof`` (last)."""
    return [(t.kind, t.text, t.start, t.end) for t in _tokenize(text)]


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch.isalpha() or ch == "_":
            end = _scan_while(text, i, lambda c: c.isalnum() or c == "_")
            tokens.append(_Token("ident", text[i:end], i, end))
        elif ch.isdigit() or (ch == "." and text[i + 1 : i + 2].isdigit()):
            tokens.append(_scan_number(text, i))
        elif text.startswith("->", i):
            tokens.append(_Token("op", "->", i, i + 2))
        elif any(text.startswith(op, i) for op in _COMPARISONS + ("!=",)):
            op = next(op for op in _COMPARISONS + ("!=",) if text.startswith(op, i))
            tokens.append(_Token("op", op, i, i + len(op)))
        elif ch in _PUNCTUATION:
            tokens.append(_Token("op", ch, i, i + 1))
        else:
            # Kept as a token so that errors are reported in source order.
            tokens.append(_Token("bad", ch, i, i + 1))
        i = tokens[-1].end
    tokens.append(_Token("eof", "", len(text), len(text)))
    return tokens


def _scan_while(text: str, i: int, accept: Callable[[str], bool]) -> int:
    while i < len(text) and accept(text[i]):
        i += 1
    return i


def _scan_number(text: str, start: int) -> _Token:
    end = _scan_while(text, start, str.isdigit)
    if text[end : end + 1] == ".":
        end = _scan_while(text, end + 1, str.isdigit)
    if text[end : end + 1] in ("e", "E"):
        exp = end + 1
        if text[exp : exp + 1] in ("+", "-"):
            exp += 1
        if not text[exp : exp + 1].isdigit():
            # `1e` or `2e+`: a broken exponent, not a number followed by a dim.
            bad_end = _scan_while(text, exp, lambda c: c.isalnum() or c == "_")
            return _Token("bad", text[start:bad_end], start, bad_end)
        end = _scan_while(text, exp, str.isdigit)
    return _Token("num", text[start:end], start, end)


class _Parser:
    """Recursive descent over the token list; records inline overrides as it goes."""

    def __init__(
        self,
        text: str,
        inputs: Sequence[InputInfo],
        dims: Mapping[str, int],
        overrides: dict[str, _Override],
        bare_names: bool = False,
    ) -> None:
        self.bare_names = bare_names
        self.text = text
        self.inputs = {info.name: info for info in inputs}
        self.input_list = tuple(inputs)
        self.dims = dims
        self.overrides = overrides
        self.tokens = _tokenize(text)
        self.pos = 0

    # ---- token helpers -------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def at(self, text: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "op" and token.text == text

    def expect(self, text: str, help: str | None = None) -> _Token:
        if not self.at(text):
            raise self.unexpected(self.peek(), f"`{text}`", help)
        return self.advance()

    def unexpected(self, token: _Token, wanted: str, help: str | None = None) -> SpecError:
        message = f"expected {wanted}, found {token.describe()}"
        return SpecError(SYNTAX, message, token.start, token.end, help)

    # ---- expressions ---------------------------------------------------

    def parse(self) -> _Value:
        value = self.expr()
        token = self.peek()
        if token.kind != "eof":
            raise self.unexpected(token, "an operator or end of spec", _trailing_help(token))
        return value

    def expr(self) -> _Value:
        value = self.product()
        while self.at("+") or self.at("-"):
            op = self.advance().text
            value = _binary(op, value, self.product())
        return value

    def product(self) -> _Value:
        value = self.unary()
        while self.at("*") or self.at("/"):
            op = self.advance().text
            value = _binary(op, value, self.unary())
        return value

    def unary(self) -> _Value:
        if self.at("-"):
            minus = self.advance()
            arg = self.unary()
            term = NEG_INF if arg.term is POS_INF else Unary("neg", arg.term)
            return _Value(term, arg.dims, minus.start, arg.end)
        return self.primary()

    def primary(self) -> _Value:
        token = self.peek()
        if token.kind == "num":
            self.advance()
            return _Value(const(Fraction(token.text)), (), token.start, token.end)
        if self.at("("):
            return self.parenthesized()
        if token.kind == "ident":
            return self.named(token)
        raise self.unexpected(token, "an expression")

    def named(self, token: _Token) -> _Value:
        """Everything that starts with an identifier; the next token decides which."""
        name = token.text
        if self.is_override_item():
            return self.bare_list()
        if name == "where" and self.at("(", 1):
            return self.where()
        if name in _FUNCTIONS + _BINARY_FUNCTIONS + _TERNARY_FUNCTIONS and self.at("(", 1):
            return self.call(name)
        if name in _REDUCTIONS and self.at("[", 1):
            return self.reduction(name)
        if name in self.inputs and self.at("[", 1):
            return self.named_input()
        if name in self.dims:
            return self.bare_list()
        if name in self.inputs and (self.bare_names or not self.inputs[name].dims):
            self.advance()
            dims = self.inputs[name].dims
            return _Value(Load(name, dims), dims, token.start, token.end)
        if name == "inf":
            self.advance()
            return _Value(POS_INF, (), token.start, token.end)
        raise self.misplaced_name(token)

    def misplaced_name(self, token: _Token) -> SpecError:
        """The error for an identifier that fits none of the forms at this spot."""
        name = token.text
        if name in self.inputs:
            info = self.inputs[name]
            return SpecError(
                NAMING,
                f"`{name}` is an input; a spec refers to it through its dims",
                token.start,
                token.end,
                f"write `{_named_form(info.name, info.dims)}`",
            )
        if self.at("(", 1):
            return SpecError(
                NAMING,
                f"unknown function `{name}`",
                token.start,
                token.end,
                _FUNCTIONS_HELP,
            )
        if self.at("[", 1):
            return SpecError(
                NAMING, f"unknown input `{name}`", token.start, token.end, self.inputs_help()
            )
        if name in _CALLS:
            return self.unexpected(self.peek(1), f"`(` after `{name}`")
        if name in _REDUCTIONS:
            return self.unexpected(self.peek(1), f"`[` and a dim after `{name}`")
        return self.unknown_dim(token)

    def is_override_item(self) -> bool:
        # `N[0:4]` / `N[:4]`: a dim with a range, even if N is also an input's name.
        return (
            self.peek().text in self.dims
            and self.at("[", 1)
            and (self.peek(2).kind == "num" or self.at(":", 2))
        )

    def call(self, name: str) -> _Value:
        start = self.advance().start
        self.expect("(")
        first = self.expr()
        if name in _TERNARY_FUNCTIONS:
            usage = f"`{name}` takes three arguments: `{name}(x, lo, hi)`"
            self.expect(",", usage)
            lo = self.expr()
            self.expect(",", usage)
            hi = self.expr()
            end = self.expect(")", usage).end
            dims = _merge(_merge(first.dims, lo.dims), hi.dims)
            return _Value(activations.clamp(first.term, lo.term, hi.term), dims, start, end)
        if name in _BINARY_FUNCTIONS:
            self.expect(",", f"`{name}` takes two arguments: `{name}(x, y)`")
            second = self.expr()
            end = self.expect(")").end
            return _Value(
                Binary(name, first.term, second.term),
                _merge(first.dims, second.dims),
                start,
                end,
            )
        end = self.expect(")", f"`{name}` takes one argument").end
        return _Value(_apply_function(name, first.term), first.dims, start, end)

    def reduction(self, op: str) -> _Value:
        start = self.advance().start
        self.expect("[")
        dim = self.dim_item()
        self.expect("]", f"`{op}` reduces over one dim; nest reductions for more")
        self.expect("(")
        body = self.expr()
        end = self.expect(")").end
        if dim.name not in body.dims:
            raise SpecError(
                NAMING,
                f"`{op}[{dim.name}]` reduces over {dim.name}, but its argument has dims "
                f"{_show_dims(body.dims)}",
                dim.start,
                dim.end,
            )
        full = (0, self.dims[dim.name])  # the final range is applied after parsing
        if op == "softmax":
            exp = Unary("exp", body.term)
            total = Reduce("sum", dim.name, *full, exp)
            return _Value(Binary("/", exp, total), body.dims, start, end)
        kept = tuple(d for d in body.dims if d != dim.name)
        if op in ("mean", "var"):
            term = _mean(dim.name, full, body.term)
            if op == "var":
                deviation = Binary("-", body.term, term)
                term = _mean(dim.name, full, Binary("*", deviation, deviation))
            return _Value(term, kept, start, end)
        return _Value(Reduce(op, dim.name, *full, body.term), kept, start, end)

    # ---- where and its conditions --------------------------------------

    def where(self) -> _Value:
        start = self.advance().start
        self.expect("(")
        opening = self.pos
        try:
            cond, cond_dims = self.condition()
            self.expect(",", _WHERE_HELP)
            compared = None
        except SpecError as error:
            # not a condition on indices: a comparison of values (`x > 0`)
            self.pos = opening
            compared = self.data_comparison(error)
            cond, cond_dims = [], _merge(compared[1].dims, compared[2].dims)
        then = self.expr()
        self.expect(",", _WHERE_HELP)
        other = self.expr()
        end = self.expect(")").end
        dims = _merge(_merge(then.dims, other.dims), cond_dims)
        if compared is not None:
            op, left, right = compared
            term: Term = select(op, left.term, right.term, then.term, other.term)
            return _Value(term, dims, start, end)
        return _Value(where(cond, then.term, other.term), dims, start, end)

    def data_comparison(self, first: SpecError) -> tuple[str, _Value, _Value]:
        """``a OP b`` and the `,` after it, where ``a`` and ``b`` are values. If that
        does not parse either, the error of the index condition (``first``) stands,
        unless the condition starts with a name that is no dim (an input, a function).
        A condition that starts with a dim compares indices (`N < 3.5` is an error,
        not a bare dim list compared with a number)."""
        lead = self.peek()
        if lead.kind == "ident" and lead.text in self.dims:
            raise first
        values = lead.kind == "ident"
        try:
            left = self.expr()
            token = self.peek()
            if not (token.kind == "op" and token.text in _COMPARISONS + ("!=",)):
                raise self.unexpected(token, "a comparison (`<`, `<=`, `>`, `>=`, `==`, `!=`)")
            self.advance()
            right = self.expr()
            self.expect(",", _WHERE_HELP)
        except SpecError:
            if values:
                raise
            raise first from None
        return token.text, left, right

    def condition(self) -> tuple[list[Constraint | bool], tuple[str, ...]]:
        """Comparisons joined by ``and`` / ``&``, and the dims they mention."""
        parts: list[Constraint | bool] = []
        dims: tuple[str, ...] = ()
        while True:
            left, left_dims = self.affine()
            token = self.peek()
            if not (token.kind == "op" and token.text in _COMPARISONS):
                raise self.unexpected(
                    token, "a comparison (`<`, `<=`, `>`, `>=`, `==`)", _CONDITION_HELP
                )
            self.advance()
            right, right_dims = self.affine()
            coeffs = dict(left[0])  # left - right OP 0
            for d, k in right[0].items():
                coeffs[d] = coeffs.get(d, 0) - k
            parts.append(self.decided(constraint(coeffs, left[1] - right[1], token.text)))
            dims = _merge(dims, _merge(left_dims, right_dims))
            if self.at("&") or (self.peek().kind == "ident" and self.peek().text == "and"):
                self.advance()
                continue
            return parts, dims

    def decided(self, c: Constraint | bool) -> Constraint | bool:
        """``c``, or its truth when that is the same at every index of its dims."""
        if isinstance(c, bool) or not isinstance(c.const, int):
            return c
        ends = [(0, k * (self.dims[d] - 1)) for d, k in c.coeffs]  # dims start at 0
        lo = c.const + sum(min(e) for e in ends)
        hi = c.const + sum(max(e) for e in ends)
        if c.op == "==":
            return True if lo == hi == 0 else False if lo > 0 or hi < 0 else c
        return True if hi <= 0 else False if lo > 0 else c

    def affine(self) -> tuple[tuple[dict[str, int], int], tuple[str, ...]]:
        """``2*N - M + 3``: integer coefficients of dims, and a constant."""
        coeffs: dict[str, int] = {}
        constant = 0
        sign = -1 if self.at("-") else 1
        if sign < 0:
            self.advance()
        while True:
            if self.peek().kind != "num":
                self.coefficient(coeffs, sign)
            elif self.at("*", 1):
                value = self.integer()
                self.advance()
                self.coefficient(coeffs, sign * value)
            else:
                constant += sign * self.integer()
            if not (self.at("+") or self.at("-")):
                return (coeffs, constant), tuple(coeffs)
            sign = 1 if self.advance().text == "+" else -1

    def integer(self) -> int:
        token = self.peek()
        if not token.text.isdigit():
            raise self.unexpected(token, "an integer", _CONDITION_HELP)
        self.advance()
        return int(token.text)

    def coefficient(self, coeffs: dict[str, int], k: int) -> None:
        """Add ``k`` times the dim at the current token."""
        token = self.peek()
        if token.kind != "ident":
            raise self.unexpected(token, "a dim or an integer", _CONDITION_HELP)
        if token.text not in self.dims:
            raise self.unknown_dim(token)
        self.advance()
        coeffs[token.text] = coeffs.get(token.text, 0) + k

    def parenthesized(self) -> _Value:
        opener = self.advance()
        unclosed = f"the `(` at offset {opener.start} is never closed"
        operands = [self.expr()]
        while self.at(","):
            self.advance()
            operands.append(self.expr())
        if not self.at("->"):
            if len(operands) > 1:
                raise self.unexpected(
                    self.peek(),
                    "`->` and the output dims",
                    "an einsum is written `(X, Y -> out dims)`",
                )
            end = self.expect(")", unclosed).end
            inner = operands[0]
            return _Value(inner.term, inner.dims, opener.start, end)
        self.advance()
        out = self.dim_items(")", unclosed)
        end = self.expect(")", unclosed).end
        return self.einsum(operands, out, opener.start, end)

    def einsum(self, operands: list[_Value], out: list[_Item], start: int, end: int) -> _Value:
        out_dims = self.distinct(out)
        term = operands[0].term
        seen = operands[0].dims
        for operand in operands[1:]:
            term = Binary("*", term, operand.term)
            seen = _merge(seen, operand.dims)
        # Outermost reduction first, in sorted order, so equal specs give equal terms.
        for dim in sorted((d for d in seen if d not in out_dims), reverse=True):
            term = Reduce("sum", dim, 0, self.dims[dim], term)
        return _Value(term, out_dims, start, end)

    # ---- inputs and dim lists ------------------------------------------

    def named_input(self) -> _Value:
        token = self.advance()
        info = self.inputs[token.text]
        opener = self.expect("[")
        items = self.dim_items("]")
        end = self.expect("]").end
        written = self.distinct(items)
        if set(written) != set(info.dims):
            # Point at the listed dims, or at the empty brackets `[]`.
            start, stop = (items[0].start, items[-1].end) if items else (opener.start, end)
            raise SpecError(
                NAMING,
                f"input `{info.name}` has dims {_show_dims(info.dims)}, not {_show_dims(written)}",
                start,
                stop,
                f"write `{_named_form(info.name, info.dims)}`",
            )
        return _Value(Load(info.name, info.dims), written, token.start, end)

    def bare_list(self) -> _Value:
        items = [self.dim_item()]
        while self.peek().kind == "ident" and not self.starts_call():
            items.append(self.dim_item())
        written = self.distinct(items)
        start, end = items[0].start, items[-1].end
        matches = [i for i in self.input_list if set(i.dims) == set(written)]
        if len(matches) > 1:
            listed = self.text[start:end]
            forms = " or ".join(f"`{m.name}[{listed}]`" for m in matches)
            names = ", ".join(f"`{m.name}`" for m in matches)
            raise SpecError(
                AMBIGUOUS,
                f"`{listed}` fits more than one input ({names})",
                start,
                end,
                f"name the input: {forms}",
            )
        if not matches:
            raise SpecError(
                NAMING,
                f"no input has dims {_show_dims(written)}",
                start,
                end,
                self.inputs_help(),
            )
        return _Value(Load(matches[0].name, matches[0].dims), written, start, end)

    def starts_call(self) -> bool:
        # A function or reduction after a dim list ends it (then fails as trailing input).
        if self.is_override_item():
            return False
        name = self.peek().text
        return self.at("(", 1) or (name in _REDUCTIONS and self.at("[", 1))

    def dim_items(self, closer: str, help: str | None = None) -> list[_Item]:
        items: list[_Item] = []
        while not self.at(closer):
            if self.peek().kind != "ident":
                raise self.unexpected(self.peek(), f"a dim or `{closer}`", help)
            items.append(self.dim_item())
        return items

    def dim_item(self) -> _Item:
        token = self.peek()
        if token.kind != "ident":
            raise self.unexpected(token, "a dim")
        if token.text not in self.dims:
            raise self.unknown_dim(token)
        self.advance()
        if not self.at("["):
            return _Item(token.text, token.start, token.end)
        self.advance()
        lo = self.bound(0) if not self.at(":") else 0
        self.expect(":", f"a range is written `{token.text}[lo:hi]`")
        hi = self.bound(self.dims[token.text]) if not self.at("]") else self.dims[token.text]
        end = self.expect("]").end
        self.record_override(token.text, lo, hi, token.start, end)
        return _Item(token.text, token.start, end)

    def bound(self, default: int) -> int:
        token = self.peek()
        if token.kind == "num" and token.text.isdigit():
            self.advance()
            return int(token.text)
        if token.kind == "num":
            raise self.unexpected(token, "an integer bound")
        return default

    def record_override(self, name: str, lo: int, hi: int, start: int, end: int) -> None:
        problem = _range_problem(name, lo, hi, self.dims[name])
        if problem:
            raise SpecError(NAMING, problem, start, end)
        previous = self.overrides.get(name)
        if previous is not None and (previous.lo, previous.hi) != (lo, hi):
            where = "by the caller" if previous.start < 0 else "earlier in the spec"
            raise SpecError(
                NAMING,
                f"{name} is restricted to [{lo}:{hi}) here but to "
                f"[{previous.lo}:{previous.hi}) {where}",
                start,
                end,
                "a dim has one range for the whole spec",
            )
        if previous is None:
            self.overrides[name] = _Override(lo, hi, start, end)

    def distinct(self, items: list[_Item]) -> tuple[str, ...]:
        names: list[str] = []
        for item in items:
            if item.name in names:
                raise SpecError(NAMING, f"dim `{item.name}` is listed twice", item.start, item.end)
            names.append(item.name)
        return tuple(names)

    # ---- messages ------------------------------------------------------

    def unknown_dim(self, token: _Token) -> SpecError:
        name = token.text
        if name in self.inputs:
            return SpecError(
                NAMING,
                f"`{name}` is an input, not a dim",
                token.start,
                token.end,
                f"write `{_named_form(name, self.inputs[name].dims)}`",
            )
        close = difflib.get_close_matches(name, list(self.dims), n=1)
        if close:
            hint = f"did you mean `{close[0]}`?"
        else:
            hint = "defined dims: " + (", ".join(self.dims) or "none")
        return SpecError(NAMING, f"unknown dim `{name}`", token.start, token.end, hint)

    def inputs_help(self) -> str:
        if not self.input_list:
            return "there are no inputs"
        forms = ", ".join(_named_form(i.name, i.dims) for i in self.input_list)
        return f"inputs: {forms}"


_FUNCTIONS_HELP = (
    "functions: "
    + ", ".join(_FUNCTIONS + _BINARY_FUNCTIONS)
    + ", clamp(x, lo, hi)"
    + ", where(cond, a, b), "
    + ", ".join(f"{r}[D]" for r in _REDUCTIONS)
)
_CONDITION_HELP = (
    "a condition compares dims and integers, e.g. `Nk <= Nq and N < 100`, "
    "or two values, e.g. `x[M N] > 0`"
)
_WHERE_HELP = "`where` takes a condition and two values: `where(N < 10, x, 0)`"


def _mean(dim: str, full: tuple[int, int], body: Term) -> Term:
    return Binary("/", Reduce("sum", dim, *full, body), Reduce("sum", dim, *full, _ONE))


def _binary(op: str, left: _Value, right: _Value) -> _Value:
    return _Value(
        Binary(op, left.term, right.term), _merge(left.dims, right.dims), left.start, right.end
    )


def _merge(left: tuple[str, ...], right: tuple[str, ...]) -> tuple[str, ...]:
    return left + tuple(d for d in right if d not in left)


def _apply_function(name: str, arg: Term) -> Term:
    derived = activations.DERIVED.get(name)
    if derived is not None:
        return derived(arg)
    if name == "sqrt" and isinstance(arg, Const) and isinstance(arg.value, Fraction):
        root = _exact_sqrt(arg.value)
        if root is not None:
            return Const(root)
    return Unary(name, arg)


def _exact_sqrt(value: Fraction) -> Fraction | None:
    """The exact root of a rational that is the square of one, else None."""
    if value < 0:
        return None
    num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if num * num == value.numerator and den * den == value.denominator:
        return Fraction(num, den)
    return None


def _named_form(name: str, dims: tuple[str, ...]) -> str:
    return f"{name}[{' '.join(dims)}]"


def _show_dims(dims: tuple[str, ...]) -> str:
    return f"({' '.join(dims)})" if dims else "() (a scalar)"


def _trailing_help(token: _Token) -> str | None:
    if token.kind == "op" and token.text == ")":
        return "this `)` has no matching `(`"
    if token.kind in ("ident", "num"):
        return "write operators explicitly, e.g. `2 * M N`"
    return None
