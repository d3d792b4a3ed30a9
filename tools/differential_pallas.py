"""Run random Pallas kernels under real JAX and through the analyzer; count disagreements.

Each kernel of ``tests/differential/pallas_generate.py`` is run, on every one of its
``# stile: case`` sizes (ragged ones included), in two modes of JAX's Pallas:

- ``interpret``: ``interpret=True``, the generic interpreter on the CPU;
- ``tpu``: ``interpret=pltpu.InterpretParams(num_cores_or_threads=2)``, the TPU
  interpret mode, which simulates two TensorCores (a grid axis marked "parallel"
  is split between them, each with its own VMEM), refuses what Mosaic refuses
  (parallel axes that are not a prefix of the grid, ...), raises on an
  out-of-bounds read, and fills uninitialized memory with NaN.

A kernel is *correct when run* when, in both modes and on every case, the wrapper
returns without an exception and its result equals the spec evaluated in NumPy
(float64) within a tolerance relative to the spec's magnitude. Judged with care:

- an exception in either mode counts as *wrong when run*: a refusal of the TPU
  rules is what STL005 claims, and an out-of-bounds read raised by the TPU
  interpret mode is what STL042 claims (on hardware Pallas clamps the block index
  silently, so a kernel that reads past the array is wrong even where the values
  happen to come out right);
- a kernel that gives the right values in the generic interpreter and wrong ones
  in the TPU interpret mode (an accumulation across a "parallel" axis, an output
  block revisited after another one) is wrong: it is wrong on a TPU.

The analyzer (``stile_static.check.checker.check_source``) reads the same source;
its verdict (``tests/differential/pallas_verdict.py``) disagrees when it verifies a
kernel that is wrong when run, or claims wrong one that is correct when run.

Usage::

    python tools/differential_pallas.py --kernels 500 [--start 0] [--jobs 2]
    python tools/differential_pallas.py --kernels 520 --record
    python tools/differential_pallas.py --replay   # the sample, today's analyzer, no jax
    python tools/differential_pallas.py --kernels 2000 --start 520 --record --sample /tmp/b.json
    python tools/differential_pallas.py --kernels 10000 --start 1120 --jobs 2 --resume /tmp/run

A long run takes hours (about a second of CPU per kernel): ``--resume DIR`` judges the
seeds in blocks of 250, keeps each block's rows in ``DIR`` as it ends, and on a second
start judges only the blocks not kept yet; the summary covers every block.

It runs itself with the environment that has the real jax (``.venv-jax``, made by
``tools/_real_venv.sh`` on first use); the project and its tests never need jax.
``--record`` writes the ground truth of the runs to
``tests/differential/data/pallas_sample.json``, which
``tests/test_differential_pallas.py`` replays without jax.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "differential" / "data" / "pallas_sample.json"
MODES = ("interpret", "tpu")
TOLERANCE = 1e-4  # float32 kernels against a float64 spec, relative to the spec's magnitude
CORES = 2  # TensorCores simulated by the TPU interpret mode


@dataclass(frozen=True)
class Judged:
    """One kernel: the real runs' ground truth and the analyzer's verdict on it."""

    seed: int
    hash: str
    family: str
    bug: str | None
    correct: bool
    why: str  # the first failure when run (mode, case, reason), or what was run
    verdict: str
    codes: tuple[str, ...]
    disagreement: str | None


def _ensure_real_jax() -> None:
    """Re-run this script with the environment that has jax, making it if needed."""
    try:
        import jax  # noqa: F401
    except ImportError:
        python = ROOT / ".venv-jax" / "bin" / "python"
        if (ROOT / ".venv-jax" / ".installed").exists():
            # made already: use it as it is, with this checkout first on the path
            os.environ["PYTHONPATH"] = os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            )
            os.execv(python, [str(python), __file__, *sys.argv[1:]])
        setup = ROOT / "tools" / "_real_venv.sh"
        script = 'source "$0" jax && exec "$real_venv/bin/python" "$@"'
        os.execvp("bash", ["bash", "-c", script, str(setup), __file__, *sys.argv[1:]])


def _patched_pallas_call(mode: str) -> Any:
    from jax.experimental import pallas as pl
    from jax.experimental.pallas import tpu as pltpu

    original = getattr(pl.pallas_call, "original", pl.pallas_call)

    def pallas_call(*args: Any, **kwargs: Any) -> Any:
        if mode == "interpret":
            kwargs["interpret"] = True
        else:
            kwargs["interpret"] = pltpu.InterpretParams(num_cores_or_threads=CORES)
        return original(*args, **kwargs)

    pallas_call.original = original  # type: ignore[attr-defined]
    return pallas_call


def run_for_real(source: str, seed: int) -> tuple[bool, str]:
    """(correct when run, why): every case of ``source`` in both modes."""
    import numpy as np
    from jax.experimental import pallas as pl
    from jax.experimental.pallas import tpu as pltpu

    sys.path.insert(0, str(ROOT / "tools"))
    from validate_pallas import make_inputs, max_error, select, spec_values

    from stile_static.spec.annotations import configurations, find_annotations
    from stile_static.spec.sizes import blocks_of

    found = find_annotations(source, "kernel.py")
    (annotation,) = found.annotations
    configs = configurations(annotation, "kernel.py", blocks_of(source)).configurations
    saved = pl.pallas_call
    for mode in MODES:
        pl.pallas_call = _patched_pallas_call(mode)
        try:
            namespace: dict[str, Any] = {"__name__": "generated_kernel"}
            exec(compile(source, "<kernel>", "exec"), namespace)  # noqa: S102 (generated)
            wrapper = namespace[annotation.name]
            for number, config in enumerate(configs):
                values = make_inputs(config, seed + number)
                label = f"{mode}, case {config.case}"
                try:
                    result = wrapper(**values, **config.parameter_values)
                except Exception as error:  # noqa: BLE001 - a failing run is a result
                    first = (str(error).splitlines() or [""])[0][:160]
                    return False, f"{label}: raised {type(error).__name__}: {first}"
                for target in config.specs:
                    want, _ = spec_values(target, config, values)
                    got = select(result, target.target)
                    error = max_error(got, want)
                    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
                    if not error <= TOLERANCE * scale:
                        return False, f"{label}: max error {error:.3g} against the spec"
        finally:
            pl.pallas_call = saved
            if mode == "tpu":
                pltpu.reset_tpu_interpret_mode_state()
    return True, f"correct on {len(configs)} cases in modes {', '.join(MODES)}"


def judge(seed: int) -> Judged:
    sys.path.insert(0, str(ROOT))
    from tests.differential.pallas_generate import generated, source_hash
    from tests.differential.pallas_verdict import analyzer_verdict, disagreement

    made = generated(random.Random(seed))
    correct, why = run_for_real(made.source, seed)
    verdict = analyzer_verdict(made.source)
    return Judged(
        seed,
        source_hash(made.source),
        made.family,
        made.bug,
        correct,
        why,
        verdict.kind,
        verdict.codes,
        disagreement(verdict, correct),
    )


def _init_worker() -> None:
    import jax

    jax.config.update("jax_platforms", "cpu")


def replayed(row: dict[str, Any]) -> Judged:
    """A recorded kernel judged again by today's analyzer against its recorded truth."""
    sys.path.insert(0, str(ROOT))
    from tests.differential.pallas_generate import generated, source_hash
    from tests.differential.pallas_verdict import analyzer_verdict, disagreement

    made = generated(random.Random(row["seed"]))
    if source_hash(made.source) != row["hash"]:
        raise SystemExit(f"seed {row['seed']}: the generator drifted from the sample; record again")
    verdict = analyzer_verdict(made.source)
    return Judged(
        row["seed"],
        row["hash"],
        row["family"],
        row["bug"],
        row["correct"],
        row["why"],
        verdict.kind,
        verdict.codes,
        disagreement(verdict, row["correct"]),
    )


def _report(row: Judged) -> None:
    print(
        f"seed {row.seed} ({row.family}, bug {row.bug}): analyzer {row.verdict}"
        f" {' '.join(row.codes)}; real run: {row.why}; {row.disagreement}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=500)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="write the truth to --sample")
    parser.add_argument(
        "--replay", action="store_true", help="judge the --sample again, without jax"
    )
    parser.add_argument(
        "--sample", type=Path, default=SAMPLE, help=f"default: {SAMPLE.relative_to(ROOT)}"
    )
    parser.add_argument("--resume", type=Path, help="keep blocks of rows here; skip kept ones")
    args = parser.parse_args()
    if args.replay:
        recorded = json.loads(args.sample.read_text())
        rows = [replayed(r) for r in recorded["kernels"]]
        for row in rows:
            if row.disagreement is not None:
                _report(row)
        command = f"python tools/differential_pallas.py --replay --sample {args.sample.name}"
        sys.exit(_summary(rows, f"{command}  (truth recorded with jax {recorded['jax']})"))
    _ensure_real_jax()
    import jax

    seeds = range(args.start, args.start + args.kernels)
    rows = _resumed(seeds, args.jobs, args.resume) if args.resume else _judged(seeds, args.jobs)
    if args.record:
        args.sample.parent.mkdir(parents=True, exist_ok=True)
        kernels = [
            {k: v for k, v in asdict(r).items() if k not in ("verdict", "codes", "disagreement")}
            for r in rows
        ]
        recorded = {"jax": jax.__version__, "modes": list(MODES), "cores": CORES}
        args.sample.write_text(json.dumps({**recorded, "kernels": kernels}, indent=1) + "\n")
        print(f"recorded {len(rows)} kernels in {args.sample}")
    command = f"python tools/differential_pallas.py --kernels {args.kernels} --start {args.start}"
    sys.exit(_summary(rows, f"{command}  (jax {jax.__version__})"))


def _judged(seeds: range, jobs: int) -> list[Judged]:
    rows = []
    # spawned, not forked: jax and the checker's threads do not survive a fork
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker) as pool:
        for done, row in enumerate(pool.map(judge, seeds, chunksize=10), 1):
            rows.append(row)
            if done % 100 == 0:
                found = sum(r.disagreement is not None for r in rows)
                print(f"... {done} kernels, {found} disagreements", file=sys.stderr, flush=True)
            if row.disagreement is not None:
                _report(row)
    return rows


def _resumed(seeds: range, jobs: int, folder: Path, block: int = 250) -> list[Judged]:
    """The rows of ``seeds``, judged a block at a time, each block kept in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[Judged] = []
    for first in range(seeds.start, seeds.stop, block):
        kept = folder / f"{first}-{min(first + block, seeds.stop)}.json"
        if kept.exists():
            done = [
                Judged(**{**r, "codes": tuple(r["codes"])}) for r in json.loads(kept.read_text())
            ]
            for row in done:
                if row.disagreement is not None:
                    _report(row)
        else:
            done = _judged(range(first, min(first + block, seeds.stop)), jobs)
            kept.write_text(json.dumps([asdict(r) for r in done]) + "\n")
        rows.extend(done)
        print(f"... {len(rows)} of {len(seeds)} kernels judged", file=sys.stderr, flush=True)
    return rows


def _summary(rows: list[Judged], command: str) -> int:
    """Print the line for docs/pallas.md; the exit status: 1 when there are disagreements."""
    verified = sum(r.verdict == "verified" for r in rows)
    wrong = sum(not r.correct for r in rows)
    unsupported = sum(r.verdict == "unsupported" for r in rows)
    found = sum(r.disagreement is not None for r in rows)
    print(
        f"Command: {command}\n"
        f"kernels {len(rows)}, verified {verified}, wrong when run {wrong},"
        f" unsupported {unsupported}, disagreements {found}"
    )
    return 1 if found else 0


if __name__ == "__main__":
    main()
