"""The analyzer's verdicts on generated Triton kernels agree with the real Triton.

``tests/differential/data/triton_sample.json`` holds, for each of a sample of
kernels of :mod:`tests.differential.triton_generate`, whether it was correct when
run in Triton's interpreter (``tools/differential_triton.py --record``). The test
regenerates each kernel from its seed (the source hash must not have changed),
runs the analyzer on it, and fails on any disagreement (verified but wrong when
run, claimed wrong but correct when run) outside ``KNOWN_DISAGREEMENTS``.
Neither triton nor torch is needed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from .differential.triton_generate import kernel, source_hash
from .differential.triton_verdict import analyzer_verdict, disagrees

SAMPLE = Path(__file__).parent / "differential" / "data" / "triton_sample.json"

# Disagreements of the holes of issue 15 still open, by class, as seeds of the sample.
# One that disappears does not fail the test (the message of a failure lists those
# that now agree); a new one fails it. The integer (C division, int32 wrap), cast,
# memory-order and host-copy disagreements the first samples had are fixed.
KNOWN_DISAGREEMENTS: dict[str, frozenset[int]] = {}
KNOWN = frozenset().union(*KNOWN_DISAGREEMENTS.values())


def _sample() -> list[dict]:
    return json.loads(SAMPLE.read_text())["kernels"]


def _disagreements(entries: list[dict]) -> dict[int, str]:
    found = {}
    for entry in entries:
        verdict = analyzer_verdict(kernel(random.Random(entry["seed"])))
        if disagrees(verdict.kind, entry["correct"]):
            found[entry["seed"]] = (
                f"analyzer {verdict.kind} ({verdict.detail}); run: {entry['why']}"
            )
    return found


def test_the_sample_is_large_and_the_generator_has_not_drifted() -> None:
    entries = _sample()
    assert len(entries) >= 500
    drifted = [
        e["seed"] for e in entries if source_hash(kernel(random.Random(e["seed"]))) != e["sha"]
    ]
    assert drifted == [], (
        f"the generator makes other kernels for seeds {drifted[:10]}: record again"
    )
    assert KNOWN <= {e["seed"] for e in entries}, "a known disagreement not in the sample"
    # both outcomes occur in the real runs
    correct = sum(e["correct"] for e in entries)
    assert 0 < correct < len(entries)


def test_no_disagreement_with_the_real_triton_outside_the_known_holes() -> None:
    found = _disagreements(_sample())
    new = {seed: why for seed, why in found.items() if seed not in KNOWN}
    fixed = sorted(KNOWN - set(found))
    shown = "\n".join(f"seed {seed}: {why}" for seed, why in sorted(new.items())[:10])
    assert new == {}, f"{len(new)} new disagreements (known ones now agreeing: {fixed}):\n{shown}"


def test_a_reintroduced_hole_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """With out-of-bounds lanes silently dropped instead of reported (masks not
    checked), kernels that run outside their tensors are verified: the replay fails."""
    from stile_static.frontends.triton import memory

    decode = memory.decode

    def unchecked(*args: object, **kwargs: object) -> tuple:
        index, inside, _ = decode(*args, **kwargs)
        return index, inside, None

    monkeypatch.setattr(memory, "decode", unchecked)
    # the kernels whose mask admits one lane too many (`offs <= n`), which run outside
    off_by_one = [
        e for e in _sample() if "outside" in e["why"] and "<= n" in kernel(random.Random(e["seed"]))
    ][:12]
    assert off_by_one
    assert set(_disagreements(off_by_one)) - KNOWN
