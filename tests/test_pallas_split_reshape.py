"""A wrapper's reshape that splits one axis in two (``k.reshape(s, n // s, d)``).

No block of the algebra holds the reshaped array, but a pallas_call reads it block
by block, and a block of one index along the outer axis is a block of the array
it came from. Blocks that span several outer indices are not followed."""

from __future__ import annotations

import pytest

from stile_static.check.checker import Options, check_source

PROGRAM = """
import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl


def kernel(x_ref, o_ref):
    o_ref[...] = x_ref[...] * 2


# stile: return = 2 * x[M N]
# stile: case M=4 N=512
def f(x):
    m, n = x.shape
    xs = x.reshape(m, n // 128, 128)
    return pl.pallas_call(
        kernel,
        grid=(m, n // 128 // {step}),
        in_specs=[pl.BlockSpec({in_block}, lambda i, c: {in_index})],
        out_specs=pl.BlockSpec({out_block}, lambda i, c: {out_index}),
        out_shape=jax.ShapeDtypeStruct((m, n), x.dtype),
    )(xs)
"""


def _check(**parts: str) -> tuple[set[str], int]:
    fields = {
        "step": "1",
        "in_block": "(None, None, 128)",
        "in_index": "(i, c, 0)",
        "out_block": "(None, 128)",
        "out_index": "(i, c)",
    }
    fields.update(parts)
    report = check_source(PROGRAM.format(**fields), "k.py", Options())
    return {d.code for d in report.diagnostics}, len(report.proved)


def test_a_split_row_read_block_by_block_is_verified() -> None:
    found, proved = _check()
    assert found == set() and proved > 0


def test_a_block_of_one_outer_index_kept_as_an_axis() -> None:
    found, proved = _check(in_block="(None, 1, 128)", out_block="(None, 1, 128)")
    # the output block (1, 128) of a 2-d output has three axes: JAX refuses it
    assert "STL005" in found and proved == 0


def test_the_wrong_split_row_is_caught() -> None:
    # every column block reads the first split row: right for c = 0 only
    found, _ = _check(in_index="(i, 0, 0)")
    assert found == {"STL031"}


def test_a_block_over_several_split_rows_is_not_followed() -> None:
    found, proved = _check(step="2", in_block="(None, 2, 128)", out_block="(None, 256)")
    assert found == {"STL002"} and proved == 0


@pytest.mark.parametrize("shape", ["(m, n // 128, 64)", "(m * 2, n // 128, 64)"])
def test_other_reshapes_are_refused_or_not_followed(shape: str) -> None:
    body = PROGRAM.format(
        step="1",
        in_block="(None, None, 128)",
        in_index="(i, c, 0)",
        out_block="(None, 128)",
        out_index="(i, c)",
    ).replace("x.reshape(m, n // 128, 128)", f"x.reshape{shape}")
    report = check_source(body, "k.py", Options())
    assert {d.code for d in report.diagnostics} & {"STL002", "STL005"} and not report.proved
