"""Render file reports as text (for people) or JSON (for tools)."""

from __future__ import annotations

import json

from .checker import FileReport
from .diagnostics import Diagnostic


def diagnostic_line(d: Diagnostic) -> str:
    return f"{d.path}:{d.span.line}:{d.span.column}: {d.code} {d.message}"


def render_text(reports: list[FileReport], show_proofs: bool = False) -> str:
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


def summary(reports: list[FileReport]) -> str:
    kernels = sum(r.is_kernel for r in reports)
    proved = sum(len(r.proved) for r in reports)
    errors = sum(d.severity == "error" for r in reports for d in r.diagnostics)
    files = "file" if kernels == 1 else "files"
    return (
        f"Checked {kernels} kernel {files}: {proved} obligation"
        f"{'' if proved == 1 else 's'} verified, {errors} error{'' if errors == 1 else 's'}."
    )


def render_json(reports: list[FileReport]) -> str:
    items = [
        {
            "path": d.path,
            "line": d.span.line,
            "column": d.span.column,
            "end_line": d.span.end_line,
            "end_column": d.span.end_column,
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "notes": list(d.notes),
            "help": d.help,
        }
        for r in reports
        for d in r.diagnostics
    ]
    return json.dumps(items, indent=2) + "\n"
