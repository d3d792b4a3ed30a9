"""Comparisons of data in Pallas kernels, float limits and integer shifts.

A comparison of data (``x > 0``) is a mask that only ``jnp.where`` takes, as a
``Select`` term; every other use of it is STL002 (never a silent pass)."""

from __future__ import annotations

import pytest

from stile_static.check.checker import Options, check_source

HEADER = """\
import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl
"""

KERNEL = """
def kernel(x_ref, o_ref):
    x = x_ref[...]
    o_ref[...] = {value}


# stile: return = {spec}
# stile: case M=13 N=128
def f(x):
    m, n = x.shape
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(pl.cdiv(m, {block}),),
        in_specs=[pl.BlockSpec(({block}, n), lambda i: (i, 0))],
        out_specs=pl.BlockSpec(({block}, n), lambda i: (i, 0)),
    )(x)
"""


def _check(value: str, spec: str, block: str = "8", header: str = "") -> tuple[set[str], int]:
    body = HEADER + header + KERNEL.format(value=value, spec=spec, block=block)
    report = check_source(body, "k.py", Options())
    return {d.code for d in report.diagnostics}, len(report.proved)


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        ("jnp.where(x > 0, x, 0.0)", "relu(x[M N])"),
        ("jnp.where(0 < x, x, 0.0)", "where(x[M N] > 0, x, 0)"),
        ("jnp.where(x <= 0, 0.2 * x, x)", "where(x[M N] > 0, x, 0.2 * x)"),
        ("jnp.where(x != 1.5, x, 2 * x)", "where(x[M N] == 1.5, 2 * x, x)"),
    ],
)
def test_a_data_comparison_in_where_is_proved(value: str, spec: str) -> None:
    found, proved = _check(value, spec)
    assert found == set() and proved > 0


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        ("jnp.where(x > 0, x, 0.0)", "where(x[M N] < 0, x, 0)"),
        ("jnp.where(x > 1, x, 0.0)", "relu(x[M N])"),
        ("jnp.where(x > 0, 0.0, x)", "relu(x[M N])"),
    ],
)
def test_a_wrong_data_comparison_is_caught(value: str, spec: str) -> None:
    found, proved = _check(value, spec)
    assert found == {"STL031"} and proved == 0


@pytest.mark.parametrize(
    "value",
    [
        "(x > 0) * x",
        "jnp.where((x > 0) & (x < 1), x, 0.0)",
        "jnp.exp(x > 0)",
        "x > 0",
        "jnp.sum(x > 0, axis=1, keepdims=True) + x",
    ],
)
def test_other_uses_of_a_data_comparison_are_not_followed(value: str) -> None:
    found, proved = _check(value, "relu(x[M N])")
    assert found == {"STL002"} and proved == 0


def test_a_comparison_of_padding_is_undefined_where_it_is_read() -> None:
    # a block of 16 rows over 13: the padding rows are compared too, and the
    # write-back drops them; the rows that remain are proved
    found, proved = _check("jnp.where(x > 0, x, 0.0)", "relu(x[M N])", block="16")
    assert found == set() and proved > 0


def test_finfo_gives_the_exact_limits_of_a_float_type() -> None:
    found, proved = _check(
        "jnp.clip(x, jnp.finfo(jnp.float16).min, jnp.finfo(jnp.float16).max)",
        "clamp(x[M N], -65504, 65504)",
    )
    assert found == set() and proved > 0
    # bfloat16's largest value is not float16's
    found, _ = _check(
        "jnp.clip(x, -jnp.finfo(jnp.bfloat16).max, jnp.finfo(jnp.bfloat16).max) * 0 + "
        "jnp.finfo(jnp.bfloat16).eps",
        "0 * x[M N] + 0.0078125",
    )
    assert found == set()


def test_finfo_of_an_integer_type_is_refused_as_jax_refuses_it() -> None:
    found, proved = _check("x * jnp.finfo(jnp.int32).max", "x[M N]")
    assert found == {"STL005"} and proved == 0


@pytest.mark.parametrize(("shift", "codes"), [("(1 << 3)", set()), ("(16 >> 1)", set())])
def test_integer_shifts_size_blocks(shift: str, codes: set[str]) -> None:
    found, proved = _check("x", "x[M N]", block=shift)
    assert found == codes and proved > 0


def test_a_negative_shift_is_python_s_value_error() -> None:
    found, _ = _check("x", "x[M N]", block="(1 << -1)")
    assert found and "STL002" not in found


PLTPU = "from jax.experimental.pallas import tpu as pltpu\n"  # pltpu.repeat: jax before 0.10


@pytest.mark.parametrize(
    "value",
    [
        "jnp.tile(x[:, :64], (1, 2))",
        "jnp.tile(x[:, :64], 2)",
        "pltpu.repeat(x[:, :64], 2, 1)",
        "pltpu.repeat(x[:, :32], 4, axis=1)",
    ],
)
def test_copies_of_elements_along_a_dim_are_never_verified(value: str) -> None:
    found, proved = _check(value, "x[M N]", header=PLTPU)
    assert found == {"STL031"} and proved == 0


def test_a_row_statistic_tiled_to_the_block_width_is_one_piece() -> None:
    found, proved = _check(
        "x - jnp.tile(jnp.max(x, axis=1, keepdims=True), (1, 128))",
        "x[M N] - max[N](x)",
    )
    assert found == set() and proved == 2


SCALAR_TEST = """
import functools


def kernel(x_ref, o_ref, *, scale):
    factor = 2.0
    if scale > 1.0:
        factor = factor * scale
    o_ref[...] = x_ref[...] * factor


# stile: return = 2 * scale * x[N]
# stile: case N=8
@functools.partial(jax.jit, static_argnames={static})
def f(x, scale):
    k = functools.partial(kernel, scale=scale)
    return pl.pallas_call(k, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype))(x)
"""


@pytest.mark.parametrize(("static", "code"), [('["scale"]', "STL002"), ("()", "STL005")])
def test_an_ordering_test_of_a_symbolic_scalar(static: str, code: str) -> None:
    # static: Python decides it for each value, which is not followed (no case split
    # on an ordering); traced: a comparison of data, and JAX refuses the `if` on it
    report = check_source(HEADER + SCALAR_TEST.format(static=static), "k.py", Options())
    assert {d.code for d in report.diagnostics} == {code} and not report.proved


def test_a_safe_reciprocal_of_a_sum_of_exponentials_is_the_reciprocal() -> None:
    # where(l == 0, 1, 1 / l) is 1 / l where l is known nonzero (TPU flash attention)
    l_ = "jnp.sum(jnp.exp(x), axis=1, keepdims=True)"
    value = f"x * jnp.where({l_} == 0.0, 1.0, 1.0 / {l_})"
    found, proved = _check(value, "x[M N] / sum[N](exp(x))")
    assert found == set() and proved > 0


def test_a_safe_reciprocal_of_a_sum_that_may_be_zero_is_not_proved() -> None:
    l_ = "jnp.sum(x, axis=1, keepdims=True)"
    found, proved = _check(f"x * jnp.where({l_} == 0.0, 1.0, 1.0 / {l_})", "x[M N] / sum[N](x)")
    assert found == {"STL033"} and proved == 0


NONE_OUTPUTS = """
def kernel(x_ref, o_ref, l_ref, m_ref):
    assert l_ref is None and m_ref is None
    o_ref[...] = x_ref[...] * 2


# stile: return = 2 * x[M N]
# stile: case M=8 N=128
def f(x):
    o, *aux = pl.pallas_call(
        kernel,
        out_shape=(jax.ShapeDtypeStruct(x.shape, x.dtype), None, None),
        out_specs=[pl.BlockSpec(x.shape, lambda: (0, 0)), None, None],
    )(x)
    assert aux == [None, None]
    return o
"""


def test_none_in_out_shape_is_no_output() -> None:
    # JAX keeps None leaves of the out_shape pytree as None refs and None results
    report = check_source(HEADER + NONE_OUTPUTS, "k.py", Options())
    assert [d.code for d in report.diagnostics] == [] and report.proved


def test_none_in_out_shape_needs_none_in_out_specs() -> None:
    body = NONE_OUTPUTS.replace("None, None],", "pl.BlockSpec(x.shape, lambda: (0, 0)), None],")
    report = check_source(HEADER + body, "k.py", Options())
    assert {d.code for d in report.diagnostics} == {"STL005"} and not report.proved
