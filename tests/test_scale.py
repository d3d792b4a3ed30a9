"""Kernels with many tiles: wrong ones get a quick verdict, checks stay linear."""

from __future__ import annotations

import libcst as cst
import numpy as np
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from stile_static.check.checker import Options, check_source, deep_stack
from stile_static.check.crosscheck import SAMPLED_ITERATIONS, _sample, cross_check
from stile_static.frontends import SourceFile, front_end_for
from stile_static.ir.specs import InputInfo
from stile_static.ir.terms import Binary, Load, Reduce, Term, Unary, const
from stile_static.prover import canon
from stile_static.prover.evaluator import SHARE_WINDOWS, evaluate
from stile_static.prover.verify import SIZE_LIMIT
from stile_static.report.reporters import render_text
from stile_static.spec.parser import SpecError, parse_spec
from stile_static.spec.reuse import parse_spec_reusing

# Flash attention normalised at every step (the running output is divided by the
# running sum each iteration); BUGS are the two wrong shapes the benchmark uses.
FLASH = """\
import numpy as np
from stile import dim
import stile.numpy as tnp

dhead, dv, qctx, nctx = dim('dhead', 16), dim('dv', 16), dim('qctx', 8), dim('nctx', {nctx})
Q = tnp.randn(qctx, dhead)
K = tnp.randn(nctx, dhead)
V = tnp.randn(nctx, dv)
L = tnp.TypedResult(
    "(softmax[nctx]((qctx dhead, nctx dhead -> qctx nctx) / 4), nctx dv -> qctx dv)"
)
TK = 8
running_max = -np.inf
running_l = 0
o = 0
for ik in range(0, {nctx}, TK):
    k = K.slice(nctx, ik, ik + TK)
    s = tnp.einsum(Q, k, "qctx dhead, nctx dhead -> nctx qctx") / 4
    tile_max = s.max(nctx)
    p = tnp.exp(s - tile_max.repeat(nctx[ik:ik + TK]))
    tile_l = p.sum(nctx)
    new_max = tnp.maximum(tile_max, running_max)
    new_l = tnp.exp(running_max - new_max) * running_l + tnp.exp(tile_max - new_max) * tile_l
    v = V.slice(nctx, ik, ik + TK)
    pv = tnp.einsum(p, v, "nctx qctx, nctx dv -> qctx dv")
    old = (running_l * tnp.exp(running_max - new_max)).repeat(dv).rearrange(qctx, dv) * o
    new = tnp.exp(tile_max - new_max).repeat(dv).rearrange(qctx, dv) * pv
    o = (old + new) / new_l.repeat(dv).rearrange(qctx, dv)
    running_l = new_l
    running_max = new_max
L.assign(o)
"""

BUGS = {
    "wrong factor": (
        "tnp.exp(running_max - new_max)).repeat",
        "tnp.exp(tile_max - new_max)).repeat",
    ),
    "missing rescale": ("tnp.exp(running_max - new_max) * running_l +", "running_l +"),
}


def flash(tiles: int, bug: str | None = None) -> str:
    source = FLASH.format(nctx=8 * tiles)
    if bug is not None:
        old, new = BUGS[bug]
        assert old in source
        source = source.replace(old, new)
    return source


def assigned_term(source: str) -> Term:
    """The term the kernel's (single) assign writes."""
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    file = SourceFile("k.py", source, module, wrapper, wrapper.resolve(PositionProvider))
    front_end = front_end_for(file)
    assert front_end is not None
    (facts,) = deep_stack(lambda: front_end.analyse(file)).facts
    (ob,) = [ob for ob in facts.obligations if ob.kind == "assign"]
    return ob.tile.term


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_wrong_kernel_with_many_tiles_is_still_wrong(bug: str) -> None:
    """Its canonical form grows quadratically; the counterexample comes first."""
    term = assigned_term(flash(96, bug))
    with pytest.raises(canon.TooLarge):
        deep_stack(lambda: canon.normalize(term, SIZE_LIMIT))
    report = check_source(flash(96, bug), "flash.py")
    (diagnostic,) = report.diagnostics
    assert diagnostic.code == "STL031"
    assert any(n.startswith("counterexample at") for n in diagnostic.notes)


def test_the_correct_twin_is_verified() -> None:
    term = assigned_term(flash(96))
    assert len(deep_stack(lambda: canon.normalize(term, SIZE_LIMIT)).key) < SIZE_LIMIT // 10
    report = check_source(flash(96), "flash.py")
    assert report.diagnostics == [] and len(report.proved) == 1


def test_a_sample_has_the_first_and_last_iterations_and_is_bounded() -> None:
    assert _sample(5) == [0, 1, 2, 3, 4]
    for count in (SAMPLED_ITERATIONS + 1, 100, 4096):
        picks = _sample(count)
        assert len(picks) <= SAMPLED_ITERATIONS
        assert picks == sorted(set(picks)) and picks[0] == 0 and picks[-1] == count - 1
        assert all(0 <= i < count for i in picks)


def test_windows_of_one_full_evaluation_equal_windowed_evaluations() -> None:
    rng = np.random.default_rng(1)
    inputs = {"K": rng.standard_normal((40, 3)), "Q": rng.standard_normal((5, 3))}
    scores = Reduce("sum", "d", 0, 3, Binary("*", Load("K", ("n", "d")), Load("Q", ("m", "d"))))
    sizes = {"n": 40, "m": 5, "d": 3}
    shared_memo: dict = {SHARE_WINDOWS: {id(scores)}}
    for hi in (1, 7, 40):
        top = Reduce("max", "n", 0, hi, scores)
        term = Reduce("sum", "n", 0, hi, Unary("exp", Binary("-", scores, top)))
        plain = evaluate(term, inputs, ("m",), sizes)
        shared = evaluate(term, inputs, ("m",), sizes, shared_memo)
        np.testing.assert_allclose(shared, plain, rtol=1e-12)
        assert evaluate(Binary("*", term, const(2)), inputs, ("m",), sizes).shape == (5,)


def test_a_reused_parse_equals_a_fresh_one() -> None:
    inputs = [InputInfo("x", ("M", "N"))]
    dims = {"M": 4, "N": 64}
    text = "sum[N](exp(M N - max[N](M N)))"
    for hi in (8, 16, 24, 32, 64, 40):
        reused = parse_spec_reusing(text, inputs, dims, {"N": (0, hi)})
        assert reused == parse_spec(text, inputs, dims, {"N": (0, hi)})


def test_a_mean_is_not_reused_with_the_size_of_another_range() -> None:
    """``mean[N]`` divides by the size of N's range: a constant the bounds change."""
    inputs = [InputInfo("x", ("M", "N"))]
    dims = {"M": 4, "N": 64}
    for hi in (8, 16, 24, 32):
        reused = parse_spec_reusing("mean[N](M N)", inputs, dims, {"N": (0, hi)})
        assert reused == parse_spec("mean[N](M N)", inputs, dims, {"N": (0, hi)})


def test_a_reused_parse_keeps_the_errors_of_a_fresh_one() -> None:
    inputs = [InputInfo("x", ("M", "N"))]
    dims = {"M": 4, "N": 64}
    # the text restricts N itself: only the caller's bounds that agree parse
    text = "sum[N](M N[0:16])"
    assert parse_spec_reusing(text, inputs, dims, {"N": (0, 16)}).term is not None
    for hi in (8, 24, 16, 32):
        if hi == 16:
            assert parse_spec_reusing(text, inputs, dims, {"N": (0, hi)}) == parse_spec(
                text, inputs, dims, {"N": (0, hi)}
            )
            continue
        with pytest.raises(SpecError):
            parse_spec_reusing(text, inputs, dims, {"N": (0, hi)})
    # bounds outside the dim are an error whether or not the parse is reused
    text = "sum[N](M N)"
    for hi in (8, 16, 24):
        parse_spec_reusing(text, inputs, dims, {"N": (0, hi)})
    with pytest.raises(SpecError):
        parse_spec_reusing(text, inputs, dims, {"N": (0, 65)})


INVARIANT_LOOP = """\
import numpy as np
from stile import dim
import stile.numpy as tnp

M, N = dim("M", 4), dim("N", {n})
x = tnp.randn(M, N)
r = tnp.TypedResult("sum[N](M N)")
acc = 0
for i in range(0, {n}, 2):
    acc = acc + x.slice(N, i, i + 2).sum(N){bug}
    acc.assert_equivalent("sum[N](M N)", N[: i + 2])
r.assign(acc)
"""


def test_the_cross_check_of_a_long_loop_samples_its_iterations_and_says_so() -> None:
    n = 2 * (SAMPLED_ITERATIONS + 40)
    report = check_source(INVARIANT_LOOP.format(n=n, bug=""), "loop.py", Options(cross_check=True))
    (note,) = report.diagnostics
    assert note.code == "STL050" and note.severity == "note"
    assert f"in {SAMPLED_ITERATIONS} of {n // 2} iterations" in note.message
    assert len(report.proved) >= 1


def test_the_cross_check_of_a_long_loop_still_finds_a_bug_in_the_first_iteration() -> None:
    n = 2 * (SAMPLED_ITERATIONS + 40)
    source = INVARIANT_LOOP.format(n=n, bug=" * 2")
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    file = SourceFile("loop.py", source, module, wrapper, wrapper.resolve(PositionProvider))
    front_end = front_end_for(file)
    assert front_end is not None
    found = deep_stack(lambda: cross_check(front_end, file, Options().seed))
    failures = [d for d in found if d.code == "STL050" and d.severity == "error"]
    assert [d.span.line for d in failures if "assertion fails" in d.message] == [11]
    # the prover reports the same assertion wrong: the finding is a note on that error
    report = check_source(source, "loop.py", Options(cross_check=True))
    (static,) = [d for d in report.diagnostics if d.span.line == 11]
    assert static.code == "STL031"
    assert any(n.startswith("the NumPy cross-check agrees") for n in static.notes)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_the_report_names_the_first_iteration_that_goes_wrong(bug: str) -> None:
    report = check_source(flash(24, bug), "flash.py")
    (diagnostic,) = report.diagnostics
    (note,) = [n for n in diagnostic.notes if "differs from the spec" in n]
    # the first key tile is right in both shapes (nothing to rescale yet)
    assert note.startswith("`o` first differs from the spec over nctx[0:16) after iteration 2 ")
    assert "of 24 of the loop at line 16 (ik=8): at qctx=" in note
    # the forms shown are those of that iteration, against the restricted spec
    kernel, spec = [n for n in diagnostic.notes if n.startswith(("kernel after", "spec over"))]
    assert kernel.startswith("kernel after iteration 2:") and "nctx 0:16" in spec
    assert len("\n".join(diagnostic.notes)) < 3000 and len(diagnostic.notes) < 10


LATE_BUG = """\
from stile import dim
import stile.numpy as tnp

M, N = dim("M", 4), dim("N", 120)
x = tnp.randn(M, N)
r = tnp.TypedResult("sum[N](M N)")
acc = 0
for i in range(0, 120, 2):
    t = x.slice(N, i, i + 2).sum(N)
    if i == {late}:
        t = t * 2
    acc = acc + t
r.assign(acc)
"""


@pytest.mark.parametrize("late", [0, 12, 90, 118])
def test_a_late_divergence_is_found_by_bisection(late: int) -> None:
    report = check_source(LATE_BUG.format(late=late), "late.py")
    (diagnostic,) = report.diagnostics
    (note,) = [n for n in diagnostic.notes if "differs from the spec" in n]
    ordinal = late // 2 + 1
    over = f"the spec over N[0:{late + 2}) after iteration {ordinal} of 60"
    if ordinal <= 9:
        assert note.startswith(f"`acc` first differs from {over} of the loop at line 8 (i={late})")
    else:
        assert note.startswith(f"`acc` differs from {over} of the loop at line 8 (i={late}), ")
        assert "agrees after the iteration before (found by bisection)" in note


LEAVES_EARLY = """\
from stile import dim
import stile.numpy as tnp

M, N = dim("M", 4), dim("N", 64)
x = tnp.randn(M, N)
r = tnp.TypedResult("sum[N](M N)")
acc = 0
for i in range(0, 64, 8):
    t = x.slice(N, i, i + 8).sum(N)
    if i == 16:
        acc = acc + t * 2
        continue
    acc = acc + t
    if i == {last}:
        break
r.assign(acc)
"""


def test_an_iteration_ended_by_continue_or_break_is_named() -> None:
    # the loop is unrolled because it can leave early; the iteration ended by
    # `continue` is the one that goes wrong, and the one ended by `break` the last
    report = check_source(LEAVES_EARLY.format(last=56), "early.py")
    (diagnostic,) = report.diagnostics
    assert diagnostic.code == "STL031"
    (note,) = [n for n in diagnostic.notes if "differs from the spec" in n]
    over = "the spec over N[0:24) after iteration 3 of 8 of the loop at line 8 (i=16)"
    assert note.startswith(f"`acc` first differs from {over}")
    # a break before the end leaves part of N unsummed: a coverage error, no replay
    (short,) = check_source(LEAVES_EARLY.format(last=40), "early.py").diagnostics
    assert short.code == "STL032"
    assert not [n for n in short.notes if "differs from the spec" in n]


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_reports_stay_short_at_any_scale(bug: str) -> None:
    for tiles in (16, 160):
        report = check_source(flash(tiles, bug), "flash.py")
        text = render_text([report])
        assert len(text.splitlines()) <= 25 and len(text) <= 3000, text


def test_a_sampled_cross_check_still_tries_every_draw_of_inputs(monkeypatch) -> None:  # noqa: ANN001
    """The note about sampling is not a disagreement: the shifted draw still runs."""
    from stile_static.frontends.typed_numpy import TypedNumpyFrontEnd

    shifts: list[float] = []
    original = TypedNumpyFrontEnd.run_concretely

    def counting(self, source, seed, shift):  # noqa: ANN001, ANN202
        shifts.append(shift)
        return original(self, source, seed, shift)

    monkeypatch.setattr(TypedNumpyFrontEnd, "run_concretely", counting)
    n = 2 * (SAMPLED_ITERATIONS + 40)
    report = check_source(INVARIANT_LOOP.format(n=n, bug=""), "loop.py", Options(cross_check=True))
    assert [d.severity for d in report.diagnostics] == ["note"]
    assert shifts == [0.0, -3.0]
