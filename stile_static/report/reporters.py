"""Render reports for people (text) and for tools (JSON, GitHub annotations, SARIF)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..check.results import ReportLike
from ..core.diagnostics import Diagnostic, Span

FORMATS = ("text", "json", "sarif", "github")


def render(reports: Sequence[ReportLike], fmt: str, show_proofs: bool = False) -> str:
    if fmt == "json":
        return render_json(reports)
    if fmt == "github":
        return render_github(reports)
    if fmt == "sarif":
        from .sarif import render_sarif  # the rule docs are only needed here

        return render_sarif(reports)
    return render_text(reports, show_proofs=show_proofs)


def diagnostic_line(d: Diagnostic) -> str:
    return f"{d.path}:{d.span.line}:{d.span.column}: {d.code} {d.message}"


def render_text(reports: Sequence[ReportLike], show_proofs: bool = False) -> str:
    lines: list[str] = []
    for report in reports:
        entries: list[tuple[tuple[int, int], list[str]]] = []
        for d in report.diagnostics:
            block = [diagnostic_line(d)]
            block += [f"    = note: {n}" for n in d.notes]
            if d.help:
                block.append(f"    = help: {d.help}")
            entries.append(((d.span.line, d.span.column), block))
        if show_proofs:
            for span, target, verdict in report.proved:
                entries.append(
                    (
                        (span.line, span.column),
                        [
                            f"{report.path}:{span.line}:{span.column}: verified: {target} "
                            f"equals its spec",
                            f"    = note: kernel: {verdict.kernel_form}",
                            f"    = note: spec:   {verdict.spec_form}",
                        ],
                    )
                )
        for _, block in sorted(entries, key=lambda e: e[0]):
            lines.extend(block)
    lines.append(summary(reports))
    return "\n".join(lines) + "\n"


def summary(reports: Sequence[ReportLike]) -> str:
    kernels = sum(r.is_kernel for r in reports)
    proved = sum(len(r.proved) for r in reports)
    errors = sum(d.severity == "error" for r in reports for d in r.diagnostics)
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


def render_json(reports: Sequence[ReportLike]) -> str:
    items = [
        {
            "path": d.path,
            **_span_fields(d.span),
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "notes": list(d.notes),
            "help": d.help,
            "related": [{**_span_fields(span), "message": label} for span, label in d.related],
        }
        for r in reports
        for d in r.diagnostics
    ]
    return json.dumps(items, indent=2) + "\n"


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
