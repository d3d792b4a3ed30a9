"""How proof time grows with the number of tiles, for correct and for wrong kernels.

The first table: flash attention unrolled over its key tiles (qctx 32 in one
query tile, key tiles of 32, dhead 16, dv 16, the running output normalised at
every step), correct and with two bugs: the running output rescaled by the wrong
factor (``exp(tile_max - new_max)`` for ``exp(running_max - new_max)``) and the
running sum not rescaled at all. Time and peak memory of the whole
`stile-static check` process (median of runs), and the length of the report.

The second table: flash attention with loop invariants (proven by induction),
with and without `--cross-check`, and a tiled matmul with 8x8 and 64x64 output
tiles.

Usage: .venv/bin/python tools/bench_scale.py [--runs 5] [--tiles 4 16 64 ...]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

from benchlib import measure, report_size

HEADER = """\
import math

from stile import dim
import numpy as np
import stile.numpy as tnp

qctx, nctx, dhead = dim("qctx", 32), dim("nctx", {nctx}), dim("dhead", 16)
Q = tnp.randn(qctx, dhead)
K = tnp.randn(nctx, dhead)
V = tnp.randn(nctx, dhead)
out = tnp.TypedResult(
    "(softmax[nctx]((Q[qctx dhead], K[nctx dhead] -> qctx nctx) / sqrt(16)), "
    "V[nctx dhead] -> qctx dhead)"
)
TK = 32
scale = 1 / math.sqrt(16)
S = "(Q[qctx dhead], K[nctx dhead] -> qctx nctx) / sqrt(16)"  # the scaled scores
q = Q.slice(qctx, 0, 32)
m, l, acc = -np.inf, 0, 0
for ik in range(0, {nctx}, TK):
    k = K.slice(nctx, ik, ik + TK)
    v = V.slice(nctx, ik, ik + TK)
    s = tnp.einsum(q, k, "qctx dhead, nctx dhead -> qctx nctx") * scale
    m_new = tnp.maximum(m, s.max(nctx))
    p = tnp.exp(s - m_new.repeat(nctx[ik : ik + TK]).rearrange(qctx, nctx))
    alpha = tnp.exp({rescale})
    l = l * alpha + p.sum(nctx)
    acc = acc * alpha.repeat(dhead).rearrange(qctx, dhead) + tnp.einsum(
        p, v, "qctx nctx, nctx dhead -> qctx dhead"
    )
    m = m_new
{invariants}out.assign(acc / l.repeat(dhead).rearrange(qctx, dhead))
"""

INVARIANTS = """\
    m.assert_equivalent("max[nctx](" + S + ")", nctx[: ik + TK])
    l.assert_equivalent("sum[nctx](exp(" + S + " - max[nctx](" + S + ")))", nctx[: ik + TK])
    acc.assert_equivalent(
        "(exp(" + S + " - max[nctx](" + S + ")), V[nctx dhead] -> qctx dhead)", nctx[: ik + TK]
    )
"""

UNROLLED = """\
import numpy as np
from stile import dim
import stile.numpy as tnp

dhead, dv, qctx, nctx = dim("dhead", 16), dim("dv", 16), dim("qctx", 32), dim("nctx", {nctx})
Q = tnp.randn(qctx, dhead)
K = tnp.randn(nctx, dhead)
V = tnp.randn(nctx, dv)
L = tnp.TypedResult(
    "(softmax[nctx]((qctx dhead, nctx dhead -> qctx nctx) / 4), nctx dv -> qctx dv)"
)
TQ, TK = 32, 32
for iq in range(0, 32, TQ):
    running_max = -np.inf
    running_l = 0
    o = 0
    for ik in range(0, {nctx}, TK):
        q = Q.slice(qctx, iq, iq + TQ)
        k = K.slice(nctx, ik, ik + TK)
        s = tnp.einsum(q, k, "qctx dhead, nctx dhead -> nctx qctx") / 4
        tile_max = s.max(nctx)
        p = tnp.exp(s - tile_max.repeat(nctx[ik : ik + TK]))
        tile_l = p.sum(nctx)
        new_max = tnp.maximum(tile_max, running_max)
        new_l = tnp.exp(running_max - new_max) * running_l + tnp.exp(tile_max - new_max) * tile_l
        v = V.slice(nctx, ik, ik + TK)
        pv = tnp.einsum(p, v, "nctx qctx, nctx dv -> qctx dv")
        old = (running_l * tnp.exp(running_max - new_max)).repeat(dv).rearrange(qctx, dv) * o
        new = tnp.exp(tile_max - new_max).repeat(dv).rearrange(qctx, dv) * pv
        o = (old + new) / new_l.repeat(dv).rearrange(qctx, dv)
        running_l = new_l
        running_max = new_max
    L.assign(o)
"""

# (text of the correct kernel, its replacement)
BUGS = {
    "wrong rescale factor": (
        "(running_l * tnp.exp(running_max - new_max))",
        "(running_l * tnp.exp(tile_max - new_max))",
    ),
    "running sum not rescaled": (
        "new_l = tnp.exp(running_max - new_max) * running_l +",
        "new_l = running_l +",
    ),
}

MATMUL = """\
from stile import dim
import stile.numpy as tnp

M, N, K = dim("M", {m}), dim("N", 128), dim("K", {m})
a = tnp.randn(M, N)
b = tnp.randn(N, K)
c = tnp.TypedResult("(M N, N K -> M K)")
for im in range(0, {m}, {t}):
    for ik in range(0, {m}, {t}):
        acc = 0
        for jn in range(0, 128, 8):
            ta = a.slice(M, im, im + {t}).slice(N, jn, jn + 8)
            tb = b.slice(N, jn, jn + 8).slice(K, ik, ik + {t})
            acc = acc + tnp.einsum(ta, tb, "M N, N K -> M K")
        c.assign(acc)
"""


def flash(tiles: int, buggy: bool = False, invariants: bool = False) -> str:
    return HEADER.format(
        nctx=32 * tiles,
        rescale="m_new - m" if buggy else "m - m_new",
        invariants=INVARIANTS if invariants else "",
    )


def unrolled(tiles: int, bug: str | None = None) -> str:
    """Flash attention normalised at every step, correct or with one of BUGS."""
    source = UNROLLED.format(nctx=32 * tiles)
    if bug is not None:
        old, new = BUGS[bug]
        source = source.replace(old, new)
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tiles", type=int, nargs="*", default=[4, 16, 64, 256, 1024, 4096])
    parser.add_argument("--invariant-tiles", type=int, nargs="*", default=[16, 256, 1024, 4096])
    args = parser.parse_args()
    print(f"Command: python tools/bench_scale.py --runs {args.runs}")
    print(
        f"Machine: {platform.machine()}, CPython {platform.python_version()}; "
        f"whole process, median of {args.runs} runs of the wall time (and of the processor "
        "time, which other work on the machine disturbs less); peak resident memory\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        paths = iter(Path(folder) / f"kernel_{n}.py" for n in range(10_000))

        def run(source: str, extra: tuple[str, ...] = ()) -> tuple:
            path = next(paths)
            path.write_text(source)
            m = measure(path, args.runs, extra)
            return m, report_size(path, extra)

        head = "| key tiles | verified: time (CPU) s | MiB |"
        rule = "|---:|---:|---:|"
        for bug in BUGS:
            head += f" {bug}: time (CPU) s | MiB | report: lines, chars |"
            rule += "---:|---:|---:|"
        print(head)
        print(rule)
        for n in args.tiles:
            ok, _ = run(unrolled(n))
            row = f"| {n} | {ok.seconds:.2f} ({ok.cpu_seconds:.2f}) | {ok.peak_mib:.0f} |"
            assert ok.verdict == "verified", ok.verdict
            for bug in BUGS:
                m, (lines, chars) = run(unrolled(n, bug))
                assert m.verdict == "STL031", m.verdict
                row += f" {m.seconds:.2f} ({m.cpu_seconds:.2f}) | {m.peak_mib:.0f} |"
                row += f" {lines}, {chars} |"
            print(row, flush=True)
        print()
        print("| kernel | time (CPU) s | peak memory (MiB) | verdict |")
        print("|---|---:|---:|---|")
        cases: list[tuple[str, str, tuple[str, ...]]] = []
        for n in args.invariant_tiles:
            name = f"flash attention, {n} key tiles, with invariants"
            cases.append((name, flash(n, invariants=True), ()))
            cases.append((f"{name}, wrong rescale", flash(n, buggy=True, invariants=True), ()))
            crossed = ("--cross-check",)
            cases.append((f"{name}, `--cross-check`", flash(n, invariants=True), crossed))
        for tiles, size in ((8, 8), (64, 4)):  # output tiles per side, tile size
            name = f"matmul, {tiles}x{tiles} output tiles, 16 reduction tiles"
            cases.append((name, MATMUL.format(m=tiles * size, t=size), ()))
        for name, source, extra in cases:
            m, _ = run(source, extra)
            cells = f"{m.seconds:.2f} ({m.cpu_seconds:.2f}) | {m.peak_mib:.0f} | {m.verdict}"
            print(f"| {name} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
