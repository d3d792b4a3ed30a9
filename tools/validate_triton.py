"""Run every Triton fixture in the real Triton interpreter and compare it with its spec.

Usage (in an environment of its own, with torch, triton and NumPy; stile-static never
imports this script, and its tests and CI need none of them):

    python3 -m venv /path/to/triton-venv
    /path/to/triton-venv/bin/pip install torch triton numpy
    /path/to/triton-venv/bin/python tools/validate_triton.py [--seed N] [--summary] [FILE ...]

Triton 3.6 and later have no block pointers: fixtures that use them are reported as not
run there (triton 3.5.1 runs them; its interpreter needs NumPy < 2.3).

Each fixture (default: fixtures/triton/*.py) is imported with TRITON_INTERPRET=1, so its
kernels run on the CPU in Triton's own interpreter. For every `# stile: case` line (and
every autotune config) the host wrapper named by the annotation is called on seeded
random inputs, and what it writes to each target is compared with the spec evaluated in
NumPy (float64). Prints a table (fixture, case, config, max abs error, agrees?,
expected) and the command that made it. A correct fixture must agree on every case; a
buggy twin (one with an expected error code inline) must disagree or fault on at least
one. Exit status 0 when every fixture behaves as its inline expectations say.

The run looks for memory errors the way a sanitizer would: every tensor, the inputs and
what the wrapper allocates with torch.empty/zeros (intercepted), lives in a buffer of its
own surrounded by NaN guards, with padded rows unless the annotation assumes (or the
wrapper asserts) that it is contiguous, so a kernel that uses one tensor's stride for
another, or writes past the end of a tensor, is caught. Outputs start as NaN, so elements
written by no program show up too.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ATOL, RTOL = 1e-4, 2e-3  # per output: |kernel - spec| <= ATOL + RTOL * max |spec|
ANNOTATION = re.compile(
    r"^\s*#\s*stile:\s*(?P<body>.*?)\s*(?:#\s*E:\s*(?P<codes>(?:STL\d{3}\s*)+))?$"
)
EXPECT = re.compile(r"#\s*E:\s*((?:STL\d{3}\s*)+)")
DECLARED = re.compile(r"\b([A-Za-z_]\w*)\[([A-Za-z_]\w*(?:\s+[A-Za-z_]\w*)*)\]")
IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
CONTIGUOUS = re.compile(r"\b([A-Za-z_]\w*)\.is_contiguous\(\)")
SAME_STRIDE = re.compile(r"\b([A-Za-z_]\w*)\.stride\(\d+\)\s*==\s*([A-Za-z_]\w*)\.stride\(\d+\)")
WARNINGS = {"STL045"}
# Triton 3.6 removed tl.make_block_ptr from its interpreter (and language) in favour of
# tensor descriptors: fixtures that use block pointers need an older Triton to run
REMOVED_BLOCK_POINTERS = "Block pointers have been removed"
NOT_RUN = "not run: block pointers need triton<3.6"


# --- the annotation -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    line: int
    dims: dict[str, int]
    values: dict[str, Any]  # wrapper parameters the case sets
    must_fail_assert: bool  # the fixture expects STL045 on this case


@dataclass(frozen=True)
class Annotation:
    wrapper: str
    targets: tuple[tuple[str, str], ...]  # (target, spec)
    cases: tuple[Case, ...]
    assumes: tuple[str, ...]
    codes: frozenset[str]  # every code expected anywhere in the file

    def declared(self, params: Any = None) -> dict[str, tuple[str, ...]]:
        """Tensors the specs declare with their dims, `x[M N]`, in order of appearance
        (only wrapper parameters when given them: `softmax[N](...)` is no tensor)."""
        found: dict[str, tuple[str, ...]] = {}
        for _, spec in self.targets:
            for name, dims in DECLARED.findall(spec):
                if params is None or name in params:
                    found.setdefault(name, tuple(dims.split()))
        return found


def read_annotation(path: Path) -> Annotation:
    lines = path.read_text().splitlines()
    codes = frozenset(
        c for line in lines for m in EXPECT.finditer(line) for c in m.group(1).split()
    )
    block: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines, start=1):
        match = ANNOTATION.match(line)
        if match:
            block.append((number, match.group("body"), match.group("codes") or ""))
            continue
        if block and line.strip().startswith("@"):
            continue
        if block:
            wrapper = re.match(r"\s*def\s+([A-Za-z_]\w*)", line)
            if wrapper:
                return _annotation(wrapper.group(1), block, codes)
            block = []
    raise ValueError(f"{path}: no `# stile:` lines directly above a def")


def _annotation(
    wrapper: str, block: list[tuple[int, str, str]], codes: frozenset[str]
) -> Annotation:
    targets, raw_cases, assumes = [], [], []
    for number, body, line_codes in block:
        if body.startswith("case "):
            raw_cases.append((number, body[len("case ") :], "STL045" in line_codes))
        elif body.startswith("assume "):
            assumes.append(body[len("assume ") :])
        else:
            target, _, spec = body.partition("=")
            targets.append((target.strip(), spec.strip()))
    ann = Annotation(wrapper, tuple(targets), (), tuple(assumes), codes)
    dims = {d for ds in ann.declared().values() for d in ds}
    cases = []
    for number, text, must_fail in raw_cases:
        sizes, values = {}, {}
        for item in _split_assignments(text):
            name, _, value = item.partition("=")
            if name in dims:
                sizes[name] = int(value)
            else:
                values[name] = ast.literal_eval(value)
        cases.append(Case(number, sizes, values, must_fail))
    return Annotation(wrapper, tuple(targets), tuple(cases), tuple(assumes), codes)


def _split_assignments(text: str) -> list[str]:
    """`M=7 block=(32, 32)` -> ["M=7", "block=(32, 32)"]: spaces inside brackets stay."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char.isspace() and depth == 0:
            if current:
                items.append(current)
            current = ""
        else:
            current += char
    if current:
        items.append(current)
    return [item.replace(" ", "") for item in items]


# --- the spec in NumPy ----------------------------------------------------------------


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _causal(s: np.ndarray) -> np.ndarray:
    nq, nk = s.shape[-2:]
    return np.where(np.arange(nk)[None, :] <= np.arange(nq)[:, None], s, -np.inf)


# Reference evaluations of the fixtures' specs, keyed by the spec text (whitespace
# normalised). Each takes the inputs by name (float64 arrays, float scalars).
Env = dict[str, Any]
REFERENCES: dict[str, Callable[[Env], np.ndarray]] = {
    "x[N] + y[N]": lambda e: e["x"] + e["y"],
    "softmax[N](x[M N])": lambda e: _softmax(e["x"], -1),
    "(a[M K], b[K N] -> M N)": lambda e: e["a"] @ e["b"],
    "(x[M N] - mean[N](x)) * rsqrt(var[N](x) + eps) * w[N] + b[N]": lambda e: (
        (e["x"] - e["x"].mean(-1, keepdims=True))
        / np.sqrt(e["x"].var(-1, keepdims=True) + e["eps"])
        * e["w"]
        + e["b"]
    ),
    "mean[N](x)": lambda e: e["x"].mean(-1),
    "rsqrt(var[N](x) + eps)": lambda e: 1 / np.sqrt(e["x"].var(-1) + e["eps"]),
    "X[M N] * rsqrt(mean[N](X * X) + eps) * (offset + W[N])": lambda e: (
        e["X"] / np.sqrt((e["X"] ** 2).mean(-1, keepdims=True) + e["eps"]) * (e["offset"] + e["W"])
    ),
    "rsqrt(mean[N](X * X) + eps)": lambda e: 1 / np.sqrt((e["X"] ** 2).mean(-1) + e["eps"]),
    "a[M N] * sigmoid(a) * b[M N]": lambda e: e["a"] / (1 + np.exp(-e["a"])) * e["b"],
    "(softmax[Nk]((q[Nq D], k[Nk D] -> Nq Nk) * sm_scale), v[Nk D] -> Nq D)": lambda e: (
        _softmax(e["q"] @ e["k"].T * e["sm_scale"], -1) @ e["v"]
    ),
    "(softmax[Nk]((q[Z H Nq D], k[Z H Nk D] -> Z H Nq Nk) * sm_scale), v[Z H Nk D] -> Z H Nq D)": (
        lambda e: _softmax(e["q"] @ np.swapaxes(e["k"], -1, -2) * e["sm_scale"], -1) @ e["v"]
    ),
    "log2(sum[Nk](exp((q, k -> Z H Nq Nk) * sm_scale)))": lambda e: np.log2(
        np.exp(e["q"] @ np.swapaxes(e["k"], -1, -2) * e["sm_scale"]).sum(-1)
    ),
    "(softmax[Nk]((q[Z Nq H D], k[Z Nk H D] -> Z H Nq Nk) * softmax_scale),"
    " v[Z Nk H D] -> Z Nq H D)": lambda e: np.einsum(
        "zhqk,zkhd->zqhd",
        _softmax(np.einsum("zqhd,zkhd->zhqk", e["q"], e["k"]) * e["softmax_scale"], -1),
        e["v"],
    ),
    "(softmax[Nk](where(Nk <= Nq, (q[Z Nq H D], k[Z Nk H D] -> Z H Nq Nk) * softmax_scale,"
    " -inf)), v[Z Nk H D] -> Z Nq H D)": lambda e: np.einsum(
        "zhqk,zkhd->zqhd",
        _softmax(_causal(np.einsum("zqhd,zkhd->zhqk", e["q"], e["k"]) * e["softmax_scale"]), -1),
        e["v"],
    ),
}


# (text, tensors declared with their dims, scalar inputs, dim sizes, values) -> array
SpecEvaluator = Callable[
    [str, dict[str, tuple[str, ...]], list[str], dict[str, int], Env], np.ndarray
]


def reference_table(
    text: str,
    declared: dict[str, tuple[str, ...]],
    scalars: list[str],
    sizes: dict[str, int],
    env: Env,
) -> np.ndarray:
    key = " ".join(text.split())
    if key not in REFERENCES:
        raise KeyError(f"no NumPy reference for spec `{key}`")
    return np.asarray(REFERENCES[key](env), dtype=np.float64)


def project_evaluator() -> SpecEvaluator | None:
    """stile-static's own spec parser and evaluator, when this environment has a version
    of the project that reads annotation specs (`pip install -e .` into it)."""
    try:
        from stile_static.ir.specs import InputInfo
        from stile_static.prover.evaluator import evaluate
        from stile_static.spec.parser import parse_spec
    except ImportError:
        return None
    if "bare_names" not in inspect.signature(parse_spec).parameters:
        return None

    def run(
        text: str,
        declared: dict[str, tuple[str, ...]],
        scalars: list[str],
        sizes: dict[str, int],
        env: Env,
    ) -> np.ndarray:
        inputs = [InputInfo(n, d) for n, d in declared.items()]
        inputs += [InputInfo(n, ()) for n in scalars]
        spec = parse_spec(text, inputs, sizes, bare_names=True)
        values = {n: np.asarray(env[n], dtype=np.float64) for n in [*declared, *scalars]}
        return np.asarray(evaluate(spec.term, values, spec.out_dims, sizes), dtype=np.float64)

    return run


# --- memory with guards ---------------------------------------------------------------


@dataclass
class Memory:
    """Every tensor of one run in a buffer of its own, with row padding and a guard before
    and after. Around an input the buffer holds NaN, which spoils whatever reads it (even
    times zero); around an output, a finite sentinel of its own, so that anything written
    there shows. An output starts as NaN, so that elements no program writes show too."""

    torch: Any
    buffers: list[tuple[str, Any, Any, float]] = field(default_factory=list)

    def alloc(
        self, name: str, shape: tuple[int, ...], dtype: Any, pad: int, data: Any = None
    ) -> Any:
        torch = self.torch
        extents = [n + (pad if i else 0) for i, n in enumerate(shape)]
        strides, step = [], 1
        for extent in reversed(extents):
            strides.insert(0, step)
            step *= extent
        size = max(step, 1)
        guard = -(-(size + 64) // 16) * 16  # keeps the tensor 16-byte aligned
        # NaN around inputs; around outputs a value exact in float16 too
        sentinel = math.nan if data is not None else -(1000.0 + 8 * len(self.buffers))
        buffer = torch.full((size + 2 * guard,), sentinel, dtype=dtype)
        tensor = buffer.as_strided(shape, strides, guard)
        inside = torch.zeros(buffer.shape, dtype=torch.bool)
        inside.as_strided(shape, strides, guard).fill_(True)
        if data is None:
            tensor.fill_(math.nan)
        else:
            tensor.copy_(torch.as_tensor(data, dtype=dtype))
        self.buffers.append((name, buffer, inside, sentinel))
        return tensor

    def written_outside(self) -> list[str]:
        changed = []
        for name, buffer, inside, sentinel in self.buffers:
            around = buffer[~inside]
            kept = around.isnan() if math.isnan(sentinel) else around == sentinel
            if not bool(kept.all()):
                changed.append(name)
        return changed


class GuardedTorch:
    """Stands in for `torch` in a fixture: allocations go to the guarded memory."""

    def __init__(self, torch: Any) -> None:
        self._torch = torch
        self.memory = Memory(torch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._torch, name)

    def _shape(self, size: tuple[Any, ...]) -> tuple[int, ...]:
        if len(size) == 1 and isinstance(size[0], (tuple, list, self._torch.Size)):
            size = tuple(size[0])
        return tuple(int(n) for n in size)

    def empty(self, *size: Any, dtype: Any = None, **_: Any) -> Any:
        return self.memory.alloc("torch.empty", self._shape(size), dtype or self._torch.float32, 0)

    def zeros(self, *size: Any, dtype: Any = None, **_: Any) -> Any:
        t = self.memory.alloc("torch.zeros", self._shape(size), dtype or self._torch.float32, 0)
        return t.fill_(0)

    def full(self, size: Any, value: float, dtype: Any = None, **_: Any) -> Any:
        t = self.memory.alloc("torch.full", self._shape((size,)), dtype or self._torch.float32, 0)
        return t.fill_(value)

    def empty_like(self, other: Any, dtype: Any = None, **_: Any) -> Any:
        return self.memory.alloc("torch.empty_like", tuple(other.shape), dtype or other.dtype, 0)

    def zeros_like(self, other: Any, dtype: Any = None, **_: Any) -> Any:
        return self.empty_like(other, dtype).fill_(0)


# --- autotune, one config at a time ---------------------------------------------------


class PinnedAutotune:
    """`triton.autotune` in the interpreter would benchmark on a GPU driver: instead the
    launch uses the config chosen by the run, so that every config is checked."""

    chosen = 0
    configs_seen: list[list[Any]] = []

    def __init__(self, fn: Any, configs: list[Any]) -> None:
        self.fn, self.configs = fn, configs
        PinnedAutotune.configs_seen.append(configs)

    def __getitem__(self, grid: Any) -> Callable[..., Any]:
        config = self.configs[min(PinnedAutotune.chosen, len(self.configs) - 1)]
        options = {
            k: getattr(config, k)
            for k in ("num_warps", "num_stages")
            if getattr(config, k, None) is not None
        }

        def launch(*args: Any, **kwargs: Any) -> Any:
            return self.fn[grid](*args, **kwargs, **config.kwargs, **options)

        return launch

    @staticmethod
    def decorator(configs: list[Any], key: Any = None, **_: Any) -> Callable[[Any], Any]:
        return lambda fn: PinnedAutotune(fn, list(configs))


# --- one run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    fixture: str
    case: str
    config: str
    error: float | None  # max abs error over the targets (None: no value to compare)
    status: str  # "agrees", "DISAGREES", "assert", or a fault


def load_fixture(path: Path, triton: Any) -> Any:
    PinnedAutotune.configs_seen = []
    triton.autotune = PinnedAutotune.decorator
    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def contiguous_tensors(ann: Annotation, wrapper: Callable[..., Any]) -> set[str]:
    source = inspect.getsource(wrapper)
    asserted = {
        m for line in source.splitlines() if "assert" in line for m in CONTIGUOUS.findall(line)
    }
    assumed = {m for text in ann.assumes for m in CONTIGUOUS.findall(text)}
    return asserted | assumed


def pads(ann: Annotation, wrapper: Callable[..., Any]) -> dict[str, int]:
    """A different row padding per tensor (so no two share a stride by chance), none for
    those that must be contiguous, equal ones where the annotation assumes equal strides."""
    params = inspect.signature(wrapper).parameters
    names = list(ann.declared(params)) + [t for t, _ in ann.targets if t in params]
    result = {name: 3 + 2 * i for i, name in enumerate(names)}
    for a, b in (m for text in ann.assumes for m in SAME_STRIDE.findall(text)):
        result[b] = result.get(a, 0)
    for name in contiguous_tensors(ann, wrapper):
        result[name] = 0
    return result


def run_case(
    module: Any,
    ann: Annotation,
    case: Case,
    index: int,
    seed: int,
    torch: Any,
    label: str,
    evaluate_spec: SpecEvaluator,
) -> Row:
    wrapper = getattr(module, ann.wrapper)
    params = inspect.signature(wrapper).parameters
    declared = ann.declared(params)
    rng = np.random.default_rng([seed, index])
    proxy = GuardedTorch(torch)
    module.torch = proxy
    memory = proxy.memory
    padding = pads(ann, wrapper)
    env: Env = {}
    kwargs: dict[str, Any] = {}
    for name, dims in declared.items():
        shape = tuple(case.dims[d] for d in dims)
        # what the kernel sees: float32
        env[name] = rng.standard_normal(shape).astype(np.float32).astype(np.float64)
        kwargs[name] = memory.alloc(name, shape, torch.float32, padding.get(name, 0), env[name])
    spec_names = {n for _, spec in ann.targets for n in IDENT.findall(spec)}
    scalars = [n for n in params if n in spec_names and n not in declared]
    for name in params:
        if name in case.values:
            kwargs[name] = case.values[name]
        elif name in scalars:
            # a scalar input of the spec: any value will do; positive suits every
            # assumption the fixtures make (sm_scale > 0) and keeps eps visible
            kwargs[name] = float(rng.uniform(0.2, 1.0))
        if name in kwargs and not hasattr(kwargs[name], "shape"):
            env[name] = kwargs[name]
    case_text = " ".join(
        [f"{k}={v}" for k, v in case.dims.items()] + [f"{k}={v!r}" for k, v in case.values.items()]
    )
    try:
        expected = {
            target: evaluate_spec(spec, declared, scalars, case.dims, env)
            for target, spec in ann.targets
        }
    except Exception as exc:  # the spec, not the kernel: no comparison possible
        return Row(ann.wrapper, case_text, label, None, f"no spec value: {_short(exc)}")
    for target, value in expected.items():
        if target in params and target not in kwargs:
            kwargs[target] = memory.alloc(
                target, value.shape, torch.float32, padding.get(target, 0)
            )
    originals = {name: env[name] for name in declared}
    try:
        result = wrapper(**kwargs)
    except AssertionError as exc:
        return Row(ann.wrapper, case_text, label, None, f"assert: {exc}" if str(exc) else "assert")
    except Exception as exc:  # a fault of the kernel under the interpreter
        if REMOVED_BLOCK_POINTERS in str(exc):
            return Row(ann.wrapper, case_text, label, None, NOT_RUN)
        return Row(
            ann.wrapper, case_text, label, None, f"fault: {type(exc).__name__}: {_short(exc)}"
        )
    outside = memory.written_outside()
    if outside:
        return Row(
            ann.wrapper,
            case_text,
            label,
            None,
            "fault: wrote outside " + ", ".join(sorted(set(outside))),
        )
    changed = [
        n
        for n in declared
        if not np.array_equal(kwargs[n].double().numpy(), originals[n].astype(np.float32))
    ]
    if changed:
        return Row(
            ann.wrapper, case_text, label, None, "fault: changed input " + ", ".join(changed)
        )
    worst, agrees = 0.0, True
    for target, want in expected.items():
        got = _target_value(target, kwargs, result)
        got = got.detach().to(torch.float64).numpy()
        if got.shape != want.shape:
            return Row(
                ann.wrapper,
                case_text,
                label,
                None,
                f"fault: {target} has shape {got.shape}, spec {want.shape}",
            )
        diff = np.abs(got - want)
        error = float(np.max(diff)) if np.isfinite(diff).all() else math.inf
        worst = max(worst, error)
        agrees &= error <= ATOL + RTOL * float(np.max(np.abs(want), initial=0.0))
    return Row(ann.wrapper, case_text, label, worst, "agrees" if agrees else "DISAGREES")


def _target_value(target: str, kwargs: dict[str, Any], result: Any) -> Any:
    if target == "return":
        return result
    item = re.fullmatch(r"return\[(\d+)\]", target)
    if item:
        return result[int(item.group(1))]
    return kwargs[target]


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 90 else text[:87] + "..."


# --- the table --------------------------------------------------------------------------


def check_fixture(
    path: Path, seed: int, torch: Any, triton: Any, evaluate_spec: SpecEvaluator
) -> tuple[list[Row], str, bool | None]:
    """The rows of one fixture, what it is expected to be, and whether it behaved so
    (None: this Triton cannot run it)."""
    ann = read_annotation(path)
    errors = ann.codes - WARNINGS
    kind = "buggy" if errors else "correct"
    try:
        module = load_fixture(path, triton)
    except Exception as exc:
        row = Row(path.name, "-", "-", None, f"fault: import: {_short(exc)}")
        return [row], kind, False
    n_configs = max((len(c) for c in PinnedAutotune.configs_seen), default=1)
    rows = []
    for index, case in enumerate(ann.cases):
        for config in range(n_configs):
            PinnedAutotune.chosen = config
            label = f"config {config}" if PinnedAutotune.configs_seen else "-"
            row = run_case(module, ann, case, index, seed, torch, label, evaluate_spec)
            rows.append(Row(path.name, row.case, row.config, row.error, row.status))
    as_expected = []
    for case, chunk in zip(ann.cases, _chunks(rows, n_configs)):
        if case.must_fail_assert:
            as_expected.append(all(r.status.startswith("assert") for r in chunk))
        elif kind == "correct":
            as_expected.append(all(r.status == "agrees" for r in chunk))
        else:
            as_expected.append(
                any(r.status != "agrees" and not r.status.startswith("assert") for r in chunk)
            )
    if any(r.status == NOT_RUN for r in rows):
        return rows, kind, None
    ok = all(as_expected) if kind == "correct" else any(as_expected)
    return rows, kind, ok


def _chunks(rows: list[Row], size: int) -> list[list[Row]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _summary_line(name: str, kind: str, rows: list[Row], ok: bool | None) -> str:
    agree = sum(r.status == "agrees" for r in rows)
    other = sorted(
        {r.status.split(":")[0] if r.status != "DISAGREES" else "disagrees" for r in rows}
    )
    other = [o for o in other if o != "agrees"]
    verdict = "not run" if ok is None else "yes" if ok else "NO"
    return f"| {name} | {kind} | {len(rows)} | {agree} | {', '.join(other) or '-'} | {verdict} |"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--summary", action="store_true", help="one line per fixture instead of one per run"
    )
    parser.add_argument(
        "--reference-table",
        action="store_true",
        help="evaluate specs with this script's own references even when stile-static can",
    )
    parser.add_argument("fixtures", nargs="*", help="fixture files (default: fixtures/triton/*.py)")
    args = parser.parse_args()
    os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported
    import torch
    import triton

    paths = [Path(p) for p in args.fixtures] or sorted((ROOT / "fixtures" / "triton").glob("*.py"))
    command = " ".join(["python", "tools/validate_triton.py", *sys.argv[1:]])
    print(f"Command: {command}  (TRITON_INTERPRET=1 is set by the script)")
    versions = f"triton {triton.__version__}, torch {torch.__version__}, NumPy {np.__version__}"
    print(f"{versions}, seed {args.seed}")
    project = None if args.reference_table else project_evaluator()
    evaluate_spec = project or reference_table
    if project is None:
        print("spec evaluated by: this script's NumPy reference per fixture family")
    else:
        import stile_static

        where = Path(stile_static.__file__).parent
        print(f"spec evaluated by: stile-static's spec parser and evaluator ({where})")
    print(f"agrees: max |kernel - spec| <= {ATOL} + {RTOL} * max |spec| on every target\n")
    if args.summary:
        print("| fixture | expected | runs | agree | disagree or fault | as expected? |")
        print("|---|---|---:|---:|---|---|")
    else:
        print("| fixture | case | config | max abs error | agrees? | expected |")
        print("|---|---|---|---:|---|---|")
    failures, not_run = [], []
    for path in paths:
        rows, kind, ok = check_fixture(path, args.seed, torch, triton, evaluate_spec)
        if args.summary:
            print(_summary_line(path.name, kind, rows, ok), flush=True)
        for row in rows if not args.summary else ():
            error = "-" if row.error is None else f"{row.error:.3g}"
            print(
                f"| {row.fixture} | {row.case} | {row.config} | {error} | {row.status} | {kind} |",
                flush=True,
            )
        if ok is None:
            not_run.append(path.name)
        elif not ok:
            failures.append(f"{path.name} (expected {kind})")
    print()
    run = len(paths) - len(not_run)
    behaving = run - len(failures)
    print(f"{behaving} of {run} fixtures run behave as their inline expectations say.")
    for name in not_run:
        print(f"NOT RUN with triton {triton.__version__}: {name}")
    for failure in failures:
        print(f"NOT AS EXPECTED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
