"""Every fixture's diagnostics match the ones written inline, and NumPy agrees."""

from __future__ import annotations

from pathlib import Path

import pytest

from stile_static.check.checker import Options, check_file
from stile_static.check.one_per_bug import AGREES
from stile_static.core.diagnostics import CODES

from .fixture_expectations import FIXTURES, expected, expected_help, fixture_files

WRONG = {"STL031", "STL032"}


def _fixture_id(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


@pytest.mark.parametrize("path", fixture_files(), ids=_fixture_id)
def test_fixture_diagnostics(path: Path) -> None:
    report = check_file(str(path))
    actual = {(d.span.line, d.code) for d in report.diagnostics}
    assert actual == expected(path), "\n".join(
        f"{d.span.line}:{d.span.column} {d.code} {d.message}" for d in report.diagnostics
    )
    for line, text in expected_help(path).items():
        helps = [d.help or "" for d in report.diagnostics if d.span.line == line]
        assert any(text in h for h in helps), f"line {line}: no help with {text!r} in {helps}"


@pytest.mark.parametrize("path", fixture_files(), ids=_fixture_id)
def test_fixture_cross_check(path: Path) -> None:
    """A verified kernel agrees with NumPy; a kernel found wrong disagrees with it."""
    static = {code for _, code in expected(path)}
    report = check_file(str(path), Options(cross_check=True))
    mismatches = [d for d in report.diagnostics if d.code == "STL050"]
    if not static:
        assert report.proved, "a fixture without errors must verify something"
        assert mismatches == []
    if static & WRONG:
        # one diagnostic per bug: the cross-check's finding is a note on the static one
        confirmed = [d for d in report.diagnostics if d.code in WRONG and AGREES in d.notes]
        assert confirmed, "the kernel was found wrong statically but NumPy agrees with it"
        assert {d.span for d in mismatches}.isdisjoint(d.span for d in confirmed)


def test_every_code_has_a_fixture() -> None:
    used = {code for path in fixture_files() for _, code in expected(path)}
    # STL050 only appears with --cross-check; STL060 (unused suppression) is reported by
    # the command line, after the checker (tests/test_suppressions.py)
    assert set(CODES) - used == {"STL050", "STL060"}


def test_checking_never_runs_the_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    check_file(str(FIXTURES / "unsupported.py"), Options(cross_check=True))
    assert list(tmp_path.iterdir()) == []


def _typed_numpy(path: Path) -> bool:
    lines = path.read_text().splitlines()
    return path.name == "syntax_error.py" or any(
        line.startswith(("import stile", "from stile")) for line in lines
    )


@pytest.mark.parametrize("path", [p for p in fixture_files() if _typed_numpy(p)], ids=_fixture_id)
def test_concrete_domain_agrees_with_the_terms(path: Path) -> None:
    """Two independent meanings of a kernel: the arrays the concrete domain computes
    tile by tile, and the NumPy evaluation of the terms the prover reasons about.
    (The Triton front end's NumPy model evaluates each program's pieces; the
    cross-check test compares it with the spec.)"""
    import libcst as cst
    import numpy as np
    from libcst.metadata import MetadataWrapper, PositionProvider

    from stile_static.frontends import SourceFile, front_end_for
    from stile_static.ir.terms import Undefined
    from stile_static.prover.evaluator import evaluate

    text = path.read_text()
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        assert path.name == "syntax_error.py"
        return
    wrapper = MetadataWrapper(module)
    source = SourceFile("k.py", text, module, wrapper, wrapper.resolve(PositionProvider))
    front_end = front_end_for(source)
    if front_end is None:  # annotation errors alone, in a file no front end reads
        from stile_static.spec.annotations import is_annotated

        assert path.name == "annotation_errors.py" and is_annotated(text)
        return
    for facts in front_end.run_concretely(source, 3, 0.0):
        compared = 0
        for ob in facts.obligations:
            assert ob.tile.value is not None
            if isinstance(ob.tile.term, Undefined):
                # a wrong value no term expresses (a block written to another block's
                # place): only its numbers, for the cross-check
                compared += 1
                continue
            box = tuple(slice(s.lo, s.hi) for s in ob.tile.slices)
            expected = evaluate(ob.tile.term, facts.input_values, ob.tile.dims, facts.dims)[box]
            np.testing.assert_allclose(ob.tile.value, expected, rtol=1e-9, atol=1e-12)
            compared += 1
        assert compared == len(facts.obligations)
