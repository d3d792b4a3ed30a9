"""Random Triton kernels with their host wrappers and `# stile:` specs, right and wrong.

Each kernel is small (a few programs of at most 64 lanes) and belongs to a family
that exercises one thing the Triton front end follows: pointer arithmetic with
strides, masks and ``other``, C division on negative lanes and scalars, int32
wrap-around, float-to-int casts, reductions, ``tl.where``, loads after stores in
one program and across launches, host copies and views, autotune configs and
heuristics. Each family draws a correct form or one of its buggy twins (an
off-by-one mask, a wrong stride, a missing ``other``, swapped launches, Python's
division where Triton's is C's, ...), and the spec states what the kernel is meant
to compute, sometimes with the value a careless reader would expect. Which twin is
wrong is never decided here: the kernel is run for real (tools/differential_triton.py)
and that run is the ground truth.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable

HEADER = "import torch\nimport triton\nimport triton.language as tl\n"

# sizes of a 1-d case: ragged ones (no block divides them, some below a block) and exact
SIZES_1D = (1, 5, 17, 37, 64, 100, 128)
ROWS = (1, 3, 5)
COLS = (4, 7, 16, 20, 33)


def kernel(rng: random.Random) -> str:
    """One random kernel file (a Triton kernel, its wrapper, its spec and cases)."""
    name = rng.choice(sorted(FAMILIES))
    return f"# differential kernel, family {name}\n" + FAMILIES[name](rng)


def source_hash(source: str) -> str:
    """A short hash of a generated source: the replay checks the generator did not drift."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _cases_1d(rng: random.Random, dim: str = "N") -> list[str]:
    sizes = sorted(rng.sample(SIZES_1D, rng.randint(2, 3)))
    return [f"# stile: case {dim}={n}" for n in sizes]


def _cases_2d(rng: random.Random) -> list[str]:
    pairs = {(rng.choice(ROWS), rng.choice(COLS)) for _ in range(rng.randint(2, 3))}
    return [f"# stile: case M={m} N={n}" for m, n in sorted(pairs)]


def _pick(rng: random.Random, correct: str, *wrong: str, p: float = 0.5) -> str:
    """The correct form with probability ``p``, else one of the wrong ones."""
    return correct if not wrong or rng.random() < p else rng.choice(wrong)


def _file(kernels: list[str], specs: list[str], wrapper: list[str]) -> str:
    body = "\n\n".join(kernels)
    return f"{HEADER}\n\n{body}\n\n\n" + "\n".join(specs + wrapper) + "\n"


# --- element-wise maps, 1-d ------------------------------------------------------------

# (kernel expression of the loaded `x` and `z`, its spec, spec of a careless twin)
MAPS = [
    ("x * 2.0", "2 * x[N]", "x[N]"),
    ("x + z", "x[N] + z[N]", "2 * x[N]"),
    ("x * z + 1.0", "x[N] * z[N] + 1", "x[N] * z[N]"),
    ("tl.exp(x)", "exp(x[N])", "exp2(x[N])"),
    ("tl.where(x > 0, x, 0.0)", "maximum(x[N], 0)", "minimum(x[N], 0)"),
    ("tl.maximum(x, z)", "maximum(x[N], z[N])", "minimum(x[N], z[N])"),
    ("tl.sigmoid(x) * x", "sigmoid(x[N]) * x[N]", "sigmoid(x[N])"),
    ("x - z * 0.5", "x[N] - z[N] / 2", "x[N] - z[N]"),
]


def _map_1d(rng: random.Random) -> str:
    expr, spec, careless = rng.choice(MAPS)
    spec = _pick(rng, spec, careless, p=0.85)
    uses_z = "z" in expr
    block = rng.choice((16, 32, 64))
    mask = _pick(rng, "offs < n", "offs <= n", "offs < n - 1", "offs < BLOCK", p=0.6)
    grid = _pick(rng, f"triton.cdiv(n, {block})", f"n // {block}", f"n // {block} + 1", p=0.7)
    pid = _pick(
        rng,
        "tl.program_id(0)",
        "tl.program_id(axis=0)",
        "tl.program_id(1)",
        "tl.program_id(3)",
        p=0.9,
    )
    in_place = rng.random() < 0.5
    zp = "z_ptr, " if uses_z else ""
    kernel_src = [
        "@triton.jit",
        f"def map_kernel(x_ptr, {zp}y_ptr, n, BLOCK: tl.constexpr):",
        f"    offs = {pid} * BLOCK + tl.arange(0, BLOCK)",
        f"    mask = {mask}",
        "    x = tl.load(x_ptr + offs, mask=mask)",
    ]
    if uses_z:
        kernel_src.append("    z = tl.load(z_ptr + offs, mask=mask)")
    kernel_src.append(f"    tl.store(y_ptr + offs, {expr}, mask=mask)")
    target = "y" if in_place else "return"
    params = "x, " + ("z, " if uses_z else "") + ("y" if in_place else "")
    wrapper = [f"def run({params.rstrip(', ')}):", "    n = x.numel()"]
    if not in_place:
        alloc = rng.choice(("torch.empty_like(x)", "torch.empty(n, device=x.device)"))
        wrapper.append(f"    y = {alloc}")
    launch_args = "x, " + ("z, " if uses_z else "") + "y, n"
    wrapper.append(f"    map_kernel[({grid},)]({launch_args}, BLOCK={block})")
    if not in_place:
        wrapper.append("    return y")
    specs = [f"# stile: {target} = {spec}", *_cases_1d(rng)]
    return _file(["\n".join(kernel_src)], specs, wrapper)


# --- 2-d tensors with strides ----------------------------------------------------------


def _strided_2d(rng: random.Random) -> str:
    block = 64 if rng.random() < 0.2 else 32
    # the strides passed for x, then for y: the right ones, or a neighbour's
    x_strides = _pick(rng, "x.stride(0), x.stride(1)", "x.stride(1), x.stride(0)", "n, 1", p=0.75)
    y_strides = _pick(rng, "y.stride(0), y.stride(1)", "x.stride(0), x.stride(1)", p=0.8)
    col_mask = _pick(rng, "cols < n", "cols <= n", "cols < BLOCK", p=0.75)
    scale = rng.choice(("2.0", "0.5", "-1.0"))
    spec_scale = {"2.0": "2", "0.5": "0.5", "-1.0": "-1"}[scale]
    spec = _pick(rng, f"{spec_scale} * x[M N]", "x[M N]", p=0.9)
    kernel_src = "\n".join(
        [
            "@triton.jit",
            "def rows_kernel(x_ptr, y_ptr, n, sxm, sxn, sym, syn, BLOCK: tl.constexpr):",
            "    row = tl.program_id(0)",
            "    cols = tl.arange(0, BLOCK)",
            f"    mask = {col_mask}",
            "    x = tl.load(x_ptr + row * sxm + cols * sxn, mask=mask)",
            f"    tl.store(y_ptr + row * sym + cols * syn, x * {scale}, mask=mask)",
        ]
    )
    wrapper = [
        "def run(x, y):",
        "    m, n = x.shape",
        f"    rows_kernel[(m,)](x, y, n, {x_strides}, {y_strides}, BLOCK={block})",
    ]
    return _file([kernel_src], [f"# stile: y = {spec}", *_cases_2d(rng)], wrapper)


def _transpose(rng: random.Random) -> str:
    """y[N M] = x transposed, through a host view `x.t()` and its strides."""
    view = _pick(rng, "xt.stride(0), xt.stride(1)", "x.stride(0), x.stride(1)", p=0.7)
    kernel_src = "\n".join(
        [
            "@triton.jit",
            "def t_kernel(a_ptr, y_ptr, m, sam, san, sym, syn, BLOCK: tl.constexpr):",
            "    row = tl.program_id(0)",
            "    cols = tl.arange(0, BLOCK)",
            "    mask = cols < m",
            "    a = tl.load(a_ptr + row * sam + cols * san, mask=mask)",
            "    tl.store(y_ptr + row * sym + cols * syn, a, mask=mask)",
        ]
    )
    wrapper = [
        "def run(x, y):",
        "    xt = x.t()",
        "    n, m = xt.shape",
        f"    t_kernel[(n,)](xt, y, m, {view}, y.stride(0), y.stride(1), BLOCK=8)",
    ]
    shapes = sorted({(rng.randint(1, 8), rng.randint(1, 6)) for _ in range(2)})
    cases = [f"# stile: case M={m} N={n}" for m, n in shapes]
    return _file([kernel_src], ["# stile: y = (x[M N] -> N M)", *cases], wrapper)


# --- integers: C division, int32 wrap, float-to-int casts ------------------------------


def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _c_mod(a: int, b: int) -> int:
    return a - b * _c_div(a, b)


def _wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def _scalar_division(rng: random.Random) -> str:
    """y = x * (a OP b) with a, b integer arguments: Triton divides like C in the
    kernel, Python floors on the host; the spec states one of them."""
    a = rng.choice((-7, -9, -13, 7, 9, -1))
    b = rng.choice((2, 3, 4, -3))
    op = rng.choice(("//", "%"))
    on_host = rng.random() < 0.3
    c_value = _c_div(a, b) if op == "//" else _c_mod(a, b)
    py_value = a // b if op == "//" else a % b
    truth = py_value if on_host else c_value
    other = c_value if on_host else py_value
    value = truth if rng.random() < 0.6 else other
    block = 32
    if on_host:
        kernel_args, launch = "k", f"{a} {op} {b}"
        compute = ""
    else:
        kernel_args, launch = "a, b", f"{a}, {b}"
        compute = f"    k = a {op} b\n"
    kernel_src = (
        "@triton.jit\n"
        f"def div_kernel(x_ptr, y_ptr, n, {kernel_args}, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        f"{compute}"
        "    x = tl.load(x_ptr + offs, mask=mask)\n"
        "    tl.store(y_ptr + offs, x * k, mask=mask)"
    )
    wrapper = [
        "def run(x):",
        "    n = x.numel()",
        "    y = torch.empty_like(x)",
        f"    div_kernel[(triton.cdiv(n, {block}),)](x, y, n, {launch}, BLOCK={block})",
        "    return y",
    ]
    spec = f"# stile: return = {value} * x[N]"
    return _file([kernel_src], [spec, *_cases_1d(rng)], wrapper)


def _lane_division(rng: random.Random) -> str:
    """A `tl.where` on `(offs - s) // d >= 0`: C truncation keeps lanes from s - d + 1,
    Python's floor from s."""
    s = rng.randint(2, 9)
    d = rng.choice((2, 3, 4))
    c_from, py_from = max(s - d + 1, 0), s
    start = c_from if rng.random() < 0.6 else py_from
    cond = rng.choice(((f"(offs - {s}) // {d} >= 0", True), (f"offs >= {s}", False)))
    if not cond[1]:
        start = _pick(rng, str(s), str(s + 1), p=0.7)
    kernel_src = (
        "@triton.jit\n"
        "def lanes_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    x = tl.load(x_ptr + offs, mask=mask)\n"
        f"    tl.store(y_ptr + offs, tl.where({cond[0]}, x, 0.0), mask=mask)"
    )
    wrapper = [
        "def run(x, y):",
        "    n = x.numel()",
        "    lanes_kernel[(triton.cdiv(n, 16),)](x, y, n, BLOCK=16)",
    ]
    spec = f"# stile: y = where(N >= {start}, x[N], 0)"
    return _file([kernel_src], [spec, *_cases_1d(rng)], wrapper)


def _int32_wrap(rng: random.Random) -> str:
    """Offsets scaled by a large integer argument and divided back: the product wraps in
    int32 for the lanes where it reaches 2**31 unless it is made in int64 first."""
    shift = rng.choice((24, 25, 26, 27))
    widen = rng.random() < 0.4
    lanes = "offs.to(tl.int64)" if widen else "offs"
    kernel_src = (
        "@triton.jit\n"
        "def wrap_kernel(x_ptr, y_ptr, n, scale, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        f"    idx = ({lanes} * scale) // scale\n"
        "    x = tl.load(x_ptr + idx, mask=mask)\n"
        "    tl.store(y_ptr + offs, x + 1.0, mask=mask)"
    )
    wrapper = [
        "def run(x):",
        "    n = x.numel()",
        "    y = torch.empty_like(x)",
        f"    wrap_kernel[(triton.cdiv(n, 64),)](x, y, n, 2**{shift}, BLOCK=64)",
        "    return y",
    ]
    return _file([kernel_src], ["# stile: return = x[N] + 1", *_cases_1d(rng)], wrapper)


def _scalar_wrap(rng: random.Random) -> str:
    """y = x * ((a * b) % 7) with a * b past 2**31: int32 wraps, Python does not."""
    # an argument of 2**32 or more is int64 in Triton (it specializes by value): no wrap
    a = rng.choice((50000, 46341, 65536, 40000, 2**32 + 3))
    b = rng.choice((50000, 46341, 3, 65537))
    wrapped = _c_mod(_wrap32(a * b), 7)
    exact = (a * b) % 7
    value = _pick(rng, str(wrapped), str(exact), str(_c_mod(a * b, 7)), p=0.6)
    kernel_src = (
        "@triton.jit\n"
        "def prod_kernel(x_ptr, y_ptr, n, a, b, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    k = (a * b) % 7\n"
        "    x = tl.load(x_ptr + offs, mask=mask)\n"
        "    tl.store(y_ptr + offs, x * k, mask=mask)"
    )
    wrapper = [
        "def run(x):",
        "    n = x.numel()",
        "    y = torch.empty_like(x)",
        f"    prod_kernel[(triton.cdiv(n, 32),)](x, y, n, {a}, {b}, BLOCK=32)",
        "    return y",
    ]
    return _file([kernel_src], [f"# stile: return = {value} * x[N]", *_cases_1d(rng)], wrapper)


def _float_to_int(rng: random.Random) -> str:
    """y = x * k with k a float cast to int32 in the kernel, which truncates toward zero:
    of a float argument, or of the true quotient `a / b` of two integer arguments."""
    if rng.random() < 0.6:
        s = rng.choice((2.7, -2.7, 1.5, -0.5, 3.2))
        params, launch, cast = "s", str(s), "tl.cast(s, tl.int32)"
    else:
        a, b = rng.choice(((-7, 2), (7, 2), (-9, 4), (5, -3), (-1, 3)))
        s = a / b
        params, launch, cast = "a, b", f"{a}, {b}", "(a / b).to(tl.int32)"
    trunc, floor = int(s), math.floor(s)
    value = _pick(rng, str(trunc), str(floor), str(s), p=0.6)
    kernel_src = (
        "@triton.jit\n"
        f"def cast_kernel(x_ptr, y_ptr, n, {params}, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        f"    k = {cast}\n"
        "    x = tl.load(x_ptr + offs, mask=mask)\n"
        "    tl.store(y_ptr + offs, x * k, mask=mask)"
    )
    wrapper = [
        "def run(x):",
        "    n = x.numel()",
        "    y = torch.empty_like(x)",
        f"    cast_kernel[(triton.cdiv(n, 32),)](x, y, n, {launch}, BLOCK=32)",
        "    return y",
    ]
    return _file([kernel_src], [f"# stile: return = {value} * x[N]", *_cases_1d(rng)], wrapper)


# --- reductions over a row -------------------------------------------------------------


def _row_reduce(rng: random.Random) -> str:
    kind = rng.choice(("sum", "max", "mean", "softmax"))
    neutral = {"sum": "0.0", "mean": "0.0", "max": "-float('inf')", "softmax": "-float('inf')"}
    other = _pick(rng, neutral[kind], "0.0", "", "1.0", p=0.55)
    other_arg = f", other={other}" if other else ""
    block = _pick(rng, "triton.next_power_of_2(n)", "n", "16", p=0.8)
    lines = [
        "@triton.jit",
        "def reduce_kernel(x_ptr, y_ptr, n, sxm, sym, BLOCK: tl.constexpr):",
        "    row = tl.program_id(0)",
        "    cols = tl.arange(0, BLOCK)",
        "    mask = cols < n",
        f"    x = tl.load(x_ptr + row * sxm + cols, mask=mask{other_arg})",
    ]
    if kind == "sum":
        lines.append("    tl.store(y_ptr + row * sym, tl.sum(x, axis=0))")
        spec = "sum[N](x[M N])"
    elif kind == "max":
        lines.append("    tl.store(y_ptr + row * sym, tl.max(x, axis=0))")
        spec = "max[N](x[M N])"
    elif kind == "mean":
        divisor = _pick(rng, "n", "BLOCK", p=0.7)
        lines.append(f"    tl.store(y_ptr + row * sym, tl.sum(x, axis=0) / {divisor})")
        spec = "mean[N](x[M N])"
    else:
        lines += [
            "    e = tl.exp(x - tl.max(x, axis=0))",
            "    tl.store(y_ptr + row * sym + cols, e / tl.sum(e, axis=0), mask=mask)",
        ]
        spec = "softmax[N](x[M N])"
    wrapper = [
        "def run(x):",
        "    m, n = x.shape",
        f"    y = torch.empty({'m, n' if kind == 'softmax' else 'm'}, device=x.device)",
        f"    reduce_kernel[(m,)](x, y, n, x.stride(0), y.stride(0), BLOCK={block})",
        "    return y",
    ]
    # the kernel steps columns by 1: the inputs are contiguous by assumption
    specs = [f"# stile: return = {spec}", "# stile: assume x.is_contiguous()"]
    return _file(["\n".join(lines)], specs + _cases_2d(rng), wrapper)


# --- memory: loads after stores --------------------------------------------------------


def _store_then_load(rng: random.Random) -> str:
    """One program stores y, loads it back and stores again: the load sees the store
    (or, in the twin, comes before it and sees the initial value)."""
    order = _pick(rng, "after", "before", p=0.6)
    init = rng.choice(("torch.empty_like(x)", "torch.zeros_like(x)"))
    store1 = "    tl.store(y_ptr + offs, x * 2.0, mask=mask)"
    load = "    t = tl.load(y_ptr + offs, mask=mask)"
    body = [store1, load] if order == "after" else [load, store1]
    lines = [
        "@triton.jit",
        "def rmw_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):",
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)",
        "    mask = offs < n",
        "    x = tl.load(x_ptr + offs, mask=mask)",
        *body,
        "    tl.store(y_ptr + offs, t + 1.0, mask=mask)",
    ]
    spec = _pick(rng, "2 * x[N] + 1", "x[N] + 1", p=0.8)
    wrapper = [
        "def run(x):",
        "    n = x.numel()",
        f"    y = {init}",
        "    rmw_kernel[(triton.cdiv(n, 32),)](x, y, n, BLOCK=32)",
        "    return y",
    ]
    return _file(["\n".join(lines)], [f"# stile: return = {spec}", *_cases_1d(rng)], wrapper)


def _two_launches(rng: random.Random) -> str:
    """tmp = 2 * x by one kernel, y = tmp + x by a second: in launch order, swapped, or
    with a second launch that overwrites the first one's output."""
    variant = _pick(rng, "in_order", "swapped", "overwrite", "in_place", p=0.5)
    init = rng.choice(("torch.empty_like(x)", "torch.zeros_like(x)"))
    scale_kernel = (
        "@triton.jit\n"
        "def scale_kernel(x_ptr, t_ptr, n, c, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    tl.store(t_ptr + offs, tl.load(x_ptr + offs, mask=mask) * c, mask=mask)"
    )
    add_kernel = (
        "@triton.jit\n"
        "def add_kernel(a_ptr, b_ptr, y_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    a = tl.load(a_ptr + offs, mask=mask)\n"
        "    b = tl.load(b_ptr + offs, mask=mask)\n"
        "    tl.store(y_ptr + offs, a + b, mask=mask)"
    )
    first = "    scale_kernel[grid](x, t, n, 2.0, BLOCK=32)"
    second = "    add_kernel[grid](t, x, y, n, BLOCK=32)"
    launches = [first, second]
    if variant == "swapped":
        launches = [second, first]
    elif variant == "overwrite":
        launches = [first, "    scale_kernel[grid](x, t, n, 3.0, BLOCK=32)", second]
    elif variant == "in_place":  # y = 2 x, then y += x: the second launch reads the first's
        launches = [
            "    scale_kernel[grid](x, y, n, 2.0, BLOCK=32)",
            "    add_kernel[grid](y, x, y, n, BLOCK=32)",
        ]
    spec = _pick(rng, "3 * x[N]", "4 * x[N]", "x[N]", p=0.6)
    wrapper = [
        "def run(x):",
        "    n = x.numel()",
        f"    t = {init}",
        "    y = torch.empty_like(x)",
        "    grid = (triton.cdiv(n, 32),)",
        *launches,
        "    return y",
    ]
    specs = [f"# stile: return = {spec}", *_cases_1d(rng)]
    return _file([scale_kernel, add_kernel], specs, wrapper)


def _halves(rng: random.Random) -> str:
    """Two launches of one kernel, each on half of the tensor through a host view."""
    split = _pick(rng, "n // 2", "n // 2 + 1", p=0.7)
    second = _pick(rng, "x[h:], y[h:], n - h", "x[h:], y[h:], h", "x[:h], y[h:], n - h", p=0.7)
    kernel_src = (
        "@triton.jit\n"
        "def half_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask) + 2.0, mask=mask)"
    )
    wrapper = [
        "def run(x, y):",
        "    n = x.numel()",
        f"    h = {split}",
        "    half_kernel[(triton.cdiv(h, 16),)](x[:h], y[:h], h, BLOCK=16)",
        f"    half_kernel[(triton.cdiv(n - h, 16),)]({second}, BLOCK=16)",
    ]
    sizes = sorted(rng.sample((2, 5, 17, 37, 64), 2))
    cases = [f"# stile: case N={n}" for n in sizes]
    return _file([kernel_src], ["# stile: y = x[N] + 2", *cases], wrapper)


# --- host copies and views -------------------------------------------------------------

# (host expression of the output the kernel writes, given the wrapper parameter `y`)
HOST_TARGETS = (
    "y",
    "y.float()",
    "y.view(-1)",
    "y.reshape(-1)",
    "y.clone()",
    "y.contiguous()",
    "y.to(torch.float64)",
    "y[:]",
    "y.detach()",
    "y.half()",
    "y.to(y.dtype)",
)
HOST_INPUTS = (
    "x",
    "x.float()",
    "x.clone()",
    "x.contiguous()",
    "x.detach()",
    "x.view(-1)",
    "x.half()",
    "x.to(torch.float64)",
)


def _host_copies(rng: random.Random) -> str:
    target = rng.choice(HOST_TARGETS)
    source = rng.choice(HOST_INPUTS)
    returned = rng.random() < 0.3
    kernel_src = (
        "@triton.jit\n"
        "def copy_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 3.0, mask=mask)"
    )
    wrapper = [
        "def run(x, y):" if not returned else "def run(x):",
        "    n = x.numel()",
    ]
    if returned:
        wrapper.append("    y = torch.empty_like(x)")
    wrapper += [
        f"    xs = {source}",
        f"    ys = {target}",
        "    copy_kernel[(triton.cdiv(n, 32),)](xs, ys, n, BLOCK=32)",
    ]
    if returned:
        wrapper.append(f"    return {_pick(rng, 'y', 'ys', p=0.5)}")
    spec = f"# stile: {'return' if returned else 'y'} = 3 * x[N]"
    return _file([kernel_src], [spec, *_cases_1d(rng)], wrapper)


def _host_2d_copies(rng: random.Random) -> str:
    """A 2-d output written through `.contiguous()` (a copy unless already contiguous)."""
    assume = rng.random() < 0.5
    target = rng.choice(("y.contiguous()", "y", "y.clone()"))
    kernel_src = (
        "@triton.jit\n"
        "def rows_kernel(x_ptr, y_ptr, n, sxm, sym, BLOCK: tl.constexpr):\n"
        "    row = tl.program_id(0)\n"
        "    cols = tl.arange(0, BLOCK)\n"
        "    mask = cols < n\n"
        "    x = tl.load(x_ptr + row * sxm + cols, mask=mask)\n"
        "    tl.store(y_ptr + row * sym + cols, x + 1.0, mask=mask)"
    )
    wrapper = [
        "def run(x, y):",
        "    m, n = x.shape",
        "    xc = x.contiguous()",
        f"    yc = {target}",
        "    rows_kernel[(m,)](xc, yc, n, xc.stride(0), yc.stride(0), BLOCK=64)",
    ]
    specs = ["# stile: y = x[M N] + 1"]
    if assume:
        specs.append("# stile: assume y.is_contiguous()")
    return _file([kernel_src], specs + _cases_2d(rng), wrapper)


# --- autotune and heuristics -----------------------------------------------------------


def _autotuned(rng: random.Random) -> str:
    blocks = sorted(rng.sample((16, 32, 64), 2))
    configs = ", ".join(f'triton.Config({{"BLOCK": {b}}})' for b in blocks)
    grid = _pick(
        rng,
        'lambda meta: (triton.cdiv(n, meta["BLOCK"]),)',
        f"lambda meta: (triton.cdiv(n, {blocks[-1]}),)",
        'lambda meta: (n // meta["BLOCK"],)',
        p=0.6,
    )
    kernel_src = (
        f'@triton.autotune(configs=[{configs}], key=["n"])\n'
        "@triton.jit\n"
        "def tuned_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask) - 1.0, mask=mask)"
    )
    wrapper = [
        "def run(x):",
        "    n = x.numel()",
        "    y = torch.empty_like(x)",
        f"    grid = {grid}",
        "    tuned_kernel[grid](x, y, n)",
        "    return y",
    ]
    return _file([kernel_src], ["# stile: return = x[N] - 1", *_cases_1d(rng)], wrapper)


def _heuristic(rng: random.Random) -> str:
    # `tl.arange(0, n)`: bounds that are not constexpr, which Triton refuses
    lanes = _pick(rng, "BLOCK", "n", p=0.9)
    rule = _pick(
        rng,
        'triton.next_power_of_2(args["n"])',
        'triton.next_power_of_2(args["n"]) // 2',
        "16",
        p=0.6,
    )
    kernel_src = (
        f'@triton.heuristics({{"BLOCK": lambda args: {rule}}})\n'
        "@triton.jit\n"
        "def whole_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):\n"
        f"    offs = tl.arange(0, {lanes})\n"
        "    mask = offs < n\n"
        "    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 0.5, mask=mask)"
    )
    wrapper = [
        "def run(x):",
        "    y = torch.empty_like(x)",
        "    whole_kernel[(1,)](x, y, x.numel())",
        "    return y",
    ]
    return _file([kernel_src], ["# stile: return = x[N] / 2", *_cases_1d(rng)], wrapper)


def _tile_2d(rng: random.Random) -> str:
    """2-d blocks over a 2-d grid, rows and columns broadcast with `[:, None]`."""
    bm, bn = rng.choice((4, 8)), rng.choice((8, 16))
    mask = _pick(
        rng,
        "(rm[:, None] < m) & (rn[None, :] < n)",
        "rn[None, :] < n",
        "(rm[:, None] < m) & (rn[None, :] <= n)",
        p=0.7,
    )
    x_strides = _pick(rng, "x.stride(0), x.stride(1)", "x.stride(1), x.stride(0)", p=0.8)
    y_strides = _pick(rng, "y.stride(0), y.stride(1)", "x.stride(0), x.stride(1)", p=0.8)
    axes = _pick(rng, "0, 1", "1, 0", p=0.8)
    grid = _pick(
        rng, f"triton.cdiv(m, {bm}), triton.cdiv(n, {bn})", f"triton.cdiv(m, {bm}), 1", p=0.8
    )
    kernel_src = "\n".join(
        [
            "@triton.jit",
            "def tile_kernel(x_ptr, y_ptr, m, n, sxm, sxn, sym, syn,"
            " BM: tl.constexpr, BN: tl.constexpr):",
            f"    rm = tl.program_id({axes[0]}) * BM + tl.arange(0, BM)",
            f"    rn = tl.program_id({axes[-1]}) * BN + tl.arange(0, BN)",
            f"    mask = {mask}",
            "    x = tl.load(x_ptr + rm[:, None] * sxm + rn[None, :] * sxn, mask=mask)",
            "    y = tl.exp(x) - 1.0",
            "    tl.store(y_ptr + rm[:, None] * sym + rn[None, :] * syn, y, mask=mask)",
        ]
    )
    wrapper = [
        "def run(x, y):",
        "    m, n = x.shape",
        f"    tile_kernel[({grid})](x, y, m, n, {x_strides}, {y_strides}, BM={bm}, BN={bn})",
    ]
    return _file([kernel_src], ["# stile: y = exp(x[M N]) - 1", *_cases_2d(rng)], wrapper)


def _neighbour(rng: random.Random) -> str:
    """A program stores its block and loads it back shifted: a shift of 0 reads its own
    store; any other reads elements another program of the launch stores (a race)."""
    shift = _pick(rng, "0", "1", "BLOCK", p=0.5)
    kernel_src = (
        "@triton.jit\n"
        "def shift_kernel(x_ptr, t_ptr, y_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    tl.store(t_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 2.0, mask=mask)\n"
        f"    back = offs + {shift}\n"
        "    t = tl.load(t_ptr + back, mask=back < n, other=0.0)\n"
        "    tl.store(y_ptr + offs, t + 1.0, mask=mask)"
    )
    wrapper = [
        "def run(x):",
        "    n = x.numel()",
        "    t = torch.empty_like(x)",
        "    y = torch.empty_like(x)",
        "    shift_kernel[(triton.cdiv(n, 16),)](x, t, y, n, BLOCK=16)",
        "    return y",
    ]
    return _file([kernel_src], ["# stile: return = 2 * x[N] + 1", *_cases_1d(rng)], wrapper)


def _output_view(rng: random.Random) -> str:
    """The kernel writes x's rows into a transposed view of the output (`y.t()`), or
    into a contiguous copy of it, which does not reach y."""
    view = _pick(rng, "y.t()", "y.t().contiguous()", "y", p=0.6)
    kernel_src = "\n".join(
        [
            "@triton.jit",
            "def rows_kernel(x_ptr, o_ptr, n, sxm, sxn, som, son, BLOCK: tl.constexpr):",
            "    row = tl.program_id(0)",
            "    cols = tl.arange(0, BLOCK)",
            "    mask = cols < n",
            "    x = tl.load(x_ptr + row * sxm + cols * sxn, mask=mask)",
            "    tl.store(o_ptr + row * som + cols * son, x * 2.0, mask=mask)",
        ]
    )
    wrapper = [
        "def run(x, y):",
        "    m, n = x.shape",
        f"    o = {view}",
        "    strides = x.stride(0), x.stride(1), o.stride(0), o.stride(1)",
        "    rows_kernel[(m,)](x, o, n, *strides, BLOCK=32)",
    ]
    return _file([kernel_src], ["# stile: y = 2 * (x[M N] -> N M)", *_cases_2d(rng)], wrapper)


def _keywords(rng: random.Random) -> str:
    """The real signatures, positional or by keyword: `tl.load(pointer=..., other=...)`,
    `tl.where(condition=..., x=..., y=...)`, `tl.sum(input=..., axis=..., dtype=...)`;
    a `dtype` of an integer type casts each element before the sum."""
    kw = rng.random() < 0.6
    pid = "tl.program_id(axis=0)" if kw else "tl.program_id(0)"
    lanes = "tl.arange(start=0, end=BLOCK)" if kw else "tl.arange(0, BLOCK)"
    if rng.random() < 0.5:
        load = "tl.load(pointer=x_ptr + offs, mask=mask)" if kw else "tl.load(x_ptr + offs, mask)"
        value = "tl.where(condition=x > 0, x=x, y=x * 0.5)" if kw else "tl.where(x > 0, x, x * 0.5)"
        spec = _pick(rng, "maximum(x[N], 0) + minimum(x[N], 0) / 2", "maximum(x[N], 0)", p=0.8)
        body = [
            f"    offs = {pid} * BLOCK + {lanes}",
            "    mask = offs < n",
            f"    x = {load}",
            f"    tl.store(pointer=y_ptr + offs, value={value}, mask=mask)",
        ]
        wrapper = [
            "def run(x):",
            "    n = x.numel()",
            "    y = torch.empty_like(x)",
            "    kw_kernel[(triton.cdiv(n, 32),)](x, y, n, BLOCK=32)",
            "    return y",
        ]
        cases = _cases_1d(rng)
        params = "x_ptr, y_ptr, n"
    else:
        load = "tl.load(pointer=row_ptr + cols, mask=mask, other=0.0)"
        if not kw:
            load = "tl.load(row_ptr + cols, mask, 0.0)"
        dtype = _pick(rng, "", ", dtype=tl.float32", ", dtype=tl.int32", p=0.5)
        total = f"tl.sum(input=x, axis=0{dtype})" if kw else f"tl.sum(x, 0{dtype})"
        spec = "sum[N](x[M N])"
        body = [
            f"    row_ptr = x_ptr + {pid} * sxm",
            f"    cols = {lanes}",
            "    mask = cols < n",
            f"    x = {load}",
            f"    tl.store(y_ptr + {pid}, {total})",
        ]
        wrapper = [
            "def run(x):",
            "    m, n = x.shape",
            "    y = torch.empty(m, device=x.device)",
            "    block = triton.next_power_of_2(n)",
            "    kw_kernel[(m,)](x, y, n, x.stride(0), BLOCK=block)",
            "    return y",
        ]
        cases = _cases_2d(rng)
        params = "x_ptr, y_ptr, n, sxm"
    kernel_src = "\n".join(["@triton.jit", f"def kw_kernel({params}, BLOCK: tl.constexpr):", *body])
    return _file([kernel_src], [f"# stile: return = {spec}", *cases], wrapper)


# --- loops over blocks and grouped program orderings ------------------------------------

LOOP_COLS = (1, 5, 16, 17, 33, 40)


def _loop_reduce(rng: random.Random) -> str:
    """Row sums over column blocks in a loop (proven by induction when it is long enough):
    the trip count, the pointer step, the mask, the accumulation or the first block may
    be wrong."""
    block = rng.choice((4, 8))
    form = rng.choice(("offsets", "pointers", "stepped"))
    trip = _pick(rng, "tl.cdiv(n, BLOCK)", "tl.cdiv(n, BLOCK) - 1", "n // BLOCK", p=0.7)
    mask = _pick(rng, "cols < n", "cols <= n", p=0.85)
    update = _pick(rng, "acc += x", "acc = x", "acc += x * x", p=0.8)
    start = _pick(rng, "0", "1", p=0.9)
    lines = [
        "@triton.jit",
        "def loop_kernel(x_ptr, y_ptr, n, sxm, BLOCK: tl.constexpr):",
        "    row = tl.program_id(0)",
        "    acc = tl.zeros((BLOCK,), dtype=tl.float32)",
    ]
    if form == "offsets":
        lines += [
            f"    for k in range({start}, {trip}):",
            "        cols = k * BLOCK + tl.arange(0, BLOCK)",
            f"        x = tl.load(x_ptr + row * sxm + cols, mask={mask}, other=0.0)",
        ]
    elif form == "pointers":
        step = _pick(rng, "BLOCK", "BLOCK - 1", "1", p=0.8)
        lines += [
            f"    cols = {start} * BLOCK + tl.arange(0, BLOCK)",
            "    ptrs = x_ptr + row * sxm + cols",
            f"    for k in range({start}, {trip}):",
            f"        x = tl.load(ptrs, mask={mask}, other=0.0)",
            f"        ptrs += {step}",
            "        cols += BLOCK",
        ]
    else:
        stop = _pick(rng, "n", "n - 1", p=0.8)
        lines += [
            f"    for start in range({start} * BLOCK, {stop}, BLOCK):",
            "        cols = start + tl.arange(0, BLOCK)",
            f"        x = tl.load(x_ptr + row * sxm + cols, mask={mask}, other=0.0)",
        ]
    lines += [f"        {update}", "    tl.store(y_ptr + row, tl.sum(acc, axis=0))"]
    wrapper = [
        "def run(x):",
        "    m, n = x.shape",
        "    y = torch.empty(m, device=x.device)",
        f"    loop_kernel[(m,)](x, y, n, x.stride(0), BLOCK={block})",
        "    return y",
    ]
    pairs = {(rng.choice((1, 1, 3)), rng.choice(LOOP_COLS)) for _ in range(rng.randint(2, 3))}
    cases = [f"# stile: case M={m} N={n}" for m, n in sorted(pairs)]
    specs = ["# stile: return = sum[N](x[M N])", "# stile: assume x.is_contiguous()"]
    return _file(["\n".join(lines)], specs + cases, wrapper)


def _grouped_tiles(rng: random.Random) -> str:
    """Tiles of a 2-d map in the grouped program order of Triton's matmul tutorial: the
    last group's size, the grid, the order of `%` and `//` or the wrapped rows may be
    wrong."""
    bm, bn, group = rng.choice((2, 4)), rng.choice((2, 4)), rng.choice((2, 3))
    size_m = _pick(rng, "min(num_pid_m - first_pid_m, GROUP)", "GROUP", p=0.75)
    pid_m = _pick(
        rng,
        "first_pid_m + ((pid % num_pid_in_group) % group_size_m)",
        "first_pid_m + (pid % group_size_m)",
        p=0.85,
    )
    pid_n = _pick(rng, "(pid % num_pid_in_group) // group_size_m", "pid // group_size_m", p=0.85)
    wrapped = rng.random() < 0.5
    rows = "(pid_m * BM + tl.arange(0, BM)) % m" if wrapped else "pid_m * BM + tl.arange(0, BM)"
    load_mask = "rn[None, :] < n" if wrapped else "(rm[:, None] < m) & (rn[None, :] < n)"
    grid = _pick(
        rng,
        f"triton.cdiv(m, {bm}) * triton.cdiv(n, {bn})",
        f"triton.cdiv(m, {bm}) * triton.cdiv(n, {bn}) - 1",
        p=0.85,
    )
    lines = [
        "@triton.jit",
        "def grouped_kernel(x_ptr, y_ptr, m, n, sxm, sym,"
        " BM: tl.constexpr, BN: tl.constexpr, GROUP: tl.constexpr):",
        "    pid = tl.program_id(0)",
        "    num_pid_m = tl.cdiv(m, BM)",
        "    num_pid_n = tl.cdiv(n, BN)",
        "    num_pid_in_group = GROUP * num_pid_n",
        "    group_id = pid // num_pid_in_group",
        "    first_pid_m = group_id * GROUP",
        f"    group_size_m = {size_m}",
        f"    pid_m = {pid_m}",
        f"    pid_n = {pid_n}",
        f"    rm = {rows}",
        "    rn = pid_n * BN + tl.arange(0, BN)",
        f"    x = tl.load(x_ptr + rm[:, None] * sxm + rn[None, :], mask={load_mask})",
        "    om = pid_m * BM + tl.arange(0, BM)",
        "    out_mask = (om[:, None] < m) & (rn[None, :] < n)",
        "    tl.store(y_ptr + om[:, None] * sym + rn[None, :], x * 2.0 + 1.0, mask=out_mask)",
    ]
    wrapper = [
        "def run(x):",
        "    m, n = x.shape",
        "    y = torch.empty_like(x)",
        f"    grouped_kernel[({grid},)](x, y, m, n, x.stride(0), y.stride(0),"
        f" BM={bm}, BN={bn}, GROUP={group})",
        "    return y",
    ]
    pairs = {(rng.choice((3, 5, 9, 13, 16)), rng.choice((2, 5, 8, 11))) for _ in range(2)}
    cases = [f"# stile: case M={m} N={n}" for m, n in sorted(pairs)]
    specs = ["# stile: return = 2 * x[M N] + 1", "# stile: assume x.is_contiguous()"]
    return _file(["\n".join(lines)], specs + cases, wrapper)


FAMILIES: dict[str, Callable[[random.Random], str]] = {
    "map_1d": _map_1d,
    "strided_2d": _strided_2d,
    "transpose": _transpose,
    "scalar_division": _scalar_division,
    "lane_division": _lane_division,
    "int32_wrap": _int32_wrap,
    "scalar_wrap": _scalar_wrap,
    "float_to_int": _float_to_int,
    "row_reduce": _row_reduce,
    "store_then_load": _store_then_load,
    "two_launches": _two_launches,
    "halves": _halves,
    "host_copies": _host_copies,
    "host_2d_copies": _host_2d_copies,
    "autotuned": _autotuned,
    "heuristic": _heuristic,
    "tile_2d": _tile_2d,
    "neighbour": _neighbour,
    "output_view": _output_view,
    "keywords": _keywords,
    "loop_reduce": _loop_reduce,
    "grouped_tiles": _grouped_tiles,
}
