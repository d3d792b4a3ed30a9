"""Triton memory order and host copies: what a load sees, and where writes land."""

from __future__ import annotations

import textwrap

from stile_static.check.checker import check_source

HEADER = """\
import torch
import triton
import triton.language as tl


@triton.jit
def put_kernel(x_ptr, y_ptr, n, c, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask) + c, mask=mask)

"""


def codes(text: str) -> set[tuple[int, str]]:
    report = check_source(textwrap.dedent(text), "k.py")
    return {(d.span.line, d.code) for d in report.diagnostics}


def wrapper(body: str, spec: str = "return = x[N]") -> str:
    lines = "\n".join("    " + line for line in textwrap.dedent(body).strip().splitlines())
    return HEADER + f"\n# stile: {spec}\n# stile: case N=100\ndef f(x):\n{lines}\n"


def test_a_second_launch_that_overwrites_the_first_leaves_its_values() -> None:
    body = """
        y = torch.empty_like(x)
        put_kernel[(4,)](x, y, 100, 1.0, BLOCK=32)
        put_kernel[(4,)](x, y, 100, 0.0, BLOCK=32)
        return y
    """
    assert codes(wrapper(body)) == set()
    swapped = body.replace("1.0", "@").replace("0.0", "1.0").replace("@", "0.0")
    assert (10, "STL031") in codes(wrapper(swapped))


def test_a_later_launch_reads_what_an_earlier_one_stored() -> None:
    first = "put_kernel[(4,)](x, t, 100, 1.0, BLOCK=32)"
    second = "put_kernel[(4,)](t, y, 100, -1.0, BLOCK=32)"
    body = "t = torch.empty_like(x)\ny = torch.empty_like(x)\n{}\n{}\nreturn y"
    assert codes(wrapper(body.format(first, second))) == set()
    # read before it is written: torch.empty's content is undefined
    assert (10, "STL044") in codes(wrapper(body.format(second, first)))


def test_a_zeros_buffer_reads_zero_until_written() -> None:
    body = """
        t = torch.zeros_like(x)
        y = torch.empty_like(x)
        put_kernel[(4,)](t, y, 100, 0.0, BLOCK=32)
        return y
    """
    assert (10, "STL031") in codes(wrapper(body))
    assert codes(wrapper(body, spec="return = 0 * x[N]")) == set()


RACE = """\
import torch
import triton
import triton.language as tl


@triton.jit
def shift_kernel(x_ptr, y_ptr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs))
    other = ((pid + {step}) % 2) * BLOCK + tl.arange(0, BLOCK)
    v = tl.load(y_ptr + other)
    tl.store(y_ptr + offs, v)


# stile: return = x[N]
# stile: case N=64
def f(x):
    y = torch.empty_like(x)
    shift_kernel[(2,)](x, y, BLOCK=32)
    return y
"""


def test_a_load_of_another_programs_store_is_a_race_in_either_order() -> None:
    found = codes(RACE.format(step=1))
    assert (12, "STL047") in found
    assert not {code for _, code in found} - {"STL047"}  # no value read from a race
    # reading back its own block is program order: no race, and verified
    assert codes(RACE.format(step=2)) == set()


def test_the_race_names_the_other_programs_store() -> None:
    report = check_source(RACE.format(step=1), "k.py")
    (race,) = [d for d in report.diagnostics if d.code == "STL047"]
    assert race.span.line == 12
    assert "line 10" in race.message and "program (1, 0, 0)" in race.message


def copy_case(make: str, back: str = "") -> str:
    return wrapper(
        f"""
        out = {make}
        acc = out.{{method}}
        put_kernel[(4,)](x, acc, 100, 0.0, BLOCK=32)
        {back}
        return out
        """
    )


def test_float_of_a_float32_tensor_is_itself_and_of_a_half_one_a_copy() -> None:
    same = copy_case("torch.empty(x.shape[0])").format(method="float()")
    assert codes(same) == set()
    half = copy_case("torch.empty_like(x, dtype=torch.float16)").format(method="float()")
    assert {code for _, code in codes(half)} == {"STL040"}
    back = copy_case("torch.empty_like(x, dtype=torch.float16)", "out.copy_(acc)")
    assert codes(back.format(method="float()")) == set()


def test_to_follows_the_dtype_and_copy_keyword() -> None:
    make = "torch.empty(x.shape[0], dtype=torch.float16)"
    assert codes(copy_case(make).format(method="to(torch.float16)")) == set()
    assert {c for _, c in codes(copy_case(make).format(method="to(torch.float32)"))} == {"STL040"}
    forced = copy_case(make).format(method="to(torch.float16, copy=True)")
    assert {c for _, c in codes(forced)} == {"STL040"}
    assert codes(copy_case(make).format(method="cuda()")) == set()


def test_clone_always_copies() -> None:
    clone = copy_case("torch.empty_like(x)").format(method="clone()")
    assert {c for _, c in codes(clone)} == {"STL040"}


def test_a_copy_made_before_a_launch_does_not_see_its_stores() -> None:
    snap = "snapshot = y.clone()"
    body = """
        y = torch.zeros_like(x)
        {}
        put_kernel[(4,)](x, y, 100, 0.0, BLOCK=32)
        {}
        out = torch.empty_like(x)
        put_kernel[(4,)](snapshot, out, 100, 0.0, BLOCK=32)
        return out
    """
    assert (10, "STL031") in codes(wrapper(body.format(snap, "")))  # the snapshot holds zeros
    assert codes(wrapper(body.format("", snap))) == set()


def test_a_copy_of_a_parameter_of_unknown_dtype_is_unsupported() -> None:
    text = HEADER + textwrap.dedent(
        """
        # stile: y = x[N]
        # stile: case N=100
        def f(x, y):
            acc = y.float()
            put_kernel[(4,)](x, acc, 100, 0.0, BLOCK=32)
            return y
        """
    )
    assert (16, "STL002") in codes(text)


def test_empty_like_keeps_the_dtype_so_float_of_it_depends_on_the_input() -> None:
    unknown = copy_case("torch.empty_like(x)").format(method="float()")
    assert (17, "STL002") in codes(unknown)
    stated = copy_case("torch.empty_like(x, dtype=torch.float32)").format(method="float()")
    assert codes(stated) == set()


def test_returning_the_float32_copy_of_a_half_output_is_verified() -> None:
    body = """
        out = torch.empty_like(x, dtype=torch.float16)
        acc = out.float()
        put_kernel[(4,)](x, acc, 100, 0.0, BLOCK=32)
        return acc
    """
    assert codes(wrapper(body)) == set()


ROWS = """\
import torch
import triton
import triton.language as tl


@triton.jit
def rows_kernel(x_ptr, y_ptr, sx, sy, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    tl.store(y_ptr + row * sy + cols, tl.load(x_ptr + row * sx + cols))


# stile: y = x[M N]
# stile: case M=4 N=32
def f(x, y):
    {body}
    return y
"""


def test_contiguous_of_an_output_parameter_is_unsupported() -> None:
    direct = "rows_kernel[(4,)](x, y, x.stride(0), y.stride(0), BLOCK=32)"
    assert codes(ROWS.format(body=direct)) == set()
    # a copy if y is not contiguous: the writes would not reach y
    body = "z = y.contiguous()\n    rows_kernel[(4,)](x, z, x.stride(0), z.stride(0), BLOCK=32)"
    assert (16, "STL002") in codes(ROWS.format(body=body))


TWO_WRITERS = """\
import torch
import triton
import triton.language as tl


@triton.jit
def both_kernel(x_ptr, t_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(t_ptr + offs, tl.load(x_ptr + offs) * (tl.program_id(0) + 1))


@triton.jit
def copy_kernel(t_ptr, y_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(t_ptr + offs))


# stile: return = x[N]
# stile: case N=32
def f(x):
    t = torch.empty_like(x)
    y = torch.empty_like(x)
    both_kernel[({programs},)](x, t, BLOCK=32)
    copy_kernel[(1,)](t, y, BLOCK=32)
    return y
"""


def test_what_two_programs_of_one_launch_both_stored_is_no_value_later() -> None:
    found = codes(TWO_WRITERS.format(programs=2))
    assert (15, "STL047") in found
    assert not {code for _, code in found} - {"STL047"}
    assert codes(TWO_WRITERS.format(programs=1)) == set()


PARTS = """\
import torch
import triton
import triton.language as tl


@triton.jit
def part_kernel(x_ptr, p_ptr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    tl.store(p_ptr + pid, tl.sum(tl.load(x_ptr + offs), axis=0))


@triton.jit
def total_kernel(x_ptr, p_ptr, y_ptr, N: tl.constexpr, PARTS: tl.constexpr):
    offs = tl.arange(0, N)
    total = tl.sum(tl.load(p_ptr + tl.arange(0, PARTS)), axis=0)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs) / total)


# stile: return = x[N] / sum[N](x[N])
# stile: case N=64
def f(x):
    p = torch.empty((2,))
    y = torch.empty_like(x)
    part_kernel[(2,)](x, p, BLOCK=32)
    total_kernel[(1,)](x, p, y, N=64, PARTS={parts})
    return y
"""


def test_partial_sums_one_per_slot_are_read_back_by_a_later_launch() -> None:
    assert codes(PARTS.format(parts=2)) == set()
    # only the first partial sum: the kernel really computes something else
    assert {code for _, code in codes(PARTS.format(parts=1))} <= {"STL031", "STL032"}
    assert codes(PARTS.format(parts=1))


SCALAR = """\
import torch
import triton
import triton.language as tl


@triton.jit
def total_kernel(x_ptr, y_ptr, N: tl.constexpr):
    offs = tl.arange(0, N)
    tl.store(y_ptr, tl.sum(tl.load(x_ptr + offs), axis=0))


@triton.jit
def twice_kernel(y_ptr, z_ptr):
    tl.store(z_ptr, tl.load(y_ptr) * {factor})


# stile: return = 2 * sum[N](x[N])
# stile: case N=64
def f(x):
    y = torch.empty(())
    z = torch.empty(())
    total_kernel[(1,)](x, y, N=64)
    twice_kernel[(1,)](y, z)
    return z
"""


def test_a_zero_dimensional_tensor_holds_what_was_stored() -> None:
    assert codes(SCALAR.format(factor=2)) == set()
    assert (14, "STL031") in codes(SCALAR.format(factor=3))


def test_element_size_follows_the_dtype() -> None:
    body = """
        h = torch.empty(x.shape[0], dtype=torch.float16)
        assert h.element_size() == 2 and x.element_size() == 4
        y = torch.empty_like(x)
        put_kernel[(4,)](x, y, 100, 0.0, BLOCK=32)
        return y
    """
    assert codes(wrapper(body)) == set()
    wrong = body.replace("== 2", "== 4")
    assert {code for _, code in codes(wrapper(wrong))} == {"STL024", "STL045"}


def test_a_conversion_to_an_unknown_dtype_after_the_last_write_is_followed() -> None:
    body = """
        out = torch.empty(x.shape[0])
        put_kernel[(4,)](x, out, 100, 0.0, BLOCK=32)
        return out.to(x.dtype)
    """
    assert codes(wrapper(body)) == set()
    # itself or a copy, by x's dtype: a write after it may or may not reach the result
    later = """
        out = torch.empty(x.shape[0])
        put_kernel[(4,)](x, out, 100, 1.0, BLOCK=32)
        result = out.to(x.dtype)
        put_kernel[(4,)](x, out, 100, 0.0, BLOCK=32)
        return result
    """
    found = codes(wrapper(later))
    assert (18, "STL002") in found
    assert not {code for _, code in found} - {"STL002"}


def test_an_in_place_kernel_on_a_clone_of_an_input_reads_the_input_values() -> None:
    body = """
        y = x.clone()
        put_kernel[(4,)](y, y, 100, 1.0, BLOCK=32)
        return y
    """
    assert codes(wrapper(body, spec="return = x[N] + 1")) == set()
    assert (10, "STL031") in codes(wrapper(body, spec="return = x[N] + 2"))
    # in place on the input itself: a write to an input is not followed
    direct = body.replace("y = x.clone()", "y = x")
    assert (10, "STL002") in codes(wrapper(direct, spec="return = x[N] + 1"))


LATE = """\
import torch
import triton
import triton.language as tl


@triton.jit
def put_kernel(x_ptr, y_ptr, c, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs) + c)


@triton.jit
def next_kernel(y_ptr, z_ptr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    other = (1 - pid) * BLOCK + tl.arange(0, BLOCK)
    v = tl.load(y_ptr + offs)
    tl.store(y_ptr + other, v * 0.0)
    tl.store(z_ptr + offs, v)


# stile: return = 0 * x[N]
# stile: case N=64
def f(x):
    y = torch.empty_like(x)
    z = torch.empty_like(x)
    put_kernel[(2,)](x, y, 1.0, BLOCK=32)
    next_kernel[(2,)](y, z, BLOCK=32)
    return z
"""


def test_a_race_with_a_later_program_gives_no_value_from_an_earlier_launch() -> None:
    # program 0 reads its block of y (the first launch's values), which program 1 of the
    # same launch then overwrites with zeros: a race, and no STL031 from either value
    found = codes(LATE)
    assert (17, "STL047") in found
    assert not {code for _, code in found} - {"STL047"}


def test_zero_and_fill_write_every_element_on_the_host() -> None:
    body = """
        acc = torch.empty_like(x)
        acc.{fill}
        y = torch.empty_like(x)
        put_kernel[(4,)](acc, y, 100, 0.0, BLOCK=32)
        return y
    """
    assert codes(wrapper(body.format(fill="zero_()"), spec="return = 0 * x[N]")) == set()
    assert codes(wrapper(body.format(fill="fill_(2.0)"), spec="return = 0 * x[N] + 2")) == set()
    assert (10, "STL031") in codes(
        wrapper(body.format(fill="fill_(1.0)"), spec="return = 0 * x[N]")
    )
    # a fill after the launch that stored the result overwrites it
    after = """
        y = torch.empty_like(x)
        put_kernel[(4,)](x, y, 100, 0.0, BLOCK=32)
        y.zero_()
        return y
    """
    assert (18, "STL031") in codes(wrapper(after))  # at the zero_(), which wrote last


COPY_2D = """\
import torch
import triton
import triton.language as tl


@triton.jit
def copy_kernel(x_ptr, y_ptr, m, n, sxm, sxn, sym, syn, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.arange(0, BM)[:, None]
    cols = tl.arange(0, BN)[None, :]
    mask = (rows < m) & (cols < n)
    x = tl.load(x_ptr + rows * sxm + cols * sxn, mask=mask)
    tl.store(y_ptr + rows * sym + cols * syn, x, mask=mask)


# stile: return = x[M N]
# stile: case M={m} N=8
def f(x):
    y = torch.empty_like(x)
    copy_kernel[(1,)](x, y, x.shape[0], x.shape[1], x.stride(0), x.stride(1),
                      x.stride(0), x.stride(1), BM=4, BN=8)
    return y
"""


def test_a_foreign_stride_multiplied_by_zero_on_every_accessed_lane_is_no_wrong_stride() -> None:
    # one row: y's row stride taken from x only ever meets row 0, so no address uses it
    assert codes(COPY_2D.format(m=1)) == set()
    # more rows: the store's addresses do depend on it
    assert (12, "STL043") in codes(COPY_2D.format(m=3))
