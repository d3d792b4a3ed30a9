"""The analyzer's verdict on a generated Pallas kernel, and when it disagrees with a run.

Three verdicts: ``verified`` (something proved and no diagnostic of error
severity), ``unsupported`` (errors, but only ones that make no claim about the
kernel: STL002 "could not follow", STL024 "nothing checked", STL033 "not
proven"), and ``wrong`` (any other error: STL031, STL032, STL040, STL042,
STL044, STL005, ...: a claim that the kernel is wrong or refused). An analyzer
that raises, or reports an internal error (the front end's catch-all turns an
exception into STL002 "internal error"), is ``crashed``: that is a bug whatever
the kernel does.

A disagreement is ``verified`` for a kernel that is wrong when run, ``wrong``
for one that is correct when run, or ``crashed``. How "correct when run" is
judged (every case, both interpret modes, exceptions counting as failures) is
written in ``tools/differential_pallas.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from stile_static.check.checker import check_source

NO_CLAIM = frozenset({"STL002", "STL024", "STL033"})


@dataclass(frozen=True)
class Verdict:
    kind: str  # "verified", "wrong", "unsupported" or "crashed"
    codes: tuple[str, ...]  # the error codes, sorted
    why: str  # the first few errors, or the exception


def analyzer_verdict(source: str) -> Verdict:
    try:
        report = check_source(source, "kernel.py")
    except Exception as error:  # noqa: BLE001 - an internal error is itself the finding
        return Verdict("crashed", (), f"{type(error).__name__}: {error}")
    errors = [d for d in report.diagnostics if d.severity == "error"]
    codes = tuple(sorted({d.code for d in errors}))
    why = "; ".join(f"line {d.span.line}: {d.code} {d.message}" for d in errors[:2])
    internal = [d for d in errors if "internal error" in d.message]
    if internal:  # the front end's catch-all: an exception inside the analyzer
        return Verdict("crashed", codes, f"line {internal[0].span.line}: {internal[0].message}")
    if not errors:
        if not report.proved:
            return Verdict("unsupported", (), "nothing proved")
        return Verdict("verified", (), f"{len(report.proved)} obligations verified")
    if set(codes) <= NO_CLAIM:
        return Verdict("unsupported", codes, why)
    return Verdict("wrong", codes, why)


def disagreement(verdict: Verdict, correct: bool) -> str | None:
    """Why ``verdict`` contradicts the real run, or None when it does not."""
    if verdict.kind == "crashed":
        return f"the analyzer raised {verdict.why}"
    if verdict.kind == "verified" and not correct:
        return "verified, but wrong when run"
    if verdict.kind == "wrong" and correct:
        return f"claimed wrong ({', '.join(verdict.codes)}), but correct when run"
    return None
