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
# stile: assume N <= 2**31
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


def test_without_a_case_line_searched_sizes_are_checked() -> None:
    report = check(ADD.format(body="tl.store(out_ptr + offs, x + y, mask=mask)"))
    (warning,) = report.diagnostics
    assert warning.code == "STL049" and warning.severity == "warning"
    assert report.proved


def test_a_store_without_the_mask_is_caught_at_searched_sizes() -> None:
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


FLAT_2D = (
    HEADER
    + """

@triton.jit
def scale_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n)
    {store}


# stile: return = 2 * x[M N]
# stile: assume x.is_contiguous()
# stile: case M=3 N=50
def scale(x):
    y = torch.empty_like(x){flat}
    scale_kernel[(triton.cdiv(x.numel(), 64),)](x, y, x.numel(), BLOCK=64)
    return y{back}
"""
)


def test_flat_blocks_crossing_rows_are_proven_element_by_element() -> None:
    right = "tl.store(y_ptr + offs, 2 * x, mask=offs < n)"
    for flat, back in (("", ""), (".view(-1)", ".view_as(x)")):
        report = check(FLAT_2D.format(store=right, flat=flat, back=back))
        assert report.diagnostics == [], [d.message for d in report.diagnostics]
        assert report.proved
    # each lane's value is pinned at the element it read: one element off is wrong
    shifted = "tl.store(y_ptr + offs + 1, 2 * x, mask=offs + 1 < n)"
    for flat, back in (("", ""), (".view(-1)", ".view_as(x)")):
        found = {
            d.code for d in check(FLAT_2D.format(store=shifted, flat=flat, back=back)).diagnostics
        }
        assert "STL031" in found, (flat, found)


PERSISTENT = (
    HEADER
    + """
{module}

@triton.jit
def copy_kernel(x_ptr, y_ptr, n_rows, N: tl.constexpr):
    for row in tl.range(tl.program_id(0), n_rows, {step}):
        cols = tl.arange(0, N)
        tl.store(y_ptr + row * N + cols, tl.load(x_ptr + row * N + cols))


# stile: return = x[M N]
# stile: assume x.is_contiguous()
# stile: case M=5 N=8
def copy(x):
    y = torch.empty_like(x)
    sms = {query}
    copy_kernel[({grid},)](x, y, x.shape[0], N=8)
    return y
"""
)


def test_a_device_query_is_checked_for_several_numbers_of_sms() -> None:
    query = "torch.cuda.get_device_properties(x.device).multi_processor_count"
    step = "tl.num_programs(0)"
    report = check(PERSISTENT.format(module="", query=query, grid="min(sms, 5)", step=step))
    assert report.diagnostics == []
    scopes = sorted(str(v.scope) for _, _, v in report.proved)
    assert scopes == sorted(
        f"case M=5 N=8, {n} (multi_processor_count)" for n in ("1 SM", "132 SMs", "3 SMs")
    )
    # a grid right for some devices only (4 programs, each every 4th row): found with
    # the value that shows it
    found = check(PERSISTENT.format(module="", query=query, grid="min(sms, 4)", step="4"))
    messages = [d.message for d in found.diagnostics if d.code == "STL040"]
    notes = [n for d in found.diagnostics for n in d.notes]
    assert messages and any("1 SM (" in n for n in notes), (messages, notes)


def test_a_device_query_at_module_level_is_unsupported() -> None:
    module = (
        "from triton.runtime import driver\n"
        "NUM_SM = driver.active.utils.get_device_properties(0)['multiprocessor_count']"
    )
    text = PERSISTENT.format(module=module, query="NUM_SM", grid="sms", step="tl.num_programs(0)")
    found = codes(text)
    assert any(code == "STL002" for _, code in found), found


DTYPE_TESTS = (
    HEADER
    + """

@triton.jit
def scale_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n).to(tl.float32)
    if x_ptr.dtype.element_ty == tl.float16:
        x = x * 2
    tl.store(y_ptr + offs, x.to(y_ptr.dtype.element_ty), mask=offs < n)


# stile: return = {spec}
# stile: case N=100
{line}
def scale(x):
    y = torch.empty_like(x)
    {host}
    scale_kernel[(triton.cdiv(x.numel(), 64),)](x, y, x.numel(), BLOCK=64)
    return y
"""
)


def test_dtype_tests_are_decided_from_the_annotation() -> None:
    def found(spec: str, line: str = "# (no dtype line)", host: str = "pass") -> set[str]:
        text = DTYPE_TESTS.format(spec=spec, line=line, host=host)
        return {d.code for d in check(text).diagnostics}

    # a pointer's element type is float32 without a dtype line, float16 with one
    assert found("x[N]") == set()
    assert found("2 * x[N]", "# stile: dtype x=float16") == set()
    assert found("x[N]", "# stile: dtype x=float16") == {"STL031"}
    # on the host, a tensor's dtype is the line's; without one a test of it is STL002
    test = "half = x.dtype == torch.float16"
    assert found("2 * x[N]", "# stile: dtype x=half", test) == {"STL023"}  # torch's alias
    assert found("2 * x[N]", "# stile: dtype x=float16", test) == set()
    assert found("x[N]", "# stile: dtype x=float32", test) == set()
    assert found("x[N]", host=test) == {"STL002"}
