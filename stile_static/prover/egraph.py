"""Prove two terms equal with an egglog e-graph and the rule set in ``rules/``.

The rules are sound for every value their side conditions allow (see
``rules/00_terms.egg`` and ``tests/test_rules_sound.py``), so a proof found here
means the terms are equal for all inputs. The search is bounded in iterations,
e-graph size and time; running out of any of them answers "not proved", never
"proved".
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.resources
import importlib.util
import math
import pathlib
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..ir.terms import (
    Binary,
    Const,
    Load,
    Reduce,
    Select,
    Term,
    Unary,
    Where,
    constraint_key,
    free_dims,
    select_parts,
)

EXTENSIONS = (".so", ".pyd")


def _load_bindings() -> Any:
    """egglog's compiled e-graph, without the Python layer around it.

    Only the text interface of ``egglog.bindings`` is used here; importing the
    ``egglog`` package would also load its DSL (and a code formatter), a
    quarter of the start-up time of a check. Falls back to the plain import
    should the package ever be laid out differently.
    """
    try:
        spec = importlib.util.find_spec("egglog")
        folder = pathlib.Path(next(iter(spec.submodule_search_locations or ())))
        (path,) = [
            p for p in folder.iterdir() if p.name.startswith("bindings.") and p.suffix in EXTENSIONS
        ]
        loader = importlib.machinery.ExtensionFileLoader("egglog.bindings", str(path))
        module = importlib.util.module_from_spec(
            importlib.util.spec_from_loader("egglog.bindings", loader)
        )
        loader.exec_module(module)
        return module
    except Exception:  # noqa: BLE001 - any surprise: take the documented route
        from egglog import bindings as module

        return module


@functools.lru_cache(maxsize=1)
def _bindings() -> Any:
    """Loaded on first use: a kernel whose canonical forms already agree never
    needs the e-graph, and loading it is a fifth of the start-up time."""
    return _load_bindings()


_UNARY = {
    "exp": "Exp",
    "exp2": "Exp2",
    "log": "Log",
    "log2": "Log2",
    "rsqrt": "Rsqrt",
    "sigmoid": "Sigmoid",
    "abs": "Abs",
    "tanh": "Tanh",
    "erf": "Erf",
    "sin": "Sin",
    "cos": "Cos",
    "sqrt": "Sqrt",
    "neg": "Neg",
    "recip": "Recip",
}
_BINARY = {"+": "Add", "-": "Sub", "*": "Mul", "/": "Div", "maximum": "Max", "minimum": "Min"}
_REDUCE = {"sum": "Sum", "max": "RMax", "min": "RMin"}
_SELECT = {"<": "SelLt", "<=": "SelLe", "==": "SelEq"}
_I64 = 2**63

# One iteration: bring the analyses (free dims, fin/pos/nz) up to date, then
# apply every rewrite once. A rule with more than _MATCH_LIMIT matches in an
# iteration (AC on a grown e-graph) sits it out: that bounds the work of one
# iteration, which the size and time checks between iterations cannot.
# (Measured: a growing limit proved no more of our test terms, only slower.)
_STEP = (
    "(run-schedule (saturate (run analysis))"
    " (let-scheduler bo (back-off :match-limit {match_limit}))"
    " (run-with bo rewrites))"
)
_MATCH_LIMIT = 1_000
_DEFAULT_TIMEOUT = 2.0
_MAX_INPUT_NODES = 400


@dataclass(frozen=True)
class ProofResult:
    proved: bool
    seconds: float


def rules_dir() -> pathlib.Path:
    """The rules folder: package data when installed, else ``<repo>/rules``."""
    packaged = importlib.resources.files("stile_static") / "rules"
    if packaged.is_dir():
        return pathlib.Path(str(packaged))
    return pathlib.Path(__file__).resolve().parent.parent.parent / "rules"


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
    if isinstance(term, Where):
        return f"(Where {_cond(term)} {to_egglog(term.then)} {to_egglog(term.other)})"
    if isinstance(term, Select):
        return f"({_SELECT[term.op]} {' '.join(to_egglog(t) for t in select_parts(term))})"
    # An undefined value has no encoding: it must never be proven equal to anything.
    raise ValueError(f"cannot encode {term!r}")


def _cond(term: Where) -> str:
    """A Where's condition as one opaque string: identical conditions match exactly."""
    return _string(" & ".join(constraint_key(c) for c in term.cond))


def _load_facts(load: Load) -> str:
    """Inputs are finite, and depend on exactly their dims."""
    code = to_egglog(load)
    return f"(set (free {code}) {_dim_set(free_dims(load))})\n(fin {code})\n"


def _dim_set(dims: tuple[str, ...] | frozenset[str]) -> str:
    names = " ".join(_string(d) for d in sorted(dims))
    return f"(set-of {names})" if names else "(set-empty)"


class _Emitter:
    """Writes a term as one ``let`` per distinct node object.

    Terms may share subterms (a running max used in several places); written as
    a tree their text could grow exponentially, as lets it stays linear.
    """

    def __init__(self, max_nodes: int | None = None) -> None:
        self.max_nodes = max_nodes
        self.lines: list[str] = []
        self.names: dict[int, str] = {}
        self.keep: list[Term] = []  # keeps ids valid while names refer to them
        self.loads: dict[Load, None] = {}
        self.facts: list[str] = []  # free dims of opaque Where nodes

    def emit(self, term: Term) -> str:
        name = self.names.get(id(term))
        if name is not None:
            return name
        if self.max_nodes is not None and len(self.lines) >= self.max_nodes:
            # stop early: writing out a huge term only to refuse it costs seconds
            raise ValueError("terms too large for the e-graph")
        if isinstance(term, (Const, Load)):
            code = to_egglog(term)
            if isinstance(term, Load):
                self.loads[term] = None
        elif isinstance(term, Unary):
            code = f"({_UNARY[term.fn]} {self.emit(term.arg)})"
        elif isinstance(term, Binary):
            code = f"({_BINARY[term.op]} {self.emit(term.left)} {self.emit(term.right)})"
        elif isinstance(term, Reduce):
            body = self.emit(term.body)
            code = f"({_REDUCE[term.op]} {_string(term.dim)} {term.lo} {term.hi} {body})"
        elif isinstance(term, Where):
            code = f"(Where {_cond(term)} {self.emit(term.then)} {self.emit(term.other)})"
        elif isinstance(term, Select):
            parts = " ".join(self.emit(t) for t in select_parts(term))
            code = f"({_SELECT[term.op]} {parts})"
        else:
            raise ValueError(f"cannot encode {term!r}")
        name = f"$t{len(self.names)}"
        self.names[id(term)] = name
        self.keep.append(term)
        self.lines.append(f"(let {name} {code})")
        if isinstance(term, Where):
            # a superset of what it depends on, which is all a `free` fact claims
            self.facts.append(f"(set (free {name}) {_dim_set(free_dims(term))})\n")
        return name


# Parsing and type-checking the rules is the slow part of set-up; do it once
# per thread into a template e-graph and copy it with push/pop for each proof.
_local = threading.local()


def _template() -> Any:
    graph = getattr(_local, "graph", None)
    if graph is None:
        graph = _bindings().EGraph()
        graph.run_program(*graph.parse_program(load_rules()))
        _local.graph = graph
    return graph


def release() -> None:
    """Drop this thread's e-graph; egglog objects must be freed on their own thread."""
    _local.__dict__.pop("graph", None)


def _run(graph: Any, text: str) -> list[Any]:
    return graph.run_program(*graph.parse_program(text))


def _equal(graph: Any) -> bool:
    try:
        _run(graph, "(check (= $lhs $rhs))")
    except _bindings().EggSmolError:
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
    max_input_nodes: int = _MAX_INPUT_NODES,
) -> ProofResult:
    """Whether the rules show ``lhs == rhs`` within the given bounds."""
    start = time.perf_counter()
    try:
        program = _program(lhs, rhs, max_input_nodes)
    except ValueError:
        return ProofResult(False, time.perf_counter() - start)
    graph = _template()
    _run(graph, "(push)")
    try:
        proved = _search(graph, program, iterations, node_limit, start + timeout)
    except _bindings().EggSmolError:
        proved = False  # e.g. an arithmetic primitive failing: no proof, not a crash
    finally:
        _run(graph, "(pop)")
    return ProofResult(proved, time.perf_counter() - start)


def _program(lhs: Term, rhs: Term, max_input_nodes: int) -> str:
    # One saturation step over thousands of nodes can take gigabytes before
    # any bound is checked; such terms (unrolled, not canonicalisable) are
    # left to the numeric verdict (the emitter raises ValueError).
    emitter = _Emitter(max_input_nodes + 1)
    left, right = emitter.emit(lhs), emitter.emit(rhs)
    if len(emitter.lines) > max_input_nodes:
        raise ValueError("terms too large for the e-graph")
    facts = "".join(_load_facts(load) for load in emitter.loads) + "".join(emitter.facts)
    lets = "\n".join(emitter.lines)
    return f"{lets}\n(let $lhs {left})\n(let $rhs {right})\n{facts}"


def _search(graph: Any, program: str, iterations: int, node_limit: int, deadline: float) -> bool:
    _run(graph, program)
    if _equal(graph):
        return True
    step = _STEP.format(match_limit=_MATCH_LIMIT)
    for _ in range(iterations):
        if _size(graph) > node_limit or time.perf_counter() > deadline:
            return False
        (output,) = _run(graph, step)
        if _equal(graph):
            return True
        if not output.report.updated:
            return False  # saturated: later iterations would change nothing
    return False
