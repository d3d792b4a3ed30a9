"""``# stile: ignore[...]`` comments silence diagnostics on their line; unused ones are reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stile_static.check.suppressions import (
    apply_suppressions,
    find_ignore_file,
    find_suppressions,
)
from stile_static.core.diagnostics import Diagnostic, Span
from stile_static.report.cli import main

from .fixture_expectations import FIXTURES

WRONG = (FIXTURES / "seed_matmul_scaled_twice.py").read_text()  # STL031 on line 19
WRONG_LINE = "        c.assign(c_accum)  # E: STL031"


def codes_by_line(source: str) -> dict[int, tuple[str, ...] | None]:
    return {s.line: s.codes for s in find_suppressions(source)}


def test_directives_are_parsed() -> None:
    source = (
        "a = 1  # stile: ignore\n"
        "b = 2  # stile: ignore[STL031]\n"
        "c = 3  # stile:ignore[STL031, STL032 ,STL010]\n"
        "d = 4  # noqa: E501  # stile: ignore[STL002]\n"
        "e = 5  # stile: ignored\n"
        "f = 6  # stile: ignore-all\n"
        "g = 7  # prose that mentions stile: ignore is no directive\n"
    )
    assert codes_by_line(source) == {
        1: None,
        2: ("STL031",),
        3: ("STL031", "STL032", "STL010"),
        4: ("STL002",),
    }


def test_hash_inside_a_string_is_not_a_comment() -> None:
    source = (
        's = "# stile: ignore"\n'
        "t = '''\n# stile: ignore[STL031]\n'''\n"
        'u = f"{1}  # stile: ignore"  # stile: ignore[STL010]\n'
    )
    assert codes_by_line(source) == {5: ("STL010",)}


def test_directive_columns_point_at_the_comment() -> None:
    (s,) = find_suppressions("x = 'é'  # stile: ignore[STL031]\n")
    assert s.span == Span(1, 10, 1, 33)


def test_untokenizable_files_keep_the_comments_before_the_error() -> None:
    assert codes_by_line("a = 1  # stile: ignore\nb = (\n") == {1: None}
    assert codes_by_line(b"\xff\xfe garbage # stile: ignore\n") == {}


def diagnostic(line: int, code: str, end_line: int | None = None) -> Diagnostic:
    return Diagnostic("k.py", Span(line, 1, end_line or line, 5), code, "message")


def test_multi_line_diagnostics_match_on_their_first_line() -> None:
    source = "x = f(\n  1,\n)  # stile: ignore\ny = g(  # stile: ignore[STL031]\n  2)\n"
    outcome = apply_suppressions(
        [diagnostic(1, "STL031", end_line=3), diagnostic(4, "STL031", end_line=5)],
        find_suppressions(source),
        "k.py",
    )
    assert [d.span.line for d in outcome.kept] == [1]
    assert [d.span.line for d in outcome.suppressed] == [4]


def test_unused_codes_are_named() -> None:
    source = (
        "a  # stile: ignore[STL031, STL010]\n"
        "b  # stile: ignore\n"
        "c  # stile: ignore[STL999, STL033]\n"
        "d  # stile: ignore[]\n"
        "e  # stile: ignore\n"
    )
    outcome = apply_suppressions(
        [diagnostic(1, "STL031"), diagnostic(5, "STL002")],
        find_suppressions(source),
        "k.py",
        report_unused=True,
        enabled={"STL031", "STL010", "STL002"},
    )
    assert outcome.kept == ()
    messages = {d.span.line: d.message for d in outcome.unused}
    assert {d.code for d in outcome.unused} == {"STL060"}
    assert messages == {
        1: "unused suppression: `STL010` does not occur on this line",
        2: "unused suppression: there is no diagnostic on this line",
        3: "unused suppression: `STL999` is not a code; `STL033` is not selected",
        4: "unused suppression: it names no code",
    }
    assert apply_suppressions([], find_suppressions(source), "k.py").unused == ()


def write(tmp_path: Path, source: str) -> str:
    path = tmp_path / "kernel.py"
    path.write_text(source)
    return str(path)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    status = main(["check", "--format", "json", "--no-cache", *args])
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "comment", ["# stile: ignore[STL031]", "# stile: ignore", "# stile: ignore[STL010,STL031]"]
)
def test_a_suppressed_kernel_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, comment: str
) -> None:
    assert WRONG_LINE in WRONG
    path = write(tmp_path, WRONG.replace(WRONG_LINE, f"        c.assign(c_accum)  {comment}"))
    assert check(capsys, path) == (0, [])


def test_another_code_is_not_suppressed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(
        tmp_path, WRONG.replace(WRONG_LINE, "        c.assign(c_accum)  # stile: ignore[STL032]")
    )
    status, items = check(capsys, path)
    assert status == 1 and [i["code"] for i in items] == ["STL031"]


def test_unused_suppressions_are_reported_on_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = (
        (FIXTURES / "row_sum.py")
        .read_text()
        .replace("out.assign(total)", "out.assign(total)  # stile: ignore[STL031]")
    )
    path = write(tmp_path, source)
    assert check(capsys, path) == (0, [])
    status, items = check(capsys, path, "--report-unused-ignores")
    assert status == 1
    (item,) = items
    assert item["code"] == "STL060" and item["line"] == 13
    assert item["message"] == "unused suppression: `STL031` does not occur on this line"
    assert check(capsys, path, "--report-unused-ignores", "--ignore", "STL060") == (0, [])


def test_a_file_that_does_not_parse_reports_no_unused_suppression(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "from stile import dim  # stile: ignore[STL002]\nM = dim(\n")
    status, items = check(capsys, path, "--report-unused-ignores")
    assert status == 1 and [i["code"] for i in items] == ["STL001"]


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("# stile: ignore-file\nx = 1\n", 1),
        ("x = 1\n\n#stile:ignore-file   (work in progress)\n", 3),
        (b"x = 1  # stile: ignore-file\n", 1),
        ("x = '# stile: ignore-file'\n", None),  # in a string: no comment
        ("# stile: ignore-file[STL031]\n", None),  # takes no codes
        ("# stile: ignore-files\n", None),
        ("# stile: ignore[STL031]\n", None),
        ("x = 1\n", None),
    ],
)
def test_ignore_file_is_a_comment(source: str | bytes, line: int | None) -> None:
    assert find_ignore_file(source) == line


def test_ignore_file_is_no_line_suppression() -> None:
    assert find_suppressions("x = 1  # stile: ignore-file\n") == []


def test_an_ignored_file_is_not_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "# stile: ignore-file\n" + WRONG)
    status = main(["check", "--no-cache", "-v", path])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out == "Checked 0 kernel files: 0 obligations verified, 0 errors.\n"
    # named on the command line, it is skipped on purpose: no "not a kernel" warning
    assert captured.err.splitlines()[1:] == [f"{path}: skipped: `# stile: ignore-file` at line 1"]
    # even a file Python cannot compile: it is not looked at
    broken = write(tmp_path, "# stile: ignore-file\nfrom stile import dim\nM = dim(\n")
    assert check(capsys, broken) == (0, [])
    # the same file without the comment is checked
    assert check(capsys, write(tmp_path, WRONG))[0] == 1


def test_an_ignored_file_stays_ignored_from_the_cache(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, WRONG + "# stile: ignore-file  (last line, any line will do)\n")
    cache = str(tmp_path / "cache")
    for _ in range(2):
        assert main(["check", "-v", "--cache-dir", cache, path]) == 0
        err = capsys.readouterr().err
        assert f"{path}: skipped: `# stile: ignore-file` at line " in err
