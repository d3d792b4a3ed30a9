"""Host code between and after pallas_calls: whole arrays in the block algebra."""

from __future__ import annotations

import pytest

from stile_static.check.checker import Options, check_source
from stile_static.core.errors import KernelError
from stile_static.frontends.pallas import blocks
from stile_static.frontends.pallas.blocks import Axis
from stile_static.ir.terms import Load

HEADER = """\
import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl
"""


def _check(body: str, cross_check: bool = False) -> tuple[set[tuple[int, str]], int]:
    report = check_source(HEADER + body, "k.py", Options(cross_check=cross_check))
    offset = HEADER.count("\n")
    found = {(d.span.line - offset, d.code) for d in report.diagnostics}
    return found, len(report.proved)


def _line(body: str, text: str) -> int:
    return next(n for n, line in enumerate(body.splitlines(), 1) if text in line)


PARTIALS = """
def partial_kernel(x_ref, p_ref):
    p_ref[...] = jnp.sum(x_ref[...], keepdims=True)


# stile: return = sum[N](x[N])
# stile: case N=64
# stile: case N=96
def total(x, block=32):
    n = x.shape[0]
    blocks = pl.cdiv(n, block)
    partials = pl.pallas_call(
        partial_kernel,
        out_shape=jax.ShapeDtypeStruct(({blocks}, 1), x.dtype),
        grid=(blocks,),
        in_specs=[pl.BlockSpec((block,), lambda i: (i,))],
        out_specs=pl.BlockSpec((1, 1), lambda i: (i, 0)),
    )(x)
    return {total}
"""


def test_partial_sums_added_by_the_host_give_the_whole_sum() -> None:
    body = PARTIALS.format(blocks="blocks", total="jnp.sum(partials)")
    found, proved = _check(body, cross_check=True)
    assert found == set() and proved == 2


def test_an_element_no_grid_step_writes_is_undefined_where_the_host_reads_it() -> None:
    # one partial more than there are blocks: its element holds no value
    body = PARTIALS.format(blocks="blocks + 1", total="partials.sum()")
    found, proved = _check(body)
    assert found == {(_line(body, "pallas_call("), "STL044")} and proved == 0


def test_host_reshapes_that_add_or_drop_axes_of_size_one_keep_the_elements() -> None:
    body = PARTIALS.format(
        blocks="blocks", total="jnp.squeeze(partials.reshape(-1)[None, :]).sum(axis=0)"
    )
    found, proved = _check(body)
    assert found == set() and proved == 2


def test_a_reshape_that_mixes_axes_is_not_followed() -> None:
    square = blocks.uniform((2, 2), Load("x", ("M", "N")), (Axis("M", 0), Axis("N", 0)))
    with pytest.raises(KernelError) as error:
        blocks.reshape(square, (4,), "reshape")
    assert error.value.code == "STL002"
    with pytest.raises(KernelError) as error:
        blocks.reshape(square, (3,), "reshape")
    assert error.value.code == "STL005"  # the sizes differ: JAX raises


SCALED_INPUT = """
def copy_kernel(x_ref, o_ref):
    o_ref[...] = x_ref[...]


# stile: return = 2 * x[N]
# stile: case N=40
def double(x):
    return pl.pallas_call(
        copy_kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(2,),
        in_specs=[pl.BlockSpec((32,), lambda i: (i,))],
        out_specs=pl.BlockSpec((32,), lambda i: (i,)),
    )({operand})
"""


def test_an_input_the_wrapper_computes_with_is_an_operand_of_the_next_launch() -> None:
    found, proved = _check(SCALED_INPUT.format(operand="x * 2.0"), cross_check=True)
    assert found == set() and proved == 2
    found, _ = _check(SCALED_INPUT.format(operand="x + x * 0.5"))
    assert {code for _, code in found} == {"STL031"}


VMAPPED = """
def copy_kernel(x_ref, o_ref):
    o_ref[...] = x_ref[...]


def row(x):
    out = pl.pallas_call(copy_kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype))(x)
    return out.sum(axis=0)


# stile: return = sum[N](x[M N])
# stile: case M=3 N=8
def rows(x):
    return jax.vmap(row)(x)
"""


def test_jnp_on_a_launch_result_inside_a_vmapped_function_is_followed_item_by_item() -> None:
    # batched, the launch would return the whole array, which `row` indexes as one
    # row: the vmap runs `row` on each row instead and stacks the rows' sums
    found, proved = _check(VMAPPED)
    assert found == set() and proved > 0
    found, proved = _check(VMAPPED.replace("out.sum(axis=0)", "out.max(axis=0)"))
    assert {code for _, code in found} == {"STL031"} and proved == 0


def test_reshape_drops_and_adds_axes_of_size_one() -> None:
    column = blocks.Block(
        (4, 1), (Axis("M", 0), Axis(None)), ((0, 4), (0, 1)), (Load("x", ("M",)),)
    )
    flat = blocks.reshape(column, (-1,), "reshape")
    assert flat.shape == (4,) and flat.axes == (Axis("M", 0),)
    row = blocks.reshape(flat, (1, 4), "reshape")
    assert row.shape == (1, 4) and row.axes[1] == Axis("M", 0)
    assert blocks.squeeze(row, 0, "squeeze").shape == (4,)


CHUNKS = """
def copy_kernel(x_ref, o_ref):
    o_ref[...] = x_ref[...] * 3.0


# stile: return = 3 * x[N]
# stile: case N=40
def chunked(x, chunk=16):
    outs = []
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk]
        outs.append(
            pl.pallas_call(copy_kernel, out_shape=jax.ShapeDtypeStruct(part.shape, x.dtype))(part)
        )
    return jnp.concatenate({order}, axis=0)
"""


def test_launches_over_chunks_of_an_input_joined_by_concatenate() -> None:
    # the loop appends to a list: it is unrolled, one launch per chunk
    found, proved = _check(CHUNKS.format(order="outs"), cross_check=True)
    assert found == set() and proved == 3
    body = CHUNKS.format(order="[outs[1], outs[0], outs[2]]")
    found, proved = _check(body)
    assert {code for _, code in found} == {"STL031"} and proved == 0
