"""What becomes of each case: checked, rejected (STL045, STL024 when all are), or
stopped at what the analyzer cannot follow (STL002, and then no verdict); and
an exception of the analyzer is an internal error of that case only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stile_static.check.checker import check_file, check_source
from stile_static.frontends.pallas.interp import PallasInterpreter
from stile_static.frontends.triton.interp import TritonInterpreter
from stile_static.interpreter import core

from .conftest import INTERNAL, InternalErrors

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VERDICTS = {"STL030", "STL031", "STL032", "STL033", "STL040", "STL041", "STL044"}


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# ------------------------------------------------------------------ internal errors


@pytest.mark.internal_error
def test_an_analyzer_exception_in_a_triton_kernel_stops_that_case_only(
    monkeypatch: pytest.MonkeyPatch, no_internal_errors: InternalErrors
) -> None:
    original = TritonInterpreter.do_store

    def do_store(self, ptr, value, mask, node):  # noqa: ANN001, ANN202
        if ptr.tensor.sizes == (37,):
            raise IndexError("list index out of range")
        return original(self, ptr, value, mask, node)

    monkeypatch.setattr(TritonInterpreter, "do_store", do_store)
    path = FIXTURES / "triton" / "vector_add.py"
    report = check_file(str(path))
    (error,) = report.diagnostics
    assert error.code == "STL002" and error.severity == "error"
    assert error.message.startswith(INTERNAL)
    assert "IndexError (list index out of range)" in error.message
    # at the kernel statement it was raised in, naming the case it stopped
    assert error.span.line == _line(path, "tl.store(output_ptr")
    assert error.notes == ("not checked: case N=37",)
    assert "bug of stile-static" in (error.help or "")
    # the other cases are still checked
    assert report.proved
    assert len(no_internal_errors.found) == 1  # the suite's guard sees it


@pytest.mark.internal_error
def test_an_analyzer_exception_in_a_pallas_kernel_stops_that_case_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = PallasInterpreter.binary

    def binary(self, op, left, right):  # noqa: ANN001, ANN202
        if self.in_kernel and getattr(left, "shape", None) == (64,):
            raise ValueError("no such axis")
        return original(self, op, left, right)

    monkeypatch.setattr(PallasInterpreter, "binary", binary)
    path = FIXTURES / "pallas" / "add.py"
    report = check_file(str(path))
    (error,) = report.diagnostics
    assert error.code == "STL002" and error.message.startswith(INTERNAL)
    assert "ValueError (no such axis)" in error.message
    assert error.span.line == _line(path, "o_ref[...] = x + y")
    assert error.notes == ("not checked: case N=256 block=64",)
    assert report.proved  # N=100 and N=20


@pytest.mark.internal_error
def test_an_analyzer_exception_at_module_level_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def exec_import(self, node):  # noqa: ANN001, ANN202
        raise KeyError("triton")

    monkeypatch.setattr(TritonInterpreter, "exec_Import", exec_import)
    report = check_file(str(FIXTURES / "triton" / "vector_add.py"))
    assert [d.code for d in report.diagnostics] == ["STL002"]
    assert "internal error" in report.diagnostics[0].message
    assert not report.proved


def test_the_step_budget_is_too_large_to_follow_and_stops_the_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core, "MAX_STEPS", 40)
    for path in (FIXTURES / "triton" / "layer_norm.py", FIXTURES / "pallas" / "layer_norm.py"):
        report = check_file(str(path))
        codes = {d.code for d in report.diagnostics}
        assert "STL002" in codes and not codes & VERDICTS, path
        messages = [d.message for d in report.diagnostics if d.code == "STL002"]
        assert any("too large to follow" in m and "40 statements" in m for m in messages)
        assert not any(INTERNAL in m for m in messages)


# ------------------------------------------------------------------ no invented "wrong"


def test_a_case_stopped_by_stl002_gives_no_verdict() -> None:
    path = FIXTURES / "triton" / "row_sum_while_loop.py"
    report = check_file(str(path))
    (d,) = report.diagnostics
    assert (d.code, d.span.line) == ("STL002", _line(path, "while start < n_cols"))
    assert d.notes[-1] == "not checked: case M=4 N=200"
    assert report.proved  # the case with short rows


PALLAS_WHILE = textwrap.dedent(
    """
    import jax
    from jax.experimental import pallas as pl


    def sum_kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...] * 0.0
        try:  # not followed inside a function
            o_ref[...] = x_ref[...]
        finally:
            pass


    # stile: return = x[N]
    # stile: case N=64
    def copy(x):
        return pl.pallas_call(
            sum_kernel,
            out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
            grid=(2,),
            in_specs=[pl.BlockSpec((32,), lambda i: (i,))],
            out_specs=pl.BlockSpec((32,), lambda i: (i,)),
        )(x)
    """
)


def test_a_pallas_case_stopped_by_stl002_gives_no_verdict() -> None:
    report = check_source(PALLAS_WHILE, "k.py")
    assert [d.code for d in report.diagnostics] == ["STL002"]
    assert report.diagnostics[0].notes[-1] == "not checked: case N=64"
    assert report.proved == []


# ------------------------------------------------------------------ nothing checked

TRITON_REJECTS = textwrap.dedent(
    """
    import triton
    import triton.language as tl


    @triton.jit
    def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs))


    # stile: y = 2 * x[N]{cases}
    def double(x, y):
        n = x.shape[0]
        if n % 128 != 0:
            raise ValueError("n must be a multiple of 128")
        double_kernel[(n // 128,)](x, y, n, BLOCK=128)
        return y
    """
)


def test_searched_sizes_the_wrapper_rejects_are_skipped() -> None:
    report = check_source(TRITON_REJECTS.format(cases=""), "k.py")
    (warning,) = report.diagnostics
    assert (warning.code, warning.severity, warning.span.line) == ("STL049", "warning", 12)
    assert "verified at sizes N in {128, 256} only" in warning.message
    assert report.proved


def test_every_searched_size_rejected_is_nothing_checked() -> None:
    text = TRITON_REJECTS.format(cases="").replace("n % 128 != 0", "n % 384 != 0")
    report = check_source(text, "k.py")
    (error,) = report.diagnostics
    assert (error.code, error.span.line, error.span.column) == ("STL024", 12, 1)
    assert "searched sizes tried" in error.message
    assert error.notes and all(n.startswith("searched size N=") for n in error.notes)
    assert "the wrapper raises an exception for this case (line 16)" in error.notes[0]
    assert [s.line for s, _ in error.related] == [16]


def test_one_case_that_runs_is_enough() -> None:
    cases = "\n# stile: case N=100\n# stile: case N=256"
    report = check_source(TRITON_REJECTS.format(cases=cases), "k.py")
    assert [(d.code, d.span.line) for d in report.diagnostics] == [("STL045", 13)]
    assert report.proved


def test_cli_exits_non_zero_when_nothing_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stile_static.report.cli import main

    kernel = tmp_path / "k.py"
    kernel.write_text(TRITON_REJECTS.format(cases="\n# stile: case N=100"))
    assert main(["check", str(kernel), "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert "STL024 nothing is checked: the wrapper `double` rejects the case tried" in out
