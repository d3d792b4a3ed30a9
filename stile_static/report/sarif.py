"""SARIF 2.1.0 output, for code-scanning services (GitHub, GitLab, Azure DevOps).

Every code is listed as a rule with its documentation (rule_docs.py), whether
or not it occurs, so a viewer can show the help of any result. Relative paths
stay relative to ``%SRCROOT%`` (the current directory), which is what GitHub
expects when the check runs at the repository root.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..check.results import ReportLike
from ..core.diagnostics import CODES, Diagnostic, Span
from .reporters import VERIFIED, counts, entries
from .rule_docs import RULE_DOCS, rule_markdown, rule_text
from .rule_pages import help_uri
from .version import version

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
_LEVELS = {"error": "error", "warning": "warning"}  # anything else is a "note"
PASSED_RULE = "STL031"  # what a verified obligation passed: it equals its spec


def render_sarif(
    reports: Sequence[ReportLike], cwd: Path | None = None, show_proofs: bool = False
) -> str:
    return json.dumps(sarif_log(reports, cwd, show_proofs), indent=2) + "\n"


def sarif_log(
    reports: Sequence[ReportLike], cwd: Path | None = None, show_proofs: bool = False
) -> dict[str, Any]:
    index = {code: i for i, code in enumerate(CODES)}
    results = [_result(d, index) for r in reports for d in entries(r, show_proofs)]
    root = (cwd or Path.cwd()).absolute().as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stile-static",
                        "version": version(),
                        "rules": [_rule(code) for code in CODES],
                    }
                },
                "invocations": [{"executionSuccessful": True}],
                "originalUriBaseIds": {SRCROOT: {"uri": root}},
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"summary": counts(reports)},
            }
        ],
    }


def _rule(code: str) -> dict[str, Any]:
    info = CODES[code]
    rule: dict[str, Any] = {
        "id": code,
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "help": {"text": rule_text(code), "markdown": rule_markdown(code)},
        "defaultConfiguration": {"level": _LEVELS.get(info.severity, "note")},
    }
    if code in RULE_DOCS:
        rule["fullDescription"] = {"text": RULE_DOCS[code].why}
    uri = help_uri(code)
    if uri is not None:  # the code's page where this installation has it (rule_pages.py)
        rule["helpUri"] = uri
    return rule


def _result(d: Diagnostic, index: dict[str, int]) -> dict[str, Any]:
    text = "\n".join([d.message, *(f"note: {n}" for n in d.notes)])
    if d.help:
        text += f"\nhelp: {d.help}"
    result: dict[str, Any] = {
        "ruleId": d.code,
        "level": _LEVELS.get(d.severity, "note"),
        "message": {"text": text},
        "locations": [{"physicalLocation": _physical(d.path, d.span)}],
    }
    if d.code == VERIFIED:
        # A proof is the rule "not-equivalent" evaluated and passed. SARIF gives a
        # result of kind "pass" the level "none" (a "note" would be an alert),
        # and code scanning wants a ruleId on every result.
        result.update(ruleId=PASSED_RULE, kind="pass", level="none")
    if d.code in index:
        result["ruleIndex"] = index[d.code]
    if d.scope is not None:
        # the case (sizes, autotune config) the result was found or proven in
        result["properties"] = {"scope": d.scope.as_json()}
    if d.related:
        result["relatedLocations"] = [
            {"id": i, "physicalLocation": _physical(d.path, span), "message": {"text": label}}
            for i, (span, label) in enumerate(d.related)
        ]
    return result


def _physical(path: str, span: Span) -> dict[str, Any]:
    return {"artifactLocation": _artifact(path), "region": _region(span)}


def _artifact(path: str) -> dict[str, str]:
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": quote(p.as_posix()), "uriBaseId": SRCROOT}


def _region(span: Span) -> dict[str, int]:
    # SARIF wants positive numbers and an end not before the start.
    line, column = max(span.line, 1), max(span.column, 1)
    end_line = max(span.end_line, line)
    end_column = max(span.end_column, column if end_line == line else 1)
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}
