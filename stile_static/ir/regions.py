"""Concrete boxes of a region whose bounds may depend on symbolic loop indices."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from . import symbolic as sym
from .tiles import Slice

Box = tuple[tuple[int, int], ...]


def boxes(region: tuple[Slice, ...], loops: tuple[sym.LoopVar, ...] = ()) -> Iterator[Box]:
    """Every concrete box the region takes, one per combination of loop indices
    (of the region's and of ``loops``, the loops it is written under)."""
    variables: list[sym.LoopVar] = []
    for s in region:
        for v in sym.variables(s.lo) + sym.variables(s.hi):
            if v not in variables:
                variables.append(v)
    # the loops the region does not move with repeat it: twice is enough to be seen
    times = 1
    for v in loops:
        if v not in variables and len(v.values) > 1:
            times = 2
    for values in itertools.product(*(v.values for v in variables)):
        env = dict(zip(variables, values))
        box = tuple((sym.substitute(s.lo, env), sym.substitute(s.hi, env)) for s in region)
        for _ in range(times):
            yield box


def describe(dims: tuple[str, ...], box: Box) -> str:
    return " x ".join(f"{d}[{lo}:{hi}]" for d, (lo, hi) in zip(dims, box))
