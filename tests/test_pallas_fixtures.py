"""The Pallas fixtures: correct kernels verify, buggy twins give their codes, NumPy agrees."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stile_static.check.checker import Options, check_file

from .fixture_expectations import FIXTURES, expected

PALLAS = sorted((FIXTURES / "pallas").glob("*.py"))
WRONG = {"STL031", "STL032"}


def test_there_are_pallas_fixtures() -> None:
    assert len(PALLAS) >= 10


@pytest.mark.parametrize("path", PALLAS, ids=lambda p: p.name)
def test_pallas_fixture_diagnostics(path: Path) -> None:
    report = check_file(str(path))
    assert report.is_kernel
    actual = {(d.span.line, d.code) for d in report.diagnostics}
    assert actual == expected(path), "\n".join(
        f"{d.span.line}:{d.span.column} {d.code} {d.message}" for d in report.diagnostics
    )
    errors = {code for _, code in expected(path) if code != "STL045"}
    if not errors:
        assert report.proved, "a correct kernel must verify its obligations"


@pytest.mark.parametrize("path", PALLAS, ids=lambda p: p.name)
def test_pallas_fixture_cross_check(path: Path) -> None:
    """The NumPy model of the kernel agrees with verified kernels and disagrees with
    kernels found wrong."""
    static = {code for _, code in expected(path)}
    report = check_file(str(path), Options(cross_check=True))
    mismatches = [d for d in report.diagnostics if d.code == "STL050"]
    if not static - {"STL045"}:
        assert mismatches == []
    if static & WRONG:
        assert mismatches, "the kernel was found wrong statically but NumPy agrees with it"


def test_checking_pallas_never_imports_jax() -> None:
    for path in PALLAS:
        check_file(str(path), Options(cross_check=True))
    assert not any(name == "jax" or name.startswith("jax.") for name in sys.modules)
