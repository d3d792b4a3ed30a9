"""Render reports for people (text) and for tools (JSON, GitHub annotations, SARIF)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..check.results import ReportLike
from ..core.diagnostics import Diagnostic, Span

FORMATS = ("text", "json", "sarif", "github")
VERIFIED = ""  # the code of a verified obligation's entry: none, it is no diagnostic


def render(
    reports: Sequence[ReportLike], fmt: str, show_proofs: bool = False, with_summary: bool = False
) -> str:
    if fmt == "json":
        return render_json(reports, show_proofs=show_proofs, with_summary=with_summary)
    if fmt == "github":
        return render_github(reports)
    if fmt == "sarif":
        from .sarif import render_sarif  # the rule docs are only needed here

        return render_sarif(reports, show_proofs=show_proofs)
    return render_text(reports, show_proofs=show_proofs)


def diagnostic_line(d: Diagnostic) -> str:
    code = f" {d.code}" if d.code else ""  # a verified obligation has no code
    return f"{d.path}:{d.span.line}:{d.span.column}:{code} {d.message}"


def proof_notes(report: ReportLike) -> list[Diagnostic]:
    """Each verified obligation as an entry of severity "note" and no code, for
    ``--show-proofs``: the kernel's simplified expression beside the spec's."""
    return [
        Diagnostic(
            report.path,
            span,
            VERIFIED,
            f"verified: {target} equals its spec",
            severity="note",
            notes=(f"kernel: {verdict.kernel_form}", f"spec:   {verdict.spec_form}"),
        )
        for span, target, verdict in report.proved
    ]


def entries(report: ReportLike, show_proofs: bool) -> list[Diagnostic]:
    """The report's diagnostics, and its proofs when asked for, in source order."""
    if not show_proofs:
        return list(report.diagnostics)
    both = [*report.diagnostics, *proof_notes(report)]
    return sorted(both, key=lambda d: (d.span.line, d.span.column))  # stable: errors first


def render_text(reports: Sequence[ReportLike], show_proofs: bool = False) -> str:
    lines: list[str] = []
    for report in reports:
        for d in entries(report, show_proofs):
            lines.append(diagnostic_line(d))
            lines += [f"    = note: {n}" for n in d.notes]
            if d.help:
                lines.append(f"    = help: {d.help}")
    lines.append(summary(reports))
    return "\n".join(lines) + "\n"


def counts(reports: Sequence[ReportLike]) -> dict[str, int]:
    """The run in numbers: the summary line's, and the JSON and SARIF summaries'."""
    return {
        "files_checked": sum(r.is_kernel for r in reports),
        "obligations_verified": sum(len(r.proved) for r in reports),
        "errors": sum(d.severity == "error" for r in reports for d in r.diagnostics),
        "warnings": sum(d.severity == "warning" for r in reports for d in r.diagnostics),
    }


def summary(reports: Sequence[ReportLike]) -> str:
    numbers = counts(reports)
    kernels, proved, errors = (
        numbers["files_checked"],
        numbers["obligations_verified"],
        numbers["errors"],
    )
    files = "file" if kernels == 1 else "files"
    return (
        f"Checked {kernels} kernel {files}: {proved} obligation"
        f"{'' if proved == 1 else 's'} verified, {errors} error{'' if errors == 1 else 's'}."
    )


def _span_fields(span: Span) -> dict[str, int]:
    return {
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def render_json(
    reports: Sequence[ReportLike], show_proofs: bool = False, with_summary: bool = False
) -> str:
    """A list of entries; with ``with_summary``, an object with the list and the counts."""
    items = [
        {
            "path": d.path,
            **_span_fields(d.span),
            "code": d.code or None,
            "severity": d.severity,
            "message": d.message,
            "notes": list(d.notes),
            "help": d.help,
            "related": [{**_span_fields(span), "message": label} for span, label in d.related],
        }
        for r in reports
        for d in entries(r, show_proofs)
    ]
    data: object = {"diagnostics": items, "summary": counts(reports)} if with_summary else items
    return json.dumps(data, indent=2) + "\n"


# GitHub workflow commands: https://docs.github.com/actions/reference/workflow-commands
_GITHUB_LEVELS = {"error": "error", "warning": "warning"}


def render_github(reports: Sequence[ReportLike]) -> str:
    """One ``::error``/``::warning``/``::notice`` annotation line per diagnostic."""
    lines = []
    for r in reports:
        for d in r.diagnostics:
            level = _GITHUB_LEVELS.get(d.severity, "notice")
            s = d.span
            properties = (
                f"file={_property(d.path)},line={s.line},col={s.column},"
                f"endLine={s.end_line},endColumn={s.end_column},title={_property(d.code)}"
            )
            lines.append(f"::{level} {properties}::{_data(f'{d.code} {d.message}')}")
    return "".join(line + "\n" for line in lines)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
