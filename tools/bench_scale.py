"""How proof time grows with the number of tiles.

Generates flash attention (qctx 32 in one query tile, key tiles of 32, dhead 16,
K and V distinct inputs) for a range of key-tile counts, its buggy twin (wrong
rescale factor), the same kernel with loop invariants, and a tiled matmul with
8x8 output tiles and 16 reduction tiles; times the whole `stile-static check`
process (median of runs) and its peak memory.

Usage: .venv/bin/python tools/bench_scale.py [--runs 5] [--tiles 4 8 16 ...]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

from benchlib import measure

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tiles", type=int, nargs="*", default=[4, 8, 16, 32, 64, 128, 256])
    parser.add_argument("--invariant-tiles", type=int, nargs="*", default=[16, 256, 1024])
    args = parser.parse_args()
    cases: list[tuple[str, str]] = []
    for n in args.tiles:
        cases.append((f"flash attention, {n} key tiles", flash(n)))
        cases.append((f"flash attention, {n} key tiles, wrong rescale", flash(n, buggy=True)))
    for n in args.invariant_tiles:
        cases.append(
            (f"flash attention, {n} key tiles, with invariants", flash(n, invariants=True))
        )
        cases.append(
            (
                f"flash attention, {n} key tiles, with invariants, wrong rescale",
                flash(n, buggy=True, invariants=True),
            )
        )
    for tiles, size in ((8, 8), (64, 4)):  # output tiles per side, tile size
        cases.append(
            (
                f"matmul, {tiles}x{tiles} output tiles, 16 reduction tiles",
                MATMUL.format(m=tiles * size, t=size),
            )
        )
    print(f"Command: python tools/bench_scale.py --runs {args.runs}")
    print(
        f"Machine: {platform.machine()}, CPython {platform.python_version()}; "
        f"whole process, median of {args.runs} runs; peak resident memory\n"
    )
    print("| kernel | time (s) | peak memory (MiB) | verdict |")
    print("|---|---:|---:|---|")
    with tempfile.TemporaryDirectory() as folder:
        for n, (name, source) in enumerate(cases):
            path = Path(folder) / f"kernel_{n}.py"
            path.write_text(source)
            m = measure(path, args.runs)
            print(f"| {name} | {m.seconds:.2f} | {m.peak_mib:.0f} | {m.verdict} |", flush=True)


if __name__ == "__main__":
    main()
