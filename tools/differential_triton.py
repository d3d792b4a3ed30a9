"""Run random Triton kernels in the real Triton interpreter and through the analyzer.

Usage: python tools/differential_triton.py --kernels N [--start S] [--jobs J] [--record]

Each kernel of tests/differential/triton_generate.py (seeds S .. S+N-1) is run for
real: imported with TRITON_INTERPRET=1 (triton and torch on the CPU), its wrapper
called on every case of its `# stile:` annotation (ragged sizes included), on three
random draws (N(0,1), N(-3,1) and N(-8,1)) and with every autotune config, and what it
returns or writes compared with the spec evaluated in NumPy (float64, within
tools/validate_triton.py's tolerance). The analyzer checks the same source. The
tool needs torch and triton: run with any Python, it re-executes itself in the
environment made by tools/_real_venv.sh (the project and its tests never need it).

A kernel is *correct when run* when every run returns, writes every output element
with the spec's value, and makes no access a sanitizer would flag. The memory is
watched as tools/validate_triton.py does it (guards around every tensor, padded
rows, so that an out-of-bounds read counts even where it does not crash; a row
stride of its own per tensor, and a unit stride in the last dim, which the analyzer
assumes of every tensor: docs/triton.md, "Pointers and strides"), plus:

- a masked load without `other` gives +3e30 in the masked lanes on the first draw,
  -3e30 on the second (the interpreter gives 0, a GPU whatever the register held):
  a kernel that uses them is wrong;
- within one launch, an element one program writes and another program reads or
  writes is a race, wrong whatever the interpreter's order of programs made of it;
  a store that a later launch (or later in the same program) overwrites is not;
- a kernel the interpreter refuses (an exception: a non-power-of-two `tl.arange`,
  bounds of `tl.arange` that are not constexpr, a `program_id` axis past 2) is
  wrong: the compiler refuses it too. The generator makes no kernel that the
  compiler refuses and the interpreter accepts, nor one that the interpreter alone
  refuses (`.to()` of a float argument, a Python float there), so an STL005 claim
  is judged by the interpreter's refusal;
- an access outside every tensor of the run is masked off after it is reported:
  the interpreter would really make it, and a wild store corrupts the process.

The analyzer's verdict (tests/differential/triton_verdict.py) is verified, wrong or
unsupported; a disagreement is verified-but-wrong-when-run or
claimed-wrong-but-correct-when-run. Each is printed (seed, both verdicts, why), then
the summary line. With --record, the ground truth of each kernel (seed, source
hash, correct or not and why) is written to tests/differential/data/triton_sample.json,
which tests/test_differential_triton.py replays without triton or torch.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "tests" / "differential" / "data" / "triton_sample.json"

# The validator's two draws and one more: under N(-3,1) a row of 33 values has a
# positive one 4% of the time, which hides an `other=0.0` that a max then picks
# (seed 16879); under N(-8,1) no row of these sizes has one.
DRAWS = (("N(0,1)", 0.0), ("N(-3,1)", -3.0), ("N(-8,1)", -8.0))


def _reexec_in_real_venv() -> None:
    """Without torch and triton here, run again in the environment that has them."""
    script = 'source tools/_real_venv.sh triton && exec "$real_venv/bin/python" "$@"'
    here = str(Path(__file__).resolve())
    os.chdir(ROOT)
    os.execvp("bash", ["bash", "-c", script, "bash", here, *sys.argv[1:]])


# --- the real run (in a worker with triton imported once) -----------------------------

_STATE: dict[str, Any] = {}


def _setup() -> None:
    os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported
    warnings.filterwarnings("ignore")  # int32 wrap-around warns in NumPy
    import torch
    import triton
    import triton.runtime.interpreter as interpreter

    from tools import validate_triton as vt

    vt.watch_memory_accesses(interpreter.InterpreterBuilder)
    _poison_masked_lanes(interpreter)
    _watch_races(interpreter, vt)
    triton.runtime.driver.set_active(vt.CpuDriver(torch))
    torch.set_num_threads(1)
    _STATE.update(torch=torch, triton=triton, vt=vt, dir=tempfile.mkdtemp(prefix="stile-dt-"))


class Poison:
    """What a masked lane loaded without `other` holds in the run in progress: it is
    undefined on a GPU, so each draw puts something else there, a value that wins a
    max (+3e30) on the first and a min (-3e30) on the second; either spoils a sum.
    (Not NaN: `tl.max` and `tl.min` skip it, as the GPU's maxnum does.)"""

    draw = 0


def _poison_masked_lanes(interpreter: Any) -> None:
    builder = interpreter.InterpreterBuilder
    load = builder.create_masked_load

    def masked_load(self: Any, ptrs: Any, mask: Any, other: Any, *args: Any) -> Any:
        if other is None:
            dtype_tt = ptrs.get_element_ty()
            dtype_np = interpreter._get_np_dtype(dtype_tt)
            if np.issubdtype(dtype_np, np.floating):
                junk = np.full(ptrs.data.shape, 3e30 if Poison.draw == 0 else -3e30, dtype_np)
                other = interpreter.TensorHandle(junk, dtype_tt)
        return load(self, ptrs, mask, other, *args)

    builder.create_masked_load = masked_load


class Races:
    """The accesses of the launch in progress, by program: an element written by one
    program and read or written by another is a race."""

    reads: list[tuple[np.ndarray, int]] = []
    writes: list[tuple[np.ndarray, int]] = []
    found: list[str] = []

    @classmethod
    def conflicts(cls) -> str | None:
        if not cls.writes:
            return None
        w_addr = np.concatenate([a for a, _ in cls.writes])
        w_prog = np.concatenate([np.full(a.size, p) for a, p in cls.writes])
        pairs = np.unique(np.stack([w_addr, w_prog.astype(np.uint64)]), axis=1)
        _, counts = np.unique(pairs[0], return_counts=True)
        if (counts > 1).any():
            return "two programs of one launch store the same element"
        if cls.reads:
            r_addr = np.concatenate([a for a, _ in cls.reads])
            r_prog = np.concatenate([np.full(a.size, p) for a, p in cls.reads])
            writer = dict(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True))
            for addr, prog in zip(r_addr.tolist(), r_prog.tolist(), strict=True):
                if writer.get(addr, prog) != prog:
                    return "a program reads an element another program of the launch stores"
        return None


def _watch_races(interpreter: Any, vt: Any) -> None:
    builder = interpreter.InterpreterBuilder
    load, store = builder.create_masked_load, builder.create_masked_store
    executor = interpreter.GridExecutor
    call = executor.__call__

    def program() -> int:
        x, y, z = interpreter.interpreter_builder.grid_idx
        return (x * 4096 + y) * 4096 + z

    def clipped(kind: str, ptrs: Any, mask: Any) -> tuple[Any, np.ndarray]:
        """The mask without the lanes that address no tensor of the run (reported as
        out of bounds): the interpreter would really read or write there, and a wild
        store corrupts the process's own memory."""
        memory = vt.GuardedTorch.current
        on = np.broadcast_to(mask.data, ptrs.data.shape).copy()
        addresses = np.asarray(ptrs.data, dtype=np.uint64)
        known = np.zeros(on.shape, bool)
        for _, buffer, _, _ in memory.buffers:
            base = buffer.data_ptr()
            end = base + buffer.element_size() * buffer.numel()
            known |= (addresses >= base) & (addresses < end)
        if (on & ~known).any():
            memory.bad.add((kind, vt._fixture_line(memory.fixture), "no tensor"))
            on &= known
            mask = interpreter.TensorHandle(on, mask.dtype)
        return mask, addresses[on]

    def masked_load(self: Any, ptrs: Any, mask: Any, *args: Any) -> Any:
        mask, addresses = clipped("read", ptrs, mask)
        Races.reads.append((addresses.ravel(), program()))
        return load(self, ptrs, mask, *args)

    def masked_store(self: Any, ptrs: Any, value: Any, mask: Any, *args: Any) -> Any:
        mask, addresses = clipped("write", ptrs, mask)
        Races.writes.append((addresses.ravel(), program()))
        return store(self, ptrs, value, mask, *args)

    def launch(self: Any, *args: Any, **kwargs: Any) -> Any:
        for value in [*args, *kwargs.values()]:
            _adopt(vt.GuardedTorch.current, value)
        Races.reads, Races.writes = [], []
        try:
            return call(self, *args, **kwargs)
        finally:
            race = Races.conflicts()
            if race is not None:
                Races.found.append(race)
            Races.reads, Races.writes = [], []

    builder.create_masked_load, builder.create_masked_store = masked_load, masked_store
    executor.__call__ = launch


def _adopt(memory: Any, value: Any) -> None:
    """A tensor the wrapper made with a torch method (a copy: `.clone()`, `.to()`, ...)
    rather than through the guarded allocator: its storage is memory of this run too."""
    if not hasattr(value, "untyped_storage"):
        return
    storage = value.untyped_storage()
    if any(b.untyped_storage().data_ptr() == storage.data_ptr() for _, b, _, _ in memory.buffers):
        return
    torch = memory.torch
    count = storage.nbytes() // value.element_size()
    whole = torch.empty(0, dtype=value.dtype).set_(storage, 0, (count,), (1,))
    inside = torch.ones(count, dtype=torch.bool)
    memory.buffers.append(("a host copy", whole, inside, 0.0))


def run_for_real(source: str, seed: int) -> tuple[bool, str]:
    """(correct when run, why): the first run that went wrong, or "correct"."""
    if not _STATE:
        _setup()
    vt, torch, triton = _STATE["vt"], _STATE["torch"], _STATE["triton"]
    from stile_static.spec.annotations import configurations, find_annotations
    from stile_static.spec.sizes import blocks_of

    path = Path(_STATE["dir"]) / f"kernel_{seed}.py"
    path.write_text(source)
    try:
        found = find_annotations(source, str(path))
        blocks = blocks_of(source)
        confs = [
            c
            for a in found.annotations
            for c in configurations(a, str(path), blocks).configurations
        ]
        try:
            module = vt.load_fixture(path, triton)
        except Exception as exc:  # the file itself does not import
            return False, f"import: {vt._short(exc)}"
        n_configs = max((len(c) for c in vt.PinnedAutotune.configs_seen), default=1)
        for index, conf in enumerate(confs):
            for draw in range(len(DRAWS)):
                for config in range(n_configs):
                    vt.PinnedAutotune.chosen = config
                    why = _one_run(module, conf, index, draw, seed, torch, vt)
                    if why is not None:
                        where = f"case {conf.case}, {DRAWS[draw][0]}"
                        where += f", config {config}" if n_configs > 1 else ""
                        return False, f"{where}: {why}"
        return True, "correct"
    finally:
        path.unlink(missing_ok=True)


def _one_run(
    module: Any, conf: Any, index: int, draw: int, seed: int, torch: Any, vt: Any
) -> str | None:
    """Why one run of the wrapper is wrong, or None when it is right."""
    from stile_static.prover.evaluator import evaluate

    ann = conf.annotation
    wrapper = getattr(module, ann.name)
    sizes = conf.sizes
    rng = np.random.default_rng([seed, index, draw])
    proxy = vt.GuardedTorch(torch, module.__file__)
    module.torch = proxy
    memory = proxy.memory
    padding = vt.pads(ann, wrapper)
    env: dict[str, Any] = {}
    kwargs: dict[str, Any] = dict(conf.parameter_values)
    for tensor in ann.tensors:
        shape = tuple(sizes[d] for d in tensor.dims)
        values = rng.standard_normal(shape) + DRAWS[draw][1]
        env[tensor.name] = values.astype(np.float32).astype(np.float64)
        kwargs[tensor.name] = memory.alloc(
            tensor.name, shape, torch.float32, padding.get(tensor.name, 0), env[tensor.name]
        )
    for name in ann.scalars:
        if name not in kwargs:
            kwargs[name] = float(rng.uniform(0.2, 1.0))
        env[name] = kwargs[name]
    expected = {
        str(s.target): evaluate(s.spec.term, env, s.spec.out_dims, sizes) for s in conf.specs
    }
    for output in ann.outputs:
        name = output.target.name
        if not output.target.is_return and name not in kwargs:
            shape = expected[name].shape
            kwargs[name] = memory.alloc(name, shape, torch.float32, padding.get(name, 0))
    Races.found = []
    Poison.draw = draw
    try:
        with np.errstate(all="ignore"):
            result = wrapper(**kwargs)
    except Exception as exc:  # refused by the interpreter, or a fault of the wrapper
        return f"raised {type(exc).__name__}: {vt._short(exc)}"
    faults = [f"{kind} outside {name} at line {line}" for kind, line, name in sorted(memory.bad)]
    faults += Races.found
    if faults:
        return faults[0]
    for output in ann.outputs:
        got = vt._target_value(output.target, kwargs, result)
        if memory.never_written(got):
            return f"{output.target} not all written"
        want = np.asarray(expected[str(output.target)], dtype=np.float64)
        values = got.detach().to(torch.float64).numpy()
        if values.shape != want.shape:
            return f"{output.target} has shape {values.shape}, the spec {want.shape}"
        limit = vt.ATOL + vt.RTOL * float(np.max(np.abs(want), initial=0.0))
        error = np.abs(values - want)
        if not (np.isfinite(error).all() and float(np.max(error, initial=0.0)) <= limit):
            worst = float(np.max(error, initial=0.0))
            return f"{output.target} differs from its spec (max error {worst:.3g})"
    changed = [
        t.name
        for t in ann.tensors
        if not np.array_equal(kwargs[t.name].double().numpy(), env[t.name])
    ]
    if changed:
        return "changed input " + ", ".join(changed)
    return None


def judge(seed: int) -> dict[str, Any]:
    """Everything known of one kernel: its hash, the real run, the analyzer's verdict."""
    from tests.differential.triton_generate import kernel, source_hash
    from tests.differential.triton_verdict import analyzer_verdict, disagrees

    source = kernel(random.Random(seed))
    correct, why = run_for_real(source, seed)
    verdict = analyzer_verdict(source)
    return {
        "seed": seed,
        "sha": source_hash(source),
        "correct": correct,
        "why": why,
        "verdict": verdict.kind,
        "analyzer": verdict.detail,
        "disagrees": disagrees(verdict.kind, correct),
    }


def _family_table(rows: list[dict[str, Any]]) -> None:
    from tests.differential.triton_generate import kernel

    counts: dict[str, list[int]] = {}
    for row in rows:
        family = kernel(random.Random(row["seed"])).splitlines()[0].split()[-1]
        entry = counts.setdefault(family, [0] * 5)
        flags = (True, row["verdict"] == "verified", not row["correct"])
        flags += (row["verdict"] == "unsupported", row["disagrees"])
        for k, flag in enumerate(flags):
            entry[k] += flag
    print("| family | kernels | verified | wrong when run | unsupported | disagreements |")
    print("|---|---:|---:|---:|---:|---:|")
    for family, (n, v, w, u, d) in sorted(counts.items()):
        print(f"| {family} | {n} | {v} | {w} | {u} | {d} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kernels", type=int, default=500)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--record",
        action="store_true",
        help=f"write the ground truth to {SAMPLE.relative_to(ROOT)}",
    )
    parser.add_argument("--show", action="store_true", help="print the source of each disagreement")
    parser.add_argument(
        "--by-family", action="store_true", help="a table of the verdicts per generator family"
    )
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        import triton  # noqa: F401
    except ImportError:
        _reexec_in_real_venv()
    from tests.differential.triton_generate import kernel

    seeds = range(args.start, args.start + args.kernels)
    rows: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")  # egglog and the checker's thread do not fork
    with ProcessPoolExecutor(args.jobs, mp_context=context, initializer=_setup) as pool:
        for done, row in enumerate(pool.map(judge, seeds, chunksize=20), 1):
            rows.append(row)
            if row["disagrees"]:
                when_run = "correct" if row["correct"] else f"wrong ({row['why']})"
                print(
                    f"seed {row['seed']}: analyzer {row['verdict']} ({row['analyzer']}), "
                    f"when run {when_run}",
                    flush=True,
                )
                if args.show:
                    print(kernel(random.Random(row["seed"])), flush=True)
            if done % 500 == 0:
                print(f"... {done} kernels", file=sys.stderr, flush=True)
    verified = sum(r["verdict"] == "verified" for r in rows)
    wrong = sum(not r["correct"] for r in rows)
    unsupported = sum(r["verdict"] == "unsupported" for r in rows)
    disagreements = sum(r["disagrees"] for r in rows)
    unread = [r["seed"] for r in rows if any(f"STL02{k}" in r["analyzer"] for k in range(4))]
    if unread:  # the generator wrote a spec or an annotation the analyzer cannot read
        print(f"GENERATOR: specs or annotations not read for seeds {unread[:20]}")
    command = f"python tools/differential_triton.py --kernels {args.kernels} --start {args.start}"
    print(f"Command: {command}")
    print(
        f"kernels {len(rows)}, verified {verified}, wrong when run {wrong}, "
        f"unsupported {unsupported}, disagreements {disagreements}"
    )
    if args.by_family:
        _family_table(rows)
    if args.record:
        import torch
        import triton

        SAMPLE.parent.mkdir(parents=True, exist_ok=True)
        versions = f"triton {triton.__version__}, torch {torch.__version__}, NumPy {np.__version__}"
        data = {
            "made_by": command + " --record",
            "versions": versions,
            "kernels": [{k: r[k] for k in ("seed", "sha", "correct", "why")} for r in rows],
        }
        SAMPLE.write_text(json.dumps(data, indent=0) + "\n")
        print(f"recorded {len(rows)} kernels in {SAMPLE.relative_to(ROOT)}")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
