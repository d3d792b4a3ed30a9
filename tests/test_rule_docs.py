"""Every code is documented, and every documented example does what its doc says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stile_static.check.checker import Options, check_source
from stile_static.check.one_per_bug import AGREES
from stile_static.core.diagnostics import CODES
from stile_static.report.cli import main
from stile_static.report.rule_docs import RULE_DOCS, rule_markdown
from stile_static.report.rule_pages import installed_page, link_line

# Reported after the checker, by the command line (tests/test_suppressions.py)
AFTER_THE_CHECKER = {"STL060"}
# Reported by the Triton and Pallas front ends; their examples are Triton kernels
FRONT_END_CODES = {
    "STL005",
    "STL024",
    "STL042",
    "STL043",
    "STL044",
    "STL045",
    "STL046",
    "STL047",
    "STL048",
    "STL049",
}


def test_every_code_has_docs() -> None:
    assert list(RULE_DOCS) == list(CODES)
    for doc in RULE_DOCS.values():
        assert doc.why.endswith(".") and doc.example.endswith("\n")


@pytest.mark.parametrize("code", sorted(set(RULE_DOCS) - AFTER_THE_CHECKER))
def test_example_gets_its_code_and_the_fix_none(code: str) -> None:
    doc = RULE_DOCS[code]
    options = Options(cross_check=code == "STL050")
    diagnostics = check_source(doc.example, "example.py", options).diagnostics
    if code == "STL050":
        # beside the static verdict on the same write, the finding is a note on it
        assert any(AGREES in d.notes for d in diagnostics)
    else:
        assert code in {d.code for d in diagnostics}
    if doc.instead is not None:
        fixed = check_source(doc.instead, "instead.py", options)
        assert fixed.diagnostics == [], [d.message for d in fixed.diagnostics]


@pytest.mark.parametrize("code", sorted(FRONT_END_CODES))
def test_front_end_examples_are_annotated_wrappers(code: str) -> None:
    """Valid Python, a well-formed `# stile:` annotation, and the example and its fix
    differ (the test above checks what the Triton front end reports for them)."""
    import ast

    from stile_static.spec.annotations import annotation_diagnostics, find_annotations

    doc = RULE_DOCS[code]
    assert doc.instead is not None and doc.instead != doc.example
    for text in (doc.example, doc.instead):
        ast.parse(text)
        assert len(find_annotations(text).annotations) == 1
        assert annotation_diagnostics(text) == []


def test_warning_codes() -> None:
    assert {code for code, info in CODES.items() if info.severity != "error"} == {
        "STL045",
        "STL049",
    }


def test_unused_suppression_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = RULE_DOCS["STL060"]
    example, instead = tmp_path / "example.py", tmp_path / "instead.py"
    example.write_text(doc.example)
    instead.write_text(doc.instead or "")
    flags = ["--no-cache", "--report-unused-ignores"]
    assert main(["check", str(example), *flags]) == 1
    assert main(["check", str(instead), *flags]) == 0
    assert "STL060 unused suppression" in capsys.readouterr().out


def test_rule_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "STL032"]) == 0
    out = capsys.readouterr().out
    assert out == rule_markdown("STL032") + "\n" + link_line("STL032")
    assert out.splitlines()[-1].startswith("Documentation: docs/rules/STL032.md in the")
    assert main(["rule"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(CODES)
    assert main(["rule", "STL999"]) == 2


def test_every_code_has_its_page_in_the_repository() -> None:
    """`stile-static rule` and SARIF's helpUri name a page that exists."""
    for code in CODES:
        page = installed_page(code)
        assert page is not None and page.name == f"{code}.md", code
        assert page.read_text().startswith(rule_markdown(code)), code
    out_of_date = subprocess.run(
        [sys.executable, "tools/rule_pages.py", "--check"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
    )
    assert out_of_date.returncode == 0, out_of_date.stdout + "run tools/rule_pages.py"
