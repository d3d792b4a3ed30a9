"""``tl.atomic_add``/``atomic_max``/``atomic_min``: contributions of several programs into one
element commute; what the analyzer cannot follow about them is STL002."""

from __future__ import annotations

import textwrap

from stile_static.check.checker import check_source

ROW_SUM = """\
import torch
import triton
import triton.language as tl


@triton.jit
def k(x_ptr, y_ptr, N, stride_xm, BLOCK_N: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    x = tl.load(x_ptr + row * stride_xm + cols, mask=cols < N, other={other})
    {body}


# stile: return = {spec}
# stile: case M=3 N=50
def f(x):
    M, N = x.shape
    y = {alloc}
    k[(M, triton.cdiv(N, 16))](x, y, N, x.stride(0), BLOCK_N=16)
    return y
"""
BODY = 11  # the line of {body}


def codes(
    body: str = "tl.atomic_add(y_ptr + row, tl.sum(x, axis=0))",
    alloc: str = "torch.zeros((M,), device=x.device)",
    spec: str = "sum[N](x[M N])",
    other: str = "0.0",
) -> tuple[set[tuple[int, str]], int]:
    text = ROW_SUM.format(body=body, alloc=alloc, spec=spec, other=other)
    report = check_source(textwrap.dedent(text), "k.py")
    return {(d.span.line, d.code) for d in report.diagnostics}, len(report.proved)


def test_programs_adding_into_one_element_sum_their_contributions() -> None:
    assert codes() == (set(), 1)


def test_a_contribution_missing_is_an_incomplete_sum() -> None:
    body = "if tl.program_id(1) > 0:\n        tl.atomic_add(y_ptr + row, tl.sum(x, axis=0))"
    found, _ = codes(body=body)
    assert {c for _, c in found} == {"STL032"}


def test_adding_into_undefined_memory_is_caught_at_the_atomic() -> None:
    found, _ = codes(alloc="torch.empty((M,), device=x.device)")
    assert found == {(BODY, "STL044")}


def test_atomic_max_from_minus_infinity_is_the_maximum() -> None:
    max_body = "tl.atomic_max(y_ptr + row, tl.max(x, axis=0))"
    full = "torch.full((M,), float('-inf'), device=x.device)"
    assert codes(max_body, full, "max[N](x[M N])", "float('-inf')") == (set(), 1)
    # from zeros, the maximum of negative rows is 0: wrong
    found, _ = codes(max_body, "torch.zeros((M,))", "max[N](x[M N])", "float('-inf')")
    assert {c for _, c in found} == {"STL031"}


def test_atomic_min_is_the_minimum() -> None:
    body = "tl.atomic_min(y_ptr + row, tl.min(x, axis=0))"
    full = "torch.full((M,), float('inf'), device=x.device)"
    assert codes(body, full, "-max[N](-x[M N])", "float('inf')") == (set(), 1)


def test_the_old_value_is_unsupported_where_it_is_used() -> None:
    body = "old = tl.atomic_add(y_ptr + row, tl.sum(x, axis=0))\n    tl.store(y_ptr + row, old)"
    found, _ = codes(body=body)
    assert found == {(BODY + 1, "STL002")}


def test_the_old_value_unused_changes_nothing() -> None:
    body = "old = tl.atomic_add(y_ptr + row, tl.sum(x, axis=0), sem='relaxed', scope='gpu')"
    assert codes(body=body) == (set(), 1)


def test_cta_scope_is_unsupported_at_its_argument() -> None:
    found, _ = codes(body="tl.atomic_add(y_ptr + row, tl.sum(x, axis=0), scope='cta')")
    assert found == {(BODY, "STL002")}


def test_an_unknown_memory_semantic_is_refused_by_the_compiler() -> None:
    found, _ = codes(body="tl.atomic_add(y_ptr + row, tl.sum(x, axis=0), sem='strict')")
    assert found == {(BODY, "STL005")}


def test_a_plain_store_beside_atomics_of_other_programs_is_a_race() -> None:
    body = (
        "if tl.program_id(1) == 0:\n"
        "        tl.store(y_ptr + row, tl.sum(x, axis=0))\n"
        "    else:\n"
        "        tl.atomic_add(y_ptr + row, tl.sum(x, axis=0))"
    )
    found, _ = codes(body=body, alloc="torch.empty((M,))")
    assert (BODY + 3, "STL047") in found


def test_a_load_of_what_other_programs_add_is_a_race() -> None:
    body = (
        "tl.atomic_add(y_ptr + row, tl.sum(x, axis=0))\n"
        "    total = tl.load(y_ptr + row)\n"
        "    tl.store(y_ptr + row, total)"
    )
    found, _ = codes(body=body)
    assert (BODY + 1, "STL047") in found


ADD = """\
import torch
import triton
import triton.language as tl


@triton.jit
def k(x_ptr, y_ptr, N, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < N, other=0.0)
    tl.atomic_add(y_ptr + offs, 2 * x, mask={mask})


# stile: return = 2 * x[N]
# stile: case N=40
def f(x):
    y = torch.zeros_like(x)
    k[(triton.cdiv(x.shape[0], 16),)](x, y, x.shape[0], BLOCK=16)
    return y
"""


def test_the_mask_of_an_atomic_is_checked_like_a_stores() -> None:
    def found(mask: str) -> set[tuple[int, str]]:
        report = check_source(ADD.format(mask=mask), "k.py")
        return {(d.span.line, d.code) for d in report.diagnostics}

    assert found("offs < N") == set()
    assert found("offs <= N") == {(10, "STL042")}
    assert {c for _, c in found("offs < N - 1")} == {"STL040"}
