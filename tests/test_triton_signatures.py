"""Triton and torch calls bind the real signatures; what the compiler refuses is STL005."""

from __future__ import annotations

import textwrap

import pytest

from stile_static.check.checker import check_source
from stile_static.core.errors import KernelError
from stile_static.frontends.triton import signatures as S
from stile_static.interpreter.scopes import Signature, bind_signature

HEADER = """\
import torch
import triton
import triton.language as tl
{globals}

@triton.jit
def k(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    {body}


# stile: return = x[N]
# stile: assume N <= 2**31
def f(x):
    out = torch.empty_like(x)
    n = out.numel()
    {host}
    k[(triton.cdiv(n, BLOCK),)](x, out, n, BLOCK=BLOCK)
    return out
"""
BODY_LINE = 10  # the line of {body}'s first statement
ARANGE_LINE = 8


def source(body: str, host: str = "BLOCK = 32", globals: str = "") -> str:
    return HEADER.format(body=body, host=host, globals=globals)


def found(body: str, host: str = "BLOCK = 32", globals: str = "") -> list:
    """The findings; the STL049 of a verdict at searched sizes only (no case line) is
    the test of the plain copy's own."""
    report = check_source(textwrap.dedent(source(body, host, globals)), "k.py")
    return [d for d in report.diagnostics if d.code != "STL049"]


def line_of(text: str, snippet: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if snippet in line)


def at(diagnostics: list, code: str) -> list[tuple[int, int]]:
    return [(d.span.line, d.span.column) for d in diagnostics if d.code == code]


COPY = "x = tl.load(x_ptr + offs, mask=mask)\n    tl.store(out_ptr + offs, x, mask=mask)"


def test_the_plain_copy_is_verified() -> None:
    assert found(COPY) == []
    report = check_source(textwrap.dedent(source(COPY, "BLOCK = 32", "")), "k.py")
    (warning,) = report.diagnostics
    assert warning.code == "STL049" and warning.severity == "warning"
    assert report.proved


# ------------------------------------------------------------ the binder


def test_bind_signature_fills_defaults_and_takes_keywords() -> None:
    sig = Signature("load", ("pointer", "mask", "other"), defaults=(("mask", None), ("other", 0)))
    assert bind_signature(sig, [1], {"other": 5}) == {"pointer": 1, "mask": None, "other": 5}


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ([1, 2, 3, 4], {}, "takes 3 positional arguments, 4 given"),
        ([1], {"bogus": 2}, "unexpected keyword argument 'bogus'"),
        ([1, 2], {"mask": 2}, "multiple values for argument 'mask'"),
        ([], {}, "missing required argument: 'pointer'"),
    ],
)
def test_bind_signature_raises_pythons_type_errors(args: list, kwargs: dict, message: str) -> None:
    sig = Signature("load", ("pointer", "mask", "other"), defaults=(("mask", None), ("other", 0)))
    with pytest.raises(KernelError) as error:
        bind_signature(sig, args, kwargs)
    assert error.value.code == "STL004"
    assert message in error.value.message


def test_keyword_only_and_star_parameters_bind_as_python_binds_them() -> None:
    sig = S.TL["static_print"]
    bound = bind_signature(sig, [1, 2], {"sep": ","})
    assert bound["values"] == (1, 2) and bound["sep"] == "," and bound["flush"] is False
    with pytest.raises(KernelError):
        bind_signature(S.TL["load"], [1, 2, 3, "evict_last"], {})  # eviction_policy is kw-only


def test_every_tl_function_the_front_end_names_has_a_signature() -> None:
    from stile_static.frontends.triton.interp import TL_FUNCTIONS

    assert set(TL_FUNCTIONS) <= set(S.TL)


# ------------------------------------------------------------ keywords of the real API


def test_keywords_in_the_real_apis_names_are_followed() -> None:
    body = (
        "x = tl.load(pointer=x_ptr + offs, mask=mask, other=0.0, eviction_policy='evict_last')\n"
        "    tl.store(out_ptr + offs, value=x, mask=mask, cache_modifier='.cg')"
    )
    assert found(body) == []


def test_an_unknown_keyword_is_pythons_type_error_at_the_argument() -> None:
    body = "x = tl.load(x_ptr + offs, mask=mask, padding=0)\n    tl.store(out_ptr + offs, x)"
    assert at(found(body), "STL004") == [(BODY_LINE, 42)]


def test_a_missing_dtype_of_tl_zeros_is_a_type_error() -> None:
    body = "x = tl.load(x_ptr + offs) + tl.zeros((BLOCK,))\n    tl.store(out_ptr + offs, x)"
    assert [line for line, _ in at(found(body), "STL004")] == [BODY_LINE]


def test_an_unfollowed_argument_that_changes_the_result_is_stl002_at_the_argument() -> None:
    body = (
        "x = tl.load(x_ptr + offs, mask=mask)\n"
        "    s = tl.sum(x, axis=0, dtype=tl.int32)\n"
        "    tl.store(out_ptr + offs, x + s, mask=mask)"
    )
    assert at(found(body), "STL002") == [(BODY_LINE + 1, 27)]


def test_a_float_accumulator_dtype_only_rounds_and_is_followed() -> None:
    body = (
        "x = tl.load(x_ptr + offs, mask=mask, other=0.0)\n"
        "    s = tl.sum(x, axis=0, dtype=tl.float32, keep_dims=True)\n"
        "    tl.store(out_ptr + offs, x + s - s, mask=mask)"
    )
    assert found(body) == []


# ------------------------------------------------------------ what the compiler refuses


@pytest.mark.parametrize("block", [12, 48])
def test_a_block_that_is_not_a_power_of_two_is_refused(block: int) -> None:
    assert [line for line, _ in at(found(COPY, f"BLOCK = {block}"), "STL005")] == [ARANGE_LINE]


def test_a_block_larger_than_two_to_the_twenty_is_refused() -> None:
    assert at(found(COPY, "BLOCK = 2**21"), "STL005")


def test_arange_with_a_runtime_bound_is_refused() -> None:
    body = "o = tl.arange(0, tl.program_id(0) + 16)\n    " + COPY
    assert [line for line, _ in at(found(body), "STL005")] == [BODY_LINE]


def test_a_reduction_axis_out_of_range_is_refused_at_the_axis() -> None:
    body = (
        "x = tl.load(x_ptr + offs, mask=mask)\n"
        "    s = tl.sum(x[:, None], axis=2)\n"
        "    tl.store(out_ptr + offs, x + s, mask=mask)"
    )
    assert at(found(body), "STL005") == [(BODY_LINE + 1, 28)]


def test_a_negative_axis_in_range_counts_from_the_end() -> None:
    body = (
        "x = tl.load(x_ptr + offs, mask=mask, other=0.0)\n"
        "    s = tl.sum(x[:, None], axis=-1)\n"
        "    tl.store(out_ptr + offs, s, mask=mask)"
    )
    assert found(body) == []


def test_expand_dims_out_of_range_is_refused() -> None:
    body = "x = tl.expand_dims(tl.load(x_ptr + offs, mask=mask), 2)\n    " + COPY
    assert [line for line, _ in at(found(body), "STL005")] == [BODY_LINE]


def test_a_failing_static_assert_is_refused_and_a_holding_one_is_not() -> None:
    refused = found("tl.static_assert(BLOCK % 64 == 0, 'BLOCK')\n    " + COPY)
    assert [line for line, _ in at(refused, "STL005")] == [BODY_LINE]
    assert found("tl.static_assert(BLOCK % 32 == 0)\n    " + COPY) == []


def test_a_non_constexpr_global_is_refused_and_a_constexpr_one_is_read() -> None:
    body = "x = tl.load(x_ptr + offs, mask=mask)\n    tl.store(out_ptr + offs, x * ONE, mask=mask)"
    refused = found(body, globals="ONE = 1.0")
    assert at(refused, "STL005") == [(BODY_LINE + 1, 34)]
    assert found(body, globals="ONE = tl.constexpr(1.0)") == []


def test_dot_below_the_backends_minimum_is_refused() -> None:
    body = "a = tl.zeros((16, {k}), dtype=tl.float32)\n    c = tl.dot(a, tl.trans(a))\n    " + COPY
    assert [line for line, _ in at(found(body.format(k=2)), "STL005")] == [BODY_LINE + 1]
    assert [line for line, _ in at(found(body.format(k=8)), "STL002")] == [BODY_LINE + 1]
    assert found(body.format(k=16)) == []


# ------------------------------------------------------------ the host


def test_a_stride_out_of_range_is_pythons_index_error() -> None:
    host = "BLOCK = 32\n    s = x.stride(1)"
    line = line_of(source(COPY, host), "x.stride(1)")
    assert [found_line for found_line, _ in at(found(COPY, host), "STL004")] == [line]
    assert found(COPY, "BLOCK = 32\n    s = x.stride(-1) + x.size(0)") == []


def test_an_unknown_keyword_of_a_torch_call_is_a_type_error() -> None:
    host = "BLOCK = 32\n    t = torch.empty(4, bogus=1)"
    line = line_of(source(COPY, host), "bogus")
    assert [found_line for found_line, _ in at(found(COPY, host), "STL004")] == [line]


@pytest.mark.parametrize("cond", ["n > 0", "tl.program_id(0) >= 0"])
def test_a_static_assert_on_a_runtime_value_is_refused(cond: str) -> None:
    body = f"tl.static_assert({cond})\n    " + COPY
    assert [line for line, _ in at(found(body), "STL005")] == [BODY_LINE]


def test_a_method_calls_axis_is_located_past_its_receiver() -> None:
    body = "x = tl.load(x_ptr + offs, mask=mask)\n    s = x.sum(axis=1)\n    " + COPY
    assert at(found(body), "STL005") == [(BODY_LINE + 1, 15)]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (
            "z = tl.zeros((16, 16), dtype=tl.float32)\n    c = tl.dot(z, z, trans_b=True)",
            "STL004",
        ),
        ("t = tl.permute(tl.zeros((16, 16), dtype=tl.float32), (0, 0))", "STL005"),
        ("t = tl.load(x_ptr + offs, mask=mask, boundary_check=(0,))", "STL005"),
        ("t = tl.reshape(tl.zeros((16, 16), dtype=tl.float32), 256, can_reorder=True)", "STL002"),
        ("t = tl.max(tl.zeros((16,), dtype=tl.float32), axis=0, return_indices=True)", "STL002"),
    ],
)
def test_refused_and_unfollowed_kernel_calls(line: str, code: str) -> None:
    where = BODY_LINE + line.count("\n")
    assert [found_line for found_line, _ in at(found(line + "\n    " + COPY), code)] == [where]


def test_autotune_binds_its_signature() -> None:
    text = HEADER.format(body=COPY, host="BLOCK = 32", globals="")
    configs = '[triton.Config({"X": 1}, num_warps=4EXTRA)]'
    missing_key = text.replace(
        "@triton.jit", f"@triton.autotune({configs.replace('EXTRA', '')})\n@triton.jit"
    )
    diagnostics = check_source(missing_key, "k.py").diagnostics
    assert [d.span.line for d in diagnostics if d.code == "STL004"] == [6]  # the decorator
    assert "STL040" not in {d.code for d in diagnostics}  # nothing runs: nothing is missing
    hooked = text.replace(
        "@triton.jit",
        f"@triton.autotune({configs.replace('EXTRA', ', pre_hook=print')}, key=[])\n@triton.jit",
    )
    assert "STL002" in {d.code for d in check_source(hooked, "k.py").diagnostics}


def test_a_shape_index_out_of_range_is_pythons_index_error() -> None:
    host = "BLOCK = 32\n    s = x.shape[1]"
    line = line_of(source(COPY, host), "x.shape[1]")
    assert [found_line for found_line, _ in at(found(COPY, host), "STL004")] == [line]
    assert found(COPY, "BLOCK = 32\n    s = x.shape[-1]") == []


def test_a_cache_operator_with_an_eviction_priority_is_refused_at_the_policy() -> None:
    both = (
        "x = tl.load(x_ptr + offs, mask=mask, cache_modifier='.cg', eviction_policy='evict_last')"
    )
    assert at(found(both + "\n    " + COPY), "STL005") == [(BODY_LINE, 64)]
    one = "x = tl.load(x_ptr + offs, mask=mask, eviction_policy='evict_last')"
    assert found(one + "\n    " + COPY) == []


def test_a_block_shape_of_a_runtime_value_is_refused() -> None:
    body = "z = tl.zeros((n,), dtype=tl.float32)\n    " + COPY
    assert [line for line, _ in at(found(body), "STL005")] == [BODY_LINE]


def test_new_tensors_bind_their_signature_and_a_bad_reshape_is_torchs_error() -> None:
    assert found(COPY, "BLOCK = 32\n    t = x.new_zeros((4, 2), dtype=torch.float16)") == []
    host = "BLOCK = 32\n    t = x.new_empty(4, bogus=1)"
    assert [line for line, _ in at(found(COPY, host), "STL004")] == [
        line_of(source(COPY, host), "bogus")
    ]
    host = "BLOCK = 32\n    t = x.reshape(3, -1)"
    assert at(found(COPY, host), "STL004")  # N = 32 elements in rows of 3: RuntimeError
