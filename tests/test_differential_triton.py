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

# Disagreements of the holes of issue 15 being fixed now, by class, as seeds of the
# sample. One that disappears does not fail the test (it is reported by the summary
# test's message when it fails for another reason); a new one fails it.
KNOWN_DISAGREEMENTS: dict[str, frozenset[int]] = {
    # class 1, memory: a load of what the same program stored before is taken to read
    # the tensor's initial value
    "memory order": frozenset({99, 159, 250, 253, 265, 340, 376, 383, 398, 436, 439, 480}),
    # class 2, host tensors: `.to(torch.float64)`, `.clone()`, `.contiguous()` of a
    # tensor with padded rows are copies, but the kernel's writes are taken to reach
    # the original; and (95) `.contiguous()` of a tensor of one row is the tensor
    # itself in torch (the stride of a dim of size 1 does not count), taken for a copy
    "host copies": frozenset({95, 1, 21, 108, 292, 305, 312, 313, 441}),
    # class 3, integers: `//` and `%` are C's in a kernel (Python's on the host), and
    # int32 arithmetic wraps (a pointer offset too)
    "integers": frozenset(
        {
            8,
            16,
            34,
            36,
            47,
            48,
            51,
            53,
            59,
            76,
            96,
            97,
            101,
            105,
            107,
            111,
            114,
            117,
            122,
            125,
            135,
            138,
            154,
            167,
            172,
            177,
            192,
            211,
            216,
            221,
            225,
            234,
            235,
            238,
            254,
            276,
            298,
            299,
            300,
            328,
            332,
            333,
            337,
            343,
            350,
            358,
            360,
            369,
            375,
            377,
            393,
            395,
            434,
            435,
            442,
            463,
            473,
            487,
        }
    ),
    # class 4, casts: a float cast to int32 truncates toward zero
    "casts": frozenset(
        {
            2,
            10,
            19,
            43,
            57,
            69,
            123,
            126,
            127,
            162,
            198,
            215,
            246,
            255,
            259,
            282,
            284,
            318,
            327,
            356,
            373,
            382,
            396,
            451,
            466,
            470,
        }
    ),
    # class 6, compile errors: a `tl.arange` whose size is not a power of two
    "compile errors": frozenset({30, 352, 371}),
}
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
    outside = [e for e in _sample() if not e["correct"] and "outside" in e["why"]][:20]
    assert outside
    assert set(_disagreements(outside)) - KNOWN
