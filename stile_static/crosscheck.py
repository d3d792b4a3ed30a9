"""The NumPy cross-check: run what the kernel writes on seeded random inputs.

Each assign writes its tile's values (the term evaluated by NumPy) into a
buffer for the result, at every concrete box of its region; the buffer is then
compared with the spec evaluated by NumPy. Independent of the prover, so a
verdict of the e-graph can be checked against numbers.
"""

from __future__ import annotations

import numpy as np

from . import regions
from .diagnostics import Diagnostic
from .obligations import Facts
from .verify import Verifier, first_difference


def cross_check(facts: Facts, verifier: Verifier, path: str) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for result in facts.results.values():
        if result.spec is None:
            continue
        dims = result.spec.out_dims
        buffer = np.full(tuple(facts.dims[d] for d in dims), np.nan)
        written = np.zeros(buffer.shape, dtype=bool)
        for ob in facts.obligations:
            if ob.kind != "assign" or ob.target != result.name:
                continue
            values = verifier.evaluate_on(ob.tile.term, dims)
            for box in regions.boxes(ob.tile.slices):
                cells = tuple(slice(lo, hi) for lo, hi in box)
                buffer[cells] = values[cells]
                written[cells] = True
        spec = verifier.evaluate_on(result.spec.term, dims)
        bad = first_difference(buffer, spec, written, dims)
        if bad is not None:
            found.append(
                Diagnostic(
                    path,
                    result.span,
                    "STL050",
                    f"cross-check: {result.name} differs from its spec {bad}",
                    notes=(f"seed {verifier.seed}; inputs drawn from a standard normal",),
                )
            )
    reported: set = set()
    for ob in facts.obligations:
        if ob.kind == "assert" and ob.span not in reported:  # once per assert, not per tile
            bad = verifier.counterexample(ob)
            if bad is not None:
                reported.add(ob.span)
                found.append(
                    Diagnostic(path, ob.span, "STL050", f"cross-check: assertion fails {bad}")
                )
    return found
