"""The Pallas front end binds the real signatures, and says what JAX refuses.

Each test is a small wrapper checked whole; the expected codes and lines are
what jax 0.10.2 does with the same program (checked with ``.venv-jax``)."""

from __future__ import annotations

import pytest

from stile_static.check.checker import Options, check_source
from stile_static.frontends.pallas.signatures import SIGNATURES, UNFOLLOWED, bind

HEADER = """\
import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu
"""


def _check(body: str) -> tuple[set[tuple[int, str]], int]:
    report = check_source(HEADER + body, "k.py", Options())
    offset = HEADER.count("\n")
    return {(d.span.line - offset, d.code) for d in report.diagnostics}, len(report.proved)


def _line(body: str, text: str) -> int:
    return next(n for n, line in enumerate(body.splitlines(), 1) if text in line)


ROW_SUM = """
def kernel(x_ref, o_ref):
    rows, cols = x_ref.shape

    def body(c, acc):
        return acc + jnp.sum(x_ref[:, pl.ds(c * 32, 32)], axis=1)

    o_ref[...] = {loop}


# stile: return = sum[N](x[M N])
# stile: case M=16 N=128
def row_sum(x):
    m, n = x.shape
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((m,), x.dtype),
        grid=(pl.cdiv(m, 8),),
        in_specs=[pl.BlockSpec((8, n), lambda i: (i, 0))],
        out_specs=pl.BlockSpec((8,), lambda i: (i,)),
        {extra}
    )(x)
"""

ZEROS = "jnp.zeros((rows,), jnp.float32)"


@pytest.mark.parametrize(
    "loop",
    [
        f"lax.fori_loop(0, cols // 32, body, {ZEROS})",
        f"lax.fori_loop(0, cols // 32, body, init_val={ZEROS})",
        f"lax.fori_loop(lower=0, upper=cols // 32, body_fun=body, init_val={ZEROS})",
        f"lax.fori_loop(0, cols // 32, body, {ZEROS}, unroll=2)",
    ],
)
def test_fori_loop_binds_its_real_keywords(loop: str) -> None:
    found, proved = _check(ROW_SUM.format(loop=loop, extra=""))
    assert found == set() and proved == 2


def test_a_keyword_fori_loop_does_not_take_is_pythons_type_error() -> None:
    body = ROW_SUM.format(loop=f"lax.fori_loop(0, cols // 32, body, init={ZEROS})", extra="")
    found, proved = _check(body)
    assert found == {(_line(body, "init="), "STL004")} and proved == 0


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ("input_output_aliases={0: 0},", "STL002"),
        ('name="row_sum", debug=False,', None),  # names and debugging change nothing
        ("compiler_params=pltpu.CompilerParams(vmem_limit_bytes=2**20),", None),
        ("compiler_params=pltpu.CompilerParams(collective_id=1),", "STL002"),
    ],
)
def test_pallas_call_arguments_are_followed_or_refused(extra: str, code: str | None) -> None:
    loop = f"lax.fori_loop(0, cols // 32, body, {ZEROS})"
    body = ROW_SUM.format(loop=loop, extra=extra)
    found, _ = _check(body)
    assert found == (set() if code is None else {(_line(body, extra), code)})


def test_a_strided_slice_is_unsupported_at_the_stride() -> None:
    body = ROW_SUM.format(loop="jnp.sum(x_ref[:, pl.ds(0, cols // 2, stride=2)], axis=1)", extra="")
    found, _ = _check(body)
    assert found == {(_line(body, "stride=2"), "STL002")}


def test_a_unit_stride_is_a_plain_slice() -> None:
    body = ROW_SUM.format(loop="jnp.sum(x_ref[:, pl.ds(0, cols, stride=1)], axis=1)", extra="")
    found, proved = _check(body)
    assert found == set() and proved == 2


@pytest.mark.parametrize(
    "call",
    [
        "jnp.sum(x_ref[...], axis=1, where=x_ref[...] > 0)",
        "jnp.sum(x_ref[...], axis=1, initial=1.0)",
        "jnp.sum(x_ref[...], axis=1, dtype=jnp.int32)",
        "jnp.max(x_ref[...], axis=1, initial=0.0)",
    ],
)
def test_reduction_arguments_that_change_the_result_are_unsupported(call: str) -> None:
    body = ROW_SUM.format(loop=call, extra="")
    found, proved = _check(body)
    assert {code for _, code in found} == {"STL002"} and proved == 0


def test_reduction_axis_out_of_range_is_refused_not_wrapped() -> None:
    body = ROW_SUM.format(loop="jnp.sum(x_ref[...], axis=2)", extra="")
    found, _ = _check(body)
    assert found == {(_line(body, "axis=2"), "STL005")}


def test_a_negative_axis_in_range_is_an_axis() -> None:
    body = ROW_SUM.format(loop="jnp.sum(x_ref[...], axis=-1)", extra="")
    found, proved = _check(body)
    assert found == set() and proved == 2


def test_the_old_block_spec_order_is_refused() -> None:
    body = ROW_SUM.format(loop=f"lax.fori_loop(0, cols // 32, body, {ZEROS})", extra="").replace(
        "pl.BlockSpec((8,), lambda i: (i,))", "pl.BlockSpec(lambda i: (i,), (8,))"
    )
    found, _ = _check(body)
    assert found == {(_line(body, "lambda i: (i,), (8,)"), "STL005")}


@pytest.mark.parametrize(
    ("kernel_line", "text"),
    [
        ("o_ref[...] = x_ref[...].sum(axis=1) if pl.program_id(0) == 0 else 0.0", "if pl"),
        ("o_ref[...] = jnp.sum(x_ref[...], axis=1) * min(pl.program_id(0), 1)", "min("),
        ("o_ref[...] = jnp.sum(x_ref[pl.program_id(0) * 0 : 8], axis=1)", "x_ref[pl"),
        ("o_ref[...] = jnp.sum(x_ref[...], axis=1) * (pl.program_id(0) in (0, 1))", " in (0"),
    ],
)
def test_python_on_a_traced_program_id_is_what_jax_refuses(kernel_line: str, text: str) -> None:
    body = ROW_SUM.format(loop="0", extra="").replace("    o_ref[...] = 0", "    " + kernel_line)
    found, _ = _check(body)
    assert found == {(_line(body, text), "STL005")}


def test_traced_arithmetic_in_jnp_where_and_pl_ds_is_fine() -> None:
    line = "o_ref[...] = jnp.sum(x_ref[...], axis=1) * jnp.where(pl.program_id(0) >= 0, 1, 0)"
    body = ROW_SUM.format(loop="0", extra="").replace("    o_ref[...] = 0", "    " + line)
    found, proved = _check(body)
    assert found == set() and proved == 2


def test_every_unfollowed_parameter_is_in_its_signature() -> None:
    for name, rules in UNFOLLOWED.items():
        assert name in SIGNATURES, name
        for rule in rules:
            assert rule.param in SIGNATURES[name].names, (name, rule.param)


def test_bind_fills_defaults_and_keeps_the_order() -> None:
    args, kwargs = bind("pl.ds", [3], {"size": 4}, None)  # type: ignore[misc]
    assert args == [3, 4, None] and kwargs == {"start": 3, "size": 4, "stride": None}
    assert bind("jnp.no_such_function", [], {}, None) is None


@pytest.mark.parametrize(
    ("cast", "code"),
    [
        ("x.astype(jnp.int32)", "STL002"),  # truncates toward zero: not followed
        ("x.astype(jnp.float32)", None),  # only the rounding: values are reals
        ("jnp.int32(x)", "STL002"),
    ],
)
def test_an_integer_cast_of_data_is_unsupported(cast: str, code: str | None) -> None:
    line = f"x = jnp.sum(x_ref[...], axis=1); o_ref[...] = {cast}"
    body = ROW_SUM.format(loop="0", extra="").replace("    o_ref[...] = 0", "    " + line)
    found, _ = _check(body)
    assert found == (set() if code is None else {(_line(body, cast), code)})


def test_an_output_read_before_it_is_written_is_undefined() -> None:
    # the output buffer of a grid step starts uninitialized (NaN in the TPU interpret mode)
    line = "o_ref[...] += jnp.sum(x_ref[...], axis=1)"
    body = ROW_SUM.format(loop="0", extra="").replace("    o_ref[...] = 0", "    " + line)
    found, proved = _check(body)
    assert found == {(_line(body, line), "STL044")} and proved == 0


SCRATCH = """
def kernel(x_ref, o_ref, acc_ref):
    @pl.when({init})
    def _init():
        acc_ref[...] = jnp.zeros_like(acc_ref)

    {update}
    o_ref[...] = x_ref[...] + acc_ref[...]


# stile: return = x[M N]
# stile: case M=16 N=256
def copy(x):
    m, n = x.shape
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((m, n), x.dtype),
        grid=(m // 8, n // 128),
        in_specs=[pl.BlockSpec((8, 128), lambda i, j: (i, j))],
        out_specs=pl.BlockSpec((8, 128), lambda i, j: (i, j)),
        scratch_shapes=[pltpu.VMEM((8, 128), jnp.float32)],
        compiler_params=pltpu.CompilerParams(dimension_semantics={semantics}),
    )(x)
"""
ONCE = "(pl.program_id(0) == 0) & (pl.program_id(1) == 0)"  # zeroed on the first step only
NOTHING = "pass"


@pytest.mark.parametrize("init", [ONCE, "pl.program_id(1) >= 0"])
def test_scratch_that_every_core_sets_up_is_fine(init: str) -> None:
    semantics = '("arbitrary", "arbitrary")' if init == ONCE else '("parallel", "parallel")'
    found, proved = _check(SCRATCH.format(init=init, update=NOTHING, semantics=semantics))
    assert found == set() and proved > 0


@pytest.mark.parametrize("semantics", ['("parallel", "arbitrary")', '("parallel", "parallel")'])
def test_scratch_carried_across_a_parallel_axis_is_a_grid_order_error(semantics: str) -> None:
    # zeroed on the first grid step only: a step of another row block (or column
    # block) may run on another core, whose scratch was never zeroed
    body = SCRATCH.format(init=ONCE, update=NOTHING, semantics=semantics)
    found, _ = _check(body)
    assert found == {(_line(body, "o_ref[...] = x_ref[...] + acc_ref[...]"), "STL048")}


def test_dimension_semantics_of_the_wrong_length_is_refused() -> None:
    body = SCRATCH.format(init=ONCE, update=NOTHING, semantics='("parallel",)')
    found, _ = _check(body)
    assert found == {(_line(body, "compiler_params="), "STL005")}


GPU_COLUMN_SUM = """
from jax.experimental.pallas import triton as plgpu


def kernel(x_ref, o_ref):
    @pl.when(pl.program_id(1) == 0)
    def _init():
        o_ref[...] = jnp.zeros_like(o_ref)

    o_ref[...] += jnp.sum(x_ref[...], axis=0)


# stile: return = sum[M](x[M N])
# stile: case M=32 N=256
def column_sum(x):
    m, n = x.shape
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((n,), x.dtype),
        grid=(n // 128, m // 8),
        in_specs=[pl.BlockSpec((8, 128), lambda j, i: (i, j))],
        out_specs=pl.BlockSpec((128,), lambda j, i: (j,)),
    )(x)
"""


def test_a_gpu_kernel_accumulating_across_grid_steps_is_a_grid_order_error() -> None:
    # right on a TPU, which runs the grid in order; on a GPU each grid step is a
    # program of its own, and the programs of one output block race on it
    body = GPU_COLUMN_SUM
    found, _ = _check(body)
    assert found == {(_line(body, "out_specs="), "STL048")}
    body = GPU_COLUMN_SUM.replace("from jax.experimental.pallas import triton as plgpu\n", "")
    found, proved = _check(body)
    assert found == set() and proved > 0


def test_a_while_loop_on_a_program_id_is_what_jax_refuses() -> None:
    line = "while pl.program_id(0) < 0: pass"
    body = ROW_SUM.format(loop="0", extra="").replace("    o_ref[...] = 0", "    " + line)
    found, _ = _check(body)
    assert found == {(_line(body, line), "STL005")}


def test_an_integer_output_is_unsupported_at_its_dtype() -> None:
    body = ROW_SUM.format(loop="jnp.sum(x_ref[...], axis=1)", extra="").replace(
        "jax.ShapeDtypeStruct((m,), x.dtype)", "jax.ShapeDtypeStruct((m,), jnp.int32)"
    )
    found, _ = _check(body)
    assert found == {(_line(body, "jnp.int32"), "STL002")}


@pytest.mark.parametrize(("axis", "code"), [("1", "STL005"), ("-1", None), ("-2", "STL005")])
def test_a_program_id_axis_is_checked_like_jax(axis: str, code: str | None) -> None:
    line = f"o_ref[...] = jnp.sum(x_ref[...], axis=1) + 0 * pl.program_id({axis})"
    body = ROW_SUM.format(loop="0", extra="").replace("    o_ref[...] = 0", "    " + line)
    found, proved = _check(body)
    assert found == (set() if code is None else {(_line(body, line), code)})


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("sum(axis=1)", None),
        ("sum(1)", None),
        ("sum(axis=1, where=jnp.arange(128) < 64)", "STL002"),
    ],
)
def test_reduction_methods_bind_like_the_functions(method: str, code: str | None) -> None:
    line = f"x = x_ref[...]; o_ref[...] = x.{method}"
    body = ROW_SUM.format(loop="0", extra="").replace("    o_ref[...] = 0", "    " + line)
    found, _ = _check(body)
    assert found == (set() if code is None else {(_line(body, line), code)})


LEFT = "jnp.sum(x_ref[:, :64], axis=1)"


@pytest.mark.parametrize(
    ("right", "code"),
    [
        ("jnp.sum(x_ref[:, -64:], axis=1)", None),  # Python's slice: -64 counts from the end
        ("jnp.sum(x_ref[:, pl.ds(64, 64)], axis=1)", None),
        ("jnp.sum(x_ref[:, pl.ds(96, 64)], axis=1)", "STL042"),  # past the block's 128 columns
        ("jnp.sum(x_ref[:, pl.ds(64 + pl.program_id(0) * 32, 64)], axis=1)", "STL042"),
    ],
)
def test_a_read_past_the_block_is_out_of_bounds(right: str, code: str | None) -> None:
    line = f"o_ref[...] = {LEFT} + {right}"
    body = ROW_SUM.format(loop="0", extra="").replace("    o_ref[...] = 0", "    " + line)
    found, proved = _check(body)
    assert found == (set() if code is None else {(_line(body, line), code)})
    assert (proved > 0) == (code is None)


JITTED_ADD = """
def kernel(x_ref, y_ref, o_ref):
    o_ref[...] = x_ref[...] + y_ref[...]


# stile: return = x[N] + y[N]
# stile: case N=256 block=64
@functools.partial(jax.jit, static_argnames={static})
def add(x, y, block=32):
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(pl.cdiv(x.shape[0], block),),
        in_specs=[pl.BlockSpec((block,), lambda i: (i,)), pl.BlockSpec((block,), lambda i: (i,))],
        out_specs=pl.BlockSpec((block,), lambda i: (i,)),
    )(x, y)
"""


@pytest.mark.parametrize(("static", "code"), [('["block"]', None), ("()", "STL005")])
def test_a_block_size_passed_to_jit_must_be_static(static: str, code: str | None) -> None:
    # a number passed to a jitted function is traced unless it is static; a grid
    # or a block shape built from a traced value is what JAX refuses
    body = JITTED_ADD.format(static=static)
    found, proved = _check(body)
    assert found == (set() if code is None else {(_line(body, "in_specs="), code)})
    assert (proved > 0) == (code is None)


@pytest.mark.parametrize("fn", ["logical_and", "logical_or"])
def test_pl_when_of_a_logical_combination_of_program_ids(fn: str) -> None:
    # jnp.logical_and of traced scalars is a traced bool, which pl.when takes
    init = f"jnp.{fn}(pl.program_id(0) >= 0, pl.program_id(1) == 0)"
    semantics = '("parallel", "arbitrary")'
    found, proved = _check(SCRATCH.format(init=init, update=NOTHING, semantics=semantics))
    assert found == set() and proved > 0


def test_the_base_class_of_compiler_params_is_refused() -> None:
    body = SCRATCH.format(init=ONCE, update=NOTHING, semantics='("arbitrary", "arbitrary")')
    body = body.replace("pltpu.CompilerParams(", "pl.CompilerParams(")
    found, _ = _check(body)
    assert found == {(_line(body, "compiler_params="), "STL005")}


SCALED = """
def kernel(x_ref, o_ref, *, scale):
    factor = 2.0
    if scale != 1.0:
        factor = factor * scale
    o_ref[...] = x_ref[...] * factor


# stile: return = 2 * scale * x[N]
# stile: case N=8
@functools.partial(jax.jit, static_argnames={static})
def f(x, scale):
    k = functools.partial(kernel, scale=scale)
    return pl.pallas_call(k, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype))(x)
"""


def test_a_test_of_a_scalar_splits_the_case_only_when_it_is_static() -> None:
    found, proved = _check(SCALED.format(static='["scale"]'))
    assert found == set() and proved == 2
    # not static: JAX traces scale, and `if scale != 1.0` is not a Python test any more
    body = SCALED.format(static="()")
    found, proved = _check(body)
    # (a comparison of data is a traced mask: JAX refuses the `if` on it)
    assert found == {(_line(body, "if scale != 1.0"), "STL005")} and proved == 0
