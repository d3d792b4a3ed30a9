"""Run every Pallas fixture under real JAX, in two interpret modes, and compare it with its spec.

The analyzer never imports jax; this script is the one place that does, to check
that the Pallas fixtures mean what their annotations and expected diagnostics say:
a correct fixture must agree with its spec on every ``case``, and a buggy twin
whose bug changes values must disagree (or fail) on at least one case. A case
line marked ``# E: STL045`` must be rejected by the wrapper's precondition, and so
must every case of a wrapper whose first ``# stile:`` line is marked ``# E: STL024``.

The ``# stile:`` lines are read by the project's own annotation parser and the
specs evaluated by its NumPy evaluator; specs that also appear in ``REFERENCES``
below are evaluated a second time by hand-written NumPy, and both must agree.

It runs in a virtual environment of its own, outside the repository, so that
neither the project nor CI ever needs jax::

    python3 -m venv /work/venvs/jax
    /work/venvs/jax/bin/pip install jax jaxlib numpy
    /work/venvs/jax/bin/pip install -e .
    /work/venvs/jax/bin/python tools/validate_pallas.py [--summary] [FIXTURE.py ...]

Fixtures say ``interpret=False`` (or nothing) like real code; the script patches
``pl.pallas_call`` so that every call runs in an interpreter on the CPU, once in
each of two modes: ``interpret=True`` (JAX's Pallas interpreter) and ``tpu``
(``interpret=pltpu.InterpretParams(num_cores_or_threads=2)``, which follows a
TPU's rules: an output block is written back when the grid leaves it, a block
revisited later is an error, and "parallel" grid axes are split between two
cores and visited in a random order). A case agrees when it agrees in both. The
interpreters fill the padding of partial blocks with NaN, so a kernel that lets
padding reach a real output produces NaN there.

A kernel for a GPU (one that imports Pallas's Triton or GPU backend) runs in
the first mode only.

A fixture expecting STL005 (a program JAX refuses) must raise on every case.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import inspect
import math
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "pallas"

# Codes whose bug changes the numbers a kernel produces: a twin expecting one of
# them must disagree with its spec somewhere.
VALUE_BUGS = {
    "STL030",
    "STL031",
    "STL032",
    "STL040",
    "STL041",
    "STL042",
    "STL043",
    "STL044",
    "STL048",
}
# Python raises in the wrapper on some case: the buggy twin fails there
PYTHON_ERROR = "STL004"
PRECONDITION = "STL045"
REFUSED = "STL005"
MODES = ("interpret", "tpu")
NOTHING_CHECKED = "STL024"  # at the annotation: the wrapper rejects every case
_EXPECT = re.compile(r"#\s*E:\s*((?:STL\d{3}\s*)+)")
# float32 kernels against a float64 spec, relative to the spec's magnitude
TOLERANCE = 1e-4


@dataclass(frozen=True)
class Row:
    """One case of one fixture: how far the kernel is from its spec."""

    fixture: str
    case: str
    error: float | None  # None: the wrapper raised, or the case could not be set up
    agrees: bool
    expected: str  # "correct", "buggy", "refused", or "?" for a fixture that could not be read
    note: str = ""
    spec: str = "-"  # which evaluators gave the spec's value


# --------------------------------------------------------------------------- expectations


def expected_codes(text: str) -> dict[int, set[str]]:
    """``# E: CODE ...`` per line number."""
    found: dict[int, set[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            found.setdefault(number, set()).update(match.group(1).split())
    return found


def kind(codes: dict[int, set[str]]) -> str:
    every = set().union(*codes.values()) if codes else set()
    if REFUSED in every:
        return "refused"
    return "buggy" if every & (VALUE_BUGS | {PYTHON_ERROR}) else "correct"


# --------------------------------------------------------------------------- NumPy table
# Hand-written NumPy meanings of the fixtures' specs, keyed by the spec text
# without spaces: a second, independent evaluation of each spec.


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, sm_scale: float) -> np.ndarray:
    return _softmax(q @ k.T * sm_scale, axis=-1) @ v


def _causal_mha(q: np.ndarray, k: np.ndarray, v: np.ndarray, sm_scale: float) -> np.ndarray:
    """(batch, seq, heads, head_dim) attention in which query i sees keys 0..i."""
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) * sm_scale
    n_q, n_k = scores.shape[-2:]
    visible = np.arange(n_k)[None, :] <= np.arange(n_q)[:, None]
    probs = _softmax(np.where(visible, scores, -np.inf), axis=-1)
    return np.einsum("bhqk,bkhd->bqhd", probs, v)


REFERENCES: dict[str, Callable[..., np.ndarray]] = {
    "x[N]+y[N]": lambda x, y: x + y,
    "softmax[N](x[MN])": lambda x: _softmax(x, axis=-1),
    "(x[MK],y[KN]->MN)": lambda x, y: x @ y,
    "(x[MN]-mean[N](x))/sqrt(var[N](x)+eps)*w[N]+b[N]": _layer_norm,
    "mean[N](x)": lambda x: x.mean(axis=-1),
    "1/sqrt(var[N](x)+eps)": lambda x, eps: 1 / np.sqrt(x.var(axis=-1) + eps),
    "(softmax[Nk]((q[NqD],k[NkD]->NqNk)*sm_scale),v[NkD]->NqD)": _attention,
    "(softmax[Nk](where(Nk<=Nq,(q[BNqHD],k[BNkHD]->BHNqNk)*sm_scale,-inf)),v[BNkHD]->BNqHD)": (
        _causal_mha
    ),
}


def table_reference(text: str, values: dict[str, Any]) -> np.ndarray | None:
    """The spec's value from ``REFERENCES`` (None for a spec it does not list)."""
    fn = REFERENCES.get(re.sub(r"\s+", "", text))
    if fn is None:
        return None
    names = inspect.signature(fn).parameters  # a reference takes the spec's inputs by name
    return np.asarray(fn(*(np.asarray(values[n], dtype=np.float64) for n in names)), np.float64)


# --------------------------------------------------------------------------- running


_MODE = {"now": "interpret"}


def modes_of(text: str) -> tuple[str, ...]:
    """A kernel written for a GPU (it imports a GPU backend of Pallas: masked
    loads and stores) does not run in the TPU interpret mode."""
    gpu = re.search(r"jax\.experimental\.pallas(\.| import )(triton|gpu|mosaic_gpu)", text)
    return MODES[:1] if gpu else MODES


def interpret_value(mode: str) -> Any:
    if mode == "interpret":
        return True
    from jax.experimental.pallas import tpu as pltpu

    return pltpu.InterpretParams(num_cores_or_threads=2)


def force_interpret() -> None:
    """Make every ``pl.pallas_call`` run in the interpreter of the current mode,
    whatever the fixture says."""
    from jax.experimental import pallas as pl

    original = pl.pallas_call
    if getattr(original, "forces_interpret", False):
        return

    @functools.wraps(original)
    def pallas_call(*args: Any, **kwargs: Any) -> Any:
        kwargs["interpret"] = interpret_value(_MODE["now"])
        return original(*args, **kwargs)

    pallas_call.forces_interpret = True  # type: ignore[attr-defined]
    pl.pallas_call = pallas_call


def load_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"pallas_fixture_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # registered while it runs, as an import does: dataclasses look their module up
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def make_inputs(config: Any, seed: int) -> dict[str, Any]:
    """Random float32 tensors of the case's sizes, and a value for every scalar the
    spec leaves symbolic (the spec must hold for any value, so take a random one)."""
    rng = np.random.default_rng(seed)
    values: dict[str, Any] = {}
    for info in config.inputs:
        if info.dims:
            shape = tuple(config.sizes[d] for d in info.dims)
            # an offset mean, so that bugs which scale with the mean (padding
            # lanes counted in a variance) show clearly
            values[info.name] = rng.uniform(-1.0, 2.0, shape).astype(np.float32)
        else:
            values[info.name] = float(rng.uniform(0.25, 1.5))
    return values


def select(result: Any, target: Any) -> np.ndarray:
    if target.index is not None:
        result = result[target.index]
    elif not target.is_return:
        raise ValueError(f"output {target}: a Pallas wrapper returns its outputs")
    return np.asarray(result)


def max_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """inf where the shapes differ or the kernel gave NaN or inf for a number."""
    if actual.shape != expected.shape:
        return math.inf
    diff = np.abs(actual.astype(np.float64) - expected)
    if not np.all(np.isfinite(diff)):
        return math.inf
    return float(diff.max(initial=0.0))


def spec_values(target_spec: Any, config: Any, values: dict[str, Any]) -> tuple[np.ndarray, str]:
    """The spec evaluated by the project's evaluator (and by the table, which must agree)."""
    from stile_static.prover.evaluator import evaluate

    spec = target_spec.spec
    arrays = {n: np.asarray(v, dtype=np.float64) for n, v in values.items()}
    project = np.asarray(evaluate(spec.term, arrays, spec.out_dims, config.sizes), np.float64)
    table = table_reference(target_spec.text, {**config.parameter_values, **values})
    if table is None:
        return project, "project"
    if table.shape != project.shape or not np.allclose(table, project, rtol=1e-9, atol=1e-9):
        raise AssertionError(f"project and NumPy table disagree on {target_spec.text!r}")
    return project, "project+table"


def run_case(wrapper: Callable[..., Any], config: Any, rejects: bool, seed: int, mode: str) -> Row:
    """``rejects``: the case line is marked STL045, so the wrapper must raise. A size
    the analyzer searched (no case line gives it) that the wrapper rejects is skipped,
    as the analyzer skips it: no disagreement."""
    import jax

    values = make_inputs(config, seed)
    label = f"{config.case} [{mode}]"
    _MODE["now"] = mode
    jax.clear_caches()  # a jitted wrapper traced in the other mode must not be reused
    try:
        result = wrapper(**values, **config.parameter_values)
    except Exception as exc:  # noqa: BLE001 - a case that fails is a result to report
        message = (str(exc).splitlines() or [""])[0][:48]
        skipped = not rejects and bool(config.case.chosen)
        prefix = (
            "raises, as STL045 says"
            if rejects
            else "raises at a searched size (skipped)"
            if skipped
            else "fails"
        )
        return Row(
            "", label, None, rejects or skipped, "", f"{prefix}: {type(exc).__name__}: {message}"
        )
    if rejects:
        return Row("", label, None, False, "", "returns, but the case is marked STL045")
    worst, scale, sources = 0.0, 1.0, set()
    for target_spec in config.specs:
        want, source = spec_values(target_spec, config, values)
        sources.add(source)
        worst = max(worst, max_error(select(result, target_spec.target), want))
        scale = max(scale, float(np.abs(want).max(initial=0.0)))
    agrees = worst <= TOLERANCE * scale
    return Row("", label, worst, agrees, "", spec="/".join(sorted(sources)))


def run_fixture(path: Path, seed: int) -> list[Row]:
    from stile_static.spec.annotations import configurations, find_annotations
    from stile_static.spec.sizes import blocks_of

    text = path.read_text()
    codes = expected_codes(text)
    expected = kind(codes)

    def broken(why: str) -> list[Row]:
        return [Row(path.name, "-", None, False, "?", why)]

    found = find_annotations(text, str(path))
    if found.diagnostics:
        return broken(f"annotation: {found.diagnostics[0].message}")
    module = load_module(path)
    rows = []
    for annotation in found.annotations:
        resolved = configurations(annotation, str(path), blocks_of(text))
        if any(d.severity == "error" for d in resolved.diagnostics):
            return broken(f"annotation: {resolved.diagnostics[0].message}")
        wrapper = getattr(module, annotation.name)
        for number, config in enumerate(resolved.configurations):
            line = config.case.span.line if config.case.span else None
            rejects = PRECONDITION in codes.get(line, set()) or NOTHING_CHECKED in codes.get(
                annotation.span.line, set()
            )
            for mode in modes_of(text):
                row = run_case(wrapper, config, rejects, seed + number, mode)
                if len(found.annotations) > 1:
                    row = dataclasses.replace(row, case=f"{annotation.name}: {row.case}")
                rows.append(dataclasses.replace(row, fixture=path.name, expected=expected))
    return rows or broken("no annotated wrapper")


def verdict(rows: list[Row]) -> bool:
    """A correct fixture agrees on every case; a buggy twin disagrees on at least one;
    a program JAX refuses raises on every case (in every mode)."""
    if rows[0].expected == "refused":
        return all(r.error is None and r.note.startswith(("fails", "raises")) for r in rows)
    if rows[0].expected == "correct":
        return all(r.agrees for r in rows)
    if rows[0].expected == "buggy":
        return any(not r.agrees for r in rows)
    return False  # the fixture could not be run at all


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixtures", nargs="*", type=Path, help="default: fixtures/pallas/*.py")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--summary", action="store_true", help="one line per fixture instead of one per case"
    )
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.fixtures] or sorted(FIXTURES.glob("*.py"))

    import jax

    jax.config.update("jax_platforms", "cpu")
    force_interpret()

    print("$", shlex.join([sys.executable, *sys.argv]))
    print(
        f"jax {jax.__version__}, modes: interpret=True and tpu (InterpretParams, 2 cores), "
        f"seed {args.seed}, tolerance {TOLERANCE:g}\n"
    )
    if args.summary:
        header = ("fixture", "expected", "cases agreeing", "largest error", "as expected?")
    else:
        header = ("fixture", "case", "max abs error", "agrees?", "spec", "expected")
    table: list[tuple[str, ...]] = [header]
    failures = []
    for path in paths:
        try:
            rows = run_fixture(path, args.seed)
        except Exception as exc:  # noqa: BLE001 - one broken fixture must not hide the others
            rows = [Row(path.name, "-", None, False, "?", f"{type(exc).__name__}: {exc}")]
        ok = verdict(rows)
        if not ok:
            failures.append(path.name)
        if args.summary:
            errors = [r.error for r in rows if r.error is not None]
            largest = f"{max(errors):.1e}" if errors else "-"
            agreeing = f"{sum(r.agrees for r in rows)} of {len(rows)}"
            table.append((path.name, rows[0].expected, agreeing, largest, "yes" if ok else "NO"))
            continue
        for r in rows:
            error = "-" if r.error is None else f"{r.error:.1e}"
            agrees = ("yes" if r.agrees else "no") + (f" ({r.note})" if r.note else "")
            table.append((r.fixture, r.case, error, agrees, r.spec, r.expected))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print()
    if failures:
        print("NOT AS EXPECTED:", ", ".join(failures))
        return 1
    print(
        f"all {len(paths)} fixtures as expected: each correct one agrees with its spec on"
        " every case in both modes, each buggy twin disagrees (or fails) on at least one,"
        " each refused one raises on every case"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
