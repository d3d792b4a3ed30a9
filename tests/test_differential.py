"""The analyzer never verifies a kernel that Python runs differently.

Random kernels (:mod:`tests.differential.generate`) are checked by the
analyzer and run for real with a reference implementation of the dialect
(:mod:`tests.differential.reference`); whenever the analyzer says verified,
the real run must write every result element exactly once with the spec's
value. ``tools/differential.py`` runs many more.
"""

from __future__ import annotations

import random

import pytest

from .differential.execute import analyzer_verifies, disagreement, run_for_real
from .differential.generate import kernel

KERNELS = 300


def test_generated_kernels_verified_only_when_python_agrees() -> None:
    found = []
    for seed in range(KERNELS):
        source = kernel(random.Random(seed))
        why = disagreement(source)
        if why is not None:
            found.append(f"seed {seed}: {why}\n{source}")
    assert found == [], "\n\n".join(found[:3])


def test_the_generator_makes_both_correct_and_wrong_kernels() -> None:
    """The property above could fail: both verdicts occur, on both sides."""
    verified = correct = 0
    for seed in range(60):
        source = kernel(random.Random(seed))
        verified += analyzer_verifies(source)[0]
        correct += run_for_real(source).correct
    assert 0 < verified < 60
    assert 0 < correct < 60


def test_the_reference_catches_a_double_write_and_a_wrong_value() -> None:
    head = (
        "import stile.numpy as tnp\nfrom stile import dim\n"
        "M, N = dim('M', 4), dim('N', 3)\nx = tnp.randn(M, N)\n"
        "c = tnp.TypedResult('2 * M N')\n"
    )
    assert run_for_real(head + "c.assign(x * 2)\n").correct
    assert not run_for_real(head + "c.assign(x * 2)\nc.assign(x * 2)\n").correct
    assert not run_for_real(head + "c.assign(x * 3)\n").correct
    assert not run_for_real(head + "c.assign(x.slice(M, 0, 2) * 2)\n").correct


def test_a_reintroduced_hole_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """With `and`/`or` returning bools again (an old hole), the test above fails."""
    import libcst as cst

    from stile_static.interpreter.core import Interpreter

    def as_bools(self: Interpreter, node: cst.BooleanOperation) -> bool:
        left = self.truth(self.eval(node.left), node.left)
        if isinstance(node.operator, cst.And):
            return left and self.truth(self.eval(node.right), node.right)
        return left or self.truth(self.eval(node.right), node.right)

    monkeypatch.setattr(Interpreter, "eval_BooleanOperation", as_bools)
    found = [s for s in range(120) if disagreement(kernel(random.Random(s))) is not None]
    assert found
