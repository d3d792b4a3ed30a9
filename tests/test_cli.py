"""The command-line contract: output lines, formats and exit statuses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stile_static.cli import main

from .fixture_expectations import FIXTURES

LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<code>STL\d{3}) \S")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["check", *args])
    return status, capsys.readouterr().out


def test_verified_kernel_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, str(FIXTURES / "seed_matmul.py"), "--show-proofs")
    assert status == 0
    assert "verified: c equals its spec" in out
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
    assert main(["check"]) == 2
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
