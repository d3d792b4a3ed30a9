"""What the interpreter hands to the prover and to the coverage check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core.diagnostics import Span
from ..core.scope import Scope
from .specs import InputInfo, Spec
from .symbolic import LoopVar
from .tiles import Slice, Tile


@dataclass(frozen=True)
class Obligation:
    """``tile`` must equal ``spec`` on ``tile``'s region (an assign or an assert)."""

    kind: str  # "assign" | "assert"
    span: Span
    spec_span: Span
    target: str  # the result written, or the tile variable asserted about
    tile: Tile
    spec: Spec
    spec_text: str
    # loop invariants (their assert spans) this obligation's proof relies on: it
    # comes after a loop that was proven by induction on them
    assumes: tuple[Span, ...] = ()
    # the same claim as several smaller obligations, tried when this one is not
    # proven (a block proven for a symbolic row, else row by row); built lazily
    pieces: Callable[[], list[Obligation]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Write:
    """``result.assign(tile)``: the region written, possibly with loop indices."""

    result: str
    region: tuple[Slice, ...]
    span: Span
    # the symbolic loops the write is under: it happens once per combination of
    # their indices, even where the region does not depend on them
    loops: tuple[LoopVar, ...] = ()


@dataclass
class Result:
    """A ``tnp.TypedResult``: its spec (None if the spec did not parse)."""

    name: str
    span: Span
    spec: Spec | None
    spec_text: str
    spec_span: Span
    complete: bool = True  # False once an assign to it failed: coverage is then unknown


@dataclass(frozen=True)
class Iteration:
    """What the tile variables assigned in an unrolled loop's body hold after
    one iteration: where a carried computation first goes wrong is found
    from these (see prover/iterations.py)."""

    loop: Span  # the ``for`` statement
    index_name: str
    index: int
    tiles: tuple[tuple[str, Tile], ...]


@dataclass(frozen=True)
class Facts:
    """Everything the interpreter learned about one file."""

    dims: dict[str, int]
    inputs: dict[str, InputInfo]
    results: dict[str, Result]
    obligations: list[Obligation]
    writes: list[Write]
    input_values: dict[str, np.ndarray] = field(default_factory=dict)  # concrete domain only
    complete: bool = True  # False when the file was too large to interpret to the end
    iterations: tuple[Iteration, ...] = ()  # of unrolled loops, in execution order
    # the configuration checked (a case of an annotated wrapper, the file's own sizes)
    scope: Scope | None = None
    notes: tuple[str, ...] = ()  # said beside every diagnostic of this configuration
    # the annotation's line when some dim's sizes were searched (no case line gives
    # them): where the checker says the verdict holds at those sizes only
    searched_at: Span | None = None
