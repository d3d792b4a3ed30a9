"""The result cache never changes a verdict, survives damage, and makes warm runs cheap."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from stile_static.check import cache as cache_module
from stile_static.check.cache import Cache
from stile_static.check.checker import Options, check_file
from stile_static.check.one_per_bug import AGREES
from stile_static.check.results import ProofForms, StoredReport, decode, encode
from stile_static.check.runner import Analysis, Checked, check_paths
from stile_static.core.diagnostics import Diagnostic, Span
from stile_static.report.cli import main

from .fixture_expectations import FIXTURES, fixture_files

FILES = [str(p) for p in fixture_files()]


def summary(checked: list[Checked]) -> list[tuple]:
    """Everything a reporter prints of each report."""
    return [
        (c.report.path, c.report.is_kernel, c.report.diagnostics, c.report.proved) for c in checked
    ]


@pytest.fixture(scope="module")
def uncached() -> list[Checked]:
    return check_paths(FILES, Analysis(), cache=None, jobs=1)


def test_cached_and_uncached_runs_agree_over_the_fixtures(
    tmp_path: Path, uncached: list[Checked]
) -> None:
    store = Cache.open(tmp_path / ".stile_cache")
    assert store is not None
    cold = check_paths(FILES, Analysis(), store, jobs=1)
    warm = check_paths(FILES, Analysis(), store, jobs=1)
    assert not any(c.cached for c in cold)
    assert all(c.cached for c in warm)
    assert summary(cold) == summary(warm) == summary(uncached)
    proved = sum(len(c.report.proved) for c in warm)
    assert proved == sum(len(c.report.proved) for c in uncached) > 0
    assert sum(len(c.report.diagnostics) for c in warm) > 0


def test_cached_report_equals_the_checker_report(tmp_path: Path) -> None:
    path = str(FIXTURES / "seed_matmul_scaled_twice.py")
    store = Cache.open(tmp_path)
    assert store is not None
    check_paths([path], Analysis(), store)
    (hit,) = check_paths([path], Analysis(), store)
    direct = check_file(path)
    assert hit.cached
    assert list(hit.report.diagnostics) == direct.diagnostics
    assert direct.diagnostics[0].related and direct.diagnostics[0].notes  # both kept


def test_options_are_part_of_the_key(tmp_path: Path) -> None:
    path = str(FIXTURES / "seed_matmul_scaled_twice.py")
    store = Cache.open(tmp_path)
    assert store is not None
    check_paths([path], Analysis(), store)
    (crossed,) = check_paths([path], Analysis(cross_check=True, seed=1), store)
    assert not crossed.cached
    assert any(AGREES in d.notes for d in crossed.report.diagnostics)
    (again,) = check_paths([path], Analysis(), store)
    assert again.cached and not any(AGREES in d.notes for d in again.report.diagnostics)


def test_an_edited_file_is_checked_again(tmp_path: Path) -> None:
    kernel = tmp_path / "k.py"
    source = (FIXTURES / "row_sum.py").read_text()
    kernel.write_text(source)
    store = Cache.open(tmp_path / "cache")
    assert store is not None
    (first,) = check_paths([str(kernel)], Analysis(), store)
    kernel.write_text(source.replace("range(0, 12, 4)", "range(0, 8, 4)"))
    (second,) = check_paths([str(kernel)], Analysis(), store)
    assert not second.cached
    assert not first.report.diagnostics
    assert [d.code for d in second.report.diagnostics] == ["STL032"]


def test_the_same_file_named_another_way_keeps_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache.open(tmp_path)
    assert store is not None
    absolute = str(FIXTURES / "row_sum_last_tile_skipped.py")
    check_paths([absolute], Analysis(), store)
    monkeypatch.chdir(FIXTURES)
    (hit,) = check_paths(["row_sum_last_tile_skipped.py"], Analysis(), store)
    assert hit.cached
    assert hit.report.path == "row_sum_last_tile_skipped.py"
    assert {d.path for d in hit.report.diagnostics} == {"row_sum_last_tile_skipped.py"}


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b"\x00\xff\xfe",
        b"[]",
        b'{"key": 3}',
        b'{"key": "KEY", "report": {"path": 1}}',
        b'{"key": "KEY", "report": {"path": "p", "is_kernel": true, "diagnostics": [{}],'
        b' "proved": []}}',
        b'{"key": "KEY", "report": {"path": "p", "is_kernel": true, "diagnostics": [],'
        b' "proved": [{"span": [1, 2], "target": "c", "status": "proved",'
        b' "kernel_form": "k", "spec_form": "s"}]}}',
    ],
)
def test_a_damaged_entry_is_a_miss(tmp_path: Path, damage: bytes) -> None:
    path = str(FIXTURES / "row_sum_last_tile_skipped.py")
    store = Cache.open(tmp_path)
    assert store is not None
    (first,) = check_paths([path], Analysis(), store)
    (entry,) = (tmp_path / f"v{cache_module.SCHEMA}").glob("*.json")
    key = json.loads(entry.read_text())["key"]
    entry.write_bytes(damage.replace(b"KEY", key.encode()))
    (again,) = check_paths([path], Analysis(), store)
    assert not again.cached
    assert summary([again]) == summary([first])
    (healed,) = check_paths([path], Analysis(), store)  # the entry was written anew
    assert healed.cached


def test_cache_folder_is_tagged_and_ignored_by_git(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / ".stile_cache"
    assert Cache.open(folder) is not None
    assert (
        (folder / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"


def test_an_unusable_cache_folder_is_no_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert Cache.open(blocker) is None
    path = str(FIXTURES / "row_sum.py")
    assert main(["check", path, "--cache-dir", str(blocker / "cache")]) == 0
    assert "1 obligation verified" in capsys.readouterr().out


def test_cli_uses_the_cache_and_no_cache_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    kernel = tmp_path / "k.py"
    kernel.write_text((FIXTURES / "row_sum.py").read_text())
    monkeypatch.chdir(tmp_path)
    assert main(["check", "k.py", "--no-cache"]) == 0
    assert not (tmp_path / ".stile_cache").exists()
    assert main(["check", "k.py"]) == 0
    assert list((tmp_path / ".stile_cache" / f"v{cache_module.SCHEMA}").glob("*.json"))
    capsys.readouterr()
    assert main(["check", "k.py", "--show-proofs"]) == 0
    out = capsys.readouterr().out
    assert "verified for sizes" in out and "out equals its spec" in out
    assert "= note: kernel: sum[N" in out


def test_a_warm_run_does_not_load_the_analyzer(tmp_path: Path) -> None:
    """The point of the cache: a hit skips importing NumPy, libcst and egglog."""
    script = (
        "import sys\n"
        "from stile_static.report.cli import main\n"
        f"status = main(['check', {str(FIXTURES)!r}, '--cache-dir', {str(tmp_path)!r}])\n"
        "print('LOADED' if 'stile_static.check.checker' in sys.modules else 'SKIPPED', status)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
        for _ in range(2)
    ]
    assert runs[1].stdout.splitlines()[-1] == "SKIPPED 1", runs[1].stderr
    assert runs[0].stdout.split("Checked")[0] == runs[1].stdout.split("Checked")[0]


def test_parallel_and_sequential_runs_agree(uncached: list[Checked]) -> None:
    parallel = check_paths(FILES, Analysis(), cache=None, jobs=2)
    assert summary(parallel) == summary(uncached)


def test_encoding_round_trips() -> None:
    span = Span(3, 5, 4, 1)
    report = StoredReport(
        "k.py",
        (
            Diagnostic(
                "k.py",
                span,
                "STL031",
                "wrong: `x` ≠ y",
                notes=("kernel: a", "spec: b"),
                help="fix it",
                related=((Span(1, 1, 1, 9), "spec"),),
            ),
            Diagnostic("k.py", Span(9, 1, 9, 2), "STL002", "unsupported", severity="warning"),
        ),
        ((span, "c", ProofForms("proved", "2 * x", "2 * x")),),
        True,
    )
    assert decode(json.loads(json.dumps(encode(report)))) == report


def test_runner_options_mirror_the_checker_options() -> None:
    names = [f.name for f in dataclasses.fields(Analysis)]
    assert names == [f.name for f in dataclasses.fields(Options)]
    assert Analysis() == Analysis(**dataclasses.asdict(Options()))


def test_cache_reads_the_rules_the_prover_reads() -> None:
    from stile_static.prover import egraph as prover

    assert cache_module.rules_dir() == prover.rules_dir()
