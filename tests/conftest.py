"""Every test fails when the analyzer reports an internal error of its own.

An exception of the analyzer while it follows a kernel is reported as STL002
"internal error (please report it)" (see ``stile_static/frontends/cases.py``)
so that a user gets a diagnostic, not a traceback; in the test suite it is a
bug. Every report goes through ``Interpreter.report`` (the Triton and Pallas
interpreters add to it, never bypass it), so the guard watches that.
A test that makes one on purpose is marked ``internal_error``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stile_static.interpreter.core import Interpreter

INTERNAL = "internal error (please report it)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "internal_error: the test makes the analyzer report an internal error"
    )


class InternalErrors:
    """The internal errors reported while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.found: list[str] = []
        original = Interpreter.report

        def report(interp: Interpreter, error, fallback) -> None:  # noqa: ANN001
            if INTERNAL in error.message:
                self.found.append(f"{interp.path}: {error.message}")
            original(interp, error, fallback)

        monkeypatch.setattr(Interpreter, "report", report)


@pytest.fixture(autouse=True)
def no_internal_errors(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InternalErrors]:
    watch = InternalErrors(monkeypatch)
    yield watch
    if request.node.get_closest_marker("internal_error") is None:
        assert watch.found == [], "the analyzer reported internal errors:\n" + "\n".join(
            watch.found
        )
