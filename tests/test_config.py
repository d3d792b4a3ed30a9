"""``[tool.stile-static]`` in pyproject.toml: found, checked key by key, overridden by flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stile_static.check.config import (
    Config,
    ConfigError,
    find_pyproject,
    load_config,
    resolve_codes,
)
from stile_static.check.one_per_bug import AGREES
from stile_static.report.cli import main

from .fixture_expectations import FIXTURES

ROW_SUM = (FIXTURES / "row_sum.py").read_text()
SKIPPED = (FIXTURES / "row_sum_last_tile_skipped.py").read_text()  # STL032


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with a good and a buggy kernel, the current directory for the test."""
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "good.py").write_text(ROW_SUM)
    (tmp_path / "kernels" / "skipped.py").write_text(SKIPPED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def configure(project: Path, table: str) -> None:
    (project / "pyproject.toml").write_text(
        f"[project]\nname = 'demo'\n\n[tool.stile-static]\n{table}"
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict], str]:
    status = main(["check", "--format", "json", "--no-cache", "--jobs", "1", *args])
    captured = capsys.readouterr()
    return status, json.loads(captured.out or "[]"), captured.err


def test_defaults_without_a_file(tmp_path: Path) -> None:
    assert find_pyproject(tmp_path) is None, "a pyproject.toml above the temporary folder"
    assert load_config(cwd=tmp_path) == Config(root=tmp_path)


def test_nearest_pyproject_is_found_from_a_subfolder(project: Path) -> None:
    configure(project, 'ignore = ["STL032"]\n')
    inner = project / "kernels"
    assert find_pyproject(inner) == project / "pyproject.toml"
    config = load_config(cwd=inner)
    assert config.root == project and config.ignore == ("STL032",)


def test_all_keys(project: Path) -> None:
    configure(
        project,
        'include = ["kernels/**/*.py"]\nexclude = ["old"]\nselect = ["STL03"]\n'
        'ignore = ["STL033"]\ncross-check = true\nseed = 7\nreport-unused-ignores = true\n',
    )
    config = load_config()
    assert config == Config(
        path=project / "pyproject.toml",
        root=project,
        include=("kernels/**/*.py",),
        exclude=("old",),
        select=("STL03",),
        ignore=("STL033",),
        cross_check=True,
        seed=7,
        report_unused_ignores=True,
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("selcet = []\n", "unknown key `selcet` in [tool.stile-static]"),
        ('select = "STL031"\n', "`select` in [tool.stile-static] must be a list of codes"),
        ("ignore = [31]\n", "`ignore` in [tool.stile-static] must be a list of codes"),
        ('cross-check = "yes"\n', "`cross-check` in [tool.stile-static] must be true or false"),
        ("seed = true\n", "`seed` in [tool.stile-static] must be an integer"),
        ("seed = 1.5\n", "`seed` in [tool.stile-static] must be an integer"),
        ("exclude = [[]]\n", "`exclude` in [tool.stile-static] must be a list of glob strings"),
        ('select = ["STL999"]\n', "unknown code `STL999`"),
        ("seed = \n", "not valid TOML"),
    ],
)
def test_mistakes_exit_two_naming_key_and_file(
    project: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    configure(project, table)
    status, items, err = run(capsys, "kernels")
    assert status == 2 and items == []
    assert message in err
    assert str(project / "pyproject.toml") in err


def test_a_non_table_is_an_error(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool]\nstile-static = "on"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        load_config()


def test_select_and_ignore(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [i["code"] for i in run(capsys, "kernels")[1]] == ["STL032"]
    configure(project, 'ignore = ["STL032"]\n')
    assert run(capsys, "kernels")[:2] == (0, [])
    configure(project, 'select = ["STL01", "STL02"]\n')
    assert run(capsys, "kernels")[:2] == (0, [])
    configure(project, 'select = ["STL03"]\n')
    assert run(capsys, "kernels")[0] == 1


def test_flags_override_the_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure(project, 'ignore = ["STL032"]\nselect = ["STL01"]\n')
    assert run(capsys, "kernels")[0] == 0
    assert run(capsys, "kernels", "--select", "STL032,STL031")[0] == 0  # still ignored
    status, items, _ = run(capsys, "kernels", "--select", "STL03", "--ignore", "STL033")
    assert status == 1 and [i["code"] for i in items] == ["STL032"]
    status, _, err = run(capsys, "kernels", "--ignore", "STL3")
    assert status == 2 and "--ignore: unknown code `STL3`" in err


def test_cross_check_and_seed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def crossed(*args: str) -> bool:
        """Whether the cross-check ran: its finding is a note on the one STL032."""
        (item,) = run(capsys, "kernels/skipped.py", *args)[1]
        assert item["code"] == "STL032"
        return AGREES in item["notes"]

    configure(project, "cross-check = true\nseed = 3\n")
    assert crossed()
    assert not crossed("--no-cross-check")
    configure(project, "")
    assert crossed("--cross-check")


def test_seed_changes_the_counterexample(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def counterexample(*args: str) -> str:
        (item,) = run(capsys, "kernels/skipped.py", *args)[1]
        return next(n for n in item["notes"] if n.startswith("counterexample"))

    configure(project, "seed = 11\n")
    from_file = counterexample()
    assert from_file == counterexample("--seed", "11") != counterexample("--seed", "12")


def test_explicit_config_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure(project, 'ignore = ["STL032"]\n')
    other = project / "strict.toml"
    other.write_text("[tool.stile-static]\nselect = ['STL032']\n")
    assert run(capsys, "kernels")[0] == 0
    assert run(capsys, "kernels", "--config", "strict.toml")[0] == 1
    status, _, err = run(capsys, "kernels", "--config", "missing.toml")
    assert status == 2 and "missing.toml: no such configuration file" in err


def test_include_and_exclude(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "kernels" / "old").mkdir()
    (project / "kernels" / "old" / "legacy.py").write_text(SKIPPED)
    (project / "kernels" / "notes.txt").write_text(SKIPPED)

    def paths(*args: str) -> set[str]:
        return {Path(i["path"]).as_posix() for i in run(capsys, *args)[1]}

    assert paths(".") == {"kernels/skipped.py", "kernels/old/legacy.py"}
    configure(project, 'exclude = ["old"]\n')
    assert paths(".") == {"kernels/skipped.py"}
    configure(project, 'exclude = ["kernels/skipped.py"]\n')
    assert paths("kernels") == {"kernels/old/legacy.py"}
    assert paths("kernels/skipped.py") == set()  # pre-commit names files: still excluded
    configure(project, 'include = ["*.txt"]\n')
    assert paths(".") == {"kernels/notes.txt"}
    configure(project, 'include = ["kernels/old/*.py"]\n')
    assert paths(".") == {"kernels/old/legacy.py"}
    assert paths("kernels/skipped.py") == {"kernels/skipped.py"}  # include: folders only


def test_code_prefixes() -> None:
    assert resolve_codes(["STL03"], "x") == {"STL030", "STL031", "STL032", "STL033"}
    assert resolve_codes(["stl001"], "x") == {"STL001"}
    with pytest.raises(ConfigError, match="x: unknown code `E501`"):
        resolve_codes(["E501"], "x")


def test_extend_exclude_adds_to_exclude(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "kernels" / "old").mkdir()
    (project / "kernels" / "old" / "legacy.py").write_text(SKIPPED)

    def paths(*args: str) -> set[str]:
        return {Path(i["path"]).as_posix() for i in run(capsys, *args)[1]}

    configure(project, 'extend-exclude = ["old"]\n')
    assert load_config().excluded == ("old",)
    assert paths(".") == {"kernels/skipped.py"}
    configure(project, 'exclude = ["kernels/skipped.py"]\nextend-exclude = ["old"]\n')
    assert paths(".") == set()
    assert paths("kernels/old/legacy.py") == set()  # named files too
    configure(project, 'exclude = ["kernels/skipped.py"]\n')
    assert paths(".") == {"kernels/old/legacy.py"}


def test_per_file_ignores(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "other").mkdir()
    (project / "other" / "skipped.py").write_text(SKIPPED)

    def reported(*args: str) -> set[tuple[str, str]]:
        return {(Path(i["path"]).as_posix(), i["code"]) for i in run(capsys, *args)[1]}

    both = {("kernels/skipped.py", "STL032"), ("other/skipped.py", "STL032")}
    assert reported(".") == both
    configure(project, '[tool.stile-static.per-file-ignores]\n"kernels/**" = ["STL032"]\n')
    assert reported(".") == {("other/skipped.py", "STL032")}
    assert reported("kernels/skipped.py") == set()
    assert run(capsys, "kernels")[0] == 0
    # by a folder's name anywhere, by a prefix of codes, and by a file name
    configure(project, 'per-file-ignores = {"kernels" = ["STL03"]}\n')
    assert reported(".") == {("other/skipped.py", "STL032")}
    configure(project, 'per-file-ignores = {"skip*.py" = ["STL032"]}\n')
    assert reported(".") == set()
    # negated: every file the glob does not match
    configure(project, 'per-file-ignores = {"!kernels/**" = ["STL032"]}\n')
    assert reported(".") == {("kernels/skipped.py", "STL032")}
    # another code, or a glob that matches nothing, changes nothing
    configure(project, 'per-file-ignores = {"kernels/**" = ["STL031"], "x/*.py" = ["STL032"]}\n')
    assert reported(".") == both
    # the command line's --select and --ignore do not replace them
    configure(project, 'per-file-ignores = {"other" = ["STL032"]}\n')
    assert reported(".", "--select", "STL032") == {("kernels/skipped.py", "STL032")}
    assert reported(".", "--ignore", "STL031") == {("kernels/skipped.py", "STL032")}


def test_per_file_ignores_count_as_not_selected_for_unused_suppressions(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = "    out.assign(total)"
    assert line in SKIPPED
    silenced = SKIPPED.replace(line, f"{line}  # stile: ignore[STL032]")
    (project / "kernels" / "skipped.py").write_text(silenced)
    configure(project, 'per-file-ignores = {"kernels" = ["STL032"]}\n')
    status, items, _ = run(capsys, "kernels", "--report-unused-ignores")
    assert status == 1
    (item,) = items
    assert item["code"] == "STL060"
    assert item["message"] == "unused suppression: `STL032` is not selected"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'per-file-ignores = ["STL031"]\n',
            "`per-file-ignores` in [tool.stile-static] must be a table of globs to lists of codes",
        ),
        (
            'per-file-ignores = {"a.py" = "STL031"}\n',
            "`per-file-ignores` in [tool.stile-static] must be a table of globs to lists of codes",
        ),
        (
            'per-file-ignores = {"a.py" = ["STL999"]}\n',
            "`per-file-ignores` in [tool.stile-static], glob `a.py`: unknown code `STL999`",
        ),
        (
            'per-file-ignores = {"!" = ["STL031"]}\n',
            "`per-file-ignores` in [tool.stile-static], glob `!`: the glob is empty",
        ),
        (
            'extend-exclude = "old"\n',
            "`extend-exclude` in [tool.stile-static] must be a list of glob strings",
        ),
    ],
)
def test_per_file_ignores_and_extend_exclude_mistakes(
    project: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    configure(project, table)
    status, items, err = run(capsys, "kernels")
    assert status == 2 and items == []
    assert message in err and str(project / "pyproject.toml") in err
