"""Contractions in Pallas kernels: ``lax.dot_general``, ``lax.dot``, ``jnp.dot``,
``jnp.matmul``, ``@`` and ``jnp.einsum`` on whole-array blocks, each proved
against a spec (and cross-checked in NumPy), or reported where it goes wrong."""

from __future__ import annotations

import pytest

from stile_static.check.checker import Options, check_source

TEMPLATE = """\
import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl


def kernel(x_ref, y_ref, o_ref):
    x, y = x_ref[...], y_ref[...]
    o_ref[...] = {expr}


# stile: return = {spec}
# stile: case {case}
def f(x, y):
    return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct({shape}, x.dtype))(x, y)
"""
EXPR_LINE = 9

MK_NK = ("(x[M K], y[N K] -> M N)", "M=8 K=16 N=4", "(x.shape[0], y.shape[0])")
MK_KN = ("(x[M K], y[K N] -> M N)", "M=8 K=16 N=4", "(x.shape[0], y.shape[1])")
BATCHED = ("(x[B M K], y[B K N] -> B M N)", "B=3 M=8 K=16 N=4", "x.shape[:2] + y.shape[2:]")
BROADCAST = ("(x[M K], y[B K N] -> B M N)", "B=3 M=8 K=16 N=4", "(y.shape[0], x.shape[0], 4)")
BATCH_LAST = ("(x[M K B], y[B K N] -> B M N)", "B=3 M=8 K=16 N=4", "(3, 8, 4)")
DOT_3D = ("(x[B M K], y[K N] -> B M N)", "B=3 M=8 K=16 N=4", "x.shape[:2] + y.shape[1:]")
ROW_SUM = ("(x[M K], y[K N] -> M)", "M=8 K=16 N=4", "(x.shape[0],)")
TRANSPOSED = ("(x[M K], y[K N] -> N M)", "M=8 K=16 N=4", "(y.shape[1], x.shape[0])")


def _check(expr: str, form: tuple[str, str, str]) -> tuple[set[tuple[int, str]], int]:
    spec, case, shape = form
    source = TEMPLATE.format(expr=expr, spec=spec, case=case, shape=shape)
    report = check_source(source, "k.py", Options(cross_check=True))
    return {(d.span.line, d.code) for d in report.diagnostics}, len(report.proved)


VERIFIED = [
    ("lax.dot_general(x, y, (((1,), (1,)), ((), ())))", MK_NK),  # q @ k.T in flash attention
    ("lax.dot_general(x, y, ((1, 1), ((), ())), preferred_element_type=jnp.float32)", MK_NK),
    ("lax.dot_general(x, y, (([1], [0]), ([], [])), precision=lax.Precision.HIGHEST)", MK_KN),
    ("lax.dot(x, y)", MK_KN),
    ("lax.dot(x, y, dimension_numbers=(((1,), (1,)), ((), ())))", MK_NK),
    ("jnp.dot(x, y.T)", MK_NK),
    ("x @ y.T", MK_NK),
    ("jnp.matmul(x, y)", MK_KN),
    ("jnp.einsum('mk,nk->mn', x, y)", MK_NK),
    ("jnp.einsum('m k, k n -> m n', x, y)", MK_KN),
    ("jnp.einsum('mk,kn', x, y)", MK_KN),  # implicit output: the letters used once, sorted
    ("jnp.einsum('mk,kn->nm', x, y)", TRANSPOSED),
    ("jnp.transpose(jnp.dot(x, y))", TRANSPOSED),
    ("lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,))))", BATCHED),
    ("jnp.einsum('bmk,bkn->bmn', x, y)", BATCHED),
    ("jnp.matmul(x, y)", BATCHED),
    ("x @ y", BATCHED),
    ("x @ y", BROADCAST),  # a matrix times a stack of matrices
    ("lax.dot_general(x, y, (((1,), (1,)), ((2,), (0,))))", BATCH_LAST),
    ("jnp.einsum('mkb,bkn->bmn', x, y)", BATCH_LAST),
    ("jnp.dot(x, y)", DOT_3D),
    ("jnp.einsum('mk,kn->m', x, y)", ROW_SUM),  # n summed away in y first
    ("jnp.sum(x @ y, axis=1)", ROW_SUM),
]


@pytest.mark.parametrize(("expr", "form"), VERIFIED)
def test_a_contraction_proves_equal_to_its_spec(expr: str, form: tuple[str, str, str]) -> None:
    found, proved = _check(expr, form)
    assert found == set() and proved == 1


WRONG = [
    # contracting K of x with N of y (equal sizes): they hold different elements
    (
        "jnp.einsum('mk,kn->mn', x, y)",
        ("(x[M K], y[N K] -> M N)", "M=8 K=16 N=16", "(8, 16)"),
        "STL031",
    ),
    ("jnp.dot(x, y)", ("(x[M K], y[N K] -> M N)", "M=8 K=16 N=16", "(8, 16)"), "STL031"),
    (
        "lax.dot_general(x, y, (((1,), (0,)), ((), ())))",
        ("(x[M K], y[N K] -> M N)", "M=8 K=16 N=16", "(8, 16)"),
        "STL031",
    ),
    # batch axes paired with the wrong one: x's batch with y's K
    (
        "lax.dot_general(x, y, (((2,), (1,)), ((0,), (2,))))",
        ("(x[B M K], y[B K N] -> B M N)", "B=4 M=8 K=16 N=4", "(4, 8, 4)"),
        "STL031",
    ),
    (
        "jnp.einsum('mk,kn->nm', x, y)",
        ("(x[M K], y[K N] -> M N)", "M=8 K=16 N=8", "(8, 8)"),
        "STL031",  # the block holds N M, written to M N
    ),
    # a result of the wrong shape is a store JAX refuses
    ("jnp.einsum('mk,kn->mn', x, y)", TRANSPOSED, "STL005"),
]


@pytest.mark.parametrize(("expr", "form", "code"), WRONG)
def test_a_wrong_contraction_is_reported(expr: str, form: tuple[str, str, str], code: str) -> None:
    found, proved = _check(expr, form)
    assert code in {c for _, c in found}
    assert proved == 0


REFUSED = [
    ("jnp.einsum('mk,kn->mn', x, y)", MK_NK, "STL005"),  # k is 16 in x and 4 in y
    ("jnp.einsum('bmk,bkn->mn', x, y, x)", BATCHED, "STL005"),  # three operands, two named
    ("jnp.einsum('mk,kn->mq', x, y)", MK_KN, "STL005"),
    ("lax.dot_general(x, y, ((1,), (1,)))", MK_NK, "STL005"),
    ("lax.dot_general(x, y, (((3,), (1,)), ((), ())))", MK_NK, "STL005"),
    ("lax.dot(x, y)", BATCHED, "STL005"),  # lax.dot needs dimension_numbers for 3-d
    ("jnp.matmul(x, 2.0)", MK_KN, "STL005"),
    ("jnp.einsum('...k,kn->...n', x, y)", MK_KN, "STL002"),
    ("jnp.einsum('mm,kn->mn', x, y)", MK_KN, "STL002"),
    ("jnp.dot(x, y, preferred_element_type=jnp.int32)", MK_KN, "STL002"),
    (
        "lax.dot_general(x, y, (((1,), (0,)), ((), ())), preferred_element_type=jnp.int8)",
        MK_KN,
        "STL002",
    ),
]


@pytest.mark.parametrize(("expr", "form", "code"), REFUSED)
def test_what_jax_refuses_or_is_not_followed_is_reported_at_the_call(
    expr: str, form: tuple[str, str, str], code: str
) -> None:
    found, proved = _check(expr, form)
    assert found == {(EXPR_LINE, code)} and proved == 0
