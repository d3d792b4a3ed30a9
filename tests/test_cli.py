"""The command-line contract: output lines, formats and exit statuses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stile_static.report.cli import main

from .fixture_expectations import FIXTURES

LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<code>STL\d{3}) \S")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["check", *args])
    return status, capsys.readouterr().out


def test_verified_kernel_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, str(FIXTURES / "seed_matmul.py"), "--show-proofs")
    assert status == 0
    assert "verified for sizes M=10 N=10 K=10: c equals its spec" in out
    assert "1 obligation verified, 0 errors" in out


def test_buggy_kernel_exits_one_with_located_diagnostic(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "seed_matmul_scaled_twice.py")
    status, out = run(capsys, path)
    assert status == 1
    first = out.splitlines()[0]
    match = LINE.match(first)
    assert match and match["path"] == path and match["code"] == "STL031"
    assert (match["line"], match["col"]) == ("19", "9")
    assert "kernel: 4 * sum[N 0:10]" in out and "spec:   6 * sum[N 0:10]" in out
    assert "counterexample at M=" in out


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, str(FIXTURES / "row_sum_last_tile_skipped.py"), "--format", "json")
    assert status == 1
    (item,) = json.loads(out)
    assert {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "code",
        "severity",
        "message",
    } <= set(item)
    assert item["code"] == "STL032" and item["line"] == 13 and item["severity"] == "error"
    assert "covers [0:8) of [0:12)" in item["message"]
    assert item["end_line"] >= item["line"]


def test_folder_is_expanded(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, str(FIXTURES), "--format", "json")
    assert status == 1
    paths = {item["path"] for item in json.loads(out)}
    assert str(FIXTURES / "flash_attention_wrong_rescale.py") in paths
    assert str(FIXTURES / "flash_attention.py") not in paths


def test_missing_path_is_a_diagnostic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.py")
    status, out = run(capsys, missing)
    assert status == 1
    assert out.startswith(f"{missing}:1:1: STL001 no such file")
    # reported, but not counted as a kernel file that was checked
    assert out.splitlines()[-1] == "Checked 0 kernel files: 0 obligations verified, 1 error."


def test_named_file_that_is_not_a_kernel_is_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = tmp_path / "lost_import.py"
    plain.write_text(
        "\n".join(
            line
            for line in (FIXTURES / "row_sum.py").read_text().splitlines()
            if "import" not in line
        )
    )
    status = main(["check", str(plain), str(FIXTURES / "row_sum.py"), "--no-cache"])
    captured = capsys.readouterr()
    assert status == 0  # a warning: pre-commit names every staged Python file
    assert (
        captured.err == f"{plain}: warning: not a kernel file (it neither imports `stile` "
        "nor has a `# stile:` annotation); nothing in it was checked\n"
    )
    assert "Checked 1 kernel file: 1 obligation verified" in captured.out


def test_folders_skip_files_that_are_not_kernels_silently(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "helper.py").write_text("print('not a kernel')\n")
    status = main(["check", str(tmp_path), "--no-cache"])
    captured = capsys.readouterr()
    assert status == 0 and captured.err == ""
    assert "Checked 0 kernel files" in captured.out


@pytest.mark.parametrize(
    "content", [b"\x00\x01\x02\xff\xfe garbage", b"\xff\xfe\xfd not utf-8", b"def f(:\n"]
)
def test_unreadable_files_are_diagnostics(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.py"
    path.write_bytes(content)
    status, out = run(capsys, str(path))
    assert status == 1
    assert LINE.match(out.splitlines()[0])["code"] == "STL001"


def test_usage_errors_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["check", "--jobs"]) == 2  # (no path is the current folder: see conventions)
    assert main(["check", "x.py", "--format", "yaml"]) == 2


def test_python_dash_m_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "stile_static", "check", str(FIXTURES / "row_sum.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 obligation verified" in proc.stdout


GITHUB = re.compile(
    r"^::(?P<level>error|warning|notice) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
    r"endLine=(?P<end_line>\d+),endColumn=(?P<end_col>\d+),title=(?P<title>STL\d{3})"
    r"::(?P<code>STL\d{3}) (?P<message>.+)$"
)


def test_github_format(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "kernel_type_errors.py")
    status, out = run(capsys, path, "--format", "github", "--no-cache")
    expected = json.loads(run(capsys, path, "--format", "json", "--no-cache")[1])
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == len(expected) == 7
    for line, item in zip(lines, expected):
        match = GITHUB.match(line)
        assert match, line
        assert match["level"] == "error" and match["file"] == path
        assert match["title"] == match["code"] == item["code"]
        assert int(match["line"]) == item["line"] and int(match["col"]) == item["column"]
        assert int(match["end_line"]) == item["end_line"]
        assert int(match["end_col"]) == item["end_column"]
        # the notes and help follow the message, each on a line of its own
        lines = [item["message"], *(f"note: {n}" for n in item["notes"])]
        lines += [f"help: {item['help']}"] if item["help"] else []
        assert match["message"] == "%0A".join(lines)
    assert any("%0Ahelp: " in line for line in out.splitlines())
    assert any("%0Anote: " in line for line in out.splitlines())


def test_github_format_escapes_and_warnings() -> None:
    from stile_static.check.results import StoredReport
    from stile_static.core.diagnostics import Diagnostic, Span
    from stile_static.report.reporters import render_github

    d = Diagnostic("a,b:c.py", Span(1, 2, 3, 4), "STL002", "50% off\nsecond", severity="warning")
    assert render_github([StoredReport("a,b:c.py", (d,))]) == (
        "::warning file=a%2Cb%3Ac.py,line=1,col=2,endLine=3,endColumn=4,title=STL002"
        "::STL002 50%25 off%0Asecond\n"
    )
    noted = Diagnostic(
        "k.py", Span(1, 2, 3, 4), "STL031", "wrong", notes=("at 100%", "a\r\nb"), help="fix: it"
    )
    assert render_github([StoredReport("k.py", (noted,))]) == (
        "::error file=k.py,line=1,col=2,endLine=3,endColumn=4,title=STL031"
        "::STL031 wrong%0Anote: at 100%25%0Anote: a%0D%0Ab%0Ahelp: fix: it\n"
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    path = str(FIXTURES / "row_sum_last_tile_skipped.py")
    out = tmp_path / f"report.{fmt}"
    assert main(["check", path, "--format", fmt, "--output", str(out)]) == 1
    assert capsys.readouterr().out == ""
    assert run(capsys, path, "--format", fmt)[1] == out.read_text()


def test_unwritable_output_exits_two(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    status = main(["check", str(FIXTURES / "row_sum.py"), "--output", str(blocker / "x.txt")])
    assert status == 2
    assert "cannot write" in capsys.readouterr().err


def test_bad_jobs_is_a_usage_error() -> None:
    assert main(["check", "x.py", "--jobs", "0"]) == 2
    assert main(["check", "x.py", "--jobs", "many"]) == 2


def test_folder_in_parallel_from_python_dash_m(tmp_path: Path) -> None:
    """Worker processes start from `python -m` too, and agree with one process."""
    outputs = []
    for jobs in ("2", "1"):
        proc = subprocess.run(
            [sys.executable, "-m", "stile_static", "check", str(FIXTURES), "--jobs", jobs]
            + ["--cache-dir", str(tmp_path / jobs)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    assert LINE.match(outputs[0].splitlines()[0])


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("seed_matmul_scaled_twice.py", "STL031"),
        ("row_sum_last_tile_skipped.py", "STL032"),
        ("flash_attention_invariants_no_correction.py", "STL031"),
    ],
)
def test_cross_check_gives_one_diagnostic_per_bug(
    capsys: pytest.CaptureFixture[str], name: str, code: str
) -> None:
    path = str(FIXTURES / name)
    status, out = run(capsys, path, "--cross-check", "--no-cache", "--format", "json")
    assert status == 1
    (item,) = json.loads(out)
    assert item["code"] == code
    assert sum(n.startswith("counterexample") for n in item["notes"]) == 1
    assert item["notes"][-1].startswith("the NumPy cross-check agrees")


def test_cross_check_finding_without_a_static_verdict_stays_an_error() -> None:
    from stile_static.check.one_per_bug import fold_cross_check
    from stile_static.core.diagnostics import Diagnostic, Span

    assign, result, other = Span(9, 5, 9, 20), Span(3, 1, 3, 9), Span(5, 1, 5, 9)
    static = Diagnostic("k.py", assign, "STL031", "the tile does not equal result c")
    cross = [
        Diagnostic("k.py", result, "STL050", "cross-check: c differs from its spec at M=0"),
        Diagnostic("k.py", other, "STL050", "cross-check: d differs from its spec at M=1"),
    ]
    failed = {assign: static}
    kept = fold_cross_check(failed, {result: [assign]}, cross)
    assert kept == cross[1:]  # d: nothing static explains it
    assert failed[assign].notes[-1].startswith("the NumPy cross-check agrees")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"stile-static {metadata.version('stile-static')}\n"


def test_json_show_proofs_are_notes(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(FIXTURES / "seed_matmul.py"), str(FIXTURES / "result_dims.py")]
    status, out = run(capsys, *paths, "--format", "json", "--show-proofs", "--no-cache")
    assert status == 1
    items = json.loads(out)
    (proof,) = [i for i in items if i["severity"] == "note"]
    assert proof["path"] == paths[0] and proof["code"] is None
    assert (proof["line"], proof["column"]) == (23, 9)
    assert proof["message"] == "verified for sizes M=10 N=10 K=10: c equals its spec"
    assert proof["scope"]["kind"] == "file"
    assert proof["scope"]["sizes"] == {"M": 10, "N": 10, "K": 10}
    assert proof["notes"] == [
        "kernel: 6 * sum[N 0:10](a[M, N] * b[N, K])",
        "spec:   6 * sum[N 0:10](a[M, N] * b[N, K])",
    ]
    assert [i["code"] for i in items if i["severity"] == "error"] == ["STL030"]
    # without the flag, the same run has no notes
    plain = json.loads(run(capsys, *paths, "--format", "json", "--no-cache")[1])
    assert plain == [i for i in items if i["severity"] != "note"]


def test_json_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = [str(FIXTURES), str(tmp_path / "missing.py"), "--no-cache", "--cross-check"]
    status, out = run(capsys, *args, "--format", "json", "--summary")
    assert status == 1
    report = json.loads(out)
    assert set(report) == {"diagnostics", "summary"}
    text = run(capsys, *args)[1].splitlines()[-1]
    numbers = re.fullmatch(
        r"Checked (\d+) kernel files: (\d+) obligations verified, (\d+) errors\.", text
    )
    assert numbers, text
    summary = report["summary"]
    assert [summary["files_checked"], summary["obligations_verified"], summary["errors"]] == [
        int(n) for n in numbers.groups()
    ]
    assert summary["errors"] == sum(d["severity"] == "error" for d in report["diagnostics"])
    assert summary["warnings"] == sum(d["severity"] == "warning" for d in report["diagnostics"])
    # every fixture, in subfolders too (annotated Triton and Pallas kernels), not missing.py
    assert summary["files_checked"] == len(list(FIXTURES.rglob("*.py")))
