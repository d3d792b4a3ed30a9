"""Kernel loops over blocks proven by induction with an inferred invariant
(frontends/triton/loop_induction.py): the path is taken where it applies, gives the
findings of the unrolled loop, and says why when it falls back."""

from __future__ import annotations

from pathlib import Path

import pytest

from stile_static.check.checker import check_source
from stile_static.frontends.triton import loop_induction as L

FIXTURES = Path(__file__).parent.parent / "fixtures" / "triton"


def check(text: str, induction: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[set, dict, list]:
    monkeypatch.setattr(L, "ENABLED", induction)
    for key in L.COUNTS:
        monkeypatch.setitem(L.COUNTS, key, 0)
    monkeypatch.setattr(L, "FALLBACKS", [])
    report = check_source(text, "kernel.py")
    found = {(d.span.line, d.code, d.message) for d in report.diagnostics}
    return found, dict(L.COUNTS), list(L.FALLBACKS)


def fixture(name: str, case: str | None = None) -> str:
    text = (FIXTURES / name).read_text()
    if case is None:
        return text
    lines = [line for line in text.splitlines() if not line.startswith("# stile: case ")]
    at = next(i for i, line in enumerate(lines) if line.startswith("def matmul("))
    return "\n".join([*lines[:at], f"# stile: case {case}", *lines[at:]]) + "\n"


def test_k_loop_is_proven_once_per_program(monkeypatch):
    found, counts, fallbacks = check(fixture("matmul_k_induction.py"), True, monkeypatch)
    assert found == set()
    # 4 programs at M=48 N=40, 1 at M=32 N=32: one class of interior iterations each
    assert counts == {"classes": 5, "loops": 5, "fallbacks": 0}
    assert fallbacks == []


def test_k_loop_at_a_million_is_one_class(monkeypatch):
    found, counts, _ = check(
        fixture("matmul_k_induction.py", "M=32 N=32 K=1048579"), True, monkeypatch
    )
    assert found == set()
    assert counts == {"classes": 1, "loops": 1, "fallbacks": 0}


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("matmul_k_induction_loop_short.py", None),
        ("matmul_k_induction_acc_overwritten.py", None),
        ("matmul_k_induction_k_mask_dropped.py", None),
        ("matmul_k_induction_b_step_wrong.py", "an access outside the tensor"),
        ("matmul_k_induction_every_other_block.py", "do not tile a range"),
        ("matmul_k_loop_short.py", None),
    ],
)
def test_buggy_twins_keep_the_unrolled_findings(monkeypatch, name, why):
    text = fixture(name)
    fast, counts, fallbacks = check(text, True, monkeypatch)
    slow, _, _ = check(text, False, monkeypatch)
    assert fast == slow
    assert fast != set()
    if why is None:
        assert counts["classes"] >= 1  # proven by induction, the bug found after the loop
    else:
        assert counts["fallbacks"] >= 1
        assert all(why in line for line in fallbacks), fallbacks


def test_split_k_strides_k_by_more_than_a_block_and_is_unrolled(monkeypatch):
    # each program sums every split_k-th block of K: no one range after i iterations
    text = fixture("matmul_split_k.py")
    fast, counts, fallbacks = check(text, True, monkeypatch)
    slow, _, _ = check(text, False, monkeypatch)
    assert fast == slow == set()
    assert counts["fallbacks"] >= 1
    assert any("do not tile a range" in line for line in fallbacks)


def test_an_accumulator_scaled_each_iteration_is_unrolled(monkeypatch):
    # acc = 2 * acc + a @ b is not "acc plus reductions": no inferred invariant
    text = fixture("matmul_k_induction.py").replace(
        "acc = tl.dot(a, b, acc)", "acc = tl.dot(a, b, acc * 2.0)"
    )
    fast, counts, fallbacks = check(text, True, monkeypatch)
    slow, _, _ = check(text, False, monkeypatch)
    assert fast == slow != set()
    assert counts["classes"] == 0
    assert fallbacks and all("plus reductions" in line for line in fallbacks)


def test_a_counter_carried_beside_the_accumulator_is_unrolled(monkeypatch):
    # an integer carried from one iteration to the next has no inferred invariant
    text = (
        fixture("matmul_k_induction.py")
        .replace(
            "        a_ptrs += BLOCK_K * stride_ak\n",
            "        a_ptrs += BLOCK_K * stride_ak\n        seen = seen + 1\n",
        )
        .replace("    acc = tl.zeros(", "    seen = 0\n    acc = tl.zeros(")
    )
    fast, counts, fallbacks = check(text, True, monkeypatch)
    slow, _, _ = check(text, False, monkeypatch)
    assert fast == slow == set()
    assert counts["classes"] == 0
    assert fallbacks and all("`seen` is carried" in line for line in fallbacks)


def test_a_row_loop_of_step_block_m_is_proven(monkeypatch):
    # `range(0, m, BLOCK_M)`: the index is start + step * j for the class's iteration j
    found, counts, fallbacks = check(fixture("column_sums_long.py"), True, monkeypatch)
    assert found == set()
    assert counts == {"classes": 2, "loops": 2, "fallbacks": 0}
    text = fixture("column_sums_long_first_block_skipped.py")
    fast, counts, _ = check(text, True, monkeypatch)
    slow, _, _ = check(text, False, monkeypatch)
    assert fast == slow
    assert {code for _, code, _ in fast} == {"STL032"}
    assert counts["classes"] == 2


def test_k_loop_of_the_grouped_matmul_is_proven_inside_its_class(monkeypatch):
    # tutorial 03's ordering: the class's program id a symbol, pid_m and pid_n derived
    # keys; the K loop's pointers move from a start that depends on them, its mask
    # `offs_k < K - k * BLOCK_SIZE_K` cuts off the ragged last iteration
    from stile_static.frontends.triton import program_classes as P

    for key in P.COUNTS:
        monkeypatch.setitem(P.COUNTS, key, 0)
    grids = []  # the program ids of the class each proof ran in
    prove = L._prove_class

    def recording(interp, *args):
        prove(interp, *args)
        grids.append(interp.generic.pids)

    monkeypatch.setattr(L, "_prove_class", recording)
    text = fixture("matmul.py", "M=256 N=192 K=4100")
    fast, counts, fallbacks = check(text, True, monkeypatch)
    assert fast == set() and fallbacks == []
    symbolic = [g for g in grids if isinstance(g[0], P.Pid)]
    assert [g[0].hi - g[0].lo for g in symbolic] == [48, 96, 48]  # each config's grid
    assert P.COUNTS["generic_launches"] == 3 and P.COUNTS["programs"] == 0
    # per config one class of iterations in the class of programs (the ragged last
    # iteration runs concretely), and again for the last program that hovers show
    assert counts == {"classes": 6, "loops": 6, "fallbacks": 0}
    slow, _, _ = check(text, False, monkeypatch)
    assert slow == fast


@pytest.mark.parametrize(
    ("name", "codes", "why"),
    [
        ("matmul_grouped_k_loop_short.py", {"STL032"}, None),
        ("matmul_grouped_a_step_wrong.py", {"STL042", "STL011"}, "outside the tensor"),
    ],
)
def test_grouped_matmul_twins_are_caught_with_induction_on(monkeypatch, name, codes, why):
    text = fixture(name)
    fast, counts, fallbacks = check(text, True, monkeypatch)
    slow, _, _ = check(text, False, monkeypatch)
    assert fast == slow
    assert {code for _, code, _ in fast} == codes
    if why is None:
        assert counts["classes"] >= 3 and counts["fallbacks"] == 0
    else:
        assert counts["fallbacks"] >= 1
        assert all(why in line for line in fallbacks), fallbacks


def test_a_mask_of_the_program_id_and_the_loop_index_is_decided_in_the_class(monkeypatch):
    # `offs < numel` with offs = pid * n + k * 64 + lane: true at every program and
    # iteration of the class, so the loop is proven inside the class of programs
    from stile_static.frontends.triton import program_classes as P

    for key in P.COUNTS:
        monkeypatch.setitem(P.COUNTS, key, 0)
    found, counts, fallbacks = check(fixture("chunk_sums_flat.py"), True, monkeypatch)
    assert found == set() and fallbacks == []
    assert P.COUNTS["programs"] == 0 and P.COUNTS["generic_launches"] == 2
    assert counts == {"classes": 4, "loops": 4, "fallbacks": 0}


def test_a_mixed_mask_that_flips_at_one_program_cuts_iterations_and_programs(monkeypatch):
    # `offs < numel - 100` flips inside the iterations at the last program only
    text = fixture("chunk_sums_flat_mask_short.py")
    fast, counts, fallbacks = check(text, True, monkeypatch)
    slow, _, _ = check(text, False, monkeypatch)
    assert fast == slow
    assert {code for _, code, _ in fast} == {"STL032"}
    assert counts["classes"] > counts["loops"] and fallbacks == []
