"""Prove two terms equal with an egglog e-graph and the rule set in ``rules/``.

The rules are sound for every value their side conditions allow (see
``rules/00_terms.egg`` and ``tests/test_rules_sound.py``), so a proof found here
means the terms are equal for all inputs. The search is bounded in iterations,
e-graph size and time; running out of any of them answers "not proved", never
"proved".
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import pathlib
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from egglog import bindings

from .terms import Binary, Const, Load, Reduce, Term, Unary

_UNARY = {
    "exp": "Exp",
    "sin": "Sin",
    "cos": "Cos",
    "sqrt": "Sqrt",
    "neg": "Neg",
    "recip": "Recip",
}
_BINARY = {"+": "Add", "-": "Sub", "*": "Mul", "/": "Div", "maximum": "Max"}
_REDUCE = {"sum": "Sum", "max": "RMax"}
_I64 = 2**63

# One iteration: bring the analyses (free dims, fin/pos/nz) up to date, then
# apply every rewrite once. Back-off stops a rule whose matches explode (AC).
_STEP = (
    "(run-schedule (saturate (run analysis))"
    " (let-scheduler bo (back-off :match-limit {match_limit}))"
    " (run-with bo rewrites))"
)
_MATCH_LIMIT = 1_000
_DEFAULT_TIMEOUT = 2.0


@dataclass(frozen=True)
class ProofResult:
    proved: bool
    seconds: float


def rules_dir() -> pathlib.Path:
    """The rules folder: package data when installed, else ``<repo>/rules``."""
    packaged = importlib.resources.files("stile_static") / "rules"
    if packaged.is_dir():
        return pathlib.Path(str(packaged))
    return pathlib.Path(__file__).resolve().parent.parent / "rules"


@functools.lru_cache(maxsize=1)
def load_rules() -> str:
    """The text of ``rules/*.egg``, concatenated in file-name order."""
    files = sorted(rules_dir().glob("*.egg"), key=lambda p: p.name)
    if not files:
        raise FileNotFoundError(f"no rule files in {rules_dir()}")
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bigint(n: int) -> str:
    # bigint takes an i64; larger magnitudes go through a string
    return f"(bigint {n})" if -_I64 <= n < _I64 else f'(from-string "{n}")'


def _number(value: Fraction | float) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("NaN constant cannot be encoded")
        if math.isinf(value):
            return "(NegInf)" if value < 0 else "(PosInf)"
        value = Fraction(value)  # exact: every finite float is a rational
    return f"(Num (bigrat {_bigint(value.numerator)} {_bigint(value.denominator)}))"


def to_egglog(term: Term) -> str:
    """The s-expression of ``term`` in the constructors of ``rules/00_terms.egg``."""
    if isinstance(term, Const):
        return _number(term.value)
    if isinstance(term, Load):
        return f"(Load {_string(term.tensor)} {_string(','.join(term.dims))})"
    if isinstance(term, Unary):
        return f"({_UNARY[term.fn]} {to_egglog(term.arg)})"
    if isinstance(term, Binary):
        return f"({_BINARY[term.op]} {to_egglog(term.left)} {to_egglog(term.right)})"
    if isinstance(term, Reduce):
        name = _REDUCE[term.op]
        return f"({name} {_string(term.dim)} {term.lo} {term.hi} {to_egglog(term.body)})"
    raise TypeError(f"not a term: {term!r}")


def _loads(term: Term) -> set[Load]:
    if isinstance(term, Load):
        return {term}
    if isinstance(term, Unary):
        return _loads(term.arg)
    if isinstance(term, Binary):
        return _loads(term.left) | _loads(term.right)
    if isinstance(term, Reduce):
        return _loads(term.body)
    return set()


def _load_facts(load: Load) -> str:
    """Inputs are finite, and depend on exactly their dims."""
    code = to_egglog(load)
    dims = " ".join(_string(d) for d in load.dims)
    dim_set = f"(set-of {dims})" if dims else "(set-empty)"
    return f"(set (free {code}) {dim_set})\n(fin {code})\n"


# Parsing and type-checking the rules is the slow part of set-up; do it once
# per thread into a template e-graph and copy it with push/pop for each proof.
_local = threading.local()


def _template() -> Any:
    graph = getattr(_local, "graph", None)
    if graph is None:
        graph = bindings.EGraph()
        graph.run_program(*graph.parse_program(load_rules()))
        _local.graph = graph
    return graph


def _run(graph: Any, text: str) -> list[Any]:
    return graph.run_program(*graph.parse_program(text))


def _equal(graph: Any) -> bool:
    try:
        _run(graph, "(check (= $lhs $rhs))")
    except bindings.EggSmolError:
        return False
    return True


def _size(graph: Any) -> int:
    (report,) = _run(graph, "(print-size)")
    return sum(count for _, count in report.sizes)


def prove_equal(
    lhs: Term,
    rhs: Term,
    *,
    iterations: int = 12,
    node_limit: int = 50_000,
    timeout: float = _DEFAULT_TIMEOUT,
) -> ProofResult:
    """Whether the rules show ``lhs == rhs`` within the given bounds."""
    start = time.perf_counter()
    try:
        program = _program(lhs, rhs)
    except ValueError:
        return ProofResult(False, time.perf_counter() - start)
    graph = _template()
    _run(graph, "(push)")
    try:
        proved = _search(graph, program, iterations, node_limit, start + timeout)
    finally:
        _run(graph, "(pop)")
    return ProofResult(proved, time.perf_counter() - start)


def _program(lhs: Term, rhs: Term) -> str:
    facts = "".join(_load_facts(load) for load in sorted(_loads(lhs) | _loads(rhs), key=repr))
    return f"(let $lhs {to_egglog(lhs)})\n(let $rhs {to_egglog(rhs)})\n{facts}"


def _match_limit(iteration: int, node_limit: int) -> int:
    """Matches a rule may apply in one iteration before it sits that one out.

    Doubling lets the AC rules back in on later iterations (as egg's back-off
    scheduler does); the cap keeps one iteration from outgrowing the node limit.
    """
    return min(_MATCH_LIMIT << iteration, max(_MATCH_LIMIT, node_limit // 8))


def _search(graph: Any, program: str, iterations: int, node_limit: int, deadline: float) -> bool:
    _run(graph, program)
    if _equal(graph):
        return True
    for i in range(iterations):
        if _size(graph) > node_limit or time.perf_counter() > deadline:
            return False
        _run(graph, _STEP.format(match_limit=_match_limit(i, node_limit)))
        if _equal(graph):
            return True
    return False
