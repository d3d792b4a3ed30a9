"""The Triton front end beyond the fixtures: hovers, default cases, what is STL002."""

from __future__ import annotations

import sys
import textwrap

from stile_static.check.checker import check_source

from .fixture_expectations import FIXTURES

HEADER = """\
import torch
import triton
import triton.language as tl
"""

ADD = (
    HEADER
    + """

@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    {body}


# stile: return = x[N] + y[N]
def add(x, y):
    out = torch.empty_like(x)
    n = out.numel()
    add_kernel[(triton.cdiv(n, 32),)](x, y, out, n, BLOCK=32)
    return out
"""
)


def check(text: str):  # noqa: ANN201
    return check_source(textwrap.dedent(text), "k.py")


def codes(text: str) -> set[tuple[int, str]]:
    return {(d.span.line, d.code) for d in check(text).diagnostics}


def test_without_a_case_line_the_default_sizes_are_checked() -> None:
    report = check(ADD.format(body="tl.store(out_ptr + offs, x + y, mask=mask)"))
    assert report.diagnostics == []
    assert report.proved


def test_a_store_without_the_mask_is_caught_with_the_default_sizes() -> None:
    found = codes(ADD.format(body="tl.store(out_ptr + offs, x + y)"))
    assert (12, "STL042") in found  # a default size no block of 32 divides


def test_a_branch_on_data_is_unsupported_at_its_location() -> None:
    body = "if tl.sum(x, axis=0) > 0:\n        tl.store(out_ptr + offs, x + y, mask=mask)"
    found = codes(ADD.format(body=body))
    assert (12, "STL002") in found


def test_a_comparison_of_data_is_only_a_condition_of_tl_where() -> None:
    body = "tl.store(out_ptr + offs, tl.where(x > y, x, y), mask=mask)"
    assert codes(ADD.format(body=body)) == {(12, "STL031")}  # maximum, not x + y
    for use in ("mask=x > 0", "mask=mask & (x > 0)"):
        found = codes(ADD.format(body=f"tl.store(out_ptr + offs, x + y, {use})"))
        assert (12, "STL002") in found, use


def test_an_unknown_triton_function_is_unsupported_at_its_location() -> None:
    body = "tl.atomic_xchg(out_ptr + offs, x + y, mask=mask)"
    found = codes(ADD.format(body=body))
    assert (12, "STL002") in found


def test_a_while_loop_in_a_kernel_is_unsupported() -> None:
    body = "while n > 0:\n        n = n - 1\n    tl.store(out_ptr + offs, x + y, mask=mask)"
    found = codes(ADD.format(body=body))
    assert (12, "STL002") in found


def test_storing_a_lane_twice_is_caught_at_the_store() -> None:
    body = "tl.store(out_ptr + offs // 2, tl.sum(x, axis=0), mask=mask)"
    found = codes(ADD.format(body=body))
    assert (12, "STL041") in found


def test_hover_shows_a_blocks_dims_and_pieces() -> None:
    report = check_source((FIXTURES / "triton" / "softmax.py").read_text(), "softmax.py")
    hovers = [v.hover() for v in report.tile_types.values()]
    row = [h for h in hovers if h.startswith("DimType: N[0:") and "x[M, N]" in h]
    assert row, hovers
    assert any("M=" in h for h in row)  # the row a program owns is fixed


def test_checking_triton_files_imports_neither_triton_nor_torch() -> None:
    for path in sorted((FIXTURES / "triton").glob("*.py"))[:6]:
        check_source(path.read_text(), str(path))
    assert "triton" not in sys.modules
    assert "torch" not in sys.modules


ROW_SUM_N1 = (
    HEADER
    + """

@triton.jit
def row_sum_kernel(x_ptr, y_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=mask, other=0.0)
    tl.store(y_ptr + rows, {value}, mask=rows < M)


# stile: assume x.is_contiguous()
# stile: return = sum[N](x[M N])
# stile: case M=5 N=1
def row_sum(x):
    M, N = x.shape
    y = torch.empty((M,), device=x.device, dtype=torch.float32)
    row_sum_kernel[(triton.cdiv(M, 4),)](x, y, M, N, BM=4, BN=triton.next_power_of_2(N))
    return y
"""
)


def test_a_row_sum_over_rows_of_one_element_is_verified() -> None:
    # one lane along N: the block fixes N=0, and the stored sum is x at N=0
    report = check(ROW_SUM_N1.format(value="tl.sum(x, axis=1)"))
    assert report.diagnostics == []
    assert report.proved
    wrong = check(ROW_SUM_N1.format(value="tl.sum(x, axis=1) * 2"))
    assert {d.code for d in wrong.diagnostics} == {"STL031"}


LIBENTRY = (
    HEADER
    + """
from {module} import libentry


@libentry()
@triton.jit
def copy_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


# stile: return = x[N]
# stile: case N=40
def copy(x):
    y = torch.empty_like(x)
    copy_kernel[(triton.cdiv(40, 16),)](x, y, x.numel(), BLOCK=16)
    return y
"""
)


def test_flaggems_relative_libentry_is_followed_and_other_relative_imports_are_not() -> None:
    assert check(LIBENTRY.format(module="..utils")).proved
    assert check(LIBENTRY.format(module="..utils")).diagnostics == []
    for module in ("..other", ".triton", "..utils.sub"):
        found = {d.code for d in check(LIBENTRY.format(module=module)).diagnostics}
        assert found == {"STL002"}, module
