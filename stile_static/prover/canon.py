"""Canonical forms: bring a term to a sum of monomials before it reaches the e-graph.

Each step is an identity of real arithmetic that holds wherever both sides
are defined, and the representation makes equal-by-these-identities terms
structurally equal:

* a :class:`Poly` is a sum of monomials with exact coefficients;
* a :class:`Mono` is a product of atoms with integer exponents times one
  ``exp(poly)`` factor (``exp(p) * exp(q) = exp(p + q)``);
* ``sum[d]`` is linear: constant and ``d``-independent factors move out of it,
  and sums of the same body over adjacent ranges merge into one;
* ``max[d]`` and ``maximum`` merge adjacent ranges, drop ``-inf`` and move
  ``d``-independent addends out.

``-inf`` is kept as a separate marker (only the identities that hold for it
are applied: ``-inf + finite = -inf``, ``exp(-inf) = 0``, ``maximum(-inf, x)
= x``); anything else involving it, or a division by zero, raises
:class:`CannotNormalize` and the caller falls back to the raw term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import isqrt

from ..ir import symbolic as sym
from ..ir.symbolic import Int
from ..ir.terms import Binary, Const, Load, Number, Reduce, Term, Unary, const

NEG_INF_VALUE = float("-inf")


class CannotNormalize(Exception):
    """The term leaves the fragment the canonical form handles soundly."""


@dataclass(frozen=True, eq=False)
class Poly:
    """A sum of monomials (sorted by key), or the ``-inf`` marker."""

    terms: tuple[tuple[Mono, Number], ...]
    neg_inf: bool = False
    key: str = field(default="", compare=False, repr=False)
    free: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.neg_inf:
            key, free = "-inf", frozenset()
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
    """Atoms with integer exponents times ``exp(exp)``."""

    factors: tuple[tuple[Atom, int], ...]
    exp: Poly | None = None
    key: str = field(default="", compare=False, repr=False)
    free: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        parts = [f"{a.key}^{e}" for a, e in self.factors]
        free = frozenset().union(*(a.free for a, _ in self.factors))
        if self.exp is not None:
            parts.append(f"exp{self.exp.key}")
            free |= self.exp.free
        object.__setattr__(self, "key", "[" + ".".join(parts) + "]")
        object.__setattr__(self, "free", free)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mono) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True, eq=False)
class Atom:
    """An opaque factor: ``kind`` with its canonical parts."""

    kind: str  # load | fn | sum | max | maximum | poly
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
    return Atom("load", (tensor, dims), f"{tensor}[{','.join(dims)}]", frozenset(dims))


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


# --------------------------------------------------------------------------- polys

ONE_MONO = Mono(())
ZERO = Poly(())
NEG_INF = Poly((), neg_inf=True)


def constant(c: Number) -> Poly:
    if isinstance(c, float):
        if c == NEG_INF_VALUE:
            return NEG_INF
        if c != c or c == float("inf"):
            raise CannotNormalize("non-finite constant")
    return ZERO if c == 0 else Poly(((ONE_MONO, c),))


def from_mono(m: Mono, c: Number = Fraction(1)) -> Poly:
    return Poly(((m, c),))


def from_atom(a: Atom) -> Poly:
    return from_mono(Mono(((a, 1),)))


def as_constant(p: Poly) -> Number | None:
    if p.neg_inf:
        return None
    if not p.terms:
        return Fraction(0)
    if len(p.terms) == 1 and p.terms[0][0] == ONE_MONO:
        return p.terms[0][1]
    return None


def _collect(items: dict[Mono, Number]) -> Poly:
    terms = tuple(sorted(((m, c) for m, c in items.items() if c != 0), key=lambda t: t[0].key))
    return _merge_ranges(Poly(terms))


def add(a: Poly, b: Poly) -> Poly:
    if a.neg_inf or b.neg_inf:
        return NEG_INF  # -inf + finite = -inf (every non-marker poly is finite)
    items: dict[Mono, Number] = dict(a.terms)
    for m, c in b.terms:
        items[m] = items.get(m, 0) + c
    return _collect(items)


def scale(p: Poly, c: Number) -> Poly:
    if p.neg_inf:
        if c > 0:
            return NEG_INF
        raise CannotNormalize("-inf scaled by a non-positive constant")
    return _collect({m: k * c for m, k in p.terms})


def neg(p: Poly) -> Poly:
    return scale(p, -1)


def _mono_mul(a: Mono, b: Mono) -> Mono:
    exps: dict[Atom, int] = dict(a.factors)
    for atom, e in b.factors:
        exps[atom] = exps.get(atom, 0) + e
    factors = tuple(sorted(((x, e) for x, e in exps.items() if e != 0), key=lambda t: t[0].key))
    exp = a.exp if b.exp is None else b.exp if a.exp is None else add(a.exp, b.exp)
    return Mono(factors, None if exp is None or not exp.terms else exp)


def mul(a: Poly, b: Poly) -> Poly:
    for x, y in ((a, b), (b, a)):
        if x.neg_inf:
            c = as_constant(y)
            if c is None:
                raise CannotNormalize("-inf times a non-constant")
            return scale(x, c)
    items: dict[Mono, Number] = {}
    for ma, ca in a.terms:
        for mb, cb in b.terms:
            m = _mono_mul(ma, mb)
            items[m] = items.get(m, 0) + ca * cb
    return _collect(items)


def _mono_inverse(m: Mono) -> Mono:
    exp = None if m.exp is None else neg(m.exp)
    return Mono(tuple((a, -e) for a, e in m.factors), exp)


def inverse(p: Poly) -> Poly:
    """``1/p`` where defined (``p * (1/p) = 1`` wherever ``p != 0``)."""
    if p.neg_inf or not p.terms:
        raise CannotNormalize("division by zero or by -inf")
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
    if not p.terms:
        return constant(Fraction(1))
    return from_mono(Mono((), p))


def function(fn: str, p: Poly) -> Poly:
    if p.neg_inf:
        raise CannotNormalize(f"{fn} of -inf")
    c = as_constant(p)
    if fn == "sqrt" and isinstance(c, Fraction) and c >= 0:
        num, den = isqrt(c.numerator), isqrt(c.denominator)
        if num * num == c.numerator and den * den == c.denominator:
            return constant(Fraction(num, den))
    if fn in ("sin", "sqrt") and c == 0:
        return ZERO
    if fn == "cos" and c == 0:
        return constant(Fraction(1))
    return from_atom(fn_atom(fn, p))


def _split_mono(m: Mono, dim: str) -> tuple[Mono, Mono]:
    """``m = independent * dependent`` with respect to ``dim``."""
    indep = tuple((a, e) for a, e in m.factors if dim not in a.free)
    dep = tuple((a, e) for a, e in m.factors if dim in a.free)
    exp_in = exp_dep = None
    if m.exp is not None:
        exp_in = _collect({x: c for x, c in m.exp.terms if dim not in x.free})
        exp_dep = _collect({x: c for x, c in m.exp.terms if dim in x.free})
    return (
        Mono(indep, exp_in if exp_in is not None and exp_in.terms else None),
        Mono(dep, exp_dep if exp_dep is not None and exp_dep.terms else None),
    )


def reduce_sum(dim: str, lo: Int, hi: Int, p: Poly) -> Poly:
    if p.neg_inf:
        raise CannotNormalize("sum of -inf")
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
    if p.neg_inf or dim not in p.free:
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
        if len(p.terms) == 1 and p.terms[0][1] == 1 and len(p.terms[0][0].factors) == 1:
            atom, e = p.terms[0][0].factors[0]
            if atom.kind == "maximum" and e == 1 and p.terms[0][0].exp is None:
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
    if len(p.terms) == 1 and p.terms[0][1] == 1 and p.terms[0][0].exp is None:
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
                rest = Mono(m.factors[:j] + m.factors[j + 1 :], m.exp)
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


# --------------------------------------------------------------------------- terms


def normalize(term: Term) -> Poly:
    """The canonical form of ``term``; raises :class:`CannotNormalize`."""
    return _Normalizer().poly(term)


class _Normalizer:
    """Memoised by node identity: kernel terms share subterms (a running max is
    used by every later tile), and walking them as trees would be quadratic."""

    def __init__(self) -> None:
        self.memo: dict[int, tuple[Term, Poly]] = {}

    def poly(self, term: Term) -> Poly:
        # Post-order with an explicit stack: unrolled kernels nest thousands deep.
        stack: list[tuple[Term, bool]] = [(term, False)]
        while stack:
            node, children_done = stack.pop()
            if self._known(node):
                continue
            if children_done:
                # keep the node alive in the memo so its id stays unique
                self.memo[id(node)] = (node, self._build(node))
                continue
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if not self._known(child))
        return self.memo[id(term)][1]

    def _known(self, term: Term) -> bool:
        hit = self.memo.get(id(term))
        return hit is not None and hit[0] is term

    def _build(self, term: Term) -> Poly:
        if isinstance(term, Const):
            return constant(term.value)
        if isinstance(term, Load):
            return from_atom(load_atom(term.tensor, term.dims))
        if isinstance(term, Unary):
            arg = self.poly(term.arg)
            if term.fn == "neg":
                return neg(arg)
            if term.fn == "recip":
                return inverse(arg)
            if term.fn == "exp":
                return exp(arg)
            return function(term.fn, arg)
        if isinstance(term, Binary):
            left, right = self.poly(term.left), self.poly(term.right)
            if term.op == "+":
                return add(left, right)
            if term.op == "-":
                return add(left, neg(right))
            if term.op == "*":
                return mul(left, right)
            if term.op == "/":
                return mul(left, inverse(right))
            return maximum(left, right)
        body = self.poly(term.body)
        if term.op == "sum":
            return reduce_sum(term.dim, term.lo, term.hi, body)
        return reduce_max(term.dim, term.lo, term.hi, body)


def _children(term: Term) -> tuple[Term, ...]:
    if isinstance(term, Unary):
        return (term.arg,)
    if isinstance(term, Binary):
        return (term.left, term.right)
    if isinstance(term, Reduce):
        return (term.body,)
    return ()


def to_term(p: Poly) -> Term:
    """A term denoting the canonical form (deterministic, for the e-graph and messages)."""
    if p.neg_inf:
        return Const(NEG_INF_VALUE)
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
        if m.exp is not None:
            visit_poly(m.exp)

    visit_poly(p)
    return found
