"""Loops: parallel loops are interpreted once with a symbolic index, carried ones unrolled."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from stile_static.check.checker import check_source
from stile_static.frontends.typed_numpy import TypedNumpy
from stile_static.interpreter.core import Interpreter
from stile_static.ir.obligations import Facts

from .fixture_expectations import FIXTURES


def facts_of(source: str) -> tuple[Facts, list]:
    wrapper = MetadataWrapper(cst.parse_module(source))
    interp = Interpreter(wrapper, wrapper.resolve(PositionProvider), "k.py", TypedNumpy())
    return interp.run(), interp.diagnostics


def matmul(tiles_m: int, tiles_k: int, tiles_n: int, tile: int = 4) -> str:
    m, k, n = tiles_m * tile, tiles_k * tile, tiles_n * tile
    return f"""
from stile import dim
import stile.numpy as tnp
M, N, K = dim("M", {m}), dim("N", {n}), dim("K", {k})
a = tnp.randn(M, N)
b = tnp.randn(N, K)
c = tnp.TypedResult("(M N, N K -> M K)")
for im in range(0, {m}, {tile}):
    for ik in range(0, {k}, {tile}):
        acc = 0
        for jn in range(0, {n}, {tile}):
            ta = a.slice(M, im, im + {tile}).slice(N, jn, jn + {tile})
            tb = b.slice(N, jn, jn + {tile}).slice(K, ik, ik + {tile})
            acc = acc + tnp.einsum(ta, tb, "M N, N K -> M K")
        c.assign(acc)
"""


def test_output_tile_loops_are_interpreted_once() -> None:
    facts, diagnostics = facts_of(matmul(64, 64, 3))
    assert diagnostics == []
    assert len(facts.obligations) == 1  # 4096 output tiles, one symbolic obligation
    (write,) = facts.writes
    assert "im" in str(write.region[0].lo)


def test_large_symbolic_kernel_verifies_with_full_coverage() -> None:
    report = check_source(matmul(32, 32, 4), "k.py")
    assert report.diagnostics == []
    assert len(report.proved) == 1


def test_carried_loop_is_unrolled() -> None:
    facts, _ = facts_of(matmul(1, 1, 5))
    (ob,) = facts.obligations
    # five reduction tiles were unrolled into the accumulated term
    assert repr(ob.tile.term).count("Reduce(op='sum'") == 5


def test_branch_on_index_forces_unrolling() -> None:
    source = (FIXTURES / "language_features.py").read_text()
    facts, diagnostics = facts_of(source)
    assert diagnostics == []
    assert len(facts.obligations) == 3  # the last tile is narrower: each index concretely
    assert [w.region[0].lo for w in facts.writes] == [0, 4, 8]


def test_value_of_a_symbolic_loop_variable_after_the_loop_is_refused() -> None:
    source = matmul(2, 2, 1) + "d = acc\n"
    report = check_source(source, "k.py")
    codes = [(d.span.line, d.code) for d in report.diagnostics]
    assert codes == [(source.count("\n"), "STL002")]
    assert "symbolic index" in report.diagnostics[0].message


def test_unrolling_is_bounded() -> None:
    source = """
from stile import dim
import stile.numpy as tnp
x = 0
for i in range(100000):
    for j in range(100000):
        x = x + 1
"""
    report = check_source(source, "k.py")
    assert [d.code for d in report.diagnostics] == ["STL002"]
    assert "too large to unroll" in report.diagnostics[0].message


def test_invariants_make_the_proof_independent_of_the_trip_count() -> None:
    small = check_source((FIXTURES / "flash_attention_invariants.py").read_text(), "k.py")
    source = (FIXTURES / "flash_attention_invariants.py").read_text()
    large = check_source(source.replace("256", str(32 * 1024)), "k.py")
    assert small.diagnostics == [] and large.diagnostics == []
    # the first tile, the induction step (3 invariants each) and the final assign
    assert len(small.proved) == len(large.proved) == 7


def test_a_missing_invariant_falls_back_to_unrolling() -> None:
    lines = (FIXTURES / "flash_attention_invariants.py").read_text().splitlines()
    without_m = "\n".join(line for line in lines if not line.startswith("    m.assert_equivalent"))
    facts, diagnostics = facts_of(without_m)
    assert diagnostics == []
    # l and acc are checked at every one of the 8 unrolled tiles, plus the assign
    assert len(facts.obligations) == 2 * 8 + 1
    assert check_source(without_m, "k.py").diagnostics == []


def test_an_invariant_before_the_last_assignment_is_not_used_for_induction() -> None:
    source = (FIXTURES / "flash_attention_invariants.py").read_text()
    claim = '    m.assert_equivalent("max[nctx](" + S + ")", nctx[: ik + TK])\n'
    assert "    m = m_new\n" + claim in source
    early = source.replace("    m = m_new\n" + claim, claim + "    m = m_new\n")
    facts, _ = facts_of(early)
    # unrolled: three claims at every tile (but the first claim on m, made while m is
    # still the scalar -inf, is an error rather than an obligation), then the assign
    assert len(facts.obligations) == 3 * 8 - 1 + 1


def test_an_invariant_using_a_name_the_body_assigns_is_not_used_for_induction() -> None:
    source = (FIXTURES / "flash_attention_invariants.py").read_text()
    claim = "nctx[: ik + TK])\n    acc.assert"
    assert claim in source
    # `end` is assigned in the body: evaluated outside it, it would be stale
    stale = source.replace("    m = m_new\n", "    m = m_new\n    end = ik + TK\n").replace(
        claim, "nctx[:end])\n    acc.assert"
    )
    facts, diagnostics = facts_of(stale)
    assert diagnostics == []
    assert len(facts.obligations) == 3 * 8 + 1  # unrolled


def test_nothing_proven_from_a_failed_invariant_counts_as_verified() -> None:
    report = check_source(
        (FIXTURES / "flash_attention_invariants_no_correction.py").read_text(), "k.py"
    )
    assign_line = 39
    assert assign_line not in {span.line for span, _, _ in report.proved}
    (error,) = report.diagnostics
    assert error.code == "STL031"
    assert f"the proof at line {assign_line} relies on it" in error.notes
