"""The Pallas front end on small wrappers: what it follows, and where it reports."""

from __future__ import annotations

from stile_static.check.checker import Options, check_source

HEADER = """\
import functools
import dataclasses

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
"""


def _line(body: str, text: str) -> int:
    """The line of ``body`` (as checked) that contains ``text``."""
    return next(n for n, line in enumerate(body.splitlines(), 1) if text in line)


def _check(body: str, cross_check: bool = False) -> tuple[set[tuple[int, str]], int]:
    report = check_source(HEADER + body, "k.py", Options(cross_check=cross_check))
    offset = HEADER.count("\n")
    found = {(d.span.line - offset, d.code) for d in report.diagnostics}
    return found, len(report.proved)


ADD = """
def kernel(x_ref, y_ref, o_ref):
    o_ref[...] = x_ref[...] + y_ref[...]


# stile: return = x[N] + y[N]
# stile: case N=100
def add(x, y, block=32):
    block = min(max(block, 8), 64)  # Python's min and max on ints
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(pl.cdiv(x.shape[0], block),),
        in_specs=[pl.BlockSpec((block,), lambda i: (i,)), pl.BlockSpec((block,), {y_map})],
        out_specs=pl.BlockSpec((block,), lambda i: (i,)),
    )(x, y)
"""


def test_blocks_of_a_ragged_grid_verify() -> None:
    found, proved = _check(ADD.format(y_map="lambda i: (i,)"))
    assert found == set() and proved == 4


def test_an_index_map_to_another_block_is_a_wrong_value_at_the_write() -> None:
    body = ADD.format(y_map="lambda i: (jnp.where(i < 3, 2 - i, 3),)")
    found, _ = _check(body)
    assert found == {(_line(body, "o_ref[...] ="), "STL031")}  # x block i + y block 2 - i


def test_python_control_flow_in_an_index_map_is_what_jax_refuses() -> None:
    # the index map's arguments are traced: `if` on them is a TracerBoolConversionError
    body = ADD.format(y_map="lambda i: (2 - i if i < 3 else 3,)")
    found, _ = _check(body)
    assert found == {(_line(body, "2 - i if i < 3"), "STL005")}


def test_an_index_map_past_the_end_is_reported_at_the_block_spec() -> None:
    body = ADD.format(y_map="lambda i: (i + 1,)")
    found, _ = _check(body)
    assert found == {(_line(body, "lambda i: (i + 1,)"), "STL042")}


def test_a_function_mapped_with_vmap_adds_a_grid_axis() -> None:
    body = """
def kernel(x_ref, o_ref):
    o_ref[...] = jnp.exp(x_ref[...]) * 2


def one_row(x):
    return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype))(x)


# stile: return = 2 * exp(x[M N])
# stile: case M=5 N=7
def rows(x):
    return jax.vmap(one_row)(x)
"""
    found, proved = _check(body, cross_check=True)
    assert found == set() and proved == 5


def test_a_dataclass_of_block_sizes_and_a_fori_loop() -> None:
    body = """
@dataclasses.dataclass(frozen=True)
class Blocks:
    block: int = 16

    @classmethod
    def default(cls):
        return Blocks(block=8)


def kernel(x_ref, o_ref, *, block):
    n = x_ref.shape[0]

    def body(i, acc):
        return acc + x_ref[pl.ds(i * block, block)]

    acc = lax.fori_loop(0, n // block {short}, body, jnp.zeros(block))
    o_ref[...] = acc.sum(keepdims=True)


# stile: return = sum[N](x[M N])
# stile: case M=3 N=32
def total(x, blocks=Blocks.default()):
    kernel_ = functools.partial(kernel, block=blocks.block)
    f = pl.pallas_call(kernel_, out_shape=jax.ShapeDtypeStruct((1,), x.dtype))
    return jax.vmap(f)(x)
"""
    found, proved = _check(body.format(short=""))
    # the kernel returns one element per row: the spec has dims M, the output (M, 1)
    assert found == {(_line(body, "# stile: return"), "STL030")}
    body = body.replace("acc.sum(keepdims=True)", "acc.sum()")
    body = body.replace("(1,), x.dtype", "(), x.dtype")
    found, proved = _check(body.format(short=""))
    assert found == set() and proved == 3
    found, _ = _check(body.format(short="- 1"))
    assert found == {(_line(body, "o_ref[...] ="), "STL032")}


def test_an_unmasked_store_past_the_block_is_out_of_bounds() -> None:
    body = """
def kernel(x_ref, o_ref):
    v = pl.load(x_ref, (pl.ds(0, 8),), mask=jnp.arange(8) < x_ref.shape[0], other=0.0)
    pl.store(o_ref, (pl.ds(0, 8),), v{mask})


# stile: return = x[M N]
# stile: case M=2 N=5
def copy(x):
    f = pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct((x.shape[1],), x.dtype))
    return jax.vmap(f)(x)
"""
    found, proved = _check(body.format(mask=""))
    assert found == {(_line(body, "pl.store"), "STL042")}
    found, proved = _check(body.format(mask=", mask=jnp.arange(8) < x_ref.shape[0]"))
    assert found == set() and proved == 2


def test_an_unknown_call_is_reported_where_it_is() -> None:
    body = """
def kernel(x_ref, o_ref):
    o_ref[...] = jnp.sort(x_ref[...])


# stile: return = x[N]
# stile: case N=8
def f(x):
    return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype))(x)
"""
    found, proved = _check(body)
    assert found == {(_line(body, "jnp.sort"), "STL002")} and proved == 0


def test_a_test_of_a_symbolic_scalar_splits_the_case() -> None:
    body = """
def kernel(x_ref, o_ref, *, scale):
    factor = 2.0
    if scale != 1.0:
        factor = factor * {branch}
    o_ref[...] = x_ref[...] * factor


# stile: return = 2 * scale * x[N]
# stile: case N=8
def f(x, scale):
    k = functools.partial(kernel, scale=scale)
    return pl.pallas_call(k, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype))(x)
"""
    # scale == 1 and scale symbolic (any other value) are both checked
    found, proved = _check(body.format(branch="scale"))
    assert found == set() and proved == 2
    # a kernel right only when scale == 1 is caught on the other branch
    found, _ = _check(body.format(branch="1.0"))
    assert found == {(_line(body, "o_ref[...] ="), "STL031")}


def _diagnostics(body: str) -> list:
    return check_source(HEADER + body, "k.py", Options()).diagnostics


def test_a_dropped_pallas_call_result_names_the_return_form() -> None:
    """A wrapper that calls pallas_call as if it filled an output argument returns
    nothing: an annotation error whose help says to return the result, not STL002."""
    body = ADD.format(y_map="lambda i: (i,)").replace(
        "    return pl.pallas_call(", "    pl.pallas_call("
    )
    (found,) = _diagnostics(body)
    assert found.code == "STL023" and "returns nothing" in found.message
    assert "drops its result" in " ".join(found.notes)
    assert found.help is not None and "`return pl.pallas_call(...)(...)`" in found.help


def test_an_in_place_target_on_a_pallas_wrapper_names_return() -> None:
    """`# stile: o = SPEC`, the Triton form for a parameter written in place: a Pallas
    wrapper's outputs are what it returns, and the help says so."""
    body = ADD.format(y_map="lambda i: (i,)").replace("# stile: return =", "# stile: o =")
    body = body.replace("def add(x, y,", "def add(x, y, o,")
    (found,) = {(d.code, d.message, d.help) for d in _diagnostics(body)}
    code, message, help = found
    assert code == "STL023" and "`o` is a parameter written in place" in message
    assert help is not None and "`# stile: return = SPEC`" in help
