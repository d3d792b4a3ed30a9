"""Host-side Python is one interpreter: every front end follows it alike.

Each snippet computes the grid size ``G`` of a launch from ``nb``, the number of
blocks that covers the output, through one construct of ordinary Python. Read
with Python's meaning the launch covers the output and the wrapper verifies;
a wrong reading of the construct leaves blocks unwritten (the last test shows
that a grid one short is caught)."""

from __future__ import annotations

import textwrap

import pytest

from stile_static.check.checker import Options, check_source

TRITON = """\
import torch
import triton
import triton.language as tl


@triton.jit
def copy_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask), mask=mask)


# stile: return = x[N]
# stile: case N=100
def copy(x):
    out = torch.empty_like(x)
    n = out.numel()
    nb = triton.cdiv(n, 32)
{host}
    copy_kernel[(G,)](x, out, n, BLOCK=32)
    return out
"""

PALLAS = """\
import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl


def copy_kernel(x_ref, o_ref):
    o_ref[...] = x_ref[...]


# stile: return = x[M N]
# stile: case M=32 N=128
def copy(x):
    m, n = x.shape
    nb = m // 8
{host}
    return pl.pallas_call(
        copy_kernel,
        out_shape=jax.ShapeDtypeStruct((m, n), x.dtype),
        grid=(G,),
        in_specs=[pl.BlockSpec((8, n), lambda i: (i, 0))],
        out_specs=pl.BlockSpec((8, n), lambda i: (i, 0)),
    )(x)
"""

SNIPPETS = {
    "list comprehension": "G = len([i for i in range(nb * 2) if i % 2 == 0])",
    "generator expression": "G = sum(1 for _ in range(nb))",
    "nested comprehension": "G = len([(i, j) for i in range(nb) for j in range(2) if j])",
    "dict comprehension": 'G = {k: v for k, v in zip("ab", [nb, 0])}["a"]',
    "set literal": "G = len({nb, nb, 1, 1}) + nb - 2",
    "starred target": "first, *rest = [0] * (nb + 1)\nG = len(rest)",
    "starred literal": "G = len([*range(nb - 1), *[7]])",
    "break": "G = 0\nfor i in range(100):\n    if i == nb:\n        break\n    G += 1",
    "continue": "G = 0\nfor i in range(2 * nb):\n    if i % 2:\n        continue\n    G += 1",
    "while over ints": "G = 0\nwhile G * 32 < nb * 32:\n    G += 1",
    "divmod": "G, rest = divmod(nb * 32 + 5, 32)",
    "sorted": "G = sorted([nb + 5, nb, -1])[1]",
    "sorted with key and reverse": "G = sorted([1, nb, 0], key=lambda v: -v, reverse=True)[-1]",
    "enumerate": "G = [k for k, _ in enumerate(range(nb))][-1] + 1",
    "reversed": "G = list(reversed(range(nb + 1)))[0]",
    "any and all": "G = nb if any([0, 1]) and all([1, 2]) and not all([1, 0]) else 1",
    "list methods": (
        "xs = []\nxs.append(nb)\nxs.extend([1, 2])\nxs.insert(0, 9)\nG = xs[xs.index(nb)]"
    ),
    "list pop": "xs = [nb, 0]\nxs.pop()\nG = xs.pop()",
    "dict methods": 'd = {"a": nb}\nd.update({"b": 1})\nG = d.get("a", 0) + d.get("c", 0)',
    "dict items": 'G = sum(v for k, v in {"a": nb - 1, "b": 1}.items())',
    "item assignment": "xs = [0, 0]\nxs[1] = nb\nd = {}\nd['k'] = xs[-1]\nG = d['k']",
    "kwargs": "def pick(**kw):\n    return kw['a']\nG = pick(**{'a': nb})",
    "kwargs parameter and keyword": "def pick(a, **kw):\n    return kw['b']\nG = pick(0, b=nb)",
    "args parameter": "def pick(*args):\n    return args[-1]\nG = pick(0, nb)",
    "lambda default": "f = lambda a, b=nb: b\nG = f(0)",
    "lambda keyword": "f = lambda a, b=0: a + b\nG = f(b=nb, a=0)",
    "tuple methods": "G = (nb, 1, nb).count(nb) + nb - 2",
}


def _check(template: str, host: str) -> tuple[list, int]:
    source = template.format(host=textwrap.indent(host, "    "))
    report = check_source(source, "k.py", Options())
    return report.diagnostics, len(report.proved)


@pytest.mark.parametrize("template", [TRITON, PALLAS], ids=["triton", "pallas"])
@pytest.mark.parametrize("host", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_host_python_is_followed_with_pythons_meaning(template: str, host: str) -> None:
    diagnostics, proved = _check(template, host)
    assert diagnostics == [], [f"{d.span.line} {d.code} {d.message}" for d in diagnostics]
    assert proved > 0


@pytest.mark.parametrize("template", [TRITON, PALLAS], ids=["triton", "pallas"])
def test_a_grid_one_block_short_is_caught(template: str) -> None:
    diagnostics, _ = _check(template, "G = nb - 1")
    assert diagnostics, "a launch that leaves a block unwritten must be reported"


@pytest.mark.parametrize("template", [TRITON, PALLAS], ids=["triton", "pallas"])
def test_python_errors_in_host_code_are_reported_where_python_raises(template: str) -> None:
    host = "xs = [nb]\nxs[3] = 1\nG = nb"
    diagnostics, _ = _check(template, host)
    lines = template.format(host=textwrap.indent(host, "    ")).splitlines()
    line = next(k for k, text in enumerate(lines, 1) if "xs[3] = 1" in text)
    assert [(d.span.line, d.code) for d in diagnostics] == [(line, "STL004")]


def test_a_known_null_context_changes_nothing() -> None:
    host = "with torch.cuda.device(x.device):\n    with torch.no_grad():\n        G = nb"
    assert _check(TRITON, host)[0] == []


def test_an_unknown_context_manager_is_unsupported_at_its_expression() -> None:
    host = "with open('log'):\n    G = nb"
    diagnostics, _ = _check(TRITON, host)
    assert {d.code for d in diagnostics} == {"STL002"}


def test_an_import_fallback_runs_the_handler_when_the_body_is_not_followed() -> None:
    source = TRITON.replace(
        "import torch\n",
        "import torch\ntry:\n    import not_a_module as helper\n"
        "except ImportError:\n    helper = None\n",
    ).format(host="    G = nb if helper is None else 0")
    report = check_source(source, "k.py", Options())
    assert report.diagnostics == [] and report.proved
