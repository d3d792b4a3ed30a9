"""Run every Pallas fixture under real JAX (``interpret=True``) and compare it with its spec.

The analyzer never imports jax; this script is the one place that does, to check
that the Pallas fixtures mean what their annotations and expected diagnostics say:
a correct fixture must agree with its spec on every ``case``, and a buggy twin
whose bug changes values must disagree (or fail) on at least one case.

It runs in its own virtual environment, outside the repository, so that CI never
needs jax::

    python3 -m venv /work/venvs/jax
    /work/venvs/jax/bin/pip install jax jaxlib numpy
    /work/venvs/jax/bin/python tools/validate_pallas.py [FIXTURE.py ...]

Fixtures say ``interpret=False`` (or nothing) like real code; the script patches
``pl.pallas_call`` so that every call runs in the interpreter on the CPU.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.util
import inspect
import math
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "pallas"

# Codes whose bug changes the numbers a kernel produces; a twin expecting one of
# them must disagree with its spec somewhere. STL045 marks a case the wrapper
# rejects, which must raise instead of returning.
VALUE_BUGS = {"STL031", "STL032", "STL040", "STL041", "STL042", "STL043", "STL044"}
PRECONDITION = "STL045"
_EXPECT = re.compile(r"#\s*E:\s*((?:STL\d{3}\s*)+)")
_ANNOTATION = re.compile(r"^\s*#\s*stile:\s*(.*?)\s*(?:#\s*E:.*)?$")
_DECLARED = re.compile(r"\b([A-Za-z_]\w*)\[([A-Za-z_][\w ]*)\]")
_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
# float32 kernels against a float64 reference: relative to the reference's magnitude
TOLERANCE = 1e-4


@dataclass(frozen=True)
class Case:
    """One ``# stile: case`` line: its text, line number and NAME=VALUE pairs."""

    text: str
    line: int
    values: dict[str, Any]
    expects_precondition: bool


@dataclass(frozen=True)
class Annotation:
    """The ``# stile:`` lines above one wrapper function."""

    wrapper: str
    params: tuple[str, ...]
    targets: dict[str, str]  # target ("return", "return[1]") -> spec text
    cases: tuple[Case, ...]


@dataclass
class Row:
    fixture: str
    case: str
    error: float | None
    agrees: bool
    expected: str
    note: str = ""
    spec: str = "-"  # which evaluator gave the spec's value: project or table


@dataclass
class Fixture:
    path: Path
    codes: set[str] = field(default_factory=set)

    @property
    def buggy(self) -> bool:
        return bool(self.codes & VALUE_BUGS)


def expected_codes(lines: Sequence[str]) -> set[str]:
    codes: set[str] = set()
    for line in lines:
        match = _EXPECT.search(line)
        if match:
            codes.update(match.group(1).split())
    return codes


def parse_case(text: str) -> dict[str, Any]:
    """``M=64 block_shape=(32, 32)`` -> ``{"M": 64, "block_shape": (32, 32)}``."""
    values = {}
    for item in re.split(r"\s+(?=[A-Za-z_]\w*\s*=)", text.strip()):
        name, _, value = item.partition("=")
        values[name.strip()] = ast.literal_eval(value.strip())
    return values


def find_annotations(source: str) -> list[Annotation]:
    """Every top-level function with ``# stile:`` lines directly above it or its decorators."""
    lines = source.splitlines()
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        targets: dict[str, str] = {}
        cases: list[Case] = []
        number = first - 1
        while number >= 1 and lines[number - 1].lstrip().startswith("#"):
            line = lines[number - 1]
            match = _ANNOTATION.match(line)
            if match:
                body = match.group(1)
                codes = expected_codes([line])
                if body.startswith("case "):
                    values = parse_case(body[len("case ") :])
                    cases.append(Case(body, number, values, PRECONDITION in codes))
                elif "=" in body and not body.startswith("assume "):
                    target, _, spec = body.partition("=")
                    targets[target.strip()] = spec.strip()
            number -= 1
        if targets:
            params = tuple(
                a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            )
            found.append(Annotation(node.name, params, targets, tuple(reversed(cases))))
    return found


def declared_inputs(ann: Annotation) -> tuple[dict[str, tuple[str, ...]], set[str]]:
    """Tensors with their dims (``x[M N]``) and scalar parameters named in the specs."""
    tensors: dict[str, tuple[str, ...]] = {}
    for spec in ann.targets.values():
        for name, dims in _DECLARED.findall(spec):
            if name in ann.params:
                tensors[name] = tuple(dims.split())
    scalars = {
        name
        for spec in ann.targets.values()
        for name in _IDENT.findall(spec)
        if name in ann.params and name not in tensors
    }
    return tensors, scalars


# ---------------------------------------------------------------------------
# NumPy meaning of the specs used by the fixtures, keyed by the spec text with
# spaces removed. Every fixture's spec must be here; an unknown spec is an error.


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float) -> np.ndarray:
    return _softmax(q @ k.T * scale, axis=-1) @ v


def _causal_mha(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float) -> np.ndarray:
    """(batch, seq, heads, head_dim) attention where query i sees keys 0..i."""
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) * scale
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
    "(softmax[Nk](where(Nk<=Nq,(q[BNqHD],k[BNkHD]->BHNqNk)*sm_scale,-inf)),v[BNkHD]->BNqHD)": (
        lambda q, k, v, sm_scale: _causal_mha(q, k, v, sm_scale)
    ),
    "1/sqrt(var[N](x)+eps)": lambda x, eps: 1 / np.sqrt(x.var(axis=-1) + eps),
    "(softmax[Nk]((q[NqD],k[NkD]->NqNk)*sm_scale),v[NkD]->NqD)": lambda q, k, v, sm_scale: (
        _attention(q, k, v, sm_scale)
    ),
}


def table_reference(spec: str, inputs: dict[str, np.ndarray | float]) -> np.ndarray:
    """The spec's value from ``REFERENCES``, written by hand in NumPy."""
    key = re.sub(r"\s+", "", spec)
    if key not in REFERENCES:
        raise KeyError(f"no NumPy reference for spec {spec!r}; add one to REFERENCES")
    fn = REFERENCES[key]
    # a reference takes the spec's inputs by name
    names = list(inspect.signature(fn).parameters)
    args = [np.asarray(inputs[name], dtype=np.float64) for name in names]
    return np.asarray(fn(*args), dtype=np.float64)


def expand_shorthand(spec: str, tensors: dict[str, tuple[str, ...]]) -> str:
    """``mean[N](x)`` after ``x[M N]`` -> ``mean[N](x[M N])``: the annotation lets later
    uses of a declared tensor drop its dims, the bare spec parser does not."""

    def expand(match: re.Match[str]) -> str:
        name = match.group(0)
        return f"{name}[{' '.join(tensors[name])}]"

    names = "|".join(re.escape(n) for n in sorted(tensors, key=len, reverse=True))
    if not names:
        return spec
    return re.sub(rf"\b(?:{names})\b(?!\s*\[)", expand, spec)


def project_reference(
    spec: str, ann: Annotation, case: Case, inputs: dict[str, np.ndarray | float]
) -> np.ndarray | None:
    """The spec's value from the project's own spec parser and NumPy evaluator.

    None where the project is not installed in this environment or cannot parse
    the spec yet (then the hand-written table is the only reference).
    """
    try:
        from stile_static.prover.evaluator import evaluate
        from stile_static.spec.parser import InputInfo, SpecError, parse_spec
    except ImportError:
        return None
    tensors, scalars = declared_inputs(ann)
    sizes = {d: case.values[d] for dims in tensors.values() for d in dims}
    infos = [InputInfo(n, dims) for n, dims in tensors.items()]
    infos += [InputInfo(n, ()) for n in sorted(scalars)]
    try:
        parsed = parse_spec(expand_shorthand(spec, tensors), infos, sizes)
    except SpecError:
        return None
    arrays = {n: np.asarray(v, dtype=np.float64) for n, v in inputs.items()}
    return np.asarray(evaluate(parsed.term, arrays, parsed.out_dims, sizes), dtype=np.float64)


def reference(
    spec: str, ann: Annotation, case: Case, inputs: dict[str, np.ndarray | float]
) -> tuple[np.ndarray, str]:
    """The spec evaluated in NumPy, and which evaluator gave it.

    Where both the project's evaluator and the table know the spec they must agree:
    that checks the project's meaning of the spec language against plain NumPy.
    """
    table = table_reference(spec, inputs)
    project = project_reference(spec, ann, case, inputs)
    if project is None:
        return table, "table"
    if project.shape != table.shape or not np.allclose(project, table, rtol=1e-9, atol=1e-9):
        raise AssertionError(f"the project's evaluator and the NumPy table disagree on {spec!r}")
    return project, "project"


# ---------------------------------------------------------------------------


def force_interpret() -> None:
    """Make every ``pl.pallas_call`` run in the interpreter, whatever the fixture says."""
    from jax.experimental import pallas as pl

    original = pl.pallas_call
    if getattr(original, "_forced_interpret", False):
        return

    @functools.wraps(original)
    def pallas_call(*args: Any, **kwargs: Any) -> Any:
        kwargs["interpret"] = True
        return original(*args, **kwargs)

    pallas_call._forced_interpret = True  # type: ignore[attr-defined]
    pl.pallas_call = pallas_call


def load_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"pallas_fixture_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_inputs(
    ann: Annotation, case: Case, seed: int
) -> tuple[dict[str, np.ndarray | float], dict[str, Any]]:
    """Random float32 tensors of the case's sizes, scalars, and the other parameters."""
    tensors, scalars = declared_inputs(ann)
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray | float] = {}
    for name in ann.params:
        if name in tensors:
            shape = tuple(case.values[d] for d in tensors[name])
            # an offset mean, so that bugs which scale with the mean (padding lanes
            # counted in a variance) show clearly
            inputs[name] = rng.uniform(-1.0, 2.0, shape).astype(np.float32)
        elif name in scalars:
            # symbolic in the spec: any value must do, so take a random one
            value = case.values.get(name, float(rng.uniform(0.25, 1.5)))
            inputs[name] = value
    dims = {d for dims in tensors.values() for d in dims}
    others = {k: v for k, v in case.values.items() if k not in dims and k not in inputs}
    return inputs, others


def select(result: Any, target: str) -> Any:
    if target == "return":
        return result
    match = re.fullmatch(r"return\[(\d+)\]", target)
    if match:
        return result[int(match.group(1))]
    raise ValueError(f"target {target!r}: Pallas wrappers return their outputs")


def max_error(actual: np.ndarray, expected: np.ndarray) -> float:
    if actual.shape != expected.shape:
        return math.inf
    diff = np.abs(actual.astype(np.float64) - expected)
    if not np.all(np.isfinite(diff)):
        return math.inf
    return float(diff.max(initial=0.0))


def run_case(wrapper: Callable[..., Any], ann: Annotation, case: Case, seed: int) -> Row:
    inputs, others = make_inputs(ann, case, seed)
    row = Row("", case.text[len("case ") :], None, False, "")
    try:
        result = wrapper(**inputs, **others)
    except Exception as exc:  # noqa: BLE001 - a case that fails is a result to report
        first = (str(exc).splitlines() or [""])[0][:48]
        row.note = f"{type(exc).__name__}: {first}"
        # the wrapper's precondition rejecting a case marked STL045 is what it should do
        row.agrees = case.expects_precondition
        row.note = ("raises, as STL045 says: " if row.agrees else "fails: ") + row.note
        return row
    if case.expects_precondition:
        row.note = "returns, but the case is marked STL045"
        return row
    worst, scale, sources = 0.0, 1.0, set()
    for target, spec in ann.targets.items():
        want, source = reference(spec, ann, case, inputs)
        sources.add(source)
        got = np.asarray(select(result, target))
        worst = max(worst, max_error(got, want))
        scale = max(scale, float(np.abs(want).max(initial=0.0)))
    row.error = worst
    row.agrees = worst <= TOLERANCE * scale
    row.spec = "+".join(sorted(sources))
    return row


def run_fixture(path: Path, seed: int) -> list[Row]:
    source = path.read_text()
    fixture = Fixture(path, expected_codes(source.splitlines()))
    expected = "buggy" if fixture.buggy else "correct"
    module = load_module(path)
    rows = []
    for ann in find_annotations(source):
        wrapper = getattr(module, ann.wrapper)
        for number, case in enumerate(ann.cases):
            row = run_case(wrapper, ann, case, seed + number)
            row.fixture, row.expected = path.name, expected
            if len(find_annotations(source)) > 1:
                row.case = f"{ann.wrapper}: {row.case}"
            rows.append(row)
    if not rows:
        rows.append(Row(path.name, "-", None, False, expected, "no annotated wrapper or no case"))
    return rows


def verdict(rows: list[Row]) -> bool:
    """A correct fixture agrees on every case; a buggy twin disagrees on at least one."""
    if rows[0].expected not in ("correct", "buggy"):
        return False  # the fixture could not be run at all
    if rows[0].expected == "correct":
        return all(r.agrees for r in rows)
    return any(not r.agrees for r in rows)


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
    print(f"jax {jax.__version__}, interpret=True, seed {args.seed}, tolerance {TOLERANCE:g}")
    print("spec: the project's spec parser and evaluator, or the hand-written table\n")
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
        " every case, each buggy twin disagrees (or fails) on at least one"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
