"""Whole-array torch operations of a Triton wrapper between and after launches."""

from __future__ import annotations

import textwrap

from stile_static.check.checker import check_source

PARTIALS = """\
import torch
import triton
import triton.language as tl


@triton.jit
def col_partial_kernel(x_ptr, p_ptr, M, N, stride_xm, BM: tl.constexpr, BN: tl.constexpr):
    pid = tl.program_id(0)
    rows = pid * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(x_ptr + rows[:, None] * stride_xm + cols[None, :], mask=mask, other=0.0)
    tl.store(p_ptr + pid * N + cols, tl.sum(x, axis=0), mask=cols < N)


# stile: return = {spec}
# stile: case M=40 N=12
# stile: case M=16 N=5
def col_sum(x):
    M, N = x.shape
    S = {splits}
    p = torch.empty((S, N), device=x.device, dtype=torch.float32)
    col_partial_kernel[(S,)](x, p, M, N, x.stride(0), BM=16, BN=triton.next_power_of_2(N))
    {body}
"""
RETURN = PARTIALS.splitlines().index("    {body}") + 1  # the line of `return`


def check(spec: str, body: str, splits: str = "triton.cdiv(M, 16)"):  # noqa: ANN201
    text = PARTIALS.format(spec=spec, body=body, splits=splits)
    return check_source(textwrap.dedent(text), "k.py")


def codes(report) -> set[tuple[int, str]]:  # noqa: ANN001
    return {(d.span.line, d.code) for d in report.diagnostics}


def test_a_host_sum_over_the_partials_of_a_launch_is_the_column_sum() -> None:
    for body in ("return p.sum(0)", "return torch.sum(p, dim=0)", "return p.sum(dim=(0,))"):
        report = check("sum[M](x[M N])", body)
        assert report.diagnostics == [], body
        assert report.proved


def test_a_host_sum_that_misses_a_block_of_rows_is_rejected_at_the_host_call() -> None:
    report = check("sum[M](x[M N])", "return p.sum(0)", splits="M // 16")
    assert (RETURN, "STL032") in codes(report)


def test_keepdim_and_a_squeezed_view_keep_the_values() -> None:
    report = check("sum[M](x[M N])", "return p.sum(0, keepdim=True).squeeze(0)")
    assert report.diagnostics == []
    assert report.proved


def test_host_exp_and_amax_follow_the_partials() -> None:
    spec = "exp(sum[M](x[M N]) - max[N](sum[M](x[M N])))"
    report = check(spec, "s = p.sum(0)\n    return torch.exp(s - s.amax())")
    assert report.diagnostics == []
    assert report.proved
    wrong = check(spec, "s = p.sum(0)\n    return torch.exp(s - s.amin())")
    assert (RETURN + 1, "STL031") in codes(wrong)


def test_a_sum_over_every_element_is_a_scalar() -> None:
    report = check("sum[M](sum[N](x[M N]))", "return p.sum()")
    assert report.diagnostics == []
    assert report.proved
    wrong = check("sum[M](sum[N](x[M N]))", "return p.amax()")
    assert {code for _, code in codes(wrong)} == {"STL031"}


def test_host_arithmetic_with_a_number_and_the_mean() -> None:
    report = check("sum[M](x[M N]) * 0.5 - 1", "return p.sum(0) * 0.5 - 1")
    assert report.diagnostics == []
    assert report.proved


def test_tensors_torch_cannot_broadcast_are_a_compile_error() -> None:
    # M=40 N=12: 12 column sums and 3 row sums do not broadcast (M=16: one row sum does)
    report = check("sum[M](x[M N])", "return p.sum(0) + p.sum(1)")
    assert (RETURN, "STL005") in codes(report)


def test_max_with_a_dim_returns_indices_and_is_not_followed() -> None:
    report = check("sum[M](x[M N])", "return p.max(0)")
    assert {code for _, code in codes(report)} == {"STL002"}


def test_a_reshape_that_merges_indexed_axes_is_not_followed() -> None:
    report = check("exp(sum[M](x[M N]))", "return p.sum(0).reshape(-1).exp()")
    assert report.diagnostics == []  # a 1-d reshape to itself keeps the axis
    merged = check("sum[M](sum[N](x[M N]))", "return p.reshape(-1).sum()")
    assert {code for _, code in codes(merged)} == {"STL002"}


def test_a_host_sum_over_elements_nothing_wrote_is_undefined() -> None:
    body = "q = torch.empty((2, N), device=x.device)\n    return (p.sum(0) + q.sum(0)) * 0"
    report = check("sum[M](x[M N]) * 0", body)
    assert (RETURN + 1, "STL044") in codes(report)
