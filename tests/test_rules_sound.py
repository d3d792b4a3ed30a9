"""Every rule in rules/*.egg is checked numerically on random tensors.

A small reader turns each ``rewrite``, ``birewrite`` and ``rule`` into a query
(facts that must hold) and actions (what the rule then asserts). Each check
draws its pattern variables at random (tensors over random subsets of the dims
A, B, C; dims; integers; exact rationals), keeps the draws that satisfy the
query, and checks every action with ``stile_static.prover.evaluator``:

- ``(union x y)``: both sides agree everywhere, NaN (undefined) exactly where
  the other side is NaN, equal infinities agreeing;
- ``(fin e)`` / ``(pos e)`` / ``(nz e)``: finite / finite > 0 / finite != 0;
- ``(set (free e) s)``: ``e`` depends on no dim outside ``s``.

Unrestricted tensors also take -inf, +inf and NaN entries: the e-graph holds
such values (``-np.inf`` initialisers, empty max reductions), so a rule without
a ``fin`` condition must hold for them too.
"""

from __future__ import annotations

import math
import pathlib
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from stile_static.ir.terms import Binary, Const, Load, Reduce, Select, Term, Unary
from stile_static.prover.egraph import rules_dir
from stile_static.prover.evaluator import Named, evaluate_named

# ---------------------------------------------------------------- s-expressions

Sexp = str | list["Sexp"]
_TOKEN = re.compile(r'\s+|;[^\n]*|"(?:[^"\\]|\\.)*"|[()]|[^\s()";]+')


@dataclass(frozen=True)
class Form:
    """A top-level form and where it starts."""

    sexp: Sexp
    file: str
    line: int
    text: str


def read_forms(text: str, file: str) -> list[Form]:
    forms: list[Form] = []
    stack: list[list[Sexp]] = []
    start = 0
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise SyntaxError(f"{file}: cannot read at offset {pos}")
        token, pos = match.group(), match.end()
        if token[0].isspace() or token[0] == ";":
            continue
        if token == "(":
            if not stack:
                start = match.start()
            stack.append([])
        elif token == ")":
            if not stack:
                raise SyntaxError(f"{file}: unbalanced ')' at offset {match.start()}")
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            else:
                line = text.count("\n", 0, start) + 1
                forms.append(Form(done, file, line, " ".join(text[start:pos].split())))
        elif stack:
            stack[-1].append(token)
        else:
            raise SyntaxError(f"{file}: atom {token!r} outside a form")
    if stack:
        raise SyntaxError(f"{file}: unclosed form")
    return forms


def read_folder(folder: pathlib.Path) -> list[Form]:
    forms: list[Form] = []
    for path in sorted(folder.glob("*.egg"), key=lambda p: p.name):
        forms.extend(read_forms(path.read_text(encoding="utf-8"), path.name))
    return forms


# ---------------------------------------------------------------- the vocabulary

EXPR, RAT, DIM, INT, SET = "Expr", "BigRat", "Dim", "i64", "DimSet"

# constructor -> (argument sorts, builder of a stile_static term)
_Builder = Callable[[list[Any]], Term]
CONSTRUCTORS: dict[str, tuple[tuple[str, ...], _Builder]] = {
    "Num": ((RAT,), lambda a: Const(a[0])),
    "NegInf": ((), lambda a: Const(float("-inf"))),
    "PosInf": ((), lambda a: Const(float("inf"))),
    **{
        name: ((EXPR,), lambda a, fn=fn: Unary(fn, a[0]))
        for name, fn in [
            ("Exp", "exp"),
            ("Exp2", "exp2"),
            ("Log", "log"),
            ("Log2", "log2"),
            ("Rsqrt", "rsqrt"),
            ("Sigmoid", "sigmoid"),
            ("Abs", "abs"),
            ("Tanh", "tanh"),
            ("Erf", "erf"),
            ("Sin", "sin"),
            ("Cos", "cos"),
            ("Sqrt", "sqrt"),
            ("Neg", "neg"),
            ("Recip", "recip"),
        ]
    },
    **{
        name: ((EXPR, EXPR), lambda a, op=op: Binary(op, a[0], a[1]))
        for name, op in [
            ("Add", "+"),
            ("Sub", "-"),
            ("Mul", "*"),
            ("Div", "/"),
            ("Max", "maximum"),
            ("Min", "minimum"),
        ]
    },
    **{
        name: ((EXPR,) * 4, lambda a, op=op: Select(op, *a))
        for name, op in [("SelLt", "<"), ("SelLe", "<="), ("SelEq", "==")]
    },
    "Sum": ((DIM, INT, INT, EXPR), lambda a: Reduce("sum", a[0], a[1], a[2], a[3])),
    "RMax": ((DIM, INT, INT, EXPR), lambda a: Reduce("max", a[0], a[1], a[2], a[3])),
    "RMin": ((DIM, INT, INT, EXPR), lambda a: Reduce("min", a[0], a[1], a[2], a[3])),
}
# Load is a leaf the prover adds, Where an opaque node whose condition is text:
# a rule mentioning either cannot be checked here (and no rule does)
UNCHECKABLE_CONSTRUCTORS = {"Load", "Where"}
RELATIONS = ("fin", "pos", "nz")


def _sqrt(q: Fraction) -> Fraction | None:
    """BigRat sqrt: exact for squares of positive rationals, else no value."""
    if q <= 0:
        return None
    num, den = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(num, den) if num * num == q.numerator and den * den == q.denominator else None


PRIMITIVES: dict[str, Callable[..., Any]] = {
    "bigrat": lambda n, d: Fraction(n, d),
    "bigint": int,
    "from-string": int,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: Fraction(a) / b if b != 0 else None,
    "neg": lambda a: -a,
    "max": max,
    "min": min,
    "sqrt": _sqrt,
    "set-empty": lambda: frozenset(),
    "set-of": lambda *xs: frozenset(xs),
    "set-union": lambda a, b: a | b,
    "set-intersect": lambda a, b: a & b,
    "set-remove": lambda a, x: a - {x},
}
TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "!=": lambda a, b: a != b,
    "set-contains": lambda s, x: x in s,
    "set-not-contains": lambda s, x: x not in s,
}
DECLARATIONS = ("datatype", "sort", "function", "relation", "ruleset")


class NotUnderstood(Exception):
    """A rule uses something this checker cannot give a meaning to."""


# ---------------------------------------------------------------- rules as checks


@dataclass
class Check:
    """One direction of one rule: if ``query`` matches, ``actions`` must hold."""

    name: str
    query: list[Sexp]
    actions: list[Sexp]
    sorts: dict[str, str] = field(default_factory=dict)  # variables drawn at random
    bound: set[str] = field(default_factory=set)  # variables the query computes


def _keywords(items: list[Sexp]) -> tuple[list[Sexp], dict[str, Sexp]]:
    """Split ``a b :k v ...`` into positional items and keyword values."""
    positional: list[Sexp] = []
    options: dict[str, Sexp] = {}
    rest = iter(items)
    for item in rest:
        if isinstance(item, str) and item.startswith(":"):
            options[item] = next(rest)
        else:
            positional.append(item)
    return positional, options


def checks_of(form: Form) -> list[Check]:
    """The checks of a rule form; [] for declarations; NotUnderstood otherwise."""
    sexp = form.sexp
    if not isinstance(sexp, list) or not sexp or not isinstance(sexp[0], str):
        raise NotUnderstood(f"not a command: {form.text}")
    head = sexp[0]
    if head in DECLARATIONS:
        return []
    args, options = _keywords(sexp[1:])
    unknown = set(options) - {":when", ":ruleset", ":name"}
    if unknown:
        raise NotUnderstood(f"options {sorted(unknown)} in {form.text}")
    when = options.get(":when", [])
    if not isinstance(when, list):
        raise NotUnderstood(f":when is not a list in {form.text}")
    name = f"{form.file}:{form.line}"
    if head in ("rewrite", "birewrite") and len(args) == 2:
        pairs = [(args[0], args[1])] + ([(args[1], args[0])] if head == "birewrite" else [])
        checks = [
            Check(
                f"{name}{'<-' if i else ''}",
                [["=", "__lhs", lhs], *when],
                [["union", "__lhs", rhs]],
            )
            for i, (lhs, rhs) in enumerate(pairs)
        ]
    elif head == "rule" and len(args) == 2 and not when:
        query, actions = args
        if not isinstance(query, list) or not isinstance(actions, list):
            raise NotUnderstood(f"rule without fact and action lists: {form.text}")
        checks = [Check(name, list(query), list(actions))]
    else:
        raise NotUnderstood(f"unknown command: {form.text}")
    for check in checks:
        _infer(check)
    return checks


def _is_var(sexp: Sexp) -> bool:
    return isinstance(sexp, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", sexp) is not None


def _infer(check: Check) -> None:
    """Find the sort of each drawn variable; reject anything unknown."""
    for fact in check.query:
        if not isinstance(fact, list) or not fact:
            raise NotUnderstood(f"fact {fact!r}")
        if fact[0] == "=" and len(fact) == 3 and _is_var(fact[1]) and isinstance(fact[2], list):
            if fact[1] in check.bound:  # two patterns on one e-class: not modelled
                raise NotUnderstood(f"{fact[1]} is bound twice")
            check.bound.add(fact[1])
            _walk(fact[2], EXPR, check)
        elif fact[0] in RELATIONS and len(fact) == 2:
            _walk(fact[1], EXPR, check)
        elif fact[0] in TESTS and len(fact) == 3:
            _walk(fact[1], None, check)
            _walk(fact[2], None, check)
        else:
            raise NotUnderstood(f"fact {fact!r}")
    for action in check.actions:
        if not isinstance(action, list) or not action:
            raise NotUnderstood(f"action {action!r}")
        if action[0] == "union" and len(action) == 3:
            _walk(action[1], EXPR, check, fresh=False)
            _walk(action[2], EXPR, check, fresh=False)
        elif action[0] in RELATIONS and len(action) == 2:
            _walk(action[1], EXPR, check, fresh=False)
        elif action[0] == "set" and len(action) == 3 and action[1][:1] == ["free"]:
            _walk(action[1][1], EXPR, check, fresh=False)
            _walk(action[2], None, check, fresh=False)
        else:
            raise NotUnderstood(f"action {action!r}")
    both = set(check.sorts) & check.bound
    if both:  # used in a pattern before the fact that binds it
        raise NotUnderstood(f"variables {sorted(both)} are both drawn and bound")
    unsorted = [v for v, s in check.sorts.items() if s is None]
    if unsorted:
        raise NotUnderstood(f"variables {unsorted} have no sort")


def _walk(sexp: Sexp, sort: str | None, check: Check, fresh: bool = True) -> None:
    """Record variable sorts; ``fresh`` is False in actions (no new variables)."""
    if isinstance(sexp, str):
        if sexp.startswith('"') or re.fullmatch(r"-?\d+", sexp):
            return
        if not _is_var(sexp):
            raise NotUnderstood(f"atom {sexp!r}")
        if not fresh and sexp not in check.sorts and sexp not in check.bound:
            raise NotUnderstood(f"action uses unbound variable {sexp}")
        if sexp in check.bound:
            return
        if check.sorts.get(sexp) not in (None, sort) and sort is not None:
            raise NotUnderstood(f"variable {sexp} used as {check.sorts[sexp]} and {sort}")
        if sort is not None or sexp not in check.sorts:
            check.sorts[sexp] = sort or check.sorts.get(sexp)
        return
    head, args = sexp[0], sexp[1:]
    if head in CONSTRUCTORS:
        arg_sorts = CONSTRUCTORS[head][0]
        if len(args) != len(arg_sorts):
            raise NotUnderstood(f"{head} takes {len(arg_sorts)} arguments: {sexp!r}")
        for arg, arg_sort in zip(args, arg_sorts, strict=True):
            _walk(arg, arg_sort, check, fresh)
    elif head == "free" and len(args) == 1:
        _walk(args[0], EXPR, check, fresh)
    elif head in PRIMITIVES:
        for arg in args:
            _walk(arg, None, check, fresh)
    else:
        raise NotUnderstood(f"unknown function {head!r} in {sexp!r}")


# ---------------------------------------------------------------- drawing values

DIMS = ("A", "B", "C")
SIZE = 6  # extent of every dim; integer variables range over [0, SIZE]
RATIONALS = [Fraction(v) for v in ("0", "1", "-1", "2", "-3", "1/2", "-2/3", "5/4", "4", "9/4")]


@dataclass
class Draw:
    env: dict[str, Any]  # variable -> Term | str | int | Fraction | frozenset
    bindings: dict[str, Named]


def _strength(check: Check, var: str) -> str:
    """The strongest of pos / nz / fin the query asks of a variable."""
    facts = {f[0] for f in check.query if f[0] in RELATIONS and f[1] == var}
    return next((kind for kind in ("pos", "nz", "fin") if kind in facts), "any")


def _excluded_dims(check: Check, var: str, env: dict[str, Any]) -> set[str]:
    """Dims the query says ``var`` does not depend on."""
    names = {f[1] for f in check.query if f[0] == "=" and f[2] == ["free", var]}
    return {
        env[f[2]]
        for f in check.query
        if f[0] == "set-not-contains" and f[1] in names and f[2] in env
    }


def _tensor(rng: np.random.Generator, kind: str, axes: tuple[str, ...]) -> np.ndarray:
    shape = (SIZE,) * len(axes)
    if kind == "pos":
        return rng.uniform(0.25, 2.5, shape)
    if kind == "nz":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.25, 2.5, shape)
    values = rng.normal(0.0, 1.5, shape)
    # exact small integers give zeros and ties
    values = np.where(rng.random(shape) < 0.25, rng.integers(-2, 3, shape), values)
    if kind == "fin" or rng.random() < 0.5:
        return np.asarray(values, dtype=np.float64)
    if rng.random() < 0.2:
        return np.full(shape, -np.inf)
    special = rng.choice([-np.inf, np.inf, np.nan], shape)
    return np.where(rng.random(shape) < 0.15, special, values)


def _draw(check: Check, rng: np.random.Generator) -> Draw:
    env: dict[str, Any] = {}
    bindings: dict[str, Named] = {}
    # dims and integers first: tensors depend on them through conditions
    for var, sort in sorted(check.sorts.items(), key=lambda kv: kv[1] == EXPR):
        if sort == DIM:
            env[var] = str(rng.choice(DIMS))
        elif sort == INT:
            env[var] = int(rng.integers(0, SIZE + 1))
        elif sort == RAT:
            env[var] = RATIONALS[int(rng.integers(len(RATIONALS)))]
        elif sort == EXPR:
            allowed = [d for d in DIMS if d not in _excluded_dims(check, var, env)]
            axes = tuple(d for d in allowed if rng.random() < 0.5)
            bindings[var] = Named(_tensor(rng, _strength(check, var), axes), axes)
            env[var] = Load(var, ())
        else:
            raise NotUnderstood(f"cannot draw {var}: {sort}")
    return Draw(env, bindings)


# ---------------------------------------------------------------- evaluation


def _value(sexp: Sexp, draw: Draw) -> Any:
    """Evaluate an expression: constructors build terms, primitives compute."""
    if isinstance(sexp, str):
        if sexp.startswith('"'):
            return sexp[1:-1]
        if re.fullmatch(r"-?\d+", sexp):
            return int(sexp)
        return draw.env[sexp]
    head, args = sexp[0], [_value(a, draw) for a in sexp[1:]]
    if any(a is None for a in args):
        return None
    if head in CONSTRUCTORS:
        return CONSTRUCTORS[head][1](args)
    if head == "free":
        return frozenset(_eval(args[0], draw).axes)
    return PRIMITIVES[head](*args)


def _eval(term: Term, draw: Draw) -> Named:
    with np.errstate(all="ignore"):  # inf and NaN are expected values here
        return evaluate_named(term, {}, draw.bindings)


def _holds(kind: str, term: Term, draw: Draw) -> bool:
    array = _eval(term, draw).array
    if not np.all(np.isfinite(array)):
        return False
    return bool(np.all(array > 0)) if kind == "pos" else kind != "nz" or bool(np.all(array != 0))


def _matches(check: Check, draw: Draw) -> bool:
    """Evaluate the query: bind ``=`` facts, then test the rest."""
    for fact in check.query:
        if fact[0] == "=":
            value = _value(fact[2], draw)
            if value is None:  # a partial primitive (sqrt, /) has no value
                return False
            draw.env[fact[1]] = value
    for fact in check.query:
        if fact[0] in RELATIONS and not _holds(fact[0], _value(fact[1], draw), draw):
            return False
        if fact[0] in TESTS:
            left, right = _value(fact[1], draw), _value(fact[2], draw)
            if left is None or right is None or not TESTS[fact[0]](left, right):
                return False
    return True


def _broadcast(a: Named, b: Named) -> tuple[np.ndarray, np.ndarray]:
    axes = a.axes + tuple(x for x in b.axes if x not in a.axes)

    def align(v: Named) -> np.ndarray:
        order = [v.axes.index(x) for x in axes if x in v.axes]
        shape = [v.array.shape[v.axes.index(x)] if x in v.axes else 1 for x in axes]
        return np.transpose(v.array, order).reshape(shape)

    return np.broadcast_arrays(align(a), align(b))


def agree(a: Named, b: Named) -> tuple[bool, bool]:
    """(the values agree, some element was defined on both sides)."""
    x, y = _broadcast(a, b)
    both_nan = np.isnan(x) & np.isnan(y)
    with np.errstate(all="ignore"):
        close = (x == y) | np.isclose(x, y, rtol=1e-7, atol=1e-9)
    return bool(np.all(both_nan | close)), bool(np.any(~np.isnan(x) & ~np.isnan(y)))


def _failure(check: Check, draw: Draw) -> str | None:
    """Why the actions do not hold for this draw, or None."""
    for action in check.actions:
        if action[0] == "union":
            left, right = _value(action[1], draw), _value(action[2], draw)
            if left is None or right is None:
                return f"cannot evaluate {action!r}"
            same, _ = agree(_eval(left, draw), _eval(right, draw))
            if not same:
                return f"{action[1]} != {action[2]}"
        elif action[0] in RELATIONS:
            if not _holds(action[0], _value(action[1], draw), draw):
                return f"({action[0]} {action[1]}) is false"
        else:  # (set (free e) s)
            axes = set(_eval(_value(action[1][1], draw), draw).axes)
            claimed = _value(action[2], draw)
            if not axes <= claimed:
                return f"free dims {sorted(axes)} not within {sorted(claimed)}"
    return None


def _defined(check: Check, draw: Draw) -> bool:
    """Whether the draw tested something: a union with some defined element."""
    for action in check.actions:
        if action[0] == "union":
            left, right = _value(action[1], draw), _value(action[2], draw)
            if not agree(_eval(left, draw), _eval(right, draw))[1]:
                return False
    return True


@dataclass(frozen=True)
class Verdict:
    name: str
    checked: int
    draws: int
    failure: str | None  # the first counterexample found, if any


def run_check(check: Check, draws: int = 24, tries: int = 60) -> Verdict:
    rng = np.random.default_rng(zlib.crc32(check.name.encode()) + len(check.query))
    checked = 0
    for _ in range(draws):
        for _ in range(tries):
            draw = _draw(check, rng)
            if _matches(check, draw):
                break
        else:
            continue
        failure = _failure(check, draw)
        if failure is not None:
            shown = {k: v for k, v in draw.env.items() if not isinstance(v, Load)}
            return Verdict(check.name, checked, draws, f"{failure} with {shown}")
        checked += _defined(check, draw)
    return Verdict(check.name, checked, draws, None)


def collect(folder: pathlib.Path) -> tuple[list[Check], list[str]]:
    """Every check of every rule in ``folder``, and the forms not understood."""
    checks: list[Check] = []
    problems: list[str] = []
    for form in read_folder(folder):
        try:
            checks.extend(checks_of(form))
        except NotUnderstood as error:
            problems.append(f"{form.file}:{form.line}: {error}")
    return checks, problems


def unsound(folder: pathlib.Path) -> list[Verdict]:
    """The checks in ``folder`` that fail (or that could not be exercised)."""
    checks, _ = collect(folder)
    verdicts = [run_check(check) for check in checks]
    return [v for v in verdicts if v.failure or v.checked * 2 < v.draws]


# ---------------------------------------------------------------- the tests

RULES = rules_dir()
CHECKS, PROBLEMS = collect(RULES)


def test_every_rule_is_understood() -> None:
    assert PROBLEMS == []
    forms = read_folder(RULES)
    rule_forms = [f for f in forms if f.sexp[0] in ("rewrite", "birewrite", "rule")]
    names = {c.name.rstrip("<-") for c in CHECKS}
    assert len(names) == len(rule_forms) > 50
    assert {f.sexp[0] for f in forms} <= {*DECLARATIONS, "rewrite", "birewrite", "rule"}


def test_vocabulary_matches_the_declared_datatype() -> None:
    """A constructor added to 00_terms.egg must get a meaning here too."""
    forms = read_folder(RULES)
    (datatype,) = [f.sexp for f in forms if f.sexp[0] == "datatype"]
    declared = {c[0]: tuple(c[1:]) for c in datatype[2:]}
    sort_names = {"BigRat": RAT, "String": DIM, "i64": INT, "Expr": EXPR}
    known = {name: sorts for name, (sorts, _) in CONSTRUCTORS.items()}
    assert set(declared) == set(known) | UNCHECKABLE_CONSTRUCTORS
    for name, sorts in known.items():
        assert tuple(sort_names[s] for s in declared[name]) == sorts, name


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_rule_is_sound(check: Check) -> None:
    verdict = run_check(check)
    assert verdict.failure is None, f"unsound rule {check.name}: {verdict.failure}"
    assert verdict.checked * 2 >= verdict.draws, (
        f"{check.name}: only {verdict.checked} of {verdict.draws} draws tested anything"
    )


UNSOUND_RULES = {
    "exp_of_sum": "(rewrite (Exp (Add a b)) (Add (Exp a) (Exp b)) :ruleset rewrites)",
    "zero_times_inf": "(rewrite (Mul a (Num (bigrat (bigint 0) (bigint 1)))) "
    "(Num (bigrat (bigint 0) (bigint 1))) :ruleset rewrites)",
    "x_over_x": "(rewrite (Mul a (Recip a)) (Num (bigrat (bigint 1) (bigint 1))) "
    ":when ((fin a)) :ruleset rewrites)",
    "pull_dependent_factor": "(rewrite (Sum d lo hi (Mul c a)) (Mul c (Sum d lo hi a)) "
    ":when ((fin c)) :ruleset rewrites)",
    "merge_unordered_ranges": "(rule ((= e (Add (Sum d lo mid a) (Sum d mid hi a)))) "
    "((union e (Sum d lo hi a))) :ruleset rewrites)",
    "max_scaled_by_any": "(rewrite (RMax d lo hi (Mul c a)) (Mul c (RMax d lo hi a)) "
    ":when ((= fc (free c)) (set-not-contains fc d) (fin c)) :ruleset rewrites)",
    "exp_max_empty": "(rewrite (RMax d lo hi (Exp a)) (Exp (RMax d lo hi a)) :ruleset rewrites)",
    "free_forgets_operand": "(rule ((= e (Mul a b)) (= fa (free a))) ((set (free e) fa)) "
    ":ruleset analysis)",
    "pos_of_any_exp": "(rule ((= e (Exp a))) ((pos e)) :ruleset analysis)",
}


def _with_extra_rule(tmp_path: pathlib.Path, rule: str, into: str) -> pathlib.Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for path in RULES.glob("*.egg"):
        text = path.read_text(encoding="utf-8")
        if path.name == into:
            text += f"\n{rule}\n"
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("key", sorted(UNSOUND_RULES))
def test_an_added_unsound_rule_is_caught(tmp_path: pathlib.Path, key: str) -> None:
    files = sorted(p.name for p in RULES.glob("*.egg"))
    into = files[zlib.crc32(key.encode()) % len(files)]
    folder = _with_extra_rule(tmp_path, UNSOUND_RULES[key], into)
    checks, problems = collect(folder)
    assert problems == []
    added = [c for c in checks if c.name.startswith(f"{into}:") and c.name not in _names()]
    assert len(added) == 1
    verdict = run_check(added[0])
    assert verdict.failure is not None, f"{key} was not caught"


def test_the_folder_check_names_exactly_the_added_unsound_rule(tmp_path: pathlib.Path) -> None:
    """Real rules plus exp(a + b) = exp(a) + exp(b): only that rule is reported."""
    folder = _with_extra_rule(tmp_path, UNSOUND_RULES["exp_of_sum"], "exp.egg")
    assert [v.name for v in unsound(RULES)] == []
    reported = [v.name for v in unsound(folder)]
    assert len(reported) == 1 and reported[0].startswith("exp.egg:")
    assert reported[0] not in _names()


def _names() -> set[str]:
    return {c.name for c in CHECKS}


@pytest.mark.parametrize(
    "text",
    [
        "(run 5)",
        "(rewrite (Foo a) a)",
        "(rewrite (Exp a) a :until ((fin a)))",
        "(rule ((= e (Exp a)) (= e (Sin b))) ((union e a)))",
        "(rule ((= e (Add a f)) (= f (Exp b))) ((union e b)))",
        "(rule ((= e (Exp a))) ((union e q)))",
        "(rule ((= e (Exp a))) ((delete (Exp a))))",
        "(rule ((= e (Num c)) (= e2 (Sum c lo hi e))) ((union e e2)))",
        "(rewrite (Load t d) (Num (bigrat (bigint 0) (bigint 1))))",
    ],
)
def test_reader_rejects_what_it_cannot_check(text: str) -> None:
    (form,) = read_forms(text, "t.egg")
    with pytest.raises(NotUnderstood):
        checks_of(form)


def test_reader_handles_strings_comments_and_nesting() -> None:
    forms = read_forms('; c\n(a "x ) y" (b -1)) ; tail\n(c)', "t.egg")
    assert [f.sexp for f in forms] == [["a", '"x ) y"', ["b", "-1"]], ["c"]]
    assert [f.line for f in forms] == [2, 3]


def test_agree_treats_nan_and_infinities() -> None:
    nan_inf = Named(np.array([np.nan, np.inf, -np.inf, 1.0]), ("A",))
    assert agree(nan_inf, nan_inf) == (True, True)
    other = Named(np.array([0.0, np.inf, -np.inf, 1.0]), ("A",))
    assert agree(nan_inf, other)[0] is False
    assert agree(Named(np.array(np.nan), ()), Named(np.array(np.nan), ())) == (True, False)
