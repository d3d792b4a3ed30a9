"""The NumPy cross-check: run the kernel in the concrete domain and compare with the spec.

The interpreter runs the file again with every loop unrolled and every tile
carrying the NumPy array it holds (:mod:`concrete`), on seeded random inputs.
Each assign writes its array into a buffer for the result; the buffer is then
compared with the spec evaluated by NumPy, and each ``assert_equivalent``
with its spec. Neither the terms nor the prover take part, so a verdict of
the e-graph is checked against numbers computed another way.
"""

from __future__ import annotations

import numpy as np

from ..core.diagnostics import Diagnostic, Span, in_scope
from ..frontends import FrontEnd, SourceFile
from ..interpreter.core import MAX_STEPS
from ..ir.obligations import Facts, Obligation
from ..ir.sharing import intern, nodes
from ..prover.evaluator import SHARE_WINDOWS, evaluate
from ..prover.verify import INPUT_SHIFTS, first_difference


def cross_check(front_end: FrontEnd, source: SourceFile, seed: int) -> list[Diagnostic]:
    """Disagreements on the first draw of inputs that shows any (see INPUT_SHIFTS)."""
    path = source.path
    complete = True
    notes: list[Diagnostic] = []  # what was left out (the same for every draw)
    for shift in INPUT_SHIFTS:
        runs = front_end.run_concretely(source, seed, shift)
        drawn = f"seed {seed}; inputs drawn from a standard normal shifted by {shift:g}"
        found = []
        seen: set[tuple] = set()
        for f in runs:  # one report per place, from the first configuration that shows it
            for d in (*_results(f, path, drawn), *_asserts(f, path, drawn)):
                # a note (iterations sampled) does not hide a failure at its place
                if (d.span, d.code, d.severity) not in seen:
                    seen.add((d.span, d.code, d.severity))
                    found.append(in_scope(d, f.scope))
        notes = notes or [d for d in found if d.severity == "note"]
        found = [d for d in found if d.severity != "note"]
        complete = all(f.complete for f in runs)
        if found or not complete:
            break
    found += notes
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


# An assert in a loop of many iterations claims something about a longer prefix
# each time; evaluating every claim costs the square of the iteration count.
# Beyond this many, the first and last iterations and evenly spaced ones between
# are compared (a note says so).
SAMPLED_ITERATIONS = 16


def _sample(count: int) -> list[int]:
    """Which of ``count`` iterations to compare: all of them, or a spread sample."""
    if count <= SAMPLED_ITERATIONS:
        return list(range(count))
    ends = SAMPLED_ITERATIONS // 4
    spread = SAMPLED_ITERATIONS - 2 * ends
    middle = [ends + (count - 2 * ends) * k // spread for k in range(spread)]
    return sorted({*range(ends), *middle, *range(count - ends, count)})


def _asserts(facts: Facts, path: str, drawn: str) -> list[Diagnostic]:
    found = []
    sampled: list[tuple[Span, int, int]] = []
    by_span: dict = {}
    for ob in facts.obligations:
        if ob.kind == "assert" and ob.tile.value is not None:
            by_span.setdefault(ob.span, []).append(ob)
    for span, obligations in by_span.items():
        picks = [obligations[i] for i in _sample(len(obligations))]
        # Subterms that several iterations' specs share (the scores) are
        # evaluated once on their whole extent; the rest of each spec per prefix.
        table: dict = {}
        specs = [intern(ob.spec.term, table) for ob in picks]
        counts: dict[int, int] = {}
        for term in specs:
            for node in nodes(term).values():
                counts[id(node)] = counts.get(id(node), 0) + 1
        shared = {n for n, c in counts.items() if c > 1}
        memo: dict = {SHARE_WINDOWS: shared}
        failed = False
        for ob, term in zip(picks, specs):
            dims = ob.tile.dims
            spec = evaluate(term, facts.input_values, dims, facts.dims, memo)[_box(ob)]
            mask = np.ones(spec.shape, dtype=bool)
            bad = first_difference(np.asarray(ob.tile.value), spec, mask, dims)
            if bad is not None:
                found.append(
                    Diagnostic(
                        path, span, "STL050", f"cross-check: assertion fails {bad}", notes=(drawn,)
                    )
                )
                failed = True
                break  # one report per assert, not one per unrolled tile
            for key in [k for k in memo if k != SHARE_WINDOWS and k[0] not in shared]:
                del memo[key]  # this prefix's arrays: no later iteration needs them
        if not failed and len(picks) < len(obligations):
            sampled.append((span, len(picks), len(obligations)))
    if sampled:
        lines = ", ".join(str(span.line) for span, _, _ in sampled)
        _, picked, total = sampled[0]
        found.append(
            Diagnostic(
                path,
                sampled[0][0],
                "STL050",
                f"cross-check compared the assertion{'s' if len(sampled) > 1 else ''} at "
                f"line{'s' if len(sampled) > 1 else ''} {lines} in {picked} of {total} "
                "iterations (the first, the last and evenly spaced ones): each iteration "
                "claims a longer prefix, so comparing all costs the square of their number",
                severity="note",
            )
        )
    return found
