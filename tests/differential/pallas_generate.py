"""Random Pallas kernels with their wrappers and ``# stile:`` lines, correct and buggy.

Each kernel comes from one of a few families that cover what the Pallas front end
follows: element-wise kernels over 1-D and 2-D grids (BlockSpecs with index maps,
grid orders, broadcast operands, casts), row reductions over a padded block masked
with ``jnp.where`` and an iota, reductions over a grid axis that accumulate into
the output or a VMEM scratch under ``pl.when`` (with ``dimension_semantics``),
``lax.fori_loop`` over ``pl.ds`` slices of a block, and a blocked matmul. Each
family plants, half of the time, one bug a kernel author makes: a wrong index map,
a missing or misplaced init, an accumulation across a "parallel" axis, a ragged
block left unmasked, a truncating cast, a loop bound off by one, and so on.

Whether a kernel is correct is decided by running it under real JAX
(``tools/differential_pallas.py``), never by the generator: the planted bug is a
label for the reader. Case lines always include a ragged size, where mask bugs live.
Kernels stay small so that the analyzer checks each in a small fraction of a second.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

HEADER = """\
import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu
"""


@dataclass(frozen=True)
class Generated:
    """One kernel file, the family it comes from, and the bug planted (None: none)."""

    source: str
    family: str
    bug: str | None


def source_hash(source: str) -> str:
    """A short fingerprint of a source, recorded with its ground truth."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def kernel(rng: random.Random) -> str:
    return generated(rng).source


def generated(rng: random.Random) -> Generated:
    family = rng.choice(sorted(FAMILIES))
    return FAMILIES[family](rng)


# --------------------------------------------------------------------------- helpers


def _bug(rng: random.Random, bugs: list[str]) -> str | None:
    """No bug half of the time, otherwise one of ``bugs``."""
    return rng.choice(bugs) if bugs and rng.random() < 0.5 else None


def _sizes(rng: random.Random, block: int, count: int, ragged: bool = True) -> list[int]:
    """Sizes for a dim tiled by ``block``: a multiple, and (when allowed) a ragged one
    and one smaller than a block."""
    whole = block * rng.randint(1, 3)
    found = [whole]
    if ragged:
        found.append(block * rng.randint(1, 2) + rng.randint(1, block - 1))
        if count > 2:
            found.append(rng.randint(1, block - 1))
    while len(found) < count:
        found.append(block * rng.randint(1, 4))
    return found[:count]


def _cases(rng: random.Random, columns: dict[str, list[int]], extra: str = "") -> str:
    count = len(next(iter(columns.values())))
    lines = []
    for i in range(count):
        sizes = " ".join(f"{name}={values[i]}" for name, values in columns.items())
        lines.append(f"# stile: case {sizes}{extra}\n")
    return "".join(lines)


def _wrapper_head(rng: random.Random, name: str, params: str, statics: list[str]) -> str:
    """The wrapper's decorator (jit with static arguments, or none) and ``def`` line."""
    head = ""
    if rng.random() < 0.4:
        names = ", ".join(f'"{s}"' for s in [*statics, "interpret"])
        head = f"@functools.partial(jax.jit, static_argnames=[{names}])\n"
    return head + f"def {name}({params}):\n"


def _semantics(names: list[str]) -> str:
    quoted = ", ".join(f'"{n}"' for n in names)
    return f"compiler_params=pltpu.CompilerParams(dimension_semantics=({quoted})),\n"


# --------------------------------------------------------------------------- families

BINARY = [
    ("x_ref[...] + y_ref[...]", "x[{d}] + y[{d}]"),
    ("x_ref[...] * y_ref[...]", "x[{d}] * y[{d}]"),
    ("x_ref[...] - y_ref[...]", "x[{d}] - y[{d}]"),
    ("2.0 * x_ref[...] + y_ref[...]", "2 * x[{d}] + y[{d}]"),
    ("jnp.exp(x_ref[...]) * y_ref[...]", "exp(x[{d}]) * y[{d}]"),
]


def elementwise_1d(rng: random.Random) -> Generated:
    bugs = ["x_next_block", "x_block_zero", "grid_floor", "out_block_zero", "int_cast"]
    bug = _bug(rng, [*bugs, "python_if"])
    body, spec = rng.choice(BINARY)
    if bug == "int_cast":
        body = f"({body}).astype(jnp.int32).astype(o_ref.dtype)"
    elif rng.random() < 0.3:
        body = f"({body}).astype(o_ref.dtype)"
    block = rng.choice([8, 16, 32])
    x_map = {"x_next_block": "(i + 1,)", "x_block_zero": "(0,)"}.get(bug, "(i,)")
    o_map = "(0,)" if bug == "out_block_zero" else "(i,)"
    grid = "(n // block,)" if bug == "grid_floor" else "(pl.cdiv(n, block),)"
    sizes = _sizes(rng, block, 3)
    if bug in ("x_block_zero", "out_block_zero"):
        sizes[0] = block * rng.randint(2, 3)  # more than one block, or the bug is invisible
    given = rng.random() < 0.3
    extra = f" block={block}" if given else ""
    default = 16 if given else block
    name = rng.choice(["add", "combine", "ew"])
    store = f"    o_ref[...] = {body}\n\n\n"
    if bug == "python_if":
        # Python `if` on a traced value: JAX refuses it (the program id is a tracer)
        store = f"    if pl.program_id(0) >= 0:\n        o_ref[...] = {body}\n\n\n"
    source = (
        HEADER
        + f"\n\ndef {name}_kernel(x_ref, y_ref, o_ref):\n"
        + store
        + f"# stile: return = {spec.format(d='N')}\n"
        + _cases(rng, {"N": sizes}, extra)
        + _wrapper_head(rng, name, f"x, y, *, block={default}, interpret=False", ["block"])
        + "    n = x.shape[0]\n"
        + "    return pl.pallas_call(\n"
        + f"        {name}_kernel,\n"
        + "        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),\n"
        + f"        grid={grid},\n"
        + f"        in_specs=[pl.BlockSpec((block,), lambda i: {x_map}),"
        + " pl.BlockSpec((block,), lambda i: (i,))],\n"
        + f"        out_specs=pl.BlockSpec((block,), lambda i: {o_map}),\n"
        + "        interpret=interpret,\n"
        + "    )(x, y)\n"
    )
    return Generated(source, "elementwise_1d", bug)


def elementwise_2d(rng: random.Random) -> Generated:
    """x[M N] op y[M N] (or a row vector b[N] broadcast) over a 2-D grid in either order."""
    bug = _bug(rng, ["maps_swapped", "x_ignores_axis", "out_ignores_axis", "bias_wrong_axis"])
    bm, bn = rng.choice([8, 16]), rng.choice([8, 16, 32])
    rows_first = rng.random() < 0.5
    bias = rng.random() < 0.4 or bug == "bias_wrong_axis"
    params = "i, j" if rows_first else "j, i"
    grid = "(pl.cdiv(m, bm), pl.cdiv(n, bn))" if rows_first else "(pl.cdiv(n, bn), pl.cdiv(m, bm))"
    x_map = {"maps_swapped": "(j, i)", "x_ignores_axis": "(i, 0)"}.get(bug, "(i, j)")
    o_map = "(0, j)" if bug == "out_ignores_axis" else "(i, j)"
    if bias:
        body, spec = "x_ref[...] + b_ref[...][None, :]", "x[M N] + b[N]"
        if rng.random() < 0.5:
            body, spec = "x_ref[...] * b_ref[...][None, :]", "x[M N] * b[N]"
        b_map = "(i,)" if bug == "bias_wrong_axis" else "(j,)"
        second = f"pl.BlockSpec((bn,), lambda {params}: {b_map})"
        args, inputs = "x, b", "x, b"
    else:
        body, spec = rng.choice(BINARY)
        spec = spec.format(d="M N")
        second = f"pl.BlockSpec((bm, bn), lambda {params}: (i, j))"
        args, inputs = "x, y", "x, y"
        body = body.replace("y_ref", "b_ref")
    semantics = ""
    if rng.random() < 0.4:
        semantics = "        " + _semantics(["parallel", rng.choice(["parallel", "arbitrary"])])
    m_sizes = _sizes(rng, bm, 2)
    n_sizes = _sizes(rng, bn, 2)
    if bug in ("x_ignores_axis", "out_ignores_axis", "bias_wrong_axis"):
        m_sizes[0] = bm * 3  # several row blocks, or the bug is invisible
        n_sizes[0] = bn * 2
    rng.shuffle(n_sizes)
    source = (
        HEADER
        + "\n\ndef ew2_kernel(x_ref, b_ref, o_ref):\n"
        + f"    o_ref[...] = {body}\n\n\n"
        + f"# stile: return = {spec}\n"
        + _cases(rng, {"M": m_sizes, "N": n_sizes})
        + _wrapper_head(rng, "ew2", f"{args}, *, bm={bm}, bn={bn}, interpret=False", ["bm", "bn"])
        + "    m, n = x.shape\n"
        + "    return pl.pallas_call(\n"
        + "        ew2_kernel,\n"
        + "        out_shape=jax.ShapeDtypeStruct((m, n), x.dtype),\n"
        + f"        grid={grid},\n"
        + f"        in_specs=[pl.BlockSpec((bm, bn), lambda {params}: {x_map}), {second}],\n"
        + f"        out_specs=pl.BlockSpec((bm, bn), lambda {params}: {o_map}),\n"
        + semantics
        + "        interpret=interpret,\n"
        + f"    )({inputs})\n"
    )
    return Generated(source, "elementwise_2d", bug)


REDUCERS = {
    "sum": ("0.0", "-jnp.inf"),
    "max": ("-jnp.inf", "jnp.inf"),
    "min": ("jnp.inf", "-jnp.inf"),
}


def row_reduce(rng: random.Random) -> Generated:
    """A reduction over whole rows padded to a power of two, the padding masked out."""
    bug = _bug(rng, ["mask_dropped", "mask_off_by_one", "wrong_fill"])
    op = rng.choice(["sum", "max", "min", "mean"])
    reducer = "sum" if op == "mean" else op
    fill, wrong = REDUCERS[reducer]
    if bug == "wrong_fill":
        fill = wrong
    iota = rng.choice(
        ["jnp.arange(x_ref.shape[1])[None, :]", "lax.broadcasted_iota(jnp.int32, x_ref.shape, 1)"]
    )
    compare = "<=" if bug == "mask_off_by_one" else "<"
    if bug == "mask_dropped":
        masked = "    x = x_ref[...]\n"
    else:
        masked = (
            f"    cols = {iota}\n    x = jnp.where(cols {compare} n_cols, x_ref[...], {fill})\n"
        )
    value = f"jnp.{reducer}(x, axis=1)"
    if op == "mean":
        value += " / n_cols"
    bm = rng.choice([8, 16])
    m_sizes = _sizes(rng, bm, 3)
    n_sizes = [rng.choice([8, 16, 32]), rng.randint(3, 31), rng.randint(3, 40)]
    if all(n & (n - 1) == 0 for n in n_sizes):
        n_sizes[1] = 12  # a ragged row, where the mask matters
    rng.shuffle(n_sizes)
    source = (
        HEADER
        + "\n\ndef reduce_kernel(x_ref, o_ref, *, n_cols):\n"
        + masked
        + f"    o_ref[...] = ({value}).astype(o_ref.dtype)\n\n\n"
        + f"# stile: return = {op}[N](x[M N])\n"
        + _cases(rng, {"M": m_sizes, "N": n_sizes})
        + _wrapper_head(rng, "row_reduce", f"x, *, bm={bm}, interpret=False", ["bm"])
        + "    m, n = x.shape\n"
        + "    bn = pl.next_power_of_2(n)\n"
        + "    return pl.pallas_call(\n"
        + "        functools.partial(reduce_kernel, n_cols=n),\n"
        + "        out_shape=jax.ShapeDtypeStruct((m,), x.dtype),\n"
        + "        grid=(pl.cdiv(m, bm),),\n"
        + "        in_specs=[pl.BlockSpec((bm, bn), lambda i: (i, 0))],\n"
        + "        out_specs=pl.BlockSpec((bm,), lambda i: (i,)),\n"
        + "        interpret=interpret,\n"
        + "    )(x)\n"
    )
    return Generated(source, "row_reduce", bug)


def grid_reduce(rng: random.Random) -> Generated:
    """sum[K](x[M K]) with K split over a grid axis, accumulated under ``pl.when``."""
    bug = _bug(
        rng,
        ["no_init", "init_wrong_step", "k_parallel", "ragged_unmasked", "done_wrong_step"],
    )
    scratch = rng.random() < 0.5
    if bug == "done_wrong_step" and not scratch:
        bug = "no_init"
    k_first = rng.random() < 0.25  # the k axis outer: output blocks revisited apart
    k_axis = 0 if k_first else 1
    params = "kk, i" if k_first else "i, kk"
    grid = "(pl.cdiv(k, bk), pl.cdiv(m, bm))" if k_first else "(pl.cdiv(m, bm), pl.cdiv(k, bk))"
    bm, bk = rng.choice([8, 16]), rng.choice([8, 16])
    init_step = "1" if bug == "init_wrong_step" else "0"
    target = "acc_ref" if scratch else "o_ref"
    lines = [f"    @pl.when(pl.program_id({k_axis}) == {init_step})\n"]
    lines.append("    def _init():\n")
    lines.append(f"        {target}[...] = jnp.zeros_like({target})\n\n")
    if bug == "no_init":
        lines = []
    masked = bug != "ragged_unmasked"
    if masked:
        lines.append(
            f"    cols = pl.program_id({k_axis}) * x_ref.shape[1]"
            " + lax.broadcasted_iota(jnp.int32, x_ref.shape, 1)\n"
        )
        lines.append("    x = jnp.where(cols < n_k, x_ref[...], 0.0)\n")
    else:
        lines.append("    x = x_ref[...]\n")
    lines.append(f"    {target}[...] += jnp.sum(x, axis=1)\n")
    if scratch:
        last = "0" if bug == "done_wrong_step" else f"pl.num_programs({k_axis}) - 1"
        lines.append(f"\n    @pl.when(pl.program_id({k_axis}) == {last})\n")
        lines.append("    def _done():\n")
        lines.append("        o_ref[...] = acc_ref[...]\n")
    semantics = ""
    if bug == "k_parallel":
        names = ["parallel", "parallel"]
        semantics = "        " + _semantics(names)
    elif rng.random() < 0.5:
        names = ["arbitrary", "arbitrary"] if k_first else ["parallel", "arbitrary"]
        semantics = "        " + _semantics(names)
    kernel_params = "x_ref, o_ref, acc_ref, *, n_k" if scratch else "x_ref, o_ref, *, n_k"
    scratch_line = "        scratch_shapes=[pltpu.VMEM((bm,), jnp.float32)],\n" if scratch else ""
    m_sizes = _sizes(rng, bm, 3)
    k_sizes = _sizes(rng, bk, 3)
    k_sizes[0] = bk * rng.randint(2, 3)  # several k steps
    rng.shuffle(k_sizes)
    source = (
        HEADER
        + f"\n\ndef ksum_kernel({kernel_params}):\n"
        + "".join(lines)
        + "\n\n# stile: return = sum[K](x[M K])\n"
        + _cases(rng, {"M": m_sizes, "K": k_sizes})
        + _wrapper_head(rng, "ksum", f"x, *, bm={bm}, bk={bk}, interpret=False", ["bm", "bk"])
        + "    m, k = x.shape\n"
        + "    return pl.pallas_call(\n"
        + "        functools.partial(ksum_kernel, n_k=k),\n"
        + "        out_shape=jax.ShapeDtypeStruct((m,), x.dtype),\n"
        + f"        grid={grid},\n"
        + f"        in_specs=[pl.BlockSpec((bm, bk), lambda {params}: (i, kk))],\n"
        + f"        out_specs=pl.BlockSpec((bm,), lambda {params}: (i,)),\n"
        + scratch_line
        + semantics
        + "        interpret=interpret,\n"
        + "    )(x)\n"
    )
    return Generated(source, "grid_reduce", bug)


def fori_chunks(rng: random.Random) -> Generated:
    """sum[N](x[M N]) of whole rows, summed chunk by chunk in a ``lax.fori_loop``."""
    bug = _bug(rng, ["bound_short", "start_not_scaled", "stride"])
    c = rng.choice([4, 8])
    start = "j" if bug == "start_not_scaled" else "j * c"
    ds = f"pl.ds({start}, c, stride=2)" if bug == "stride" else f"pl.ds({start}, c)"
    upper = "x_ref.shape[1] // c - 1" if bug == "bound_short" else "x_ref.shape[1] // c"
    keyword = rng.random() < 0.3
    init = "jnp.zeros((x_ref.shape[0], c), jnp.float32)"
    call = (
        f"lax.fori_loop(0, {upper}, body, init_val={init})"
        if keyword
        else f"lax.fori_loop(0, {upper}, body, {init})"
    )
    bm = rng.choice([8, 16])
    m_sizes = _sizes(rng, bm, 2)
    n_sizes = [c * rng.randint(2, 6) for _ in m_sizes]
    source = (
        HEADER
        + "\n\ndef chunks_kernel(x_ref, o_ref, *, c):\n"
        + "    def body(j, acc):\n"
        + f"        return acc + x_ref[:, {ds}]\n\n"
        + f"    acc = {call}\n"
        + "    o_ref[...] = jnp.sum(acc, axis=1)\n\n\n"
        + "# stile: return = sum[N](x[M N])\n"
        + _cases(rng, {"M": m_sizes, "N": n_sizes})
        + _wrapper_head(rng, "chunked_sum", f"x, *, bm={bm}, c={c}, interpret=False", ["bm", "c"])
        + "    m, n = x.shape\n"
        + "    if n % c != 0:\n"
        + '        raise ValueError(f"N={n} must be a multiple of {c}")\n'
        + "    return pl.pallas_call(\n"
        + "        functools.partial(chunks_kernel, c=c),\n"
        + "        out_shape=jax.ShapeDtypeStruct((m,), x.dtype),\n"
        + "        grid=(pl.cdiv(m, bm),),\n"
        + "        in_specs=[pl.BlockSpec((bm, n), lambda i: (i, 0))],\n"
        + "        out_specs=pl.BlockSpec((bm,), lambda i: (i,)),\n"
        + "        interpret=interpret,\n"
        + "    )(x)\n"
    )
    return Generated(source, "fori_chunks", bug)


def matmul(rng: random.Random) -> Generated:
    """(x[M K], y[K N] -> M N) over a 3-D grid with a VMEM accumulator."""
    bug = _bug(rng, ["out_ignores_j", "init_wrong_step", "k_parallel", "y_map_swapped"])
    b = rng.choice([8, 16])
    init_step = "1" if bug == "init_wrong_step" else "0"
    o_map = "(i, 0)" if bug == "out_ignores_j" else "(i, j)"
    y_map = "(j, kk)" if bug == "y_map_swapped" else "(kk, j)"
    semantics = ""
    if bug == "k_parallel":
        semantics = "        " + _semantics(["parallel", "parallel", "parallel"])
    elif rng.random() < 0.5:
        semantics = "        " + _semantics(["parallel", "parallel", "arbitrary"])
    m_sizes = [b * rng.randint(1, 2), b * rng.randint(1, 2) + rng.randint(1, b - 1)]
    n_sizes = [b * 2, rng.randint(1, b * 2)]
    k_sizes = [b * 2, b * rng.randint(1, 2)]
    source = (
        HEADER
        + "\n\ndef mm_kernel(x_ref, y_ref, o_ref, acc_ref):\n"
        + f"    @pl.when(pl.program_id(2) == {init_step})\n"
        + "    def _init():\n"
        + "        acc_ref[...] = jnp.zeros_like(acc_ref)\n\n"
        + "    acc_ref[...] += jnp.dot(x_ref[...], y_ref[...],"
        + " preferred_element_type=jnp.float32)\n\n"
        + "    @pl.when(pl.program_id(2) == pl.num_programs(2) - 1)\n"
        + "    def _done():\n"
        + "        o_ref[...] = acc_ref[...].astype(o_ref.dtype)\n\n\n"
        + "# stile: return = (x[M K], y[K N] -> M N)\n"
        + _cases(rng, {"M": m_sizes, "K": k_sizes, "N": n_sizes})
        + _wrapper_head(rng, "mm", f"x, y, *, b={b}, interpret=False", ["b"])
        + "    m, k = x.shape\n"
        + "    _, n = y.shape\n"
        + "    if k % b != 0:\n"
        + '        raise ValueError(f"K={k} must be a multiple of {b}")\n'
        + "    return pl.pallas_call(\n"
        + "        mm_kernel,\n"
        + "        out_shape=jax.ShapeDtypeStruct((m, n), x.dtype),\n"
        + "        grid=(pl.cdiv(m, b), pl.cdiv(n, b), k // b),\n"
        + "        in_specs=[\n"
        + "            pl.BlockSpec((b, b), lambda i, j, kk: (i, kk)),\n"
        + f"            pl.BlockSpec((b, b), lambda i, j, kk: {y_map}),\n"
        + "        ],\n"
        + f"        out_specs=pl.BlockSpec((b, b), lambda i, j, kk: {o_map}),\n"
        + "        scratch_shapes=[pltpu.VMEM((b, b), jnp.float32)],\n"
        + semantics
        + "        interpret=interpret,\n"
        + "    )(x, y)\n"
    )
    return Generated(source, "matmul", bug)


FAMILIES: dict[str, Callable[[random.Random], Generated]] = {
    "elementwise_1d": elementwise_1d,
    "elementwise_2d": elementwise_2d,
    "row_reduce": row_reduce,
    "grid_reduce": grid_reduce,
    "fori_chunks": fori_chunks,
    "matmul": matmul,
}
