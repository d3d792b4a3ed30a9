"""The NumPy cross-check: run the kernel in the concrete domain and compare with the spec.

The interpreter runs the file again with every loop unrolled and every tile
carrying the NumPy array it holds (:mod:`concrete`), on seeded random inputs.
Each assign writes its array into a buffer for the result; the buffer is then
compared with the spec evaluated by NumPy, and each ``assert_equivalent``
with its spec. Neither the terms nor the prover take part, so a verdict of
the e-graph is checked against numbers computed another way.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.diagnostics import Diagnostic, Span
from ..frontends import FrontEnd, SourceFile
from ..interpreter.core import MAX_STEPS
from ..ir.obligations import Facts, Obligation
from ..prover.evaluator import evaluate
from ..prover.verify import INPUT_SHIFTS, first_difference


def cross_check(front_end: FrontEnd, source: SourceFile, seed: int) -> list[Diagnostic]:
    """Disagreements on the first draw of inputs that shows any (see INPUT_SHIFTS)."""
    path = source.path
    complete = True
    for shift in INPUT_SHIFTS:
        runs = front_end.run_concretely(source, seed, shift)
        drawn = f"seed {seed}; inputs drawn from a standard normal shifted by {shift:g}"
        found = []
        seen: set[tuple] = set()
        for f in runs:  # one report per place, from the first configuration that shows it
            for d in (*_results(f, path, drawn), *_asserts(f, path, drawn)):
                if (d.span, d.code) not in seen:
                    seen.add((d.span, d.code))
                    found.append(
                        replace(d, notes=(*d.notes, f"in case {f.label}")) if f.label else d
                    )
        complete = all(f.complete for f in runs)
        if found or not complete:
            break
    if not complete:
        found.append(
            Diagnostic(
                path,
                Span(1, 1, 1, 2),
                "STL050",
                f"cross-check incomplete: running the kernel concretely takes more than "
                f"{MAX_STEPS} statements; only what ran was compared",
                severity="warning",
            )
        )
    return found


def _spec_values(facts: Facts, ob: Obligation, dims: tuple[str, ...]) -> np.ndarray:
    return evaluate(ob.spec.term, facts.input_values, dims, facts.dims)


def _tile_values(facts: Facts, ob: Obligation) -> np.ndarray:
    """What the kernel writes: the concrete domain's array, or (front ends that model a
    program's blocks by their pieces, as the Triton front end does) the piece's term
    evaluated on the elements it lands on."""
    if ob.tile.value is not None:
        return ob.tile.value
    return evaluate(ob.tile.term, facts.input_values, ob.tile.dims, facts.dims)[_box(ob)]


def _box(ob: Obligation) -> tuple[slice, ...]:
    return tuple(slice(s.lo, s.hi) for s in ob.tile.slices)  # concrete: loops unrolled


def _results(facts: Facts, path: str, drawn: str) -> list[Diagnostic]:
    found = []
    for result in facts.results.values():
        if result.spec is None:
            continue
        dims = result.spec.out_dims
        buffer = np.full(tuple(facts.dims[d] for d in dims), np.nan)
        written = np.zeros(buffer.shape, dtype=bool)
        for ob in facts.obligations:
            if ob.kind == "assign" and ob.target == result.name:
                buffer[_box(ob)] = _tile_values(facts, ob)
                written[_box(ob)] = True
        spec = evaluate(result.spec.term, facts.input_values, dims, facts.dims)
        bad = first_difference(buffer, spec, written, dims)
        if bad is not None:
            found.append(
                Diagnostic(
                    path,
                    result.span,
                    "STL050",
                    f"cross-check: {result.name} differs from its spec {bad}",
                    notes=(drawn,),
                )
            )
    return found


def _asserts(facts: Facts, path: str, drawn: str) -> list[Diagnostic]:
    found, reported = [], set()
    for ob in facts.obligations:
        if ob.kind != "assert" or ob.span in reported or ob.tile.value is None:
            continue  # one report per assert, not one per unrolled tile
        dims = ob.tile.dims
        spec = _spec_values(facts, ob, dims)[_box(ob)]
        mask = np.ones(spec.shape, dtype=bool)
        bad = first_difference(np.asarray(ob.tile.value), spec, mask, dims)
        if bad is not None:
            reported.add(ob.span)
            found.append(
                Diagnostic(
                    path, ob.span, "STL050", f"cross-check: assertion fails {bad}", notes=(drawn,)
                )
            )
    return found
