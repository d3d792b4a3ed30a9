"""Run many random kernels for real and through the analyzer; count disagreements.

A disagreement is a kernel the analyzer verifies although running it with the
reference implementation of the dialect (tests/differential/) does not write
every result element exactly once with the spec's value. The test suite runs
a few hundred of these kernels; this runs as many as asked, in parallel.

Usage: .venv/bin/python tools/differential.py [--kernels 5000] [--start 0] [--jobs 2]
Prints each disagreement's seed and reason, then one line for docs/semantics.md:
kernels tried, verified, found wrong by the real run, and disagreements.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.differential.execute import analyzer_verifies, run_for_real  # noqa: E402
from tests.differential.generate import kernel  # noqa: E402


def judge(seed: int) -> tuple[int, bool, bool, str | None]:
    """(seed, verified, correct when run, the disagreement or None)."""
    source = kernel(random.Random(seed))
    verified, _ = analyzer_verifies(source)
    outcomes = [run_for_real(source, s) for s in (0, 1)]
    correct = all(o.correct for o in outcomes)
    wrong = next((o.reason for o in outcomes if not o.correct), None)
    return seed, verified, correct, wrong if verified and not correct else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kernels", type=int, default=5000)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    seeds = range(args.start, args.start + args.kernels)
    verified = correct = 0
    found: list[tuple[int, str]] = []
    # spawned, not forked: the checker's worker thread and egglog do not survive a fork
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done, (seed, ok, right, why) in enumerate(pool.map(judge, seeds, chunksize=50), 1):
            verified += ok
            correct += right
            if done % 1000 == 0:
                print(f"... {done} kernels, {len(found)} disagreements", file=sys.stderr)
            if why is not None:
                found.append((seed, why))
                print(f"seed {seed}: verified, but {why}", flush=True)
                print(kernel(random.Random(seed)), flush=True)
    print(
        f"Command: python tools/differential.py --kernels {args.kernels} --start {args.start}\n"
        f"kernels tried: {args.kernels}, verified: {verified}, correct when run: {correct}, "
        f"disagreements: {len(found)}"
    )
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
