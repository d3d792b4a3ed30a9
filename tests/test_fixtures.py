"""Every fixture's diagnostics match the ones written inline, and NumPy agrees."""

from __future__ import annotations

from pathlib import Path

import pytest

from stile_static.check.checker import Options, check_file
from stile_static.core.diagnostics import CODES

from .fixture_expectations import FIXTURES, expected, fixture_files

WRONG = {"STL031", "STL032"}


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.name)
def test_fixture_diagnostics(path: Path) -> None:
    report = check_file(str(path))
    actual = {(d.span.line, d.code) for d in report.diagnostics}
    assert actual == expected(path), "\n".join(
        f"{d.span.line}:{d.span.column} {d.code} {d.message}" for d in report.diagnostics
    )


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.name)
def test_fixture_cross_check(path: Path) -> None:
    """A verified kernel agrees with NumPy; a kernel found wrong disagrees with it."""
    static = {code for _, code in expected(path)}
    report = check_file(str(path), Options(cross_check=True))
    mismatches = [d for d in report.diagnostics if d.code == "STL050"]
    if not static:
        assert report.proved, "a fixture without errors must verify something"
        assert mismatches == []
    if static & WRONG:
        assert mismatches, "the kernel was found wrong statically but NumPy agrees with it"


def test_every_code_has_a_fixture() -> None:
    used = {code for path in fixture_files() for _, code in expected(path)}
    # STL050 only appears with --cross-check; STL060 (unused suppression) is reported by
    # the command line, after the checker (tests/test_suppressions.py)
    assert set(CODES) - used == {"STL050", "STL060"}


def test_checking_never_runs_the_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    check_file(str(FIXTURES / "unsupported.py"), Options(cross_check=True))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.name)
def test_concrete_domain_agrees_with_the_terms(path: Path) -> None:
    """Two independent meanings of a kernel: the arrays the concrete domain computes
    tile by tile, and the NumPy evaluation of the terms the prover reasons about."""
    import libcst as cst
    import numpy as np
    from libcst.metadata import MetadataWrapper, PositionProvider

    from stile_static.frontends.typed_numpy import TypedNumpy
    from stile_static.interpreter.core import Interpreter
    from stile_static.prover.evaluator import evaluate

    try:
        wrapper = MetadataWrapper(cst.parse_module(path.read_text()))
    except cst.ParserSyntaxError:
        assert path.name == "syntax_error.py"
        return
    positions = wrapper.resolve(PositionProvider)
    facts = Interpreter(wrapper, positions, "k.py", TypedNumpy(), concrete_seed=3).run()
    compared = 0
    for ob in facts.obligations:
        assert ob.tile.value is not None
        box = tuple(slice(s.lo, s.hi) for s in ob.tile.slices)
        expected = evaluate(ob.tile.term, facts.input_values, ob.tile.dims, facts.dims)[box]
        np.testing.assert_allclose(ob.tile.value, expected, rtol=1e-9, atol=1e-12)
        compared += 1
    assert compared == len(facts.obligations)
