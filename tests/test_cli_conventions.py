"""The conventions of ruff and mypy: no path, --quiet, --statistics, --exit-zero,
colour on a terminal only, --verbose, and a closed pipe that ends quietly."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stile_static.report.cli import CLOSED_PIPE, main
from stile_static.report.colour import wants_colour

from .fixture_expectations import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
ROW_SUM = (FIXTURES / "row_sum.py").read_text()
SKIPPED = (FIXTURES / "row_sum_last_tile_skipped.py").read_text()  # one STL032
SCALED = (FIXTURES / "seed_matmul_scaled_twice.py").read_text()  # one STL031
ESC = "\x1b["


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder for the test: a good kernel, two with STL032, one with STL031."""
    (tmp_path / "good.py").write_text(ROW_SUM)
    (tmp_path / "skipped.py").write_text(SKIPPED)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "skipped_too.py").write_text(SKIPPED)
    (tmp_path / "scaled.py").write_text(SCALED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["check", "--no-cache", "--jobs", "1", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_no_path_checks_the_current_folder(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys)
    assert status == 1
    assert out.splitlines()[-1] == "Checked 4 kernel files: 1 obligation verified, 3 errors."
    assert run(capsys, ".") == (status, out, "")
    paths = {item["path"] for item in json.loads(run(capsys, "--format", "json")[1])}
    assert paths == {"skipped.py", "sub/skipped_too.py", "scaled.py"}  # relative, as given


def test_quiet_prints_only_the_diagnostics(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, loud, _ = run(capsys, "skipped.py")
    quiet_status, quiet, _ = run(capsys, "skipped.py", "--quiet")
    assert status == quiet_status == 1
    assert loud.splitlines()[-1].startswith("Checked 1 kernel file")
    assert quiet.splitlines() == loud.splitlines()[:-1]
    assert quiet.startswith("skipped.py:13:5: STL032 ")
    assert run(capsys, "good.py", "-q") == (0, "", "")


def test_statistics_count_each_code(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--statistics")
    assert status == 1
    assert out.splitlines() == [
        "2  STL032  incomplete-reduction",  # most frequent first
        "1  STL031  not-equivalent",
        "Checked 4 kernel files: 1 obligation verified, 3 errors.",
    ]
    assert run(capsys, "--statistics", "-q")[1].splitlines() == out.splitlines()[:-1]
    status, out, _ = run(capsys, "--statistics", "--format", "json")
    assert status == 1
    assert json.loads(out) == [
        {"code": "STL032", "name": "incomplete-reduction", "count": 2},
        {"code": "STL031", "name": "not-equivalent", "count": 1},
    ]
    both = json.loads(run(capsys, "--statistics", "--format", "json", "--summary")[1])
    assert both["statistics"] == json.loads(out) and both["summary"]["errors"] == 3
    # what --ignore drops is not counted
    assert run(capsys, "--statistics", "--ignore", "STL032", "-q")[1] == (
        "1  STL031  not-equivalent\n"
    )


def test_statistics_in_a_format_without_them_is_a_usage_error(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "--statistics", "--format", "sarif")
    assert status == 2 and out == ""
    assert "--statistics prints text or json, not sarif" in err


def test_exit_zero_keeps_the_report(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "skipped.py")
    assert status == 1
    assert run(capsys, "skipped.py", "--exit-zero") == (0, out, "")
    assert run(capsys, "skipped.py", "-e")[0] == 0
    (folder / "pyproject.toml").write_text("[tool.stile-static]\nselcet = []\n")
    status, _, err = run(capsys, "skipped.py", "--exit-zero")
    assert status == 2 and "unknown key `selcet`" in err  # a broken configuration still fails


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environ", "colour"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # set but empty: no-color.org says it does not count
        (True, {"TERM": "dumb"}, False),
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins, as in CPython
    ],
)
def test_when_there_is_colour(tty: bool, environ: dict[str, str], colour: bool) -> None:
    assert wants_colour(Stream(tty), environ) is colour


def on_a_terminal(*args: str, **environ: str) -> str:
    """What ``stile-static check ARGS`` writes to a terminal (a pseudo-terminal here)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    env.update(environ, PYTHONPATH=str(ROOT))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stile_static", "check", "--no-cache", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 1
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_only() -> None:
    path = str(FIXTURES / "row_sum_last_tile_skipped.py")
    coloured = on_a_terminal(path)
    assert f"{ESC}1;31mSTL032{ESC}0m" in coloured  # the code of an error, in red
    assert f"{ESC}1;36mnote{ESC}0m: kernel: " in coloured
    assert ESC not in on_a_terminal(path, NO_COLOR="1")
    assert ESC not in on_a_terminal(path, "--format", "json")
    assert ESC not in on_a_terminal(path, "--format", "github")
    piped = subprocess.run(
        [sys.executable, "-m", "stile_static", "check", "--no-cache", path],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "FORCE_COLOR": ""},
        check=False,
    )
    assert piped.returncode == 1 and "STL032" in piped.stdout and ESC not in piped.stdout
    # the colours are only added: without them, the terminal shows the plain report
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == on_a_terminal(path, NO_COLOR="1")


def test_force_colour_colours_text_but_never_a_file(tmp_path: Path) -> None:
    path = str(FIXTURES / "row_sum_last_tile_skipped.py")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "stile_static", "check", "--no-cache", path]
    forced = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert ESC in forced.stdout
    report = tmp_path / "report.txt"
    subprocess.run([*command, "--output", str(report)], env=env, check=False)
    assert "STL032" in report.read_text() and ESC not in report.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["rule"],
        ["rule", "STL031"],
        ["check", "--no-cache", str(FIXTURES / "row_sum_last_tile_skipped.py")],
    ],
)
def test_a_closed_pipe_ends_quietly(args: list[str]) -> None:
    """`stile-static rule | head -1`: the reader is gone before anything is written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "stile_static", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # long before the interpreter has started and printed
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == CLOSED_PIPE, err
    assert err == ""


def test_verbose_says_what_each_file_was(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "notes.py").write_text("print('not a kernel')\n")
    status, out, err = run(capsys, "--verbose", "good.py", "notes.py", "missing.py")
    assert status == 1  # missing.py: STL001
    assert err.splitlines() == [
        "stile-static: configuration: none found; the defaults apply",
        "good.py: checked",
        "notes.py: skipped: not a kernel file",
        "missing.py: cannot be read",
        "notes.py: warning: not a kernel file (it neither imports `stile` nor has a "
        "`# stile:` annotation); nothing in it was checked",
    ]
    cache = str(folder / "cache")
    main(["check", "good.py", "--cache-dir", cache, "-q"])
    capsys.readouterr()
    main(["check", "good.py", "--cache-dir", cache, "-v"])
    assert "good.py: checked (answered from the cache)" in capsys.readouterr().err
    (folder / "pyproject.toml").write_text("[tool.stile-static]\n")
    assert f"configuration: {folder / 'pyproject.toml'}" in run(capsys, "-v", "good.py")[2]


def test_quiet_and_verbose_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "x.py", "-q", "-v"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_github_annotations_carry_what_sarif_carries(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(FIXTURES / n) for n in ("kernel_type_errors.py", "row_sum_last_tile_skipped.py")]
    status = main(["check", "--no-cache", "--jobs", "1", "--format", "github", *paths])
    github = capsys.readouterr().out.splitlines()
    main(["check", "--no-cache", "--jobs", "1", "--format", "sarif", *paths])
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert status == 1 and len(github) == len(results) > 1
    for line, result in zip(github, results):
        data = line.split("::", 2)[2]
        text = data.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        assert text == f"{result['ruleId']} {result['message']['text']}"
    assert any("\nhelp: " in r["message"]["text"] for r in results)
    assert any("\nnote: " in r["message"]["text"] for r in results)
