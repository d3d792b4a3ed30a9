"""Canonical forms: bring a term to a sum of monomials before it reaches the e-graph.

Each step is an identity of real arithmetic that holds wherever both sides
are defined, and the representation makes equal-by-these-identities terms
structurally equal:

* a :class:`Poly` is a sum of monomials with exact coefficients;
* a :class:`Mono` is a product of atoms with integer exponents times one
  ``exp(poly)`` factor (``exp(p) * exp(q) = exp(p + q)``) and one
  ``exp2(poly)`` factor (the same for base 2, kept apart: ``exp2(x) =
  exp(x ln 2)`` has no exact rational form);
* ``sum[d]`` is linear: constant and ``d``-independent factors move out of it,
  and sums of the same body over adjacent ranges merge into one;
* ``max[d]`` and ``maximum`` merge adjacent ranges, drop ``-inf`` and move
  ``d``-independent addends out; ``min[d](e) = -max[d](-e)`` and
  ``minimum(a, b) = -maximum(-a, -b)``;
* a :class:`Guard` is a ``Where`` with one constraint, or a ``Select`` (its
  condition a :class:`Compared` of canonical values): operations push into
  both branches (``Where(c, a, b) + x = Where(c, a + x, b + x)``), so masks
  float to the top, nested in one order (by key) like a decision diagram,
  and ``Where(c, a, a) = a``; ``where(x > 0, x, 0) + a * where(x > 0, 0, x)``
  is ``where(x > 0, x, a * x)``. A data comparison whose two sides are equal
  exactly where one atom is 0 (``x >= 0``), with branches that agree there,
  is written one way (``0 < x``, ``>=`` or ``>``, either orientation), and
  ``maximum(0, x)`` is ``where(0 < x, x, 0)``, so that attorch's ``maximum(0,
  x) + a * minimum(0, x)`` is that leaky ReLU too. A reduction over ``d`` of ``Where(c, e,
  identity)`` with ``c`` a bound on ``d`` alone is the reduction of ``e`` over
  the clipped range; a guard that does not mention ``d`` moves out of the
  reduction; any other guard becomes an opaque atom.

``-inf`` and ``+inf`` are kept as separate markers (only the identities that
hold for them are applied: ``-inf + finite = -inf``, ``exp(-inf) = 0``,
``maximum(-inf, x) = x``); anything else involving them (``-inf - -inf``), or
a division by zero, or an undefined value, raises :class:`CannotNormalize`
and the caller falls back to the raw term.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from math import isqrt

from ..ir import symbolic as sym
from ..ir.symbolic import Int
from ..ir.terms import (
    IDENTITY,
    Binary,
    Const,
    Constraint,
    Load,
    Number,
    Reduce,
    Select,
    Term,
    Unary,
    Where,
    children,
    const,
    constraint,
    constraint_key,
    is_fixed,
)

NEG_INF_VALUE = float("-inf")
POS_INF_VALUE = float("inf")
MAX_GUARDS = 256  # branches of one mask tree before giving up (conditions multiply)


class CannotNormalize(Exception):
    """The term leaves the fragment the canonical form handles soundly."""


class TooLarge(Exception):
    """A subterm's canonical form grew past the caller's ``size_limit``.

    Not a verdict: the caller may look for a cheaper answer (a counterexample)
    and, failing that, normalise again without a limit.
    """


@dataclass(frozen=True, eq=False)
class Poly:
    """A sum of monomials (sorted by key), or the ``-inf`` or ``+inf`` marker."""

    terms: tuple[tuple[Mono, Number], ...]
    neg_inf: bool = False
    pos_inf: bool = False
    key: str = field(default="", compare=False, repr=False)
    free: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def infinite(self) -> bool:
        return self.neg_inf or self.pos_inf

    def __post_init__(self) -> None:
        if self.neg_inf or self.pos_inf:
            key, free = ("-inf" if self.neg_inf else "+inf"), frozenset()
        elif len(self.terms) == 1:  # the common case, without the generators
            m, c = self.terms[0]
            key, free = f"({_num_key(c)}*{m.key})", m.free
        else:
            key = "(" + "+".join(f"{_num_key(c)}*{m.key}" for m, c in self.terms) + ")"
            free = frozenset().union(*(m.free for m, _ in self.terms))
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "free", free)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Poly) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True, eq=False)
class Mono:
    """Atoms with integer exponents times ``exp(exp)`` times ``exp2(exp2)``."""

    factors: tuple[tuple[Atom, int], ...]
    exp: Poly | None = None
    exp2: Poly | None = None
    key: str = field(default="", compare=False, repr=False)
    free: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.factors) == 1 and self.exp is None and self.exp2 is None:
            atom, e = self.factors[0]  # the common case, without the generators
            object.__setattr__(self, "key", f"[{atom.key}^{e}]")
            object.__setattr__(self, "free", atom.free)
            return
        parts = [f"{a.key}^{e}" for a, e in self.factors]
        free = frozenset().union(*(a.free for a, _ in self.factors))
        if self.exp is not None:
            parts.append(f"exp{self.exp.key}")
            free |= self.exp.free
        if self.exp2 is not None:
            parts.append(f"exp2{self.exp2.key}")
            free |= self.exp2.free
        object.__setattr__(self, "key", "[" + ".".join(parts) + "]")
        object.__setattr__(self, "free", free)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mono) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True, eq=False)
class Atom:
    """An opaque factor: ``kind`` with its canonical parts."""

    kind: str  # load | fn | sum | max | maximum | poly | where | select
    parts: tuple
    key: str = field(default="", repr=False)
    free: frozenset[str] = field(default=frozenset(), repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Atom) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def _num_key(c: Number) -> str:
    return str(c) if isinstance(c, Fraction) else repr(float(c))


def load_atom(tensor: str, dims: tuple[str, ...]) -> Atom:
    free = frozenset(d for d in dims if not is_fixed(d))
    return Atom("load", (tensor, dims), f"{tensor}[{','.join(dims)}]", free)


def fn_atom(fn: str, arg: Poly) -> Atom:
    return Atom("fn", (fn, arg), f"{fn}{arg.key}", arg.free)


def _range_key(dim: str, lo: Int, hi: Int) -> str:
    return f"[{dim}:{sym.key(lo)}:{sym.key(hi)}]"


def sum_atom(dim: str, lo: Int, hi: Int, body: Mono) -> Atom:
    key = f"sum{_range_key(dim, lo, hi)}{body.key}"
    return Atom("sum", (dim, lo, hi, body), key, body.free - {dim})


def max_atom(dim: str, lo: Int, hi: Int, body: Poly) -> Atom:
    key = f"max{_range_key(dim, lo, hi)}{body.key}"
    return Atom("max", (dim, lo, hi, body), key, body.free - {dim})


def maximum_atom(args: tuple[Poly, ...]) -> Atom:
    free = frozenset().union(*(a.free for a in args))
    return Atom("maximum", args, "maximum{" + ",".join(a.key for a in args) + "}", free)


def poly_atom(p: Poly) -> Atom:
    return Atom("poly", (p,), f"poly{p.key}", p.free)


def where_atom(cond: Constraint, then: Poly, other: Poly) -> Atom:
    key = f"where{{{constraint_key(cond)}}}{{{then.key}}}{{{other.key}}}"
    free = frozenset(d for d, _ in cond.coeffs) | then.free | other.free
    return Atom("where", (cond, then, other), key, free)


def select_atom(op: str, parts: tuple[Poly, Poly, Poly, Poly]) -> Atom:
    key = f"select{op}{{" + ",".join(p.key for p in parts) + "}"
    return Atom("select", (op, *parts), key, frozenset().union(*(p.free for p in parts)))


# --------------------------------------------------------------------------- polys

ONE_MONO = Mono(())
ZERO = Poly(())
NEG_INF = Poly((), neg_inf=True)
POS_INF = Poly((), pos_inf=True)


def constant(c: Number) -> Poly:
    if isinstance(c, float):
        if c == NEG_INF_VALUE:
            return NEG_INF
        if c == POS_INF_VALUE:
            return POS_INF
        if c != c:
            raise CannotNormalize("non-finite constant")
    return ZERO if c == 0 else Poly(((ONE_MONO, c),))


def from_mono(m: Mono, c: Number = Fraction(1)) -> Poly:
    return Poly(((m, c),))


def from_atom(a: Atom) -> Poly:
    return from_mono(Mono(((a, 1),)))


def as_constant(p: Poly) -> Number | None:
    if p.infinite:
        return None
    if not p.terms:
        return Fraction(0)
    if len(p.terms) == 1 and p.terms[0][0] == ONE_MONO:
        return p.terms[0][1]
    return None


def _collect(items: dict[Mono, Number]) -> Poly:
    terms = tuple(sorted(((m, c) for m, c in items.items() if c != 0), key=_mono_of_key))
    return _merge_ranges(Poly(terms)) if len(terms) > 1 else Poly(terms)


def _mono_of_key(term: tuple[Mono, Number]) -> str:
    return term[0].key


def add(a: Poly, b: Poly) -> Poly:
    if a.infinite or b.infinite:
        if (a.neg_inf or b.neg_inf) and (a.pos_inf or b.pos_inf):
            raise CannotNormalize("-inf + inf")
        # -inf + finite = -inf (every non-marker poly is finite)
        return NEG_INF if a.neg_inf or b.neg_inf else POS_INF
    items: dict[Mono, Number] = dict(a.terms)
    for m, c in b.terms:
        items[m] = items.get(m, 0) + c
    return _collect(items)


def scale(p: Poly, c: Number) -> Poly:
    if p.infinite:
        if c == 0:
            raise CannotNormalize("an infinity scaled by zero")
        return NEG_INF if (c > 0) == p.neg_inf else POS_INF
    return _collect({m: k * c for m, k in p.terms})


def neg(p: Poly) -> Poly:
    return scale(p, -1)


def _mono_mul(a: Mono, b: Mono) -> Mono:
    exps: dict[Atom, int] = dict(a.factors)
    for atom, e in b.factors:
        exps[atom] = exps.get(atom, 0) + e
    factors = tuple(sorted(((x, e) for x, e in exps.items() if e != 0), key=lambda t: t[0].key))
    return Mono(factors, _exponent_sum(a.exp, b.exp), _exponent_sum(a.exp2, b.exp2))


def _exponent_sum(a: Poly | None, b: Poly | None) -> Poly | None:
    """``exp(a) * exp(b) = exp(a + b)``; None stands for ``exp(0)``."""
    total = a if b is None else b if a is None else add(a, b)
    return None if total is None or not total.terms else total


def _plain(m: Mono) -> bool:
    """No exponential factor: the monomial is its atoms."""
    return m.exp is None and m.exp2 is None


def mul(a: Poly, b: Poly) -> Poly:
    for x, y in ((a, b), (b, a)):
        if x.infinite:
            c = as_constant(y)
            if c is None:
                raise CannotNormalize("an infinity times a non-constant")
            return scale(x, c)
    items: dict[Mono, Number] = {}
    for ma, ca in a.terms:
        for mb, cb in b.terms:
            m = _mono_mul(ma, mb)
            items[m] = items.get(m, 0) + ca * cb
    return _collect(items)


def _mono_inverse(m: Mono) -> Mono:
    exp = None if m.exp is None else neg(m.exp)
    exp2 = None if m.exp2 is None else neg(m.exp2)
    return Mono(tuple((a, -e) for a, e in m.factors), exp, exp2)


def inverse(p: Poly) -> Poly:
    """``1/p`` where defined (``p * (1/p) = 1`` wherever ``p != 0``)."""
    if p.infinite or not p.terms:
        raise CannotNormalize("division by zero or by an infinity")
    if len(p.terms) == 1:
        m, c = p.terms[0]
        return from_mono(_mono_inverse(m), 1 / c if isinstance(c, float) else Fraction(1) / c)
    lead = p.terms[0][1]
    primitive = scale(p, 1 / lead if isinstance(lead, float) else Fraction(1) / lead)
    inv_lead = 1 / lead if isinstance(lead, float) else Fraction(1) / lead
    return from_mono(Mono(((poly_atom(primitive), -1),)), inv_lead)


def exp(p: Poly) -> Poly:
    if p.neg_inf:
        return ZERO
    if p.pos_inf:
        return POS_INF
    if not p.terms:
        return constant(Fraction(1))
    return from_mono(Mono((), p))


def exp2(p: Poly) -> Poly:
    if p.neg_inf:
        return ZERO
    if p.pos_inf:
        return POS_INF
    c = as_constant(p)
    if isinstance(c, Fraction) and c.denominator == 1 and abs(c) <= 64:
        return constant(Fraction(2) ** c.numerator)
    return from_mono(Mono((), None, p))


def function(fn: str, p: Poly) -> Poly:
    if p.infinite:
        raise CannotNormalize(f"{fn} of an infinity")
    mono = _single_mono(p)
    if mono is not None and not mono.factors:
        if fn == "log" and mono.exp is not None and mono.exp2 is None:
            return mono.exp  # log(exp(q)) = q
        if fn == "log2" and mono.exp2 is not None and mono.exp is None:
            return mono.exp2  # log2(exp2(q)) = q
    if fn == "log" and len(p.terms) == 1:
        m, c = p.terms[0]
        if m.exp is not None and m.exp2 is None:
            # log(c * F * exp(q)) = log(c * F) + q wherever both sides are defined (both
            # need c * F > 0): a running log-sum-exp keeps its max factored out this way
            return add(function("log", from_mono(Mono(m.factors), c)), m.exp)
    if fn in ("log", "log2") and len(p.terms) == 1 and p.terms[0][1] == 1:
        m = p.terms[0][0]
        if _plain(m) and len(m.factors) == 1 and m.factors[0][1] == -1:
            # log(1/a) = -log(a): both are defined exactly where a > 0 (log-softmax is
            # x - log(sum(exp(x))) this way)
            return neg(function(fn, from_atom(m.factors[0][0])))
    c = as_constant(p)
    if fn in ("log", "log2") and c == 1:
        return ZERO
    if fn == "sqrt" and isinstance(c, Fraction) and c >= 0:
        num, den = isqrt(c.numerator), isqrt(c.denominator)
        if num * num == c.numerator and den * den == c.denominator:
            return constant(Fraction(num, den))
    if fn in ("sin", "sqrt") and c == 0:
        return ZERO
    if fn == "cos" and c == 0:
        return constant(Fraction(1))
    return from_atom(fn_atom(fn, p))


def _single_mono(p: Poly) -> Mono | None:
    """The monomial of ``p`` when ``p`` is exactly one monomial with coefficient 1."""
    if not p.infinite and len(p.terms) == 1 and p.terms[0][1] == 1:
        return p.terms[0][0]
    return None


def _split_mono(m: Mono, dim: str) -> tuple[Mono, Mono]:
    """``m = independent * dependent`` with respect to ``dim``."""
    indep = tuple((a, e) for a, e in m.factors if dim not in a.free)
    dep = tuple((a, e) for a, e in m.factors if dim in a.free)
    exp_in, exp_dep = _split_exponent(m.exp, dim)
    exp2_in, exp2_dep = _split_exponent(m.exp2, dim)
    return Mono(indep, exp_in, exp2_in), Mono(dep, exp_dep, exp2_dep)


def _split_exponent(p: Poly | None, dim: str) -> tuple[Poly | None, Poly | None]:
    """``exp(p) = exp(independent) * exp(dependent)`` with respect to ``dim``."""
    if p is None:
        return None, None
    indep = _collect({x: c for x, c in p.terms if dim not in x.free})
    dep = _collect({x: c for x, c in p.terms if dim in x.free})
    return (indep if indep.terms else None), (dep if dep.terms else None)


def reduce_sum(dim: str, lo: Int, hi: Int, p: Poly) -> Poly:
    if p.infinite:
        raise CannotNormalize("sum of an infinity")
    count = sym.width(lo, hi)  # None: depends on a loop index (a prefix [0:ik))
    if count is not None and count <= 0:
        return ZERO
    items: dict[Mono, Number] = {}
    for m, c in p.terms:
        indep, dep = _split_mono(m, dim)
        if dep == ONE_MONO:
            if count is None:
                raise CannotNormalize("sum of a constant over a range of unknown length")
            term, k = indep, c * count
        else:
            term, k = _mono_mul(indep, Mono(((sum_atom(dim, lo, hi, dep), 1),))), c
        items[term] = items.get(term, 0) + k
    return _collect(items)


def reduce_max(dim: str, lo: Int, hi: Int, p: Poly) -> Poly:
    count = sym.width(lo, hi)
    if count is not None and count <= 0:
        return NEG_INF
    if count is None and sym.bounds(sym.sub(hi, lo))[0] <= 0:
        # A max over a range that may be empty may be -inf; every atom must be finite.
        raise CannotNormalize("max over a range that may be empty")
    if p.infinite or dim not in p.free:
        if count is None:
            raise CannotNormalize("max of a constant over a range that may be empty")
        return p
    dep = _collect({m: c for m, c in p.terms if dim in m.free})
    indep = _collect({m: c for m, c in p.terms if dim not in m.free})
    return add(from_atom(max_atom(dim, lo, hi, dep)), indep)


def maximum(a: Poly, b: Poly) -> Poly:
    args: set[Poly] = set()
    for p in (a, b):
        if p.neg_inf:
            continue  # maximum(-inf, x) = x
        if p.pos_inf:
            return POS_INF  # maximum(inf, x) = inf
        if len(p.terms) == 1 and p.terms[0][1] == 1 and len(p.terms[0][0].factors) == 1:
            atom, e = p.terms[0][0].factors[0]
            if atom.kind == "maximum" and e == 1 and _plain(p.terms[0][0]):
                args.update(atom.parts)
                continue
        args.add(p)
    merged = _merge_max_args(args)
    if not merged:
        return NEG_INF
    if len(merged) == 1:
        return next(iter(merged))
    return from_atom(maximum_atom(tuple(sorted(merged, key=lambda q: q.key))))


def _merge_max_args(args: set[Poly]) -> set[Poly]:
    """``maximum(max[d a:b](e), max[d b:c](e)) = max[d a:c](e)``."""
    changed = True
    while changed:
        changed = False
        singles = [p for p in args if _single_max_atom(p) is not None]
        for p in singles:
            d, lo, hi, body = _single_max_atom(p)
            for q in singles:
                if q is p:
                    continue
                d2, lo2, hi2, body2 = _single_max_atom(q)
                union = _touching(lo, hi, lo2, hi2)
                if d == d2 and body == body2 and union is not None:
                    args -= {p, q}
                    args.add(from_atom(max_atom(d, union[0], union[1], body)))
                    changed = True
                    break
            if changed:
                break
    return args


def _ordered(lo: Int, hi: Int) -> bool:
    """``lo <= hi`` for every value of the loop indices (adjacent ranges then merge)."""
    return sym.bounds(sym.sub(hi, lo))[0] >= 0


def _touching(lo: Int, hi: Int, lo2: Int, hi2: Int) -> tuple[Int, Int] | None:
    """The union of two ranges that overlap or touch (exactly, for symbolic bounds)."""
    if not (_ordered(lo, hi) and _ordered(lo2, hi2)):
        return None
    if all(isinstance(x, int) for x in (lo, hi, lo2, hi2)):
        if max(lo, lo2) <= min(hi, hi2):  # type: ignore[type-var]
            return min(lo, lo2), max(hi, hi2)  # type: ignore[type-var]
        return None
    if hi == lo2:
        return lo, hi2
    if hi2 == lo:
        return lo2, hi
    if (lo, hi) == (lo2, hi2):
        return lo, hi
    return None


def _single_max_atom(p: Poly) -> tuple | None:
    if len(p.terms) == 1 and p.terms[0][1] == 1 and _plain(p.terms[0][0]):
        factors = p.terms[0][0].factors
        if len(factors) == 1 and factors[0][1] == 1 and factors[0][0].kind == "max":
            return factors[0][0].parts
    return None


def _merge_ranges(p: Poly) -> Poly:
    """``c*X*sum[d a:b](B) + c*X*sum[d b:e](B) = c*X*sum[d a:e](B)``."""
    terms = list(p.terms)
    changed = True
    while changed and len(terms) > 1:
        changed = False
        seen: dict[tuple, int] = {}
        for i, (m, c) in enumerate(terms):
            for j, (atom, e) in enumerate(m.factors):
                if atom.kind != "sum" or e != 1:
                    continue
                d, lo, hi, body = atom.parts
                rest = Mono(m.factors[:j] + m.factors[j + 1 :], m.exp, m.exp2)
                key_hi = (rest.key, _num_key(c), d, body.key, "ends", hi)
                key_lo = (rest.key, _num_key(c), d, body.key, "ends", lo)
                # a neighbour ending where this one starts, or starting where it ends
                partner = seen.get(key_lo + ("as-hi",)) or seen.get(key_hi + ("as-lo",))
                if (
                    partner is not None
                    and partner[0] != i
                    and _ordered(lo, hi)
                    and _ordered(*partner[1])
                ):
                    k, (plo, phi) = partner
                    new_lo, new_hi = (plo, hi) if phi == lo else (lo, phi)
                    merged = _mono_mul(rest, Mono(((sum_atom(d, new_lo, new_hi, body), 1),)))
                    terms = [t for n, t in enumerate(terms) if n not in (i, k)]
                    terms.append((merged, c))
                    changed = True
                    break
                seen[key_hi + ("as-hi",)] = (i, (lo, hi))
                seen[key_lo + ("as-lo",)] = (i, (lo, hi))
            if changed:
                break
        if changed:
            items: dict[Mono, Number] = {}
            for m, c in terms:
                items[m] = items.get(m, 0) + c
            terms = sorted(((m, c) for m, c in items.items() if c != 0), key=lambda t: t[0].key)
    return p if len(terms) == len(p.terms) and tuple(terms) == p.terms else Poly(tuple(terms))


# --------------------------------------------------------------------------- guards


@dataclass(frozen=True, eq=False)
class Compared:
    """A comparison of data values ``left OP right`` (OP in ``< <= ==``), as a guard's
    condition; the values are finite canonical forms."""

    op: str
    left: Poly
    right: Poly

    @property
    def key(self) -> str:
        return f"{self.left.key}{self.op}{self.right.key}"

    @property
    def free(self) -> frozenset[str]:
        return self.left.free | self.right.free


Condition = Constraint | Compared


def cond_key(cond: Condition) -> str:
    """Identifies a condition exactly; index conditions and comparisons never clash."""
    return "$" + cond.key if isinstance(cond, Compared) else constraint_key(cond)


@dataclass(frozen=True, eq=False)
class Guard:
    """``then`` where ``cond`` holds, else ``other``; conditions below are later by key."""

    cond: Condition
    then: Form
    other: Form
    key: str = field(default="", compare=False, repr=False)
    size: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        key = f"?{{{cond_key(self.cond)}}}{{{self.then.key}}}{{{self.other.key}}}"
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "size", _size(self.then) + _size(self.other))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Guard) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


Form = Poly | Guard


def _size(f: Form) -> int:
    return f.size if isinstance(f, Guard) else 1


def _guard(cond: Condition, then: Form, other: Form) -> Form:
    if then == other:
        return then  # Where(c, a, a) = a
    if isinstance(cond, Compared):
        settled = _settle_at_equality(cond, then, other)
        if settled is not None:
            cond, then, other = settled
            if then == other:
                return then
    out = Guard(cond, then, other)
    if out.size > MAX_GUARDS:
        raise CannotNormalize("too many mask combinations")
    return out


def _single_atom(p: Poly) -> tuple[Atom, Number] | None:
    """``p`` as ``c * a`` for one atom ``a`` (exponent 1, no exponential factor)."""
    if p.infinite or len(p.terms) != 1:
        return None
    m, c = p.terms[0]
    if not _plain(m) or len(m.factors) != 1 or m.factors[0][1] != 1:
        return None
    return m.factors[0][0], c


def _vanishes_with(p: Poly, atom: Atom) -> bool:
    """Every monomial of ``p`` has ``atom`` as a factor, and no atom in a denominator:
    ``p`` is 0 wherever ``atom`` is (atoms are finite here, ``exp`` of a finite form too)."""
    if p.infinite:
        return False
    return all(
        any(a == atom for a, e in m.factors) and all(e > 0 for _, e in m.factors)
        for m, _ in p.terms
    )


def _settle_at_equality(
    cond: Compared, then: Form, other: Form
) -> tuple[Compared, Form, Form] | None:
    """A comparison whose branches agree where its two sides are equal, in one form.

    With ``right - left = c * a`` (one atom), the sides are equal exactly where
    ``a = 0``; if ``then - other`` vanishes there too, the comparison's value at
    equality does not matter: ``where(l <= r, t, e) = where(l < r, t, e)`` and
    ``where(l == r, t, e) = e``. The strict comparison is then written ``0 < a``
    (for ``c < 0``, ``l < r`` is ``a < 0``, i.e. ``not 0 <= a``: the branches swap),
    so that ``where(x >= 0, x, s * x)``, ``where(x > 0, x, s * x)`` and
    ``where(0 > x, s * x, x)`` are one guard.
    """
    if not (isinstance(then, Poly) and isinstance(other, Poly)):
        return None
    single = _single_atom(add(cond.right, neg(cond.left)))
    if single is None:
        return None
    atom, c = single
    if not _vanishes_with(add(then, neg(other)), atom):
        return None
    if cond.op == "==":
        return cond, other, other
    strict = Compared("<", ZERO, from_atom(atom))
    return (strict, then, other) if c > 0 else (strict, other, then)


def _branches(f: Form, key: str) -> tuple[Form, Form]:
    if isinstance(f, Guard) and cond_key(f.cond) == key:
        return f.then, f.other
    return f, f


def _top(forms: tuple[Form, ...]) -> Condition | None:
    """The first condition by key among the roots (the outermost of their combination)."""
    conds = [f.cond for f in forms if isinstance(f, Guard)]
    return min(conds, key=cond_key) if conds else None


def lift1(fn: Callable[[Poly], Poly], f: Form) -> Form:
    """``fn(Where(c, a, b)) = Where(c, fn(a), fn(b))``."""
    if isinstance(f, Poly):
        return fn(f)
    return _guard(f.cond, lift1(fn, f.then), lift1(fn, f.other))


def lift2(fn: Callable[[Poly, Poly], Form], a: Form, b: Form) -> Form:
    """``Where(c, a, b) op x = Where(c, a op x, b op x)``, one condition at a time."""
    if isinstance(a, Poly) and isinstance(b, Poly):
        return fn(a, b)
    cond = _top((a, b))
    assert cond is not None
    key = cond_key(cond)
    (a1, a0), (b1, b0) = _branches(a, key), _branches(b, key)
    return _guard(cond, lift2(fn, a1, b1), lift2(fn, a0, b0))


def select(cond: Condition, then: Form, other: Form) -> Form:
    """``Where(cond, then, other)`` for forms that may hold guards of their own."""
    key = cond_key(cond)
    top = _top((then, other))
    if top is None or cond_key(top) >= key:
        return _guard(cond, _branches(then, key)[0], _branches(other, key)[1])
    top_key = cond_key(top)
    (t1, t0), (o1, o0) = _branches(then, top_key), _branches(other, top_key)
    return _guard(top, select(cond, t1, o1), select(cond, t0, o0))


def compared(op: str, left: Form, right: Form) -> Compared:
    """The condition ``left OP right`` of a data comparison (finite values, no masks)."""
    if not (isinstance(left, Poly) and isinstance(right, Poly)):
        raise CannotNormalize("a data comparison of masked values")
    if left.infinite or right.infinite:
        raise CannotNormalize("a data comparison of an infinite value")
    return Compared(op, left, right)


def as_poly(f: Form, allow_infinite: bool = False) -> Poly:
    """A guard as an opaque ``where`` atom (once no identity applies to it).

    Atoms are finite in this representation (``x - x = 0`` is applied to
    them), so an infinite branch is refused except at the very top.
    """
    if isinstance(f, Poly):
        return f
    then, other = as_poly(f.then, allow_infinite), as_poly(f.other, allow_infinite)
    if not allow_infinite and (then.infinite or other.infinite):
        raise CannotNormalize("a mask with an infinite branch inside an expression")
    if isinstance(f.cond, Compared):
        if then.infinite or other.infinite:
            raise CannotNormalize("a data comparison with an infinite branch")
        return from_atom(select_atom(f.cond.op, (f.cond.left, f.cond.right, then, other)))
    return from_atom(where_atom(f.cond, then, other))


def _negate(c: Condition) -> Constraint | bool | None:
    """``not c`` as one constraint (over integers ``not x <= 0`` is ``-x + 1 <= 0``)."""
    if isinstance(c, Compared) or c.op != "<=":
        return None
    return constraint({d: -k for d, k in c.coeffs}, sym.add(sym.scale(c.const, -1), 1), "<=")


def _clip(cond: Condition, dim: str, lo: Int, hi: Int) -> tuple[Int, Int] | None:
    """``[lo, hi)`` restricted to where ``cond`` holds, if ``cond`` bounds ``dim`` alone."""
    if isinstance(cond, Compared):
        return None
    if len(cond.coeffs) != 1 or cond.coeffs[0][0] != dim or not isinstance(cond.const, int):
        return None
    k, c = cond.coeffs[0][1], cond.const
    try:
        if cond.op == "==":  # dim == -c
            return _at_least(lo, -c), _at_most(hi, -c + 1)
        if k == 1:  # dim <= -c
            return lo, _at_most(hi, -c + 1)
        if k == -1:  # dim >= c
            return _at_least(lo, c), hi
    except sym.NeedsUnroll:
        return None  # a symbolic bound that may or may not pass the constraint's
    return None


def _at_least(x: Int, c: int) -> Int:
    return x if sym.compare(">=", x, c) else c


def _at_most(x: Int, c: int) -> Int:
    return x if sym.compare("<=", x, c) else c


def _is_identity(op: str, f: Form) -> bool:
    return isinstance(f, Poly) and f == constant(IDENTITY[op].value)


def reduce_form(op: str, dim: str, lo: Int, hi: Int, body: Form) -> Form:
    """A reduction of a guarded body: guards move out, clip the range, or become atoms."""
    if isinstance(body, Poly):
        return _reduce_poly(op, dim, lo, hi, body)
    cond = body.cond
    mentioned = cond.free if isinstance(cond, Compared) else {d for d, _ in cond.coeffs}
    if dim not in mentioned:
        # the condition is the same for every element reduced
        then = reduce_form(op, dim, lo, hi, body.then)
        return select(cond, then, reduce_form(op, dim, lo, hi, body.other))
    kept, dropped = body.then, body.other
    if _is_identity(op, kept) and not _is_identity(op, dropped):
        flipped = _negate(cond)
        if isinstance(flipped, Constraint):
            cond, kept, dropped = flipped, dropped, kept
    if _is_identity(op, dropped):
        clipped = _clip(cond, dim, lo, hi)
        if clipped is not None:
            return reduce_form(op, dim, *clipped, kept)
    return _reduce_poly(op, dim, lo, hi, as_poly(body))


def _reduce_poly(op: str, dim: str, lo: Int, hi: Int, p: Poly) -> Poly:
    if op == "sum":
        return reduce_sum(dim, lo, hi, p)
    if op == "max":
        return reduce_max(dim, lo, hi, p)
    return neg(reduce_max(dim, lo, hi, neg(p)))  # min = -max(-x)


# --------------------------------------------------------------------------- terms


def normalize(term: Term, size_limit: int | None = None) -> Poly:
    """The canonical form of ``term``; raises :class:`CannotNormalize`.

    With ``size_limit``, raises :class:`TooLarge` as soon as the canonical
    form of one subterm has a key longer than that many characters (a wrong
    unrolled kernel can have a form that grows quadratically per tile).
    """
    return as_poly(_Normalizer(size_limit).form(term), allow_infinite=True)


class _Normalizer:
    """Memoised by node identity: kernel terms share subterms (a running max is
    used by every later tile), and walking them as trees would be quadratic."""

    def __init__(self, size_limit: int | None = None) -> None:
        self.memo: dict[int, tuple[Term, Form]] = {}
        self.size_limit = size_limit
        # Also memoised by structure: an unrolled loop builds equal subterms as
        # new objects in every iteration (the scores of each key tile); a node's
        # structure is its fields with its children's structure numbers.
        self.numbers: dict[int, int] = {}  # node id -> structure number
        self.by_structure: dict[tuple, tuple[int, Form]] = {}
        self.counter = 0

    def form(self, term: Term) -> Form:
        # Post-order with an explicit stack: unrolled kernels nest thousands deep.
        memo, limit = self.memo, self.size_limit
        stack: list[tuple[Term, bool]] = [(term, False)]
        while stack:
            node, children_done = stack.pop()
            hit = memo.get(id(node))
            if hit is not None and hit[0] is node:
                continue
            if children_done:
                # keep the node alive in the memo so its id stays unique
                structure = self._structure(node)
                known = self.by_structure.get(structure) if structure is not None else None
                if known is not None:
                    number, form = known
                else:
                    form = self._build(node)
                    if limit is not None and len(form.key) > limit:
                        raise TooLarge(len(form.key))
                    number = self.counter = self.counter + 1  # never reused
                    if structure is not None:
                        self.by_structure[structure] = (number, form)
                self.numbers[id(node)] = number
                memo[id(node)] = (node, form)
                continue
            stack.append((node, True))
            for child in children(node):
                hit = memo.get(id(child))
                if hit is None or hit[0] is not child:
                    stack.append((child, False))
        return memo[id(term)][1]

    def _structure(self, node: Term) -> tuple | None:
        """Equal for structurally equal nodes (children already numbered)."""
        numbers = self.numbers
        if isinstance(node, Unary):
            return ("u", node.fn, numbers[id(node.arg)])
        if isinstance(node, Binary):
            return ("b", node.op, numbers[id(node.left)], numbers[id(node.right)])
        if isinstance(node, Reduce):
            lo, hi = sym.key(node.lo), sym.key(node.hi)
            return ("r", node.op, node.dim, lo, hi, numbers[id(node.body)])
        if isinstance(node, Load):
            return ("l", node.tensor, node.dims)
        if isinstance(node, Const):  # 1 and 1.0 are equal but not the same constant
            return ("c", type(node.value).__name__, node.value)
        return None  # a kind of node without a structure here: memoised by identity only

    def _known(self, term: Term) -> bool:
        hit = self.memo.get(id(term))
        return hit is not None and hit[0] is term

    def _done(self, term: Term) -> Form:
        """The form of a child already built (``_build`` runs in post-order)."""
        return self.memo[id(term)][1]

    def _build(self, term: Term) -> Form:
        if isinstance(term, Const):
            return constant(term.value)
        if isinstance(term, Load):
            return from_atom(load_atom(term.tensor, term.dims))
        if isinstance(term, Unary):
            fn = _UNARY.get(term.fn) or functools.partial(function, term.fn)
            return lift1(fn, self._done(term.arg))
        if isinstance(term, Binary):
            return lift2(_BINARY[term.op], self._done(term.left), self._done(term.right))
        if isinstance(term, Where):
            return self._where(term)
        if isinstance(term, Select):
            cond = compared(term.op, self._done(term.left), self._done(term.right))
            return select(cond, self._done(term.then), self._done(term.other))
        if isinstance(term, Reduce):
            return reduce_form(term.op, term.dim, term.lo, term.hi, self._done(term.body))
        raise CannotNormalize("an undefined value")

    def _where(self, term: Where) -> Form:
        out, other = self.form(term.then), self.form(term.other)
        for c in reversed(term.cond):
            norm = constraint(dict(c.coeffs), c.const, c.op)
            if norm is False:
                return other
            if norm is not True:
                out = select(norm, out, other)
        return out


def _maximum_form(a: Poly, b: Poly) -> Form:
    """``maximum(a, b)``; against 0, of one loaded ``c * x``, the guard ``where(0 < a, a, 0)``
    (the same at ``a = 0``), so that ``maximum(0, x) + s * minimum(0, x)`` and
    ``where(x > 0, x, s * x)`` meet."""
    for p, q in ((a, b), (b, a)):
        single = _single_atom(p)
        # elementwise values only: a reduction against 0 (a row max with padded lanes)
        # stays a maximum, as reports show it
        if q == ZERO and single is not None and single[0].kind == "load":
            return select(Compared("<", ZERO, p), p, ZERO)
    return maximum(a, b)


_UNARY = {"neg": neg, "recip": inverse, "exp": exp, "exp2": exp2}
_BINARY: dict[str, Callable[[Poly, Poly], Form]] = {
    "+": add,
    "-": lambda a, b: add(a, neg(b)),
    "*": mul,
    "/": lambda a, b: mul(a, inverse(b)),
    "maximum": _maximum_form,
    "minimum": lambda a, b: lift1(neg, _maximum_form(neg(a), neg(b))),
}


def to_term(p: Poly) -> Term:
    """A term denoting the canonical form (deterministic, for the e-graph and messages)."""
    if p.infinite:
        return Const(NEG_INF_VALUE if p.neg_inf else POS_INF_VALUE)
    if not p.terms:
        return const(0)
    out: Term | None = None
    for m, c in p.terms:
        term = _mono_term(m, c)
        out = term if out is None else Binary("+", out, term)
    assert out is not None
    return out


def _mono_term(m: Mono, c: Number) -> Term:
    factors: list[Term] = []
    for atom, e in m.factors:
        base = _atom_term(atom)
        power = base
        for _ in range(abs(e) - 1):
            power = Binary("*", power, base)
        factors.append(power if e > 0 else Unary("recip", power))
    if m.exp is not None:
        factors.append(Unary("exp", to_term(m.exp)))
    if m.exp2 is not None:
        factors.append(Unary("exp2", to_term(m.exp2)))
    if not factors:
        return Const(c)
    out = factors[0]
    for f in factors[1:]:
        out = Binary("*", out, f)
    if c == 1:
        return out
    if c == -1:
        return Unary("neg", out)
    return Binary("*", Const(c), out)


def _atom_term(atom: Atom) -> Term:
    if atom.kind == "load":
        return Load(*atom.parts)
    if atom.kind == "fn":
        fn, arg = atom.parts
        return Unary(fn, to_term(arg))
    if atom.kind == "sum":
        d, lo, hi, body = atom.parts
        return Reduce("sum", d, lo, hi, _mono_term(body, Fraction(1)))
    if atom.kind == "max":
        d, lo, hi, body = atom.parts
        return Reduce("max", d, lo, hi, to_term(body))
    if atom.kind == "where":
        cond, then, other = atom.parts
        return Where((cond,), to_term(then), to_term(other))
    if atom.kind == "select":
        op, *parts = atom.parts
        return Select(op, *(to_term(p) for p in parts))
    if atom.kind == "maximum":
        args = [to_term(a) for a in atom.parts]
        out = args[0]
        for a in args[1:]:
            out = Binary("maximum", out, a)
        return out
    return to_term(atom.parts[0])


def reductions(p: Poly) -> list[tuple[str, str, str, int, int]]:
    """Every reduction in ``p`` as ``(op, dim, body key, lo, hi)``, outermost first."""
    found: list[tuple[str, str, str, int, int]] = []

    def visit_poly(q: Poly) -> None:
        for m, _ in q.terms:
            visit_mono(m)

    def visit_mono(m: Mono) -> None:
        for atom, _ in m.factors:
            if atom.kind in ("sum", "max"):
                d, lo, hi, body = atom.parts
                found.append((atom.kind, d, body.key, lo, hi))
                visit_mono(body) if atom.kind == "sum" else visit_poly(body)
            elif atom.kind in ("fn", "poly"):
                visit_poly(atom.parts[-1])
            elif atom.kind == "maximum":
                for a in atom.parts:
                    visit_poly(a)
            elif atom.kind == "where":
                visit_poly(atom.parts[1])
                visit_poly(atom.parts[2])
            elif atom.kind == "select":
                for part in atom.parts[1:]:
                    visit_poly(part)
        if m.exp is not None:
            visit_poly(m.exp)
        if m.exp2 is not None:
            visit_poly(m.exp2)

    visit_poly(p)
    return found
