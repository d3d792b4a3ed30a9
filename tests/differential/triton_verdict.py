"""The analyzer's verdict on a generated Triton kernel, and when it disagrees with a run.

Three verdicts: "verified" (something proved, no diagnostic of error severity),
"wrong" (an error that claims the kernel computes something else, touches memory
it must not, races, or is refused by the compiler: every error code but those of
``NO_CLAIM``), "unsupported" (errors of ``NO_CLAIM`` only, or nothing proved: no
claim either way); and "internal" when the analyzer failed (an STL002 that says
"internal error"), a bug whatever the kernel does. A disagreement is a verified
kernel that is wrong when run, a kernel claimed wrong that is correct when run, or
an internal error; "unsupported" never disagrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from stile_static.check.checker import check_source

INTERNAL = "internal error"  # the front ends' catch-all: the analyzer itself raised
# STL002 unsupported, STL024 nothing checked, STL033 not proven: the analyzer gives up
# or finds no proof, and says nothing about the kernel; STL020-STL023, a spec or an
# annotation it cannot read (a fault of the generator, which the tool reports)
NO_CLAIM = frozenset({"STL002", "STL024", "STL033", "STL020", "STL021", "STL022", "STL023"})


@dataclass(frozen=True)
class Verdict:
    kind: str  # "verified", "wrong", "unsupported" or "internal"
    detail: str  # the first few error diagnostics, or what was proved


def analyzer_verdict(source: str) -> Verdict:
    report = check_source(source, "kernel.py")
    errors = [d for d in report.diagnostics if d.severity == "error"]
    shown = "; ".join(f"{d.span.line}: {d.code} {d.message.splitlines()[0]}" for d in errors[:3])
    internal = [d for d in errors if INTERNAL in d.message]
    if internal:
        return Verdict("internal", f"{internal[0].span.line}: {internal[0].message}")
    if any(d.code not in NO_CLAIM for d in errors):
        return Verdict("wrong", shown)
    if errors:
        return Verdict("unsupported", shown)
    if not report.proved:
        return Verdict("unsupported", "nothing proved")
    return Verdict("verified", f"{len(report.proved)} obligations proved")


def disagrees(verdict: str, correct: bool) -> bool:
    """Whether the analyzer's verdict contradicts the real run."""
    if verdict == "internal":
        return True
    return (verdict == "verified" and not correct) or (verdict == "wrong" and correct)
