"""Where an int32 value starts to wrap, found from the searched sizes
(frontends/triton/wrap_sizes.py): the search itself with runs it is told about, and
the Triton front end's findings checked against a case line at the sizes reported."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from stile_static.check.checker import check_file, check_source
from stile_static.core.diagnostics import Diagnostic, Span
from stile_static.core.scope import Scope
from stile_static.frontends.triton import wrap_sizes as W
from stile_static.report.reporters import View, proof_notes, render
from stile_static.spec.sizes import dim_condition

TRITON = Path(__file__).parent.parent / "fixtures" / "triton"
SITE = Span(1, 1, 1, 2)


def affine(slope: int, dim: str = "N") -> tuple[W.Probe, list[int]]:
    """Runs of a kernel whose int32 value is ``slope * (n - 1)``: it wraps from the
    least n with ``slope * (n - 1) >= 2**31``; the sizes run are recorded."""
    runs: list[int] = []

    def probe(sizes: Mapping[str, int]) -> W.Outcome:
        n = sizes[dim]
        runs.append(n)
        peak = slope * (n - 1)
        found = (Diagnostic("k.py", SITE, "STL046", f"wraps at {n}"),) if peak >= 2**31 else ()
        return W.Outcome(found, {SITE: peak})

    return probe, runs


def first_wrap(slope: int) -> int:
    return -(-(2**31) // slope) + 1


def test_an_offset_growing_one_per_element_is_settled_in_three_runs() -> None:
    probe, runs = affine(1)
    wrap = W.smallest_wrap(("N",), {"N": 129}, (), probe)
    assert wrap is not None and wrap.sizes == (("N", 2**31 + 1),)
    assert wrap.bound == (("N", 2**31 + 1),)
    assert runs == [129, 2**31 + 1, 2**31]  # the start, TOP, the size below it


def test_a_steeper_offset_is_found_exactly_from_the_slope_of_the_clean_runs() -> None:
    for slope in (17, 1000, 65536, 3 * 2**20 + 5):
        probe, runs = affine(slope)
        wrap = W.smallest_wrap(("N",), {"N": 7}, (), probe)
        assert wrap is not None and dict(wrap.sizes)["N"] == first_wrap(slope), slope
        assert len(runs) <= 8, (slope, runs)


def test_a_value_growing_in_steps_is_still_found_exactly_by_bisection() -> None:
    runs: list[int] = []

    def probe(sizes: Mapping[str, int]) -> W.Outcome:
        n = sizes["N"]
        runs.append(n)
        peak = 1000 * ((n + 99) // 100)  # grows a block of 100 at a time
        return W.Outcome(((Diagnostic("k.py", SITE, "STL046", "x"),) if peak >= 2**31 else ()), {})

    wrap = W.smallest_wrap(("N",), {"N": 100}, (), probe)
    # least n with 1000 * ceil(n / 100) >= 2**31
    expected = (-(-(2**31) // 1000) - 1) * 100 + 1
    assert wrap is not None and dict(wrap.sizes)["N"] == expected
    assert len(runs) <= 40


def test_the_assumptions_exclude_the_wrap_or_move_it_to_a_size_they_admit() -> None:
    bound = dim_condition("N <= 65536", ("N",))
    probe, runs = affine(1)
    assert W.smallest_wrap(("N",), {"N": 129}, (bound,), probe) is None
    assert len(runs) == 3  # the start, TOP and the size below it; none is admitted
    steep, _ = affine(2**16)  # wraps from N = 32769, which the bound admits
    wrap = W.smallest_wrap(("N",), {"N": 129}, (bound,), steep)
    assert wrap is not None and wrap.sizes == (("N", 32769),)
    whole = dim_condition("N % 64 == 0", ("N",))
    probe, _ = affine(1)
    wrap = W.smallest_wrap(("N",), {"N": 128}, (whole,), probe)
    assert wrap is not None and dict(wrap.sizes)["N"] == 2**31 + 64
    product = dim_condition("M * N < 2**31", ("M", "N"))
    probe, _ = affine(3, "M")
    assert W.smallest_wrap(("M",), {"M": 5, "N": 7}, (product,), probe) is None


def test_a_run_that_says_nothing_reports_nothing() -> None:
    def probe(sizes: Mapping[str, int]) -> W.Outcome:
        return W.Outcome(None, {})

    assert W.smallest_wrap(("N",), {"N": 7}, (), probe) is None


def test_of_two_dims_the_wrap_at_the_least_sizes_is_kept() -> None:
    def probe(sizes: Mapping[str, int]) -> W.Outcome:
        m, n = sizes["M"], sizes["N"]
        peak = (m - 1) * n  # a row pointer
        found = (Diagnostic("k.py", SITE, "STL046", "x"),) if peak >= 2**31 else ()
        return W.Outcome(found, {SITE: peak})

    wrap = W.smallest_wrap(("M", "N"), {"M": 9, "N": 17}, (), probe)
    # growing M with N = 17 wraps from M = 126322569; growing N with M = 9 only from
    # N = 2**28: the first is kept
    assert wrap is not None and wrap.dim == "M"
    assert wrap.sizes == (("M", 126322569), ("N", 17))
    assert wrap.bound == (("M", 126322569), ("N", 17))


def test_tutorial_add_without_case_lines_wraps_where_a_case_line_says_it_does() -> None:
    report = check_file(str(TRITON / "vector_add_tutorial_searched.py"))
    (wrap,) = report.diagnostics
    assert wrap.code == "STL046" and wrap.message.startswith("wrong for N = 2147483649: ")
    assert wrap.help is not None and "tl.int64" in wrap.help
    (note,) = proof_notes(report)
    assert "only; int32 offsets wrap from N = 2147483649: return equals its spec" in note.message
    assert note.scope is not None and note.scope.wraps == (("N", 2147483649),)
    # checked concretely: a case line at that size wraps, one below does not
    text = (TRITON / "vector_add_tutorial_searched.py").read_text()
    spec = "# stile: return = x[N] + y[N]\n"
    for n, wraps in ((2**31 + 1, True), (2**31, False)):
        at = check_source(text.replace(spec, f"{spec}# stile: case N={n}\n"), "k.py")
        assert ("STL046" in {d.code for d in at.diagnostics}) == wraps, n


def test_the_bound_is_a_field_of_json_and_sarif() -> None:
    report = check_file(str(TRITON / "vector_add_tutorial_searched.py"))
    shown = View(show_proofs=True)
    wrap, proof = json.loads(render([report], "json", shown))
    assert wrap["code"] == "STL046" and wrap["scope"]["sizes"] == {"N": 2147483649}
    assert proof["scope"]["int32_wrap"] == {
        "dim": "N",
        "size": 2147483649,
        "sizes": {"N": 2147483649},
    }
    assert proof["scope"]["verdict"].endswith("; int32 offsets wrap from N = 2147483649")
    sarif = json.loads(render([report], "sarif", shown))
    sizes = [r["properties"]["scope"]["int32_wrap"] for r in sarif["runs"][0]["results"]]
    assert sizes == [None, proof["scope"]["int32_wrap"]]  # the finding, the proof
    scope = proof_notes(report)[0].scope
    assert scope is not None and Scope.from_json(scope.as_json()) == scope


def test_two_dims_wrap_at_the_row_pointer_with_the_other_dim_held() -> None:
    report = check_file(str(TRITON / "row_scale_int32_rows.py"))
    found = [d for d in report.diagnostics if d.code == "STL046"]
    assert len(found) == 2
    (lead,) = {d.message.split(": ")[0] for d in found}
    assert lead.startswith("wrong for M = ")
    m, n = (int(part.split(" = ")[1]) for part in lead.removeprefix("wrong for ").split(", "))
    # the row pointer `row * stride` of the last row passes 2**31 - 1 there, not before
    assert (m - 1) * n >= 2**31 > (m - 2) * n
    widened = check_file(str(TRITON / "row_scale_int64_rows.py"))
    assert [d.code for d in widened.diagnostics] == ["STL049"]


def test_an_error_hides_the_warning_of_its_own_annotation_only() -> None:
    # two wrappers searched at the same sizes: the wrong one's error, the right one's STL049
    report = check_file(str(TRITON / "vector_add_two_wrappers_one_short.py"))
    found = sorted((d.span.line, d.code) for d in report.diagnostics)
    assert found == [(28, "STL049"), (37, "STL040")]
    (warning,) = [d for d in report.diagnostics if d.code == "STL049"]
    assert warning.scope is not None and warning.scope.annotation == 28
