"""jax.vmap of a function that computes with what its pallas_call returns.

The function's jnp code sees one item of the batch, so the vmap is followed item
by item: vmap(f)(x) is f of each item, stacked along the new leading axis."""

from __future__ import annotations

import pytest

from stile_static.check.checker import Options, check_source

PROGRAM = """
import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl


def row_sum_kernel(x_ref, o_ref):
    o_ref[...] = jnp.sum(x_ref[...], axis=1)


def per_item(x):
    n, d = x.shape
    s = pl.pallas_call(row_sum_kernel, out_shape=jax.ShapeDtypeStruct((n,), x.dtype))(x)
    return {result}


# stile: return = {spec}
# stile: case B=3 N=8 D=16
def f(x):
    return jax.vmap(per_item{in_axes})(x)
"""


def _check(result: str, spec: str, in_axes: str = "") -> tuple[set[str], int]:
    body = PROGRAM.format(result=result, spec=spec, in_axes=in_axes)
    report = check_source(body, "k.py", Options())
    return {d.code for d in report.diagnostics}, len(report.proved)


@pytest.mark.parametrize(
    ("result", "spec"),
    [
        ("jnp.exp(s) / jnp.sum(jnp.exp(s))", "softmax[N](sum[D](x[B N D]))"),
        ("s * 2", "2 * sum[D](x[B N D])"),
        ("(s, s + 1)[0]", "sum[D](x[B N D])"),
    ],
)
def test_host_code_on_an_item_is_verified(result: str, spec: str) -> None:
    found, proved = _check(result, spec)
    assert found == set() and proved > 0


def test_a_wrong_item_function_is_caught() -> None:
    found, proved = _check("jnp.exp(s) / jnp.sum(s)", "softmax[N](sum[D](x[B N D]))")
    assert found == {"STL031"} and proved == 0


def test_an_item_result_that_is_not_the_item_is_not_followed() -> None:
    # every item returns the same array of zeros: not an item of the batch (JAX
    # would stack the copies; the block algebra does not express that)
    found, proved = _check("jnp.zeros((n,), jnp.float32)", "sum[D](x[B N D])")
    assert found == {"STL002"} and proved == 0


def test_a_mapped_axis_other_than_the_first() -> None:
    # in_axes=1 maps the N axis: each item is x[:, n, :] of shape (B, D)
    found, proved = _check("s * 2", "2 * sum[D](x[B N D])", in_axes=", in_axes=1")
    assert proved == 0 and found  # the result stacks N first: (N, B), not the spec's (B, N)


FINDING = """
import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl


def row_sum_kernel(x_ref, o_ref):
    o_ref[...] = jnp.sum(x_ref[...], axis=1)


def per_item(x):
    n, d = x.shape
    s = pl.pallas_call(
        row_sum_kernel,
        grid=(2,),
        in_specs=[pl.BlockSpec((8, d), lambda i: (i + 1, 0))],
        out_specs=pl.BlockSpec((8,), lambda i: (i,)),
        out_shape=jax.ShapeDtypeStruct((n,), x.dtype),
    )(x)
    return s * 2


# stile: return = 2 * sum[D](x[B N D])
# stile: case B=3 N=16 D=16
def f(x):
    return jax.vmap(per_item)(x)
"""


def test_a_finding_of_the_first_try_is_reported_by_the_items() -> None:
    # the batched try stops at `s * 2` after the launch found the block past the
    # end; what it reported is dropped and the item-by-item run reports it again
    report = check_source(FINDING, "k.py", Options())
    assert [d.code for d in report.diagnostics] == ["STL042"] and not report.proved
