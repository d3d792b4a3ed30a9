"""Run a kernel file for real with the reference dialect and judge the outcome.

A run is *correct* when the file runs without an exception, every element of
every result is written exactly once, each result equals its spec, and each
``assert_equivalent`` holds, all on random inputs. The spec is read with the
analyzer's spec parser and evaluated with its NumPy evaluator: the property
under test is the interpreter's reading of Python, not the spec language.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stile_static.check.checker import check_source
from stile_static.ir.specs import InputInfo
from stile_static.prover.evaluator import evaluate
from stile_static.spec.parser import parse_spec

from . import reference as ref

RTOL, ATOL = 1e-7, 1e-9


@dataclass(frozen=True)
class Outcome:
    correct: bool
    reason: str


def run_for_real(source: str, seed: int = 0) -> Outcome:
    namespace: dict = {"__name__": "__main__"}
    with ref.installed(seed):
        try:
            exec(compile(source, "<kernel>", "exec"), namespace)  # noqa: S102 (generated kernels)
        except Exception as error:  # any exception: Python does not run the kernel through
            return Outcome(False, f"raised {type(error).__name__}: {error}")
        return _judge(namespace)


def _judge(namespace: dict) -> Outcome:
    names: dict[int, str] = {}
    for name, value in namespace.items():
        if isinstance(value, ref.Tile) and any(value is t for t in ref.INPUTS):
            names.setdefault(id(value), name)
    inputs = [InputInfo(names[id(t)], t.dims) for t in ref.INPUTS if id(t) in names]
    arrays = {names[id(t)]: t.array for t in ref.INPUTS if id(t) in names}
    if not ref.RESULTS:
        return Outcome(False, "no result")
    for result in ref.RESULTS:
        spec = parse_spec(result.spec, inputs, ref.DIMS)
        dims = spec.out_dims
        expected = evaluate(spec.term, arrays, dims, ref.DIMS)
        values = np.full(expected.shape, np.nan)
        count = np.zeros(expected.shape, dtype=int)
        for target, tile in ref.RESULTS_WRITTEN:
            if target is not result:
                continue
            if tile.dims != dims:
                return Outcome(False, f"a write with dims {tile.dims}, result has {dims}")
            box = tuple(slice(lo, hi) for lo, hi in tile.ranges)
            values[box] = tile.array
            count[box] += 1
        if (count != 1).any():
            return Outcome(False, f"write counts {sorted(set(count.flat))} for {result.spec!r}")
        if not np.allclose(values, expected, rtol=RTOL, atol=ATOL):
            return Outcome(False, f"values differ from {result.spec!r}")
    for tile, text, overrides in ref.ASSERTS:
        given = {o.dim.name: (o.lo, o.hi) for o in overrides}
        spec = parse_spec(text, inputs, ref.DIMS, given)
        if spec.out_dims != tile.dims:
            return Outcome(False, "an assert with other dims")
        whole = evaluate(spec.term, arrays, tile.dims, ref.DIMS)
        box = tuple(slice(lo, hi) for lo, hi in tile.ranges)
        if not np.allclose(tile.array, whole[box], rtol=RTOL, atol=ATOL):
            return Outcome(False, f"assert {text!r} does not hold")
    return Outcome(True, "correct")


def analyzer_verifies(source: str) -> tuple[bool, str]:
    """Whether the analyzer verifies the file: something proved and no error."""
    report = check_source(source, "kernel.py")
    errors = [d for d in report.diagnostics if d.severity == "error"]
    if errors:
        return False, "; ".join(f"{d.span.line}: {d.code} {d.message}" for d in errors[:3])
    return bool(report.proved), "verified" if report.proved else "nothing proved"


def disagreement(source: str, seeds: tuple[int, ...] = (0, 1)) -> str | None:
    """Why the analyzer's verdict is unsound for ``source``, or None if it is not."""
    verified, why = analyzer_verifies(source)
    if not verified:
        return None
    for seed in seeds:
        outcome = run_for_real(source, seed)
        if not outcome.correct:
            return f"verified, but the real run with seed {seed}: {outcome.reason}"
    return None
