"""The README and docs/ match what a user meets: codes, fixtures, installation, examples, tools/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from stile_static.core.diagnostics import CODES

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CODES_PAGE = DOCS / "codes.md"
TIMING_PAGE = DOCS / "timing.md"  # the fixture timing table


def _all_docs() -> str:
    """The front page and every page of the documentation site."""
    pages = [README, *sorted(DOCS.rglob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def test_the_front_page_is_short() -> None:
    assert len(README.read_bytes()) <= 15_000


def test_the_front_page_shows_the_real_output_of_its_examples() -> None:
    """Each `$ stile-static ...` block of the README is what that command prints."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import readme_examples
    finally:
        sys.path.remove(str(ROOT / "tools"))
    shown = readme_examples.blocks(README.read_text())
    assert len(shown) >= 4  # a verified and a caught run of each of Triton and Pallas
    for command, output in shown:
        assert output == readme_examples.run(command), (
            f"{command}: refresh with `.venv/bin/python tools/readme_examples.py`"
        )


def test_docs_pages_show_the_real_output_of_their_examples() -> None:
    """Each `$ stile-static ...` block of a docs page that runs on a repository file
    (fixtures/, examples/) is what that command prints; each command runs once."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import readme_examples
    finally:
        sys.path.remove(str(ROOT / "tools"))
    run = [
        (page.name, command)
        for page, every in readme_examples.pages()
        if not every
        for command, _ in readme_examples.blocks(page.read_text(), every)
    ]
    # the Triton page's softmax and the dialect page's three runs at least
    assert ("triton.md", "$ stile-static check fixtures/triton/softmax_other_zero.py") in run
    assert len(run) >= 4
    # a user's own folder is an illustration, not run
    assert not readme_examples.runs_on_repository_files("$ stile-static check kernels/")
    stale = readme_examples.stale_blocks()
    assert not stale, f"{stale}: refresh with `.venv/bin/python tools/readme_examples.py`"


def test_docs_list_every_code() -> None:
    text = CODES_PAGE.read_text()
    for code, info in CODES.items():
        assert f"| {code} | {info.name} | {info.summary} |" in text, code


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start : end if end > 0 else len(text)]


def test_fixture_table_matches_the_fixtures() -> None:
    """Every fixture has a row, and the row's verdict is the one written in the file."""
    from .fixture_expectations import FIXTURES, expected, fixture_files

    # a fixture in a subfolder is named by its path in fixtures/ (pallas/add.py)
    row = re.compile(r"^\| ([\w./]+\.py) \| [\d.]+[^|]* \| \d+ \| ([^|]+) \|$", re.M)
    rows = dict(row.findall(TIMING_PAGE.read_text()))
    files = fixture_files()
    names = [p.relative_to(FIXTURES).as_posix() for p in files]
    assert sorted(rows) == sorted(names)
    for path, name in zip(files, names):
        codes = sorted({code for _, code in expected(path)})
        assert rows[name].strip() == (", ".join(codes) or "verified"), name


def test_benchmarks_name_the_current_number_of_fixtures() -> None:
    from .fixture_expectations import fixture_files

    """A figure measured on fewer fixtures says so: the text names today's number."""
    notes = re.findall(r"`stile-static check fixtures/` \(([^)]*)\)", _all_docs())
    assert notes
    for note in notes:
        assert re.search(rf"\b{len(fixture_files())} files\b", note), note


def test_installation_works_without_pypi() -> None:
    install = _section("## Installation")
    assert ".venv/bin/pip install -e ." in install
    assert "pip install 'git+https://github.com/OWNER/stile-static@main'" in install
    assert "`OWNER/stile-static` is a placeholder" in install
    assert "There is no `stile` package to install, and checking never needs one" in install
    text = _all_docs()
    # not on PyPI: every pip install names a clone or a git URL
    for line in re.findall(r"pip install [^\n]*", text):
        assert "-e " in line or "git+https://" in line, line
    for line in text.splitlines():
        if "- repo: https://github.com/OWNER/" in line:
            assert "replace" in line, line


def test_install_snippets_name_refs_that_exist() -> None:
    """The pre-commit `rev` and every `git+...@REF` name the main branch or a real tag."""
    tags = subprocess.run(["git", "tag"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    text = _all_docs()
    revs = re.findall(r"^\s+rev: (\S+)", text, re.M)
    refs = re.findall(r"git\+https://github\.com/OWNER/stile-static@([^'\s#]+)", text)
    assert revs == ["main"]
    assert len(refs) >= 3
    for ref in revs + refs:
        assert ref == "main" or ref in tags, ref


def _stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


def _copy_tools(tmp_path: Path) -> Path:
    """The tools/ scripts in a project of their own, with stubs for what they run."""
    for name in ("_venv.sh", "demo"):
        copy = tmp_path / "tools" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text((ROOT / "tools" / name).read_text())
        copy.chmod(0o755)
    (tmp_path / "pyproject.toml").write_text("")
    _stub(tmp_path / ".venv" / "bin" / "python", 'echo "python $*" >> "$0.log"\n')
    return tmp_path


def test_set_up_says_that_it_is_installing(tmp_path: Path) -> None:
    root = _copy_tools(tmp_path)
    script = 'source tools/_venv.sh test; echo "venv=$venv"'
    first = subprocess.run(["bash", "-c", script], cwd=root, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("\n") == 1 and first.stderr.startswith("Installing stile-static")
    assert "pip install --quiet -e" in (root / ".venv/bin/python.log").read_text()
    again = subprocess.run(["bash", "-c", script], cwd=root, capture_output=True, text=True)
    assert again.returncode == 0 and again.stderr == ""  # installed: silent


def test_demo_says_where_the_full_report_went(tmp_path: Path) -> None:
    root = _copy_tools(tmp_path)
    (root / ".venv" / ".installed").touch()
    summary = "Checked 3 kernel files: 1 obligation verified, 2 errors."
    _stub(
        root / ".venv" / "bin" / "stile-static",
        f'echo "a.py:1:1: STL031 wrong"; echo "{summary}"\n'
        'case "$*" in "check fixtures/"|*scaled_twice*|*other_zero*|*no_correction*) exit 1;;'
        " *) exit 0;; esac\n",
    )
    demo = subprocess.run([str(root / "tools" / "demo")], cwd=root, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    lines = demo.stdout.splitlines()
    at = lines.index(summary)
    assert ".venv/demo-fixtures.txt" in lines[at + 1]
    assert (root / ".venv" / "demo-fixtures.txt").read_text().startswith("a.py:1:1: STL031")
