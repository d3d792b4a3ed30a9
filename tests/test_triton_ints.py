"""Triton's integers: widths, promotion, wrapping at 2**31, C division and casts."""

from __future__ import annotations

import itertools
import math
import textwrap
from fractions import Fraction

import numpy as np
import pytest

from stile_static.check.checker import check_source
from stile_static.core.errors import KernelError
from stile_static.frontends.triton import int_types as IT
from stile_static.frontends.triton import ints as I

VALUES = (-9, -7, -6, -3, -1, 0, 1, 2, 3, 5, 7, 8, 2**31 - 1, -(2**31) + 1)
DIVISORS = (-7, -3, -2, -1, 1, 2, 3, 4, 7)


def _lanes(values: tuple[int, ...]) -> I.Ints:
    return I.make((len(values),), {None: np.array(values)}, dtype="int32")  # type: ignore[return-value]


def _c_quotient(x: int, y: int) -> int:
    """C99 6.5.5: the algebraic quotient with any fractional part discarded."""
    return math.trunc(Fraction(x, y))


@pytest.mark.parametrize("y", DIVISORS)
def test_division_and_modulo_are_cs_on_typed_blocks(y: int) -> None:
    x = _lanes(VALUES)
    q = I.binary("//", x, y)
    r = I.binary("%", x, y)
    assert isinstance(q, I.Ints) and isinstance(r, I.Ints)
    for k, v in enumerate(VALUES):
        assert int(q.part(None)[k]) == _c_quotient(v, y)
        # (a/b)*b + a%b == a, and the remainder has the dividend's sign
        assert int(q.part(None)[k]) * y + int(r.part(None)[k]) == v
        assert int(r.part(None)[k]) == 0 or (int(r.part(None)[k]) < 0) == (v < 0)


@pytest.mark.parametrize(("x", "y"), list(itertools.product((-7, -1, 5), (3, -3))))
def test_typed_scalars_divide_like_c_and_python_ints_like_python(x: int, y: int) -> None:
    typed = I.binary("//", I.typed(x, "int32"), y)
    assert isinstance(typed, I.Ints) and typed.dtype == "int32"
    assert int(typed.part(None)) == _c_quotient(x, y)
    assert int(I.binary("%", I.typed(x, "int32"), y).part(None)) == x - y * _c_quotient(x, y)
    # two Python ints (literals, constexprs) are folded by Python
    assert I.binary("//", x, y) == x // y
    assert I.binary("%", x, y) == x % y


def test_int32_wraps_at_2_to_the_31_and_marks_the_lanes() -> None:
    top = I.typed(2**31 - 1, "int32")
    out = I.binary("+", top, 1, I.Site.of(None, "top + 1", ("top", "1")))
    assert isinstance(out, I.Ints) and int(out.part(None)) == -(2**31)
    assert out.lanes_overflowed().all() and out.origin is not None
    assert (out.origin.exact, out.origin.wrapped) == (2**31, -(2**31))
    product = I.binary("*", _lanes((1, 2, 3)), 2**30)
    assert list(product.part(None)) == [2**30, -(2**31), -(2**30)]  # type: ignore[union-attr]
    assert list(product.lanes_overflowed()) == [False, True, True]  # type: ignore[union-attr]
    # below the bound nothing is marked
    fine = I.binary("*", _lanes((1, 2, 3)), 2**29)
    assert isinstance(fine, I.Ints) and fine.origin is None and not fine.lanes_overflowed().any()


def test_int64_does_not_wrap_where_int32_does() -> None:
    wide = I.binary("*", I.retype(_lanes((1, 2, 3)), "int64"), 2**30)
    assert isinstance(wide, I.Ints) and wide.dtype == "int64"
    assert list(wide.part(None)) == [2**30, 2**31, 3 * 2**30]
    assert wide.origin is None


def test_promotion_follows_triton() -> None:
    a32, a64 = I.typed(5, "int32"), I.typed(5, "int64")
    assert I.binary("+", a32, a64).dtype == "int64"  # type: ignore[union-attr]
    assert I.binary("+", a64, a32).dtype == "int64"  # type: ignore[union-attr]
    assert I.binary("+", a32, 7).dtype == "int32"  # type: ignore[union-attr]
    assert I.binary("+", 7, a64).dtype == "int64"  # type: ignore[union-attr]
    assert IT.promote(None, None) is None
    # a Python int that does not fit the typed operand is refused by Triton
    with pytest.raises(KernelError) as refused:
        I.binary("*", a32, 3_000_000_000)
    assert refused.value.code == "STL005"
    assert I.binary("*", a64, 3_000_000_000).dtype == "int64"  # type: ignore[union-attr]


def test_integer_arguments_are_specialized_by_value() -> None:
    assert IT.argument_type(2**31 - 1) == "int32"
    assert IT.argument_type(-(2**31)) == "int32"
    assert IT.argument_type(2**31) == "int64"
    assert IT.argument_type(-(2**31) - 1) == "int64"
    with pytest.raises(KernelError):
        IT.argument_type(2**63)


def test_casts_between_integer_types_wrap_to_the_target() -> None:
    x = _lanes((70000, -458752, 5, 32767, 32768))
    narrow = I.retype(x, "int16")
    assert isinstance(narrow, I.Ints) and narrow.dtype == "int16"
    assert list(narrow.part(None)) == [4464, 0, 5, 32767, -32768]
    assert list(narrow.lanes_overflowed()) == [True, True, False, False, True]
    back = I.retype(narrow, "int32")  # widening is exact and keeps the marks
    assert list(back.part(None)) == [4464, 0, 5, 32767, -32768]  # type: ignore[union-attr]
    assert back.dtype == "int32"  # type: ignore[union-attr]


def test_comparisons_do_not_wrap() -> None:
    low, high = I.typed(-(2**31) + 1, "int32"), I.typed(2**31 - 1, "int32")
    assert I.compare("<", low, high) is True  # low - high would wrap
    assert I.compare(">", high, low) is True


def test_a_shift_past_the_width_is_not_followed() -> None:
    with pytest.raises(KernelError) as error:
        I.binary("<<", I.typed(1, "int32"), 32)
    assert error.value.code == "STL002"
    assert int(I.binary("<<", I.typed(1, "int32"), 31).part(None)) == -(2**31)  # type: ignore[union-attr]


def _check(source: str) -> list[tuple[int, str, str]]:
    report = check_source(textwrap.dedent(source).lstrip(), "kernel.py")
    return [
        (d.span.line, d.code, " ".join((d.message, *d.notes, d.help or "")))
        for d in report.diagnostics
    ]


KERNEL = """
import torch
import triton
import triton.language as tl


@triton.jit
def pick_kernel(x_ptr, y_ptr, stride, n, BLOCK: tl.constexpr, SCALE: tl.constexpr):
    pid = tl.program_id(0)
    row = {row}
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * stride + offs, mask=offs < n, other=0.0)
    tl.store(y_ptr + pid * n + offs, x, mask=offs < n)


# stile: return = x[M N]
# stile: case M=3 N=4
def pick(x: torch.Tensor):
    M, N = x.shape
    y = torch.empty_like(x)
    pick_kernel[(M,)](x, y, x.stride(0), N, BLOCK=4, SCALE={scale})
    return y
"""


def test_a_product_that_wraps_in_an_offset_is_stl046_with_its_threshold() -> None:
    found = _check(KERNEL.format(row="(pid * SCALE) // SCALE", scale=2**30))
    assert [(line, code) for line, code, _ in found] == [(9, "STL046")]
    text = found[0][2]
    assert "should be 2,147,483,648" in text and "found -2,147,483,648" in text
    # from which value of each operand the product overflows
    assert "`pid` >= 2 (with `SCALE` = 1,073,741,824)" in text
    assert "`pid * SCALE` should be 2,147,483,648" in text
    assert "`pid.to(tl.int64) * SCALE`" in text


def test_the_same_product_in_int64_is_verified() -> None:
    assert _check(KERNEL.format(row="(pid.to(tl.int64) * SCALE) // SCALE", scale=2**30)) == []
    assert _check(KERNEL.format(row="(pid * SCALE) // SCALE", scale=2**20)) == []


def test_c_semantics_decide_which_row_is_read() -> None:
    # (pid - 2) // 3 is 0 for programs 0..2 in C (Python: -1): the row is the program's
    assert _check(KERNEL.format(row="(pid - 2) // 3 + pid", scale=1)) == []
    # (pid - 1) % 3 and (pid + 2) % 3 agree in Python, but not in C for program 0:
    # -1 and 2, so it reads row -3
    found = _check(KERNEL.format(row="pid + (pid - 1) % 3 - (pid + 2) % 3", scale=1))
    assert [(line, code) for line, code, _ in found] == [(11, "STL042")]
    assert "x[M=-3" in found[0][2]


def test_a_cast_of_loaded_data_to_an_integer_type_is_stl002() -> None:
    source = KERNEL.format(row="pid", scale=1).replace(
        "tl.store(y_ptr + pid * n + offs, x,", "tl.store(y_ptr + pid * n + offs, x.to(tl.int32),"
    )
    found = _check(source)
    assert [(line, code) for line, code, _ in found] == [(12, "STL002")]
    assert "truncates toward zero" in found[0][2]


def test_an_int64_argument_does_not_wrap() -> None:
    source = KERNEL.format(row="(pid + BIG) - BIG", scale=1).replace(
        "n, BLOCK: tl.constexpr,", "n, BIG, BLOCK: tl.constexpr,"
    )
    wraps = source.replace("x.stride(0), N, BLOCK=4", "x.stride(0), N, 2**31 - 2, BLOCK=4")
    assert [code for _, code, _ in _check(wraps)] == ["STL046"]
    wide = source.replace("x.stride(0), N, BLOCK=4", "x.stride(0), N, 2**31 + 2, BLOCK=4")
    assert _check(wide) == []  # an argument that needs int64 is int64


def test_bitwise_operators_on_typed_ints() -> None:
    x = _lanes((-6, -1, 0, 5, 2**31 - 1))
    assert list(I.binary("&", x, 3).part(None)) == [-6 & 3, -1 & 3, 0, 5 & 3, 3]  # type: ignore[union-attr]
    assert list(I.binary("^", x, -1).part(None)) == [5, 0, -1, -6, -(2**31)]  # type: ignore[union-attr]
    assert I.binary("|", x, 1).origin is None  # type: ignore[union-attr]
    assert list(I.binary(">>", x, 1).part(None)) == [-3, -1, 0, 2, 2**30 - 1]  # type: ignore[union-attr]


def test_a_stride_product_that_wraps_is_stl046_at_once_naming_the_stride() -> None:
    stride = I.Stride("x", 0, None, 2**30)  # x[3, 2**30]: its row-major stride
    row_stride = I.retype(I.make((), {stride: np.asarray(1)}), "int32")
    with pytest.raises(KernelError) as error:
        I.binary("*", I.typed(2, "int32"), row_stride, I.Site.of(None, "pid * s", ("pid", "s")))
    assert error.value.code == "STL046"
    notes = " ".join(error.value.notes)
    assert "x.stride(0) counts at 1,073,741,824" in notes
    assert "`pid` >= 2 (with `s` = 1,073,741,824)" in notes
    # one row less does not wrap: the product keeps its stride symbol
    fine = I.binary("*", I.typed(1, "int32"), row_stride)
    assert isinstance(fine, I.Ints) and fine.symbols == [stride]


def test_an_argument_equal_to_1_is_followed_only_where_compiler_and_interpreter_agree() -> None:
    one = I.typed(1, "int32", weak=True)
    # the compiler folds the constexpr 1 with Python: (1 - 2) // 2 == -1; an int32
    # tensor (the interpreter) gives 0
    minus_one = I.binary("-", one, 2)
    assert isinstance(minus_one, I.Ints) and minus_one.weak
    with pytest.raises(KernelError) as error:
        I.binary("//", minus_one, 2)
    assert error.value.code == "STL002"
    assert int(I.binary("//", I.binary("+", one, 5), 2).part(None)) == 3  # type: ignore[union-attr]
    # met with a tensor, it is a tensor in both
    mixed = I.binary("*", one, _lanes((1, 2)))
    assert isinstance(mixed, I.Ints) and not mixed.weak


def test_a_loop_index_is_followed_where_compiler_and_interpreter_agree() -> None:
    source = KERNEL.format(row="pid", scale=1).replace(
        "    offs = tl.arange(0, BLOCK)\n",
        "    offs = tl.arange(0, BLOCK)\n    for k in range(0, 2):\n        row = {}\n",
    )
    # (k - 1) // 2: 0 on the compiler's int32 index, -1 on the interpreter's Python int
    found = _check(source.replace("{}", "pid + (k - 1) // 2 - (k - 1) // 2"))
    assert [code for _, code, _ in found] == ["STL002"]
    assert _check(source.replace("{}", "pid + (k + 1) // 2 - (k + 1) // 2")) == []


def test_a_float_scalar_cast_to_int_is_rounded_to_float32_then_truncated() -> None:
    source = KERNEL.format(row="tl.cast(SCALE, tl.int32) + pid - {}", scale=1)
    # 2.9999999999 is 3.0 in float32: row pid + 3 - 3
    assert _check(source.replace("SCALE=1", "SCALE=2.9999999999").replace("{}", "3")) == []
    # -1.5 truncates toward zero: -1
    assert _check(source.replace("SCALE=1", "SCALE=-1.5").replace("{}", "-1")) == []
    wrong = _check(source.replace("SCALE=1", "SCALE=-1.5").replace("{}", "-2"))
    assert [code for _, code, _ in wrong] == ["STL031"]


def test_a_computed_float_cast_to_int_near_an_integer_is_stl002() -> None:
    source = KERNEL.format(row="tl.cast(SCALE * 3.0, tl.int32) + pid - {}", scale=1)
    # 1.0 * 3.0 is 3 in reals; computed in float32 it might be 2.9999998
    near = _check(source.replace("SCALE=1", "SCALE=1.0").replace("{}", "3"))
    assert [code for _, code, _ in near] == ["STL002"]
    # 1.1 * 3.0 = 3.3: truncates to 3 whatever the rounding
    assert _check(source.replace("SCALE=1", "SCALE=1.1").replace("{}", "3")) == []


def test_floor_division_of_floats_in_a_kernel_is_stl002() -> None:
    source = KERNEL.format(row="tl.cast(SCALE // 2.0, tl.int32) + pid", scale=1)
    found = _check(source.replace("SCALE=1", "SCALE=-1.5"))
    assert [code for _, code, _ in found] == ["STL002"]


def test_an_integer_where_selects_lane_by_lane_and_marks_the_clamped_lanes() -> None:
    offs = I.arange(0, 8)
    stride = I.Stride("x", 0, None, 8)
    rows = I.binary("*", I.typed(3, "int32"), I.make((), {stride: np.asarray(1)}))
    picked = I.select(np.arange(8) < 5, I.binary("+", rows, offs), 0)
    assert isinstance(picked, I.Ints)
    assert picked.part(None).tolist() == [0, 1, 2, 3, 4, 0, 0, 0]
    assert picked.part(stride).tolist() == [3, 3, 3, 3, 3, 0, 0, 0]
    assert picked.wrapped.tolist() == [False] * 5 + [True] * 3
    # the block is the second branch: the lanes of the first are the clamped ones
    flipped = I.select(np.arange(8) >= 5, 0, offs)
    assert isinstance(flipped, I.Ints)
    assert flipped.wrapped.tolist() == [False] * 5 + [True] * 3


def test_an_integer_minimum_marks_the_lanes_the_bound_replaced() -> None:
    clamped = I.minimum_maximum("minimum", I.arange(0, 8), 5)
    assert isinstance(clamped, I.Ints)
    assert clamped.part(None).tolist() == [0, 1, 2, 3, 4, 5, 5, 5]
    assert clamped.wrapped.tolist() == [False] * 6 + [True] * 2
