"""Turn an obligation into a verdict: proven, wrong (with a counterexample) or not proven.

The e-graph decides; when it finds no proof, NumPy evaluates the kernel's and
the spec's terms on seeded random inputs so that "wrong" (the numbers differ)
and "not proven" (they agree) are told apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..core.scope import Scope
from ..ir import regions
from ..ir.obligations import Obligation
from ..ir.symbolic import LoopVar
from ..ir.terms import Term, loop_vars, show_short, substitute
from ..spec.parser import InputInfo
from . import canon
from .abbreviate import abbreviate, collapse_ranges
from .egraph import prove_equal
from .evaluator import evaluate


@dataclass(frozen=True)
class Counterexample:
    index: tuple[tuple[str, int], ...]
    kernel: float
    spec: float

    def __str__(self) -> str:
        where = ", ".join(f"{d}={i}" for d, i in self.index)
        return f"at {where}: kernel gives {self.kernel:.6g}, spec gives {self.spec:.6g}"


@dataclass(frozen=True)
class Verdict:
    status: str  # "proved" | "wrong" | "not-proven"
    kernel_form: str
    spec_form: str
    counterexample: Counterexample | None = None
    reduction_note: tuple[bool, str] | None = None
    shared: tuple[str, ...] = ()  # definitions of the names in the forms (``s1 = ...``)
    scope: Scope | None = None  # the configuration it was reached in (set by the checker)


# The canonical forms of correct kernels stay a few hundred characters at any
# tile count; a wrong unrolled kernel's can grow quadratically per tile (its
# pieces are weighted differently and never merge). Past this length the
# counterexample search, linear in the term, runs first (see Verifier.verify).
SIZE_LIMIT = 20_000

# Inputs are drawn from a standard normal, then shifted: mostly negative inputs
# catch what centred ones rarely show (a max accumulator starting at 0).
INPUT_SHIFTS = (0.0, -3.0)


def random_inputs(
    inputs: Mapping[str, InputInfo], dims: Mapping[str, int], seed: int, shift: float = 0.0
) -> dict:
    rng = np.random.default_rng(seed)
    return {
        name: rng.standard_normal(tuple(dims[d] for d in info.dims)) + shift
        for name, info in sorted(inputs.items())
    }


def region_mask(ob: Obligation, shape: tuple[int, ...]) -> np.ndarray:
    """Where the obligation's tile lies, over every value of its loop indices."""
    mask = np.zeros(shape, dtype=bool)
    for box in regions.boxes(ob.tile.slices):
        mask[tuple(slice(lo, hi) for lo, hi in box)] = True
    return mask


class Verifier:
    """Verdicts for the obligations of one file, with proofs cached by canonical form."""

    def __init__(self, inputs: Mapping[str, InputInfo], dims: Mapping[str, int], seed: int = 0):
        self.dims = dims
        self.inputs = inputs
        self.seed = seed
        self._draws: list[dict] | None = None
        self._canon: dict[int, tuple[Term, canon.Poly | None]] = {}  # by node identity
        self._proofs: dict[tuple[str, str], bool] = {}
        # evaluated subterms, per draw, shared across obligations
        self._memos: list[dict] = [{} for _ in INPUT_SHIFTS]

    @property
    def draws(self) -> list[dict]:
        if self._draws is None:
            self._draws = [
                random_inputs(self.inputs, self.dims, self.seed, shift) for shift in INPUT_SHIFTS
            ]
        return self._draws

    def memo(self, draw: int) -> dict:
        """The evaluation memo of draw ``draw`` (shared by every obligation)."""
        return self._memos[draw]

    def canonical(self, term: Term, size_limit: int | None = None) -> canon.Poly | None:
        """The canonical form (None outside its fragment); may raise canon.TooLarge."""
        hit = self._canon.get(id(term))
        if hit is not None and hit[0] is term:
            return hit[1]
        try:
            form: canon.Poly | None = canon.normalize(term, size_limit)
        except canon.CannotNormalize:
            form = None
        self._canon[id(term)] = (term, form)
        return form

    def verify(self, ob: Obligation) -> Verdict:
        try:
            kc, sc = (self.canonical(t, SIZE_LIMIT) for t in (ob.tile.term, ob.spec.term))
        except canon.TooLarge:
            # A huge canonical form is the mark of a wrong kernel: numbers decide
            # that in linear time. If they agree, normalise in full after all:
            # the limit never turns a verdict into "not proven".
            counterexample = self.counterexample(ob)
            if counterexample is not None:
                (kernel, spec), shared = abbreviate([ob.tile.term, ob.spec.term])
                return Verdict("wrong", kernel, spec, counterexample, shared=tuple(shared))
            kc, sc = self.canonical(ob.tile.term), self.canonical(ob.spec.term)
        kernel = canon.to_term(kc) if kc is not None else ob.tile.term
        spec = canon.to_term(sc) if sc is not None else ob.spec.term
        key = (
            kc.key if kc is not None else f"raw:{id(ob.tile.term)}",
            sc.key if sc is not None else f"raw:{id(ob.spec.term)}",
        )
        if key not in self._proofs:
            if kc is not None and sc is not None and kc.key == sc.key:
                # Equal canonical forms are a proof (each step of the canonical
                # form is an identity); the e-graph would only confirm it, after
                # loading its rules (a tenth of a second).
                self._proofs[key] = True
            elif loop_vars(kernel) or loop_vars(spec):
                # Ranges that depend on a loop index (an induction step) have no
                # e-graph encoding: equal canonical forms are the proof, since
                # every step of canonicalisation is an identity for every index.
                self._proofs[key] = kc is not None and sc is not None and kc.key == sc.key
            else:
                self._proofs[key] = prove_equal(kernel, spec).proved
        if self._proofs[key]:
            return Verdict("proved", show_short(kernel), show_short(spec))
        (kernel_form, spec_form), shared = abbreviate([kernel, spec])
        counterexample = self.counterexample(ob)
        if counterexample is None:
            return Verdict("not-proven", kernel_form, spec_form, shared=tuple(shared))
        note = reduction_note(kc, sc) if kc is not None and sc is not None else None
        return Verdict("wrong", kernel_form, spec_form, counterexample, note, tuple(shared))

    def counterexample(self, ob: Obligation) -> Counterexample | None:
        """Inputs (and loop index values) where the tile and the spec differ, if found."""
        dims = ob.tile.dims
        variables = tuple(dict.fromkeys(loop_vars(ob.tile.term) + loop_vars(ob.spec.term)))
        for values, memo in zip(self.draws, self._memos):
            # reductions over loop-dependent ranges: try a few values of each index
            for index in _samples(variables) if variables else [{}]:
                local = memo if not index else {}
                kernel, spec = (
                    evaluate(substitute(t, index) if index else t, values, dims, self.dims, local)
                    for t in (ob.tile.term, ob.spec.term)
                )
                found = first_difference(kernel, spec, region_mask(ob, kernel.shape), dims)
                if found is not None:
                    where = tuple((v.name, i) for v, i in index.items()) + found.index
                    return Counterexample(where, found.kernel, found.spec)
        return None


def _samples(variables: tuple[LoopVar, ...]) -> list[dict[LoopVar, int]]:
    """The first, second, a middle and the last value of each loop index."""
    choices = []
    for v in variables:
        picks = [v.values[0], v.values[min(1, len(v.values) - 1)], v.values[len(v.values) // 2]]
        choices.append(list(dict.fromkeys(picks + [v.values[-1]])))
    return [
        dict(zip(variables, combo)) for combo in itertools.islice(itertools.product(*choices), 64)
    ]


def first_difference(
    kernel: np.ndarray, spec: np.ndarray, mask: np.ndarray, dims: tuple[str, ...]
) -> Counterexample | None:
    with np.errstate(all="ignore"):
        close = np.isclose(kernel, spec, rtol=1e-6, atol=1e-9, equal_nan=True)
    bad = np.argwhere(mask & ~close)
    if len(bad) == 0:
        return None
    index = tuple(int(i) for i in bad[0])
    return Counterexample(tuple(zip(dims, index)), float(kernel[index]), float(spec[index]))


def reduction_note(kernel: canon.Poly, spec: canon.Poly) -> tuple[bool, str] | None:
    """A reduction whose ranges differ between kernel and spec, if there is one.

    Returns ``(incomplete, message)``: ``incomplete`` when the kernel's ranges
    cover less or more than the spec's, not only weight their pieces differently.
    """
    kernel_ranges: dict[tuple[str, str, str], set[tuple[int, int]]] = {}
    spec_ranges: dict[tuple[str, str, str], set[tuple[int, int]]] = {}
    for found, poly in ((kernel_ranges, kernel), (spec_ranges, spec)):
        for op, d, body, lo, hi in canon.reductions(poly):
            found.setdefault((op, d, body), set()).add((lo, hi))
    for key, wanted in spec_ranges.items():
        have = kernel_ranges.get(key)
        if not have or have == wanted:
            continue
        if not all(isinstance(x, int) for r in have | wanted for x in r):
            continue  # symbolic ranges: no concrete coverage to report
        op, d, _ = key
        covered = collapse_ranges(_union(sorted(have)))
        target = collapse_ranges(_union(sorted(wanted)))
        if _union(sorted(have)) != _union(sorted(wanted)):
            return True, f"{op} over {d} covers {covered} of {target}"
        pieces = collapse_ranges(sorted(have))
        return False, f"{op} over {d}: its pieces are weighted differently ({pieces})"
    return None


def _union(parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(parts):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged
