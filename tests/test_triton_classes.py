"""One generic program per class of programs (frontends/triton/program_classes.py): the
fast path is taken where it applies, at any grid size, and gives exactly the findings of
the program-by-program path; where it does not apply, that path runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from stile_static.check.checker import check_source
from stile_static.frontends.triton import program_classes as P

FIXTURES = Path(__file__).parent.parent / "fixtures" / "triton"

KERNEL = """
import torch
import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(axis=0)
    offs = {offsets}
    mask = {mask}
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x + y, mask=mask)


# stile: return = x[N] + y[N]
{cases}
def add(x: torch.Tensor, y: torch.Tensor):
    out = torch.empty_like(x)
    n = out.numel()
    add_kernel[({grid},)](x, y, out, n, BLOCK={block})
    return out
"""

GOOD = {"offsets": "pid * BLOCK + tl.arange(0, BLOCK)", "mask": "offs < n"}
GRID = "triton.cdiv(n, {block})"


def source(sizes: list[int], block: int = 64, grid: str = GRID, **kernel: str) -> str:
    parts = {**GOOD, **kernel}
    cases = "\n".join(f"# stile: case N={n}" for n in sizes)
    return KERNEL.format(cases=cases, grid=grid.format(block=block), block=block, **parts)


def check(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[set, dict]:
    monkeypatch.setattr(P, "ENABLED", fast)
    for key in P.COUNTS:
        monkeypatch.setitem(P.COUNTS, key, 0)
    report = check_source(text, "kernel.py")
    found = {(d.span.line, d.code, d.message) for d in report.diagnostics}
    return found, dict(P.COUNTS)


def test_vector_add_at_a_million_elements_runs_two_classes(monkeypatch):
    found, counts = check(source([2**20 + 7], block=1024), True, monkeypatch)
    assert found == set()
    assert counts["programs"] == 0  # no program run one by one
    assert counts["classes"] == 2  # the interior and the ragged last program
    assert counts["generic_launches"] == 1


def test_vector_add_at_two_to_the_thirty(monkeypatch):
    found, counts = check(source([2**30], block=1024), True, monkeypatch)
    assert found == set()
    assert counts == {"classes": 1, "generic_launches": 1, "programs": 0}


@pytest.mark.parametrize("sizes", [[200], [256], [37, 129, 1000]])
def test_same_verdict_as_program_by_program(monkeypatch, sizes):
    fast, counts = check(source(sizes), True, monkeypatch)
    slow, _ = check(source(sizes), False, monkeypatch)
    assert fast == slow == set()
    assert counts["generic_launches"] >= 1


# kernels the fast path must refuse: each finding is the program-by-program path's
REFUSED = {
    "pid_modulo": (
        {"offsets": "(pid % 4) * BLOCK + tl.arange(0, BLOCK)"},
        [1000],
        GRID,
        "STL040",
    ),
    "overlapping_programs": (
        {"offsets": "pid * (BLOCK // 2) + tl.arange(0, BLOCK)"},
        [256],
        GRID,
        "STL041",
    ),
    "holes_between_programs": (
        {"offsets": "pid * (2 * BLOCK) + tl.arange(0, BLOCK)"},
        [512],
        "triton.cdiv(n, 2 * {block})",
        "STL040",
    ),
    "unmasked_ragged_last_program": ({"mask": "offs < n + BLOCK"}, [200], GRID, "STL042"),
    "mask_off_by_one": ({"mask": "offs <= n"}, [200], GRID, "STL042"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_kernels_report_as_program_by_program(monkeypatch, name):
    kernel, sizes, grid, code = REFUSED[name]
    fast, counts = check(source(sizes, grid=grid, **kernel), True, monkeypatch)
    slow, _ = check(source(sizes, grid=grid, **kernel), False, monkeypatch)
    assert code in {c for _, c, _ in slow}
    assert fast == slow
    assert counts["programs"] > 0  # the launch ran program by program


def test_read_of_an_earlier_launch_output_is_not_generic(monkeypatch):
    text = (FIXTURES / "softmax_two_launches.py").read_text()
    fast, counts = check(text, True, monkeypatch)
    slow, _ = check(text, False, monkeypatch)
    assert fast == slow
    assert counts["generic_launches"] == 0


@pytest.mark.parametrize(
    "name",
    [
        "vector_add.py",
        "vector_add_grid_floor.py",
        "vector_add_mask_off_by_one.py",
        "softmax.py",
        "softmax_other_zero.py",
        "softmax_no_other.py",
        "softmax_store_unmasked.py",
        "layer_norm.py",
        "layer_norm_var_unmasked.py",
        "layer_norm_tutorial.py",
        "rms_norm_offset_ignored.py",
    ],
)
def test_fixtures_same_findings_either_way(monkeypatch, name):
    text = (FIXTURES / name).read_text()
    fast, counts = check(text, True, monkeypatch)
    slow, _ = check(text, False, monkeypatch)
    assert fast == slow
    assert counts["classes"] > 0


def test_int32_wrap_past_two_to_the_thirty_one_is_stl046_at_once(monkeypatch):
    # 2**31 + 1024 elements: the class is cut at the first program whose offset wraps,
    # which runs alone and stops the launch with STL046, as program by program
    found, counts = check(source([2**31 + 1024], block=1024), True, monkeypatch)
    assert {c for _, c, _ in found} == {"STL046"}
    assert counts["programs"] == 0
    assert counts["classes"] == 1  # the programs before the wrap


@pytest.mark.parametrize("sizes", [[2**15 + 64], [2**15 - 64]])
def test_int16_wrap_same_as_program_by_program(monkeypatch, sizes):
    kernel = {"offsets": "(pid * BLOCK + tl.arange(0, BLOCK)).to(tl.int16)"}
    fast, counts = check(source(sizes, **kernel), True, monkeypatch)
    slow, _ = check(source(sizes, **kernel), False, monkeypatch)
    assert fast == slow
    assert counts["programs"] == 0
    assert ("STL046" in {c for _, c, _ in slow}) == (sizes[0] > 2**15)


def test_softmax_at_65536_rows_is_one_class(monkeypatch):
    text = (FIXTURES / "softmax.py").read_text()
    head, _, tail = text.partition("# stile: case M=7 N=100\n")
    text = head + "# stile: case M=65536 N=1024\n" + tail
    text = text.replace("# stile: case M=16 N=64\n", "").replace("# stile: case M=3 N=5\n", "")
    found, counts = check(text, True, monkeypatch)
    assert found == set()
    assert counts == {"classes": 1, "generic_launches": 1, "programs": 0}


def test_layer_norm_at_65536_rows_of_4096_is_one_class(monkeypatch):
    text = (FIXTURES / "layer_norm.py").read_text()
    text = text.replace("# stile: case M=5 N=100\n", "# stile: case M=65536 N=4096\n")
    text = text.replace("# stile: case M=8 N=64\n", "").replace("# stile: case M=3 N=40\n", "")
    found, counts = check(text, True, monkeypatch)
    assert found == set()
    assert counts == {"classes": 1, "generic_launches": 1, "programs": 0}


def test_a_two_launch_case_runs_program_by_program(monkeypatch):
    # a later launch may read what this one wrote: only one-launch cases run generically
    text = (FIXTURES / "column_normalize.py").read_text()
    fast, counts = check(text, True, monkeypatch)
    slow, _ = check(text, False, monkeypatch)
    assert fast == slow
    assert counts["generic_launches"] == 0 and counts["programs"] > 0


def with_case(name: str, case: str) -> str:
    """A fixture with its case lines replaced by the one case ``case``."""
    lines = (FIXTURES / name).read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("# stile: case ")]
    at = next(i for i, line in enumerate(lines) if line.startswith("# stile: case "))
    return "".join(kept[:at] + [f"# stile: case {case}\n"] + kept[at:])


def test_grouped_ordering_matmul_is_one_class_per_config(monkeypatch):
    # pid // num_pid_in_group, pid % ..., min(...): derived program ids, computed for
    # every program at once; (pid_m, pid_n) is a bijection onto the blocks of C
    text = with_case("matmul.py", "M=128 N=96 K=64")
    fast, counts = check(text, True, monkeypatch)
    slow, _ = check(text, False, monkeypatch)
    assert fast == slow == set()
    assert counts == {"classes": 3, "generic_launches": 3, "programs": 0}


def test_flash_attention_two_dim_grid_is_one_class(monkeypatch):
    # program_id(0) and program_id(1) both symbolic; off_hb // H and off_hb % H derived
    text = with_case("flash_attn_fwd.py", "Z=2 H=3 Nq=64 Nk=96 D=16")
    fast, counts = check(text, True, monkeypatch)
    slow, _ = check(text, False, monkeypatch)
    assert fast == slow == set()
    assert counts == {"classes": 1, "generic_launches": 1, "programs": 0}


def test_two_dim_grid_matmul_runs_generically(monkeypatch):
    text = (FIXTURES / "matmul_b_transposed.py").read_text()
    fast, counts = check(text, True, monkeypatch)
    slow, _ = check(text, False, monkeypatch)
    assert fast == slow
    assert counts["programs"] == 0 and counts["generic_launches"] > 0


def test_grouped_ordering_that_is_no_bijection_runs_program_by_program(monkeypatch):
    text = (FIXTURES / "matmul_grouped_last_group_short.py").read_text()
    fast, counts = check(text, True, monkeypatch)
    slow, _ = check(text, False, monkeypatch)
    assert {c for _, c, _ in slow} == {"STL040", "STL041"}
    assert fast == slow
    assert counts["generic_launches"] == 0 and counts["programs"] > 0


def test_the_bijection_check_is_what_catches_a_short_last_group(monkeypatch):
    # without it, every store's box would pass: the check is not decorative
    text = (FIXTURES / "matmul_grouped_last_group_short.py").read_text()
    monkeypatch.setattr(P, "_bijection", lambda keys, programs: True)
    found, counts = check(text, True, monkeypatch)
    assert found == set() and counts["programs"] == 0


def test_modulo_of_offsets_within_range_is_generic(monkeypatch):
    kernel = {"offsets": "(pid * BLOCK + tl.arange(0, BLOCK)) % n"}
    fast, counts = check(source([1024], **kernel), True, monkeypatch)
    slow, _ = check(source([1024], **kernel), False, monkeypatch)
    assert fast == slow == set()
    assert counts == {"classes": 1, "generic_launches": 1, "programs": 0}


@pytest.mark.parametrize(
    "offsets,sizes",
    [
        ("(pid * BLOCK + tl.arange(0, BLOCK)) % n", [1000]),  # the last block wraps: STL041
        ("(pid * BLOCK + tl.arange(0, BLOCK)) // 2", [256]),  # lanes share elements
        ("(pid // 2) * BLOCK + tl.arange(0, BLOCK)", [512]),  # two programs, one block
        ("(pid % 3) * BLOCK + tl.arange(0, BLOCK)", [1000]),  # blocks never written
        ("(tl.minimum(pid, 5)) * BLOCK + tl.arange(0, BLOCK)", [1000]),
    ],
)
def test_division_of_program_ids_same_as_program_by_program(monkeypatch, offsets, sizes):
    fast, counts = check(source(sizes, offsets=offsets), True, monkeypatch)
    slow, _ = check(source(sizes, offsets=offsets), False, monkeypatch)
    assert slow and fast == slow
    assert counts["programs"] > 0


def test_a_rotation_of_the_program_ids_is_generic(monkeypatch):
    # (pid + 1) % 8: derived, a bijection of the 8 programs onto the 8 blocks
    offsets = "((pid + 1) % 8) * BLOCK + tl.arange(0, BLOCK)"
    fast, counts = check(source([512], offsets=offsets), True, monkeypatch)
    slow, _ = check(source([512], offsets=offsets), False, monkeypatch)
    assert fast == slow == set()
    assert counts == {"classes": 1, "generic_launches": 1, "programs": 0}
