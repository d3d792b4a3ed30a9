"""Sizes searched for the dims no case line gives, and ``assume`` lines on dims.

No proof for all sizes exists yet, so a dim no case line sizes is checked at
sizes chosen where bugs live: for every block size the file uses (a power of
two written as a literal: ``BLOCK_SIZE=128``, ``triton.Config({"BLOCK_M": 64})``,
``pl.BlockSpec((128,), ...)``), the sizes just below, at and above one and two
blocks (B-1, B, B+1, 2B-1, 2B, 2B+1: a ragged last block, an exact fit, a
second program), and small sizes (1, 3, 7) smaller than any block. A block the
wrapper computes with ``triton.next_power_of_2(n)`` has no literal: the sizes
around the powers of two :data:`COMPUTED` stand for it (at P + 1 the block
doubles and is mostly masked, at P it fits exactly). The sizes
are rotated over the dims as :data:`DEFAULT_SIZES` were, so every dim takes
every size once and dims of different names differ within a case.

An ``assume`` line whose names are all dims (``Nk == Nq``, ``M % 32 == 0``,
``N <= 65536``, joined with ``and``) is a linear condition on the sizes: dims
it makes equal share one size, and a searched size it excludes is not tried.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import libcst as cst

__all__ = [
    "MAX_SEARCHED",
    "DimCondition",
    "block_literals",
    "blocks_of",
    "dim_condition",
    "search",
]

SMALL = (1, 3, 7)  # below every block: a single ragged program
LARGEST_BLOCK = 1024  # larger powers of two are rarely blocks (2**31, 65536 bounds)
MAX_SEARCHED = 14  # sizes per dim: the cases run one by one, so the set stays short
FALLBACK = (64, 100)  # no block literal in the file: a power of two and a ragged size
# a block the wrapper computes as `triton.next_power_of_2(n)` of a dim: at P - 1, P and
# P + 1 (and 2P +- 1) the block is a tight fit, exact, or mostly masked
COMPUTED = (16, 64)
_SCAN = 4096  # how far to look for sizes a condition admits when the searched ones fail


def block_literals(module: cst.Module) -> tuple[int, ...]:
    """Powers of two from 2 to :data:`LARGEST_BLOCK` written as integer literals, and
    :data:`COMPUTED` when the file computes a block with ``next_power_of_2``."""
    found: set[int] = set()

    class _Visitor(cst.CSTVisitor):
        def visit_Integer(self, node: cst.Integer) -> None:
            try:
                value = int(node.value.replace("_", ""), 0)
            except ValueError:
                return
            if 2 <= value <= LARGEST_BLOCK and value & (value - 1) == 0:
                found.add(value)

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            name = func.attr.value if isinstance(func, cst.Attribute) else None
            if isinstance(func, cst.Name):
                name = func.value
            if name == "next_power_of_2":
                found.update(COMPUTED)

    module.visit(_Visitor())
    return tuple(sorted(found))


def blocks_of(text: str) -> tuple[int, ...]:
    """:func:`block_literals` of a file's text (for tools; () when it does not parse)."""
    try:
        return block_literals(cst.parse_module(text))
    except cst.ParserSyntaxError:
        return ()


def _candidates(blocks: Iterable[int]) -> list[int]:
    """The sizes to search, most telling first (the list is cut at MAX_SEARCHED):
    past each block first, from the largest block down, since a fixed block
    without a loop fails there; then the ragged and exact sizes."""
    blocks = sorted(set(blocks), reverse=True)
    order: list[int] = [1]
    for offsets in ((1, 1), (2, 1), (1, -1), (1, 0), (2, -1), (2, 0)):
        order += [offsets[0] * b + offsets[1] for b in blocks]
    order += [*SMALL, *(() if blocks else FALLBACK)]
    out: list[int] = []
    for n in order:
        if n >= 1 and n not in out:
            out.append(n)
    return out[:MAX_SEARCHED]


# --------------------------------------------------------------------------- conditions

_BINARY: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[int, int], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@dataclass(frozen=True)
class DimCondition:
    """An ``assume`` on dims: ``holds`` at given sizes; ``equal`` dims it identifies."""

    text: str
    tree: ast.expr
    names: frozenset[str]
    equal: tuple[tuple[str, str], ...]  # `A == B` parts: the dims share one size

    @property
    def parts(self) -> tuple[DimCondition, ...]:
        """The parts of an ``and``, each its own condition (each filters on its own dims)."""
        if not isinstance(self.tree, ast.BoolOp):
            return (self,)
        return tuple(
            DimCondition(
                ast.unparse(v),
                v,
                frozenset(n.id for n in ast.walk(v) if isinstance(n, ast.Name)),
                tuple(e for e in self.equal if _is_equality(v, e)),
            )
            for v in self.tree.values
        )

    def holds(self, sizes: Mapping[str, int]) -> bool:
        try:
            return bool(_evaluate(self.tree, sizes))
        except (ArithmeticError, ValueError, KeyError):
            return False


def dim_condition(text: str, dims: Iterable[str]) -> DimCondition | None:
    """The condition when ``text`` is arithmetic and comparisons of dims and integers
    only (each part of an ``and``), else None (an assumption for the front end)."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    names = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    if not names or not names <= set(dims) or not _allowed(tree):
        return None
    parts = tree.values if isinstance(tree, ast.BoolOp) else [tree]
    equal = tuple(
        (p.left.id, p.comparators[0].id)
        for p in parts
        if isinstance(p, ast.Compare)
        and len(p.ops) == 1
        and isinstance(p.ops[0], ast.Eq)
        and isinstance(p.left, ast.Name)
        and isinstance(p.comparators[0], ast.Name)
    )
    return DimCondition(text, tree, names, equal)


def _is_equality(node: ast.expr, pair: tuple[str, str]) -> bool:
    return (
        isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Name)
        and isinstance(node.comparators[0], ast.Name)
        and (node.left.id, node.comparators[0].id) == pair
    )


def _allowed(node: ast.expr, top: bool = True) -> bool:
    if top and isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return all(_allowed(v) for v in node.values)
    if top and isinstance(node, ast.Compare):
        return all(type(op) in _COMPARE for op in node.ops) and all(
            _allowed(x, False) for x in (node.left, *node.comparators)
        )
    if isinstance(node, ast.BinOp):
        return (
            type(node.op) in _BINARY and _allowed(node.left, False) and _allowed(node.right, False)
        )
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    return isinstance(node, ast.Name) and not top


def _evaluate(node: ast.expr, sizes: Mapping[str, int]) -> int | bool:
    if isinstance(node, ast.BoolOp):
        return all(_evaluate(v, sizes) for v in node.values)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, sizes)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, sizes)
            if not _COMPARE[type(op)](left, right):  # type: ignore[arg-type]
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, sizes), _evaluate(node.right, sizes)
        if isinstance(node.op, ast.Pow) and (right < 0 or right > 64):
            raise ValueError("exponent out of range")
        return _BINARY[type(node.op)](left, right)  # type: ignore[arg-type]
    if isinstance(node, ast.Constant):
        return node.value
    assert isinstance(node, ast.Name)
    return sizes[node.id]


# --------------------------------------------------------------------------- search


def search(
    dims: tuple[str, ...],
    blocks: Iterable[int],
    conditions: tuple[DimCondition, ...] = (),
    fixed: Mapping[str, int] | None = None,
) -> list[tuple[tuple[str, int], ...]]:
    """Sizes of ``dims`` to check, one tuple per case, smallest first (so the first
    failure found is at the smallest sizes). ``fixed``: sizes a case line gives
    other dims, which conditions may relate to these."""
    fixed = dict(fixed or {})
    if not dims:
        return [()]
    conditions = tuple(part for c in conditions for part in c.parts)
    # dims an assumption makes equal share one size: one representative each
    leader = {d: d for d in dims}

    def find(d: str) -> str:
        while leader[d] != d:
            d = leader[d]
        return d

    for condition in conditions:
        for a, b in condition.equal:
            if a in leader and b in leader:
                leader[find(a)] = find(b)
    groups = [d for d in dims if find(d) == d]
    candidates = _candidates(blocks)
    per_group = {g: _admitted(g, dims, find, candidates, conditions, fixed) for g in groups}
    length = max(len(sizes) for sizes in per_group.values())
    cases: list[tuple[tuple[str, int], ...]] = []
    for k in range(length):
        chosen: dict[str, int] = {}
        for j, g in enumerate(groups):
            sizes = per_group[g]
            if not sizes:
                return []
            # rotated, and past a size another group already took (dims differ)
            for step in range(len(sizes)):
                n = sizes[(k + j + step) % len(sizes)]
                if n not in chosen.values():
                    break
            chosen[g] = n
        case = tuple((d, chosen[find(d)]) for d in dims)
        every = {**fixed, **dict(case)}
        if case not in cases and all(c.holds(every) for c in conditions if c.names <= set(every)):
            cases.append(case)
    return sorted(cases, key=lambda case: (max(n for _, n in case), sum(n for _, n in case)))


def _admitted(
    group: str,
    dims: tuple[str, ...],
    find: Callable[[str], str],
    candidates: list[int],
    conditions: tuple[DimCondition, ...],
    fixed: Mapping[str, int],
) -> list[int]:
    """The candidates that the conditions on this group's dims alone admit (more
    sizes are looked for when too few of them do)."""
    members = {d for d in dims if find(d) == group}
    own = [c for c in conditions if c.names <= members | set(fixed)]

    def admits(n: int) -> bool:
        every = {**fixed, **dict.fromkeys(members, n)}
        return all(c.holds(every) for c in own)

    admitted = [n for n in candidates if admits(n)]
    if len(admitted) < 3:
        admitted += [n for n in range(1, _SCAN + 1) if n not in admitted and admits(n)][
            : 3 - len(admitted)
        ]
    return sorted(admitted)
