"""Bad input gives a diagnostic at the right line, never a traceback or a silent pass."""

from __future__ import annotations

import random

import pytest

from stile_static.check.checker import Options, check_source

from .fixture_expectations import fixture_files

HEAD = """from stile import dim
import stile.numpy as tnp
M = dim('M', 4)
N = dim('N', 4)
x = tnp.randn(M)
out = tnp.TypedResult('M')
"""
LINE = HEAD.count("\n") + 1

CASES = {
    "tnp.exp(x, x)": "STL002",
    "tnp.exp()": "STL002",
    "abs()": "STL002",
    "tnp.maximum(x)": "STL002",
    "tnp.maximum(x, 'M')": "STL002",
    "x.slice(M, 0)": "STL013",
    "x.sum()": "STL013",
    "dim('M')": "STL013",
    "dim('M', 5)": "STL013",
    "tnp.randn(3)": "STL013",
    "tnp.TypedResult()": "STL002",
    "tnp.einsum(x, 'M')": "STL015",
    "tnp.einsum(x, 'M -> M Q')": "STL015",
    "x + 'a'": "STL002",
    "range(x)": "STL002",
    "x.assign(x)": "STL002",
    "out.assign(x, x)": "STL002",
    "x.assert_equivalent('M', 3)": "STL013",
    "x.assert_equivalent('M N')": "STL022",
    "M[0:3:1]": "STL013",
    "M[3:1]": "STL012",
    "x.rearrange(M, M)": "STL016",
    "1 // 0": "STL004",
    "1 / 0.0": "STL004",
    "0 ** -1": "STL004",
    "int(float('nan'))": "STL004",
    "10 ** 10 ** 8": "STL002",
    "range(0, 4, 2.0)": "STL004",
    "a, b = 1, 2, 3": "STL004",
    "f = lambda: 1": "STL002",
    "x[0]": "STL002",
    "x.shape": "STL002",
    "for i in 3: pass": "STL002",
    "if x: pass": "STL002",
    "async def f(): pass": "STL002",
    "class A: pass": "STL002",
    "x @ x": "STL002",
    "print(x)": "STL002",
    "open('f', 'w')": "STL002",
    "import os\nos.remove('f')": "STL002",
    "out.assign(3)": "STL030",
    "np = 1\nimport numpy as np\nnp.exp(x)": "STL002",
    "float('one')": "STL004",
    "out.assign(-x)": "STL031",
}


@pytest.mark.parametrize("snippet, code", CASES.items(), ids=list(CASES))
def test_bad_input_is_a_located_diagnostic(snippet: str, code: str) -> None:
    report = check_source(HEAD + snippet + "\n", "k.py")
    last = LINE + snippet.count("\n")
    assert (last, code) in {(d.span.line, d.code) for d in report.diagnostics}


def test_float_of_a_string_and_python_main_guard() -> None:
    source = HEAD + "if __name__ == '__main__':\n    out.assign(tnp.maximum(x, float('-inf')))\n"
    report = check_source(source, "k.py")
    assert report.diagnostics == [] and len(report.proved) == 1


def _mutate(source: str, rng: random.Random) -> str:
    pieces = ["(", ")", "N", "0", "-1", ",", ".sum(N)", ".repeat(M)", "*", "'M N'", "[", "range("]
    lines = source.splitlines() or [""]
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        j = rng.randrange(len(lines[i]) + 1)
        if rng.random() < 0.3:
            del lines[i]
            lines = lines or [""]
        elif rng.random() < 0.6:
            lines[i] = lines[i][:j] + rng.choice(pieces) + lines[i][j:]
        else:
            lines[i] = lines[i][:j] + lines[i][rng.randrange(j, len(lines[i]) + 1) :]
    return "\n".join(lines)


def test_mutated_fixtures_never_crash() -> None:
    rng = random.Random(7)
    files = fixture_files()
    for _ in range(150):
        source = _mutate(rng.choice(files).read_text(), rng)
        check_source(source, "k.py", Options(cross_check=rng.random() < 0.3))
