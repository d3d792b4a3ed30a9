"""Every TypedResult must be written exactly once everywhere."""

from __future__ import annotations

from bisect import bisect_left

import numpy as np

from ..core.diagnostics import Diagnostic
from ..ir import regions
from ..ir.obligations import Facts, Result

MAX_REPORTED_BOXES = 4


def check_coverage(facts: Facts, path: str) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for result in facts.results.values():
        if result.spec is not None and result.complete:
            found.extend(_check_result(facts, result, path))
    return found


def _check_result(facts: Facts, result: Result, path: str) -> list[Diagnostic]:
    assert result.spec is not None
    dims = result.spec.out_dims
    writes = [
        (w, list(regions.boxes(w.region, w.loops))) for w in facts.writes if w.result == result.name
    ]
    cuts = [{0, facts.dims[d]} for d in dims]
    for _, boxes in writes:
        for box in boxes:
            for axis, (lo, hi) in enumerate(box):
                cuts[axis].update((lo, hi))
    edges = [sorted(c) for c in cuts]
    owner = np.full([len(e) - 1 for e in edges], -1, dtype=np.int64)
    found: list[Diagnostic] = []
    for n, (write, boxes) in enumerate(writes):
        reported = False
        for box in boxes:
            cells = tuple(
                slice(bisect_left(e, lo), bisect_left(e, hi)) for e, (lo, hi) in zip(edges, box)
            )
            previous = owner[cells].copy()
            owner[cells] = np.where(previous >= 0, previous, n)
            if (previous >= 0).any() and not reported:
                reported = True
                first = writes[int(previous[previous >= 0].flat[0])][0]
                found.append(
                    Diagnostic(
                        path,
                        write.span,
                        "STL041",
                        f"{regions.describe(dims, box)} of {result.name} is written again",
                        notes=(f"first written at line {first.span.line}",),
                        related=((first.span, "first written here"),),
                    )
                )
    holes = _boxes_of(owner < 0, edges)
    if holes:
        listed = ", ".join(regions.describe(dims, b) for b in holes[:MAX_REPORTED_BOXES])
        more = (
            f" and {len(holes) - MAX_REPORTED_BOXES} more"
            if len(holes) > MAX_REPORTED_BOXES
            else ""
        )
        found.append(
            Diagnostic(
                path,
                result.span,
                "STL040",
                f"{listed}{more} of {result.name} never written",
                help=f"every element of {result.name} must be written exactly once",
            )
        )
    return found


def _boxes_of(mask: np.ndarray, edges: list[list[int]]) -> list[regions.Box]:
    """Cover the true cells of ``mask`` with greedy maximal boxes (in index order)."""
    mask = np.array(mask, dtype=bool)  # a copy, and an array even for a 0-d result
    out: list[regions.Box] = []
    while mask.any():
        start = [int(i) for i in np.argwhere(mask)[0]]
        stop = [s + 1 for s in start]
        for axis in reversed(range(mask.ndim)):
            while stop[axis] < mask.shape[axis]:
                trial = list(stop)
                trial[axis] += 1
                if mask[tuple(slice(a, b) for a, b in zip(start, trial))].all():
                    stop = trial
                else:
                    break
        mask[tuple(slice(a, b) for a, b in zip(start, stop))] = False
        out.append(tuple((edges[i][a], edges[i][b]) for i, (a, b) in enumerate(zip(start, stop))))
    return out
