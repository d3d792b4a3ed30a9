"""The Pallas front end agrees with real JAX on a committed sample of random kernels.

``tools/differential_pallas.py --record`` ran each kernel of
:mod:`tests.differential.pallas_generate` under real JAX (``interpret=True`` and
the TPU interpret mode with two cores) on every case size and wrote, per seed,
whether it is correct and why not (``differential/data/pallas_sample.json``).
This replays that sample without jax: each source is regenerated from its seed
(its hash must match, so the generator cannot drift from the recorded truth),
checked by the analyzer, and its verdict compared with the truth. A
disagreement is "verified" for a kernel wrong when run, or "wrong" for a
kernel correct when run.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from .differential import pallas_verdict
from .differential.pallas_generate import FAMILIES, generated, source_hash
from .differential.pallas_verdict import Verdict, analyzer_verdict, disagreement

SAMPLE = Path(__file__).parent / "differential" / "data" / "pallas_sample.json"

# Disagreements of the recorded sample that are open holes of the Pallas front end
# (issue 15), by class, as seeds of the sample. One that disappears does not fail
# the test; a new one does. `tools/differential_pallas.py --replay` lists them.
KNOWN_DISAGREEMENTS: dict[str, frozenset[int]] = {
    # None left. Fixed so far: Python `if` on a traced value (now STL005),
    # accumulation across a "parallel" axis and non-consecutive output revisits
    # (STL048), float `.astype(jnp.int32)` and the `stride` of `pl.ds` (STL002).
}
KNOWN = frozenset().union(*KNOWN_DISAGREEMENTS.values())


@functools.cache
def sample() -> tuple[dict, ...]:
    return tuple(json.loads(SAMPLE.read_text())["kernels"])


def replay(verdict_of: Callable[[str], Verdict], rows: tuple[dict, ...]) -> dict[int, str]:
    """The disagreements, by seed, of ``verdict_of`` with the recorded truth."""
    found = {}
    for row in rows:
        source = generated(random.Random(row["seed"])).source
        assert source_hash(source) == row["hash"], f"seed {row['seed']}: the generator drifted"
        why = disagreement(verdict_of(source), row["correct"])
        if why is not None:
            found[row["seed"]] = f"{why} ({row['family']}, bug {row['bug']}; run: {row['why']})"
    return found


@functools.cache
def analyzer_disagreements() -> dict[int, str]:
    return replay(analyzer_verdict, sample())


def test_the_sample_is_large_and_has_both_outcomes_in_every_family() -> None:
    rows = sample()
    assert len(rows) >= 500
    assert len({r["seed"] for r in rows}) == len(rows)
    for family in FAMILIES:
        outcomes = {r["correct"] for r in rows if r["family"] == family}
        assert outcomes == {True, False}, family
    assert all(r["why"] for r in rows)


def test_no_disagreement_with_the_real_runs_beyond_the_known_holes() -> None:
    found = analyzer_disagreements()
    new = {seed: why for seed, why in found.items() if seed not in KNOWN}
    fixed = sorted(KNOWN - set(found))
    shown = "\n".join(f"seed {seed}: {why}" for seed, why in sorted(new.items())[:5])
    assert new == {}, f"{len(new)} new disagreements (known ones now agreeing: {fixed}):\n{shown}"


def test_known_disagreements_are_seeds_of_the_sample() -> None:
    assert KNOWN <= {r["seed"] for r in sample()}


def test_an_analyzer_that_verifies_everything_is_caught() -> None:
    """Each kernel wrong when run becomes a disagreement."""

    def verifies(source: str) -> Verdict:
        return Verdict("verified", (), "verified")

    found = replay(verifies, sample())
    assert set(found) == {r["seed"] for r in sample() if not r["correct"]}


def test_a_reintroduced_hole_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """With `pl.when` taken to hold on every grid step (an init that runs at every
    step), correct kernels that accumulate over a grid axis are claimed wrong."""
    from stile_static.frontends.pallas.api import PallasApi, When

    def always(self: PallasApi, args: list, kwargs: dict, node: object) -> When:
        return When(True)

    monkeypatch.setattr(PallasApi, "api_pl_when", always)
    rows = tuple(r for r in sample() if r["family"] == "grid_reduce" and r["correct"])[:8]
    assert rows
    found = replay(pallas_verdict.analyzer_verdict, rows)
    assert found, "the replay misses a `pl.when` that is not followed"
