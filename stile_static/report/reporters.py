"""Render reports for people (text) and for tools (JSON, GitHub annotations, SARIF)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..check.results import ReportLike
from ..core.diagnostics import CODES, CodeInfo, Diagnostic, Span
from ..core.scope import Scope
from .colour import PLAIN, Palette

FORMATS = ("text", "json", "sarif", "github")
STATISTICS_FORMATS = ("text", "json")  # the formats --statistics can be printed in
VERIFIED = ""  # the code of a verified obligation's entry: none, it is no diagnostic


@dataclass(frozen=True)
class View:
    """How a report is shown: the flags that change the output, not the verdicts."""

    show_proofs: bool = False
    with_summary: bool = False  # JSON: an object with the counts, not the bare list
    quiet: bool = False  # text: no summary line
    statistics: bool = False  # a count per code instead of the diagnostics
    palette: Palette = PLAIN  # text only


def render(reports: Sequence[ReportLike], fmt: str, view: View = View()) -> str:
    if view.statistics:
        if fmt == "json":
            return render_statistics_json(reports, with_summary=view.with_summary)
        return render_statistics(reports, quiet=view.quiet, palette=view.palette)
    if fmt == "json":
        return render_json(reports, show_proofs=view.show_proofs, with_summary=view.with_summary)
    if fmt == "github":
        return render_github(reports)
    if fmt == "sarif":
        from .sarif import render_sarif  # the rule docs are only needed here

        return render_sarif(reports, show_proofs=view.show_proofs)
    return render_text(
        reports, show_proofs=view.show_proofs, quiet=view.quiet, palette=view.palette
    )


def diagnostic_line(d: Diagnostic, palette: Palette = PLAIN) -> str:
    where = palette.paint(f"{d.path}:{d.span.line}:{d.span.column}:", "path")
    if not d.code:  # a verified obligation has no code
        return f"{where} {palette.paint(d.message, 'verified')}"
    code = palette.paint(d.code, _style(d.severity))
    return f"{where} {code} {d.message}"


def _style(severity: str) -> str:
    return severity if severity in ("error", "warning") else "note"


def proof_notes(report: ReportLike) -> list[Diagnostic]:
    """Each verified obligation as an entry of severity "note" and no code, for
    ``--show-proofs``: the kernel's simplified expression beside the spec's."""
    # several obligations of one case can read the same (the blocks of a Pallas
    # output with one form): one entry for them, which says how many
    alike = Counter(
        (span, target, verdict.scope, verdict.kernel_form, verdict.spec_form)
        for span, target, verdict in report.proved
    )
    return [
        Diagnostic(
            report.path,
            span,
            VERIFIED,
            f"verified{_for(scope)}: {target} equals its spec"
            + (f" ({count} obligations)" if count > 1 else ""),
            severity="note",
            notes=(f"kernel: {kernel}", f"spec:   {spec}"),
            scope=scope,
        )
        for (span, target, scope, kernel, spec), count in alike.items()
    ]


def _for(scope: Scope | None) -> str:
    """`` for case M=7 N=100``, `` at sizes N in {1, 3} only``: what the proof covers."""
    return f" {scope.verdict}" if scope is not None else ""


def entries(report: ReportLike, show_proofs: bool) -> list[Diagnostic]:
    """The report's diagnostics, and its proofs when asked for, in source order."""
    if not show_proofs:
        return list(report.diagnostics)
    both = [*report.diagnostics, *proof_notes(report)]
    return sorted(both, key=lambda d: (d.span.line, d.span.column))  # stable: errors first


def render_text(
    reports: Sequence[ReportLike],
    show_proofs: bool = False,
    quiet: bool = False,
    palette: Palette = PLAIN,
) -> str:
    lines: list[str] = []
    note, help_ = palette.paint("note", "note"), palette.paint("help", "help")
    for report in reports:
        for d in entries(report, show_proofs):
            lines.append(diagnostic_line(d, palette))
            lines += [f"    = {note}: {n}" for n in d.notes]
            if d.help:
                lines.append(f"    = {help_}: {d.help}")
    if not quiet:
        lines.append(summary(reports, palette))
    return "".join(line + "\n" for line in lines)


def statistics(reports: Sequence[ReportLike]) -> list[tuple[str, int]]:
    """(code, count) of each code reported, the most frequent first, as ruff's ``--statistics``."""
    tally = Counter(d.code for r in reports for d in r.diagnostics if d.code)
    return sorted(tally.items(), key=lambda item: (-item[1], item[0]))


def _info(code: str) -> CodeInfo:
    return CODES.get(code) or CodeInfo("", "")


def render_statistics(
    reports: Sequence[ReportLike], quiet: bool = False, palette: Palette = PLAIN
) -> str:
    """One line per code: its count, the code and its name; then the summary line."""
    rows = statistics(reports)
    width = max((len(str(count)) for _, count in rows), default=1)
    lines = [
        f"{count:>{width}}  {palette.paint(code, _style(_info(code).severity))}  {_info(code).name}"
        for code, count in rows
    ]
    if not quiet:
        lines.append(summary(reports, palette))
    return "".join(line + "\n" for line in lines)


def render_statistics_json(reports: Sequence[ReportLike], with_summary: bool = False) -> str:
    items = [
        {"code": code, "name": _info(code).name, "count": count}
        for code, count in statistics(reports)
    ]
    data: object = {"statistics": items, "summary": counts(reports)} if with_summary else items
    return json.dumps(data, indent=2) + "\n"


def counts(reports: Sequence[ReportLike]) -> dict[str, int]:
    """The run in numbers: the summary line's, and the JSON and SARIF summaries'."""
    return {
        "files_checked": sum(r.is_kernel for r in reports),
        "obligations_verified": sum(len(r.proved) for r in reports),
        "errors": sum(d.severity == "error" for r in reports for d in r.diagnostics),
        "warnings": sum(d.severity == "warning" for r in reports for d in r.diagnostics),
    }


def summary(reports: Sequence[ReportLike], palette: Palette = PLAIN) -> str:
    numbers = counts(reports)
    kernels, proved, errors = (
        numbers["files_checked"],
        numbers["obligations_verified"],
        numbers["errors"],
    )
    files = "file" if kernels == 1 else "files"
    line = (
        f"Checked {kernels} kernel {files}: {proved} obligation"
        f"{'' if proved == 1 else 's'} verified, {errors} error{'' if errors == 1 else 's'}."
    )
    return palette.paint(line, "error" if errors else "verified" if proved else "path")


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
            "scope": d.scope.as_json() if d.scope is not None else None,
        }
        for r in reports
        for d in entries(r, show_proofs)
    ]
    data: object = {"diagnostics": items, "summary": counts(reports)} if with_summary else items
    return json.dumps(data, indent=2) + "\n"


# GitHub workflow commands: https://docs.github.com/actions/reference/workflow-commands
_GITHUB_LEVELS = {"error": "error", "warning": "warning"}


def render_github(reports: Sequence[ReportLike]) -> str:
    """One ``::error``/``::warning``/``::notice`` annotation per diagnostic: the message,
    then its notes and help on lines of their own (escaped, so still one command line)."""
    lines = []
    for r in reports:
        for d in r.diagnostics:
            level = _GITHUB_LEVELS.get(d.severity, "notice")
            s = d.span
            properties = (
                f"file={_property(d.path)},line={s.line},col={s.column},"
                f"endLine={s.end_line},endColumn={s.end_column},title={_property(d.code)}"
            )
            lines.append(f"::{level} {properties}::{_data(annotation_text(d))}")
    return "".join(line + "\n" for line in lines)


def annotation_text(d: Diagnostic) -> str:
    """The message with its notes and help, one per line, as SARIF's message text."""
    text = "\n".join([f"{d.code} {d.message}", *(f"note: {n}" for n in d.notes)])
    return f"{text}\nhelp: {d.help}" if d.help else text


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
