"""Every verdict says what it covers: its case, default sizes, autotune config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stile_static.check.checker import check_file, check_source
from stile_static.check.results import StoredReport, decode, encode
from stile_static.core.scope import Scope
from stile_static.report.cli import main
from stile_static.report.reporters import proof_notes

FIXTURES = Path(__file__).parent.parent / "fixtures"
TRITON = FIXTURES / "triton"


def test_scope_text_of_each_kind() -> None:
    assert str(Scope("case", (("M", 7), ("N", 100)))) == "case M=7 N=100"
    assert Scope("case", (("M", 7), ("N", 100))).verdict == "for case M=7 N=100"
    searched = (("M", (1, 7)), ("N", (3, 100)))
    sampled = Scope("sampled", (("M", 7), ("N", 100)), chosen=("M", "N"), searched=searched)
    assert str(sampled) == "sizes M=7 N=100"
    assert sampled.verdict == "at sizes M in {1, 7}, N in {3, 100} only"
    assert sampled.of_every_run().sizes == ()
    partial = Scope(
        "sampled", (("M", 7), ("N", 3)), (("block", "32"),), chosen=("N",), searched=(("N", (3,)),)
    )
    assert str(partial) == "case M=7 block=32 at sizes N=3"
    assert partial.verdict == "for case M=7 block=32 at sizes N in {3} only"
    assert Scope("all-sizes").verdict == "for all sizes"
    assert Scope.from_json(partial.as_json()) == partial
    tuned = Scope("case", (("N", 5),), config="autotune config 2 of 3 (BLOCK=64)")
    assert str(tuned) == "case N=5, autotune config 2 of 3 (BLOCK=64)"
    assert str(Scope("all-sizes")) == "all sizes"
    assert Scope.from_json(tuned.as_json()) == tuned
    with pytest.raises(ValueError):
        Scope.from_json({"kind": "case"})


def test_each_case_of_a_triton_kernel_is_its_own_proof() -> None:
    report = check_file(str(TRITON / "softmax.py"))
    lines = [d.message for d in proof_notes(report)]
    assert lines == [
        "verified for case M=7 N=100: y equals its spec",
        "verified for case M=16 N=64: y equals its spec",
        "verified for case M=3 N=5: y equals its spec",
    ]


def test_autotune_configs_are_named_with_their_launch_options() -> None:
    report = check_file(str(TRITON / "matmul.py"))
    texts = {str(v.scope) for _, _, v in report.proved}
    assert len(texts) == len(report.proved) == 9  # 3 cases x 3 configs, none alike
    assert any(
        t.startswith("case M=40 K=70 N=50, autotune config 3 of 3 (") and "num_warps=2" in t
        for t in texts
    )


def test_searched_sizes_say_they_were_searched(tmp_path: Path) -> None:
    text = (TRITON / "vector_add.py").read_text()
    kernel = tmp_path / "vector_add.py"
    # the assumption excludes the sizes where `pid * BLOCK_SIZE` wraps (test_wrap_sizes.py)
    kept = "".join(line for line in text.splitlines(True) if "stile: case" not in line)
    spec = "# stile: return = x[N] + y[N]\n"
    kernel.write_text(kept.replace(spec, spec + "# stile: assume N <= 2**31\n"))
    report = check_file(str(kernel))
    scopes = {v.scope for _, _, v in report.proved}
    (scope,) = scopes  # every run's proof has one scope: the sizes checked
    assert scope is not None and scope.kind == "sampled" and scope.chosen == ("N",)
    assert {1, 63, 64, 65, 127, 128, 129} <= set(dict(scope.searched)["N"])  # BLOCK_SIZE=64
    (note,) = proof_notes(report)
    assert note.message.startswith("verified at sizes N in {1, ")
    assert " only: return equals its spec" in note.message
    assert "verified for all sizes" not in note.message
    (warning,) = report.diagnostics
    assert warning.code == "STL049" and warning.severity == "warning"
    assert warning.message.startswith(f"verified {scope.verdict}: no proof for all sizes yet (")
    assert warning.span.line == next(
        i + 1 for i, line in enumerate(kernel.read_text().splitlines()) if "# stile:" in line
    )


def test_warnings_as_errors_fails_the_run_on_searched_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kernel = tmp_path / "add.py"
    kernel.write_text((FIXTURES / "pallas" / "add_whole_blocks_searched.py").read_text())
    assert main(["check", str(kernel), "--no-cache"]) == 0
    assert main(["check", str(kernel), "--no-cache", "--warnings-as-errors", "STL049"]) == 1
    assert "STL049 verified at sizes N in {128, 256} only" in capsys.readouterr().out
    (tmp_path / "pyproject.toml").write_text(
        '[tool.stile-static]\nwarnings-as-errors = ["STL049"]\n'
    )
    assert (
        main(["check", str(kernel), "--no-cache", "--config", str(tmp_path / "pyproject.toml")])
        == 1
    )


def test_triton_finding_of_the_interpreter_names_its_case() -> None:
    (d,) = [d for d in check_file(str(TRITON / "softmax_store_unmasked.py")).diagnostics]
    assert d.code == "STL042"
    assert d.scope is not None and d.scope.kind == "case"
    assert f"in {d.scope}" in d.notes


def test_pallas_findings_name_their_case() -> None:
    report = check_file(str(FIXTURES / "pallas" / "add_block_past_end.py"))
    found = [d for d in report.diagnostics if d.code == "STL042"]
    assert found
    for d in found:
        assert d.scope is not None
        size = dict(d.scope.sizes)["N"]
        assert f"(N has {size})" in d.message and f"in {d.scope}" in d.notes


def test_pallas_blocks_proven_alike_are_one_entry() -> None:
    report = check_file(str(FIXTURES / "pallas" / "matmul.py"))
    notes = proof_notes(report)
    assert len(notes) < len(report.proved)
    assert any(n.message.endswith("obligations)") for n in notes)


def test_json_and_the_cache_carry_the_scope(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(TRITON / "matmul_k_loop_short.py")
    assert main(["check", path, "--format", "json", "--no-cache"]) == 1
    (item,) = [i for i in json.loads(capsys.readouterr().out) if i["code"] == "STL032"]
    assert item["scope"]["sizes"] == {"M": 40, "K": 70, "N": 50}
    assert item["scope"]["config"].startswith("autotune config 1 of 3")
    assert f"in {item['scope']['text']}" in item["notes"]
    stored = StoredReport.of(check_file(str(TRITON / "softmax.py")))
    assert decode(json.loads(json.dumps(encode(stored)))) == stored
    assert all(forms.scope is not None for _, _, forms in stored.proved)


NOT_PROVEN_TRITON = """
import torch
import triton
import triton.language as tl


@triton.jit
def scale_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x * 0.5773502691896258, mask=mask)


# stile: return = x[N] / sqrt(3)
# stile: case N=100
def scale(x: torch.Tensor):
    out = torch.empty_like(x)
    n = out.numel()
    scale_kernel[(triton.cdiv(n, 32),)](x, out, n, BLOCK=32)
    return out
"""


def test_not_proven_help_fits_the_dialect() -> None:
    """`assert_equivalent` exists only in the typed-NumPy dialect: a Triton author is
    told what to change in the spec or the kernel instead."""
    (triton,) = check_source(NOT_PROVEN_TRITON, "scale.py").diagnostics
    assert triton.code == "STL033" and triton.help is not None
    assert "assert_equivalent" not in triton.help and "tl.exp2" in triton.help
    assert "in case N=100" in triton.notes
    (numpy,) = check_file(str(FIXTURES / "not_proven.py")).diagnostics
    assert numpy.code == "STL033" and numpy.help is not None
    assert "assert_equivalent" in numpy.help


ANNOTATION_MISTAKES = """
import torch
import triton
import triton.language as tl


@triton.jit
def k(x_ptr, w_ptr, y_ptr):
    pass


# stile: y = x[M K] @ W[N K].T
# stile: case M=7 N=8 K=4
def transposed(x, W, y):
    k[(1,)](x, W, y)


# stile: y = (x[M K], w[N K] -> M N)
# stile: case M=7 N=8 K=4
def lower_case(x, W, y):
    k[(1,)](x, W, y)


# stile: y = x[M N]
# stile: case M=7, N=100
def commas(x, y):
    k[(1,)](x, x, y)


# stile: return = x[M N]
# stile: case M=7 N=100
def in_place(x, y):
    k[(1,)](x, x, y)
"""


def test_annotation_mistakes_are_told_the_right_form() -> None:
    found = check_source(ANNOTATION_MISTAKES, "ann.py").diagnostics
    by_line = {d.span.line: d for d in found}
    assert [d.code for d in found] == ["STL022", "STL022", "STL023", "STL023"]
    matmul = by_line[12]
    assert "`@`" in matmul.message and "(x[M K], W[N K] -> M N)" in (matmul.help or "")
    assert by_line[18].help == "did you mean `W`?"
    commas = by_line[25]
    assert "not commas" in commas.message and "case M=7 N=100" in (commas.help or "")
    assert (commas.span.column, commas.span.end_column) == (18, 19)  # the comma itself
    assert "# stile: y = SPEC" in (by_line[31].help or "")
