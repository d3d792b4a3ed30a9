"""Random kernels in the typed-NumPy dialect, correct and subtly wrong.

Each kernel tiles a result over M with a tile size, writes a scaled copy (or
exponential) of the input, and wraps that in one of several Python shapes:
helpers with every kind of parameter, closures over a name a global also has,
early returns, ``break``/``continue``, aliased results, a carried sum, loops
that must be unrolled. Constants and tile sizes come from Python expressions
whose value depends on the finer points of Python (``/`` vs ``//``, float
comparisons, ``and``/``or`` returning operands); the spec either states the
value Python computes or a value a careless reading of Python would give.
The kernel is judged by running it (:mod:`execute`), never by the generator.
"""

from __future__ import annotations

import random

# (expression, its value as the spec writes it, values a careless reader would use)
CONSTANTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("2", "2", ("3",)),
    ("1 / 4", "0.25", ("0",)),
    ("10 / 4", "2.5", ("2",)),
    ("10 // 4", "2", ("2.5",)),
    ("0.1 * 3", "0.3", ("0.4",)),
    ("2 ** -1", "0.5", ("2",)),
    ("-7 // 2", "-4", ("-3", "-3.5")),
    ("-7 % 3", "2", ("-1",)),
    ("7 % -3", "-2", ("1",)),
    ("0 or 3", "3", ("0", "1")),
    ("2 and 5", "5", ("2", "1")),
    ("0.0 or 1.5", "1.5", ("0",)),
    ("1 / math.sqrt(8)", "1 / sqrt(8)", ("1 / sqrt(9)",)),
    ("math.sqrt(16)", "4", ("16",)),
    ("math.exp(0)", "1", ("0",)),
    ("abs(-2.5)", "2.5", ("-2.5",)),
    ("int(2.9)", "2", ("3", "2.9")),
    ("int(-2.9)", "-2", ("-3",)),
    ("float(3) / 2", "1.5", ("1",)),
    ("True + 1", "2", ("1",)),
    ("min(3, 2.5)", "2.5", ("3",)),
    ("3 if 0.1 + 0.2 == 0.3 else 5", "5", ("3",)),
    ("3 if 1 / 49 * 49 == 1 else 5", "5", ("3",)),
    ("4 if 0.5 < 1 else 6", "4", ("6",)),
    ("(1 < 2) + 1", "2", ("1",)),
    ("7 if 2 ** 0.5 * 2 ** 0.5 == 2 else 9", "9", ("7",)),
    ("0.5 if 0.1 * 10 == 1 else 0.25", "0.5", ("0.25",)),
    ("1 if 9 ** 0.5 == 3 else 2", "1", ("2",)),
    ("6 // 4 * 2", "2", ("3",)),
    ("6 / 4 * 2", "3", ("2",)),
    ("(-1) ** 2", "1", ("-1",)),
    ("-1 ** 2", "-1", ("1",)),
    ("x_scale", "0.1", ("0.5",)),
    ("(1e16 + 1.0) - 1e16", "0", ("1",)),
    ("1e16 + 1 - 1e16", "0", ("1",)),
    ("(2.0 ** 53 + 1) - 2 ** 53", "0", ("1",)),
    ("(2 ** 53 + 1) - 2 ** 53", "1", ("0",)),
    ("math.ceil(7 / 2)", "4", ("3", "3.5")),
    ("math.floor(-0.5)", "-1", ("0",)),
]

# (expression, value as Python computes it or None when it is not an int; careless values)
TILE_SIZES: list[tuple[str, int | None]] = [
    ("4", 4),
    ("8 // 2", 4),
    ("0 or 4", 4),
    ("3 and 4", 4),
    ("int(9 / 2)", 4),
    ("abs(-3)", 3),
    ("max(2, 3)", 3),
    ("min(5, 16)", 5),
    ("2 ** 2", 4),
    ("True + 2", 3),
    ("10 / 2", None),
    ("max(2, 3.0)", None),
    ("9 // 2.0", None),
    ("5 if 1 / 3 * 3 == 1 else 2", 5),
    ("2 if 0.1 + 0.2 == 0.3 else 3", 3),
    ("math.ceil(7 / 2)", 4),
    ("math.floor(9 / 2)", 4),
]

BODIES = [
    # (tile expression of `t` and `K`, spec of it with {k} the constant, {K} a Python name)
    ("t * K", "{k} * M N"),
    ("K * t", "{k} * M N"),
    ("tnp.exp(t) * K", "{k} * exp(M N)"),
    ("t * K + t", "({k}) * M N + M N"),
]

SHAPES = (
    "plain",
    "helper",
    "positional_only",
    "keyword_only",
    "closure",
    "early_return",
    "break_continue",
    "alias",
    "fixed_region",
    "unrolled",
    "carried",
    "default_at_def",
    "unbound_local",
    "late_closure",
    "for_else",
    "shadow_builtin",
    "two_dims",
    "star_args",
    "none_default",
    "augmented_global",
    "alias_split",
    "index_after_loop",
    "row_sum",
    "row_max",
    "invariant",
)


def kernel(rng: random.Random) -> str:
    """One random kernel file."""
    m, n = rng.randint(1, 11), rng.randint(1, 5)
    expr, spec_k, careless = rng.choice(CONSTANTS)
    k = spec_k if rng.random() < 0.6 else rng.choice(careless)
    tile_expr, tile_value = rng.choice(TILE_SIZES)
    body, spec_form = rng.choice(BODIES)
    spec = spec_form.format(k=k)
    shape = rng.choice(SHAPES)
    lines = [
        "import math",
        "import stile.numpy as tnp",
        "from stile import dim",
        "",
        f"M, N = dim('M', {m}), dim('N', {n})",
        "x = tnp.randn(M, N)",
        "x_scale = 0.1",
        f"K = {expr}",
        f"T = {tile_expr}",
    ]
    out = _shape(rng, shape, m, body, spec, tile_value, n)
    out = [line.replace("N_SIZE", str(n)) for line in out]
    return "\n".join([f"# shape: {shape}", *lines, *out]) + "\n"


def _near(rng: random.Random, value: int | None) -> str:
    """A tile size: usually Python's own, sometimes one off (a wrong kernel)."""
    if value is None or rng.random() < 0.7:
        return "T"
    return str(max(1, value + rng.choice((-1, 1))))


def _shape(
    rng: random.Random, shape: str, m: int, body: str, spec: str, tile: int | None, n: int
) -> list[str]:
    write = f"c.assign({body})"
    header = [f'c = tnp.TypedResult("{spec}")']
    t_slice = f"x.slice(M, i, min(i + T, {m}))"
    if shape == "plain":
        return header + [
            f"for i in range(0, {m}, {_near(rng, tile)}):",
            f"    t = {t_slice}",
            f"    {write}",
        ]
    if shape == "helper":
        return header + [
            "def tile_at(i, width=T):",
            f"    return x.slice(M, i, min(i + width, {m}))",
            "",
            "def scaled(t, k=K):",
            "    return " + body.replace("K", "k"),
            "",
            f"for i in range(0, {m}, T):",
            f"    c.assign(scaled(tile_at(i, {_near(rng, tile)})))",
        ]
    if shape == "positional_only":
        decoy = rng.choice(("0", "T"))
        return header + [
            f"start = {decoy}",
            "def tile_at(start, /, width=T):",
            f"    return x.slice(M, start, min(start + width, {m}))",
            "",
            f"for i in range(0, {m}, T):",
            "    t = tile_at(i)",
            f"    {write}",
        ]
    if shape == "keyword_only":
        return header + [
            "def tile_at(i, *, width):",
            f"    return x.slice(M, i, min(i + width, {m}))",
            "",
            f"for i in range(({m} - 1) // T * T, -1, -T):",
            f"    t = tile_at(i, width={_near(rng, tile)})",
            f"    {write}",
        ]
    if shape == "closure":
        width = _near(rng, tile)
        return header + [
            "def make(width):",
            "    def tile_at(i):",
            f"        return x.slice(M, i, min(i + width, {m}))",
            "    return tile_at",
            "",
            "width = T",
            f"tile_at = make({width})",
            f"for i in range(0, {m}, T):",
            "    t = tile_at(i)",
            f"    {write}",
        ]
    if shape == "early_return":
        cond = rng.choice((f"i + T >= {m}", "True", "i >= 0", f"i > {m}", "i == 0"))
        value = rng.choice(("", " i", " t"))
        return header + [
            "def run():",
            f"    for i in range(0, {m}, T):",
            f"        t = {t_slice}",
            f"        {write}",
            f"        if {cond}:",
            f"            return{value}",
            "",
            "run()",
        ]
    if shape == "break_continue":
        jump = rng.choice(("break", "continue"))
        cond = rng.choice((f"i >= {m}", "i < 0", f"i >= {max(m - 2, 0)}", "i == 0", "True"))
        return header + [
            f"for i in range(0, {m}, T):",
            f"    if {cond}:",
            f"        {jump}",
            f"    t = {t_slice}",
            f"    {write}",
        ]
    if shape == "alias":
        other = rng.choice(("M N", "2 * M N"))
        first = rng.choice(("d", "c"))
        return [
            f'c = tnp.TypedResult("{spec}")',
            "d = c",
            f'c = tnp.TypedResult("{other}")',
            f"for i in range(0, {m}, T):",
            f"    t = {t_slice}",
            f"    {first}.assign({body})",
            f"    {'c' if first == 'd' else 'd'}.assign(t{' * 2' if other[0] == '2' else ''})",
        ]
    if shape in ("row_sum", "row_max"):
        # a reduction over N accumulated tile by tile (a carried, unrolled loop)
        u = rng.choice(("1", "2", "3", "U"))
        first = rng.choice(("0", "0", "0", "1"))
        if shape == "row_sum":
            start, step, spec_r = rng.choice(("0", "0.0", "0 or 0")), "total + {b}.sum(N)", "sum"
        else:
            start, step, spec_r = "-np.inf", "tnp.maximum(total, {b}.max(N))", "max"
        block = f"x.slice(M, i, min(i + T, {m})).slice(N, j, min(j + U, {n}))"
        return [
            "import numpy as np",
            f'c = tnp.TypedResult("{spec_r}[N](M N)")',
            f"U = {rng.choice(('1', '2', '5 // 2', '1 or 2'))}",
            f"for i in range(0, {m}, T):",
            f"    total = {start}",
            f"    for j in range({first}, {n}, {u}):",
            "        total = " + step.format(b=block),
            "    c.assign(total)",
        ]
    if shape == "invariant":
        # a carried sum proven by induction on its stated invariant
        width = rng.choice([d for d in range(1, n + 1) if n % d == 0])
        claim = rng.choice(("j + U", "j + U", "j + U", "j", f"{n}"))
        return [
            'c = tnp.TypedResult("sum[N](M N)")',
            f"U = {width}",
            f"for i in range(0, {m}, T):",
            f"    rows = x.slice(M, i, min(i + T, {m}))",
            "    acc = rows.slice(N, 0, U).sum(N)",
            f"    for j in range(U, {n}, U):",
            "        acc = acc + rows.slice(N, j, j + U).sum(N)",
            f'        acc.assert_equivalent("sum[N](M N)", N[0:{claim}])',
            "    c.assign(acc)",
        ]
    if shape == "index_after_loop":
        # after the loop its variable holds the last index
        return header + [
            f"for i in range(0, {m}, T):",
            f"    t = {t_slice}",
            f"    {write}",
            'd = tnp.TypedResult("M N")',
            f"d.assign(x.slice(M, 0, min(i + {_near(rng, tile)}, {m})))",
        ]
    if shape == "alias_split":
        # two results with one spec, each written half by a different name
        split = rng.randint(1, m)
        rebind = rng.choice(("c = tnp.TypedResult(SPEC)", "c = d"))
        return [
            'SPEC = "' + spec + '"',
            "c = tnp.TypedResult(SPEC)",
            "d = c",
            rebind,
            f"t = x.slice(M, 0, {split})",
            f"d.assign({body})",
            f"if {split} < {m}:",
            f"    t = x.slice(M, {split}, {m})",
            f"    {write}",
        ]
    if shape == "fixed_region":
        # the same rows in every iteration: written as often as the loop runs
        lo = rng.choice(("i", "0", "0"))
        rounds = rng.choice(("1", "2", "R"))
        return header + [
            f"R = {rng.choice(('1', '2', '0 or 1', '1 and 2'))}",
            f"for i in range(0, {rounds}):",
            f"    t = x.slice(M, {lo}, {lo} + 1)",
            f"    {write}",
            f"if {m} > 1:",
            f"    t = x.slice(M, 1, {m})",
            f"    {write}",
        ]
    if shape == "unrolled":
        return header + [
            f"for i in range(0, {m}, T):",
            f"    t = {t_slice}",
            f"    c.assign({body} + t * i - t * i)",
        ]
    if shape == "default_at_def":
        # a default is evaluated when the function is defined, not when it is called
        return header + [
            f"W = {_near(rng, tile)}",
            "def tile_at(i, width=W):",
            f"    return x.slice(M, i, min(i + width, {m}))",
            "",
            "W = T",
            f"for i in range(0, {m}, T):",
            "    t = tile_at(i)",
            f"    {write}",
        ]
    if shape == "unbound_local":
        # an assignment anywhere in a function makes the name local everywhere in it
        assigned = rng.choice(("W = T", "pass"))
        return header + [
            "W = T",
            "def tile_at(i):",
            "    if i < 0:",
            f"        {assigned}",
            f"    return x.slice(M, i, min(i + W, {m}))",
            "",
            f"for i in range(0, {m}, T):",
            "    t = tile_at(i)",
            f"    {write}",
        ]
    if shape == "late_closure":
        # a closure reads the enclosing variable's value at call time
        first, then = rng.sample(("T", _near(rng, tile), "1"), 2)
        return header + [
            "def make():",
            f"    w = {first}",
            "    def tile_at(i):",
            f"        return x.slice(M, i, min(i + w, {m}))",
            f"    w = {then}",
            "    return tile_at",
            "",
            "tile_at = make()",
            f"for i in range(0, {m}, T):",
            "    t = tile_at(i)",
            f"    {write}",
        ]
    if shape == "for_else":
        cond = rng.choice((f"i >= {m}", "i == 0", f"i + T >= {m}"))
        twice = rng.choice(("M N", "2 * M N"))
        return header + [
            f'd = tnp.TypedResult("{twice}")',
            f"for i in range(0, {m}, T):",
            f"    t = {t_slice}",
            f"    {write}",
            f"    if {cond}:",
            "        break",
            "else:",
            "    d.assign(x * 2)",
            "if d is c:",
            "    d.assign(x)",
        ]
    if shape == "shadow_builtin":
        own = rng.choice(
            ("def min(a, b):\n    return a", "def min(a, b):\n    return b if b < a else a")
        )
        return header + [
            *own.split("\n"),
            "",
            f"for i in range(0, {m}, T):",
            f"    t = {t_slice}",
            f"    {write}",
        ]
    if shape == "two_dims":
        u = rng.choice(("2", "3", "T"))
        return header + [
            f"U = {u}",
            f"for i in range(0, {m}, T):",
            "    for j in range(0, N_SIZE, U):",
            f"        t = x.slice(M, i, min(i + T, {m})).slice(N, j, min(j + U, N_SIZE))",
            f"        {write}",
        ]
    if shape == "star_args":
        return header + [
            "def bounds(i, *rest):",
            "    return (i, *rest)",
            "",
            "def tile_at(*where):",
            "    lo, hi = where",
            "    return x.slice(M, lo, hi)",
            "",
            f"for i in range(0, {m}, T):",
            f"    t = tile_at(*bounds(i, min(i + {_near(rng, tile)}, {m})))",
            f"    {write}",
        ]
    if shape == "none_default":
        return header + [
            "def tile_at(i, width=None):",
            "    if width is None:",
            f"        width = {_near(rng, tile)}",
            f"    return x.slice(M, i, min(i + width, {m}))",
            "",
            f"for i in range(0, {m}, T):",
            "    t = tile_at(i)",
            f"    {write}",
        ]
    if shape == "augmented_global":
        assign = rng.choice(("W += 0", "V = W + 0"))
        return header + [
            "W = T",
            "def width():",
            f"    {assign}",
            "    return W",
            "",
            f"for i in range(0, {m}, T):",
            f"    t = x.slice(M, i, min(i + width(), {m}))",
            f"    {write}",
        ]
    # carried: a running sum over N whose helper has a local of the same name
    start = rng.choice(("1", "1", "2"))
    return [
        'c = tnp.TypedResult("sum[N](M N)")',
        "def part(j):",
        "    acc = x.slice(N, j, j + 1).sum(N)",
        "    return acc",
        "",
        "acc = part(0)",
        f"for j in range({start}, N_SIZE):",
        "    acc = acc + part(j)",
        "c.assign(acc)",
    ]
