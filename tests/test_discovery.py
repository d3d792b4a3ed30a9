"""Which files a run checks: folders searched, globs matched from the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

from stile_static.check.discovery import FileFilter, Glob, kernel_files


@pytest.mark.parametrize(
    ("glob", "text", "matches"),
    [
        ("*.py", "a.py", True),
        ("*.py", "a.pyc", False),
        ("kernels/*.py", "kernels/a.py", True),
        ("kernels/*.py", "kernels/x/a.py", False),
        ("kernels/**/*.py", "kernels/a.py", True),
        ("kernels/**/*.py", "kernels/x/y/a.py", True),
        ("**/gen", "gen", True),
        ("**/gen", "a/b/gen", True),
        ("./build/", "build", True),
        ("k?.py", "k1.py", True),
        ("k[0-3].py", "k2.py", True),
        ("k[!0-3].py", "k2.py", False),
        ("k[.py", "k[.py", True),
        ("a+b.py", "a+b.py", True),
    ],
)
def test_globs(glob: str, text: str, matches: bool) -> None:
    assert Glob(glob).matches(text) is matches


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in [
        "a.py",
        "b/c.py",
        "b/d.txt",
        "b/gen/e.py",
        ".venv/lib/f.py",
        "node_modules/g.py",
        ".stile_cache/h.py",
        "z/y/x.py",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    return tmp_path


def found(tree: Path, *paths: str, **globs: list[str]) -> list[str]:
    file_filter = FileFilter.of(tree, globs.get("include", ["*.py"]), globs.get("exclude", []))
    return [Path(p).relative_to(tree).as_posix() for p in kernel_files(paths, file_filter)]


def test_folders_are_searched_in_order_skipping_environments(tree: Path) -> None:
    assert found(tree, str(tree)) == ["a.py", "b/c.py", "b/gen/e.py", "z/y/x.py"]


def test_exclude_by_name_and_by_path(tree: Path) -> None:
    assert found(tree, str(tree), exclude=["gen"]) == ["a.py", "b/c.py", "z/y/x.py"]
    assert found(tree, str(tree), exclude=["b/gen/*.py", "z"]) == ["a.py", "b/c.py"]
    assert found(tree, str(tree / "b" / "c.py"), exclude=["b"]) == []


def test_named_files_are_kept_even_when_missing(tree: Path) -> None:
    assert found(tree, str(tree / "b" / "d.txt"), str(tree / "nope.py")) == ["b/d.txt", "nope.py"]


def test_paths_outside_the_root_match_by_name(
    tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "k.py").write_text("")
    file_filter = FileFilter.of(tree, ["*.py"], ["k.py"])
    assert kernel_files([str(elsewhere)], file_filter) == []
    assert kernel_files([str(elsewhere)], FileFilter.of(tree, ["*.py"], [])) == [
        str(elsewhere / "k.py")
    ]
