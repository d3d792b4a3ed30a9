"""Where an unrolled loop goes wrong, not only that it does.

A loop that carries values (a running max, a running sum, an output rescaled
at every step) is a tiled reduction: after each iteration its carried values
should equal the spec restricted to the range covered so far (``nctx[0:64)``
after two key tiles of 32). When the value written after the loop is wrong,
the iterations are replayed numerically, on the inputs of the counterexample,
to name the first iteration after which kernel and restricted spec disagree.

The first few iterations are compared one by one; beyond them the search
bisects between an iteration that agrees and the last one, which names an
iteration after which they stop agreeing although the one before agrees (so a
long loop costs a logarithmic number of spec evaluations, not a quadratic
amount of work). The note says which of the two it found.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..ir.obligations import Iteration, Obligation
from ..ir.sharing import children, intern, nodes, rebuild
from ..ir.terms import Reduce, Term, loop_vars
from . import canon
from .abbreviate import abbreviate
from .evaluator import SHARE_WINDOWS, evaluate
from .verify import SIZE_LIMIT, Counterexample, Verifier, first_difference, region_mask

SCANNED = 8  # iterations compared one by one before bisecting
_NODE_BUDGET = 100_000  # nodes of the written term outside the loop's variables


@dataclass(frozen=True)
class Divergence:
    loop_line: int
    index_name: str
    index: int
    ordinal: int  # 1 for the first iteration
    count: int  # iterations of the loop
    what: str  # the variable, or a description of the written tile
    dim: str
    lo: int
    hi: int  # the range of ``dim`` covered after the iteration
    counterexample: Counterexample
    first: bool  # every earlier iteration agrees (else only the one before)
    kernel: Term  # the written value as of that iteration
    spec: Term  # the spec restricted to the covered range

    def note(self) -> str:
        where = f"iteration {self.ordinal} of {self.count} of the loop at line {self.loop_line}"
        at = f"{self.index_name}={self.index}"
        over = f"the spec over {self.dim}[{self.lo}:{self.hi})"
        if self.first:
            return f"{self.what} first differs from {over} after {where} ({at}): " + str(
                self.counterexample
            )
        return (
            f"{self.what} differs from {over} after {where} ({at}), and agrees after the "
            f"iteration before (found by bisection): {self.counterexample}"
        )


def forms(divergence: Divergence, verifier: Verifier) -> tuple[str, str, list[str]]:
    """Kernel and restricted spec after the diverging iteration (simplified if cheap),
    and the definitions of the shared subterms they name."""
    shown = []
    for term in (divergence.kernel, divergence.spec):
        try:
            form = verifier.canonical(term, SIZE_LIMIT)
        except canon.TooLarge:
            form = None
        shown.append(canon.to_term(form) if form is not None else term)
    (kernel, spec), shared = abbreviate(shown)
    return kernel, spec, shared


class _GiveUp(Exception):
    pass


def find_divergence(
    ob: Obligation, iterations: Sequence[Iteration], verifier: Verifier
) -> Divergence | None:
    """The iteration of an unrolled loop after which ``ob``'s tile goes wrong, if found."""
    written = ob.tile.term
    if not iterations or loop_vars(written) or loop_vars(ob.spec.term):
        return None
    reach = nodes(written)
    run = _run_of(iterations, reach)
    if run is None:
        return None
    finals = {id(t.term): name for name, t in run[-1].tiles if id(t.term) in reach}
    dim_range = _reduced_dim(ob.spec.term)
    if not finals or dim_range is None:
        return None
    dim, lo, hi = dim_range
    what = f"`{finals[id(written)]}`" if id(written) in finals else "the written tile"
    try:
        replay = _Replay(ob, run, finals, dim, lo, hi, verifier)
        return replay.search(what)
    except _GiveUp:
        return None
    except (ArithmeticError, LookupError, ValueError):
        # The note is an aid, not a verdict: a replay that cannot be evaluated
        # (a mask whose extent is unknown, say) leaves the report without it.
        return None


def _run_of(iterations: Sequence[Iteration], reach: Mapping[int, Term]) -> list[Iteration] | None:
    """The longest run of one loop whose last iteration's tiles the written term uses."""
    runs: list[list[Iteration]] = []
    current: dict[object, list[Iteration]] = {}
    for it in iterations:
        run = current.get(it.loop)
        if run is None or it.index <= run[-1].index:
            run = []  # a loop nested in another starts over
            runs.append(run)
            current[it.loop] = run
        run.append(it)
    used = [r for r in runs if len(r) > 1 and any(id(t.term) in reach for _, t in r[-1].tiles)]
    return max(used, key=len) if used else None


def _reduced_dim(spec: Term) -> tuple[str, int, int] | None:
    """The dim of the spec's outermost reduction with a concrete range."""
    stack = [spec]
    while stack:
        node = stack.pop(0)
        if isinstance(node, Reduce) and isinstance(node.lo, int) and isinstance(node.hi, int):
            return node.dim, node.lo, node.hi
        stack.extend(children(node))
    return None


def _restrict(term: Term, dim: str, full: tuple[int, int], hi: int) -> Term:
    """``term`` with each reduction over ``dim`` on ``full`` cut to ``[full[0], hi)``."""
    kids = tuple(_restrict(c, dim, full, hi) for c in children(term))
    if isinstance(term, Reduce) and term.dim == dim and (term.lo, term.hi) == full:
        return Reduce(term.op, dim, full[0], hi, kids[0])
    return rebuild(term, kids) if kids else term


class _Replay:
    """The written value and the restricted spec after each iteration of one run."""

    def __init__(
        self,
        ob: Obligation,
        run: list[Iteration],
        finals: dict[int, str],
        dim: str,
        lo: int,
        hi: int,
        verifier: Verifier,
    ) -> None:
        self.ob, self.run, self.finals = ob, run, finals
        self.dim, self.lo, self.hi = dim, lo, hi
        self.verifier = verifier
        self.covered: list[int | None] = []  # end of the covered prefix, per iteration
        self._cover(run)
        self.table: dict[Term, Term] = {}
        # Interned spec subterms without a reduction over dim are the same
        # object in every iteration: evaluated once, on their whole extent.
        self.shared: set[int] = set()
        self.spec_memos: dict[int, dict] = {}

    def _cover(self, run: list[Iteration]) -> None:
        """The prefix of ``dim`` each iteration's tiles have reduced over, so far."""
        seen: set[int] = set()
        prefix = _Prefix(self.lo)
        for it in run:
            stack = [t.term for _, t in it.tiles]
            while stack:
                node = stack.pop()
                if id(node) in seen:
                    continue
                seen.add(id(node))
                if isinstance(node, Reduce) and node.dim == self.dim:
                    if isinstance(node.lo, int) and isinstance(node.hi, int):
                        prefix.add(node.lo, node.hi)
                stack.extend(children(node))
            self.covered.append(prefix.end())
        if self.covered[-1] != self.hi:
            raise _GiveUp  # not a tiled reduction over the whole range of dim

    def value_after(self, j: int) -> Term:
        """The written term with the loop's variables as they were after iteration ``j``."""
        mapping = {
            final: tile.term
            for name, tile in self.run[j].tiles
            for final, final_name in self.finals.items()
            if name == final_name
        }
        memo: dict[int, Term] = {}
        budget = [_NODE_BUDGET]

        def sub(term: Term) -> Term:
            if id(term) in mapping:
                return mapping[id(term)]
            hit = memo.get(id(term))
            if hit is not None:
                return hit
            budget[0] -= 1
            if budget[0] < 0:
                raise _GiveUp
            kids = children(term)
            out = rebuild(term, tuple(sub(c) for c in kids)) if kids else term
            memo[id(term)] = out
            return out

        return sub(self.ob.tile.term)

    def spec_after(self, j: int) -> Term:
        end = self.covered[j]
        if end is None:
            raise _GiveUp
        restricted = _restrict(self.ob.spec.term, self.dim, (self.lo, self.hi), end)
        return intern(restricted, self.table)

    def differs(self, j: int, draw: int) -> Counterexample | None:
        values = self.verifier.draws[draw]
        dims, sizes = self.ob.tile.dims, self.verifier.dims
        kernel = evaluate(self.value_after(j), values, dims, sizes, self.verifier.memo(draw))
        spec_memo = self.spec_memos.setdefault(draw, {SHARE_WINDOWS: self.shared})
        spec = evaluate(self.spec_after(j), values, dims, sizes, spec_memo)
        for key in [k for k in spec_memo if k != SHARE_WINDOWS and k[0] not in self.shared]:
            del spec_memo[key]  # this prefix's arrays: other iterations need others
        return first_difference(kernel, spec, region_mask(self.ob, kernel.shape), dims)

    def search(self, what: str) -> Divergence | None:
        last = len(self.run) - 1
        self._mark_shared(self.spec_after(last))
        for draw in range(len(self.verifier.draws)):
            if self.differs(last, draw) is not None:
                break
        else:
            return None
        for j in range(min(SCANNED, last + 1)):
            self._mark_shared(self.spec_after(j))
            found = self.differs(j, draw)
            if found is not None:
                return self._divergence(j, found, what, first=True)
        good, bad = min(SCANNED, last + 1) - 1, last
        while bad - good > 1:
            mid = (good + bad) // 2
            self._mark_shared(self.spec_after(mid))
            if self.differs(mid, draw) is None:
                good = mid
            else:
                bad = mid
        found = self.differs(bad, draw)
        assert found is not None
        return self._divergence(bad, found, what, first=bad == SCANNED)

    def _mark_shared(self, spec: Term) -> None:
        """Interned nodes with no reduction over dim: the same in every iteration."""
        depends: dict[int, bool] = {}
        for node in reversed(list(nodes(spec).values())):
            self._depends(node, depends)
        self.shared |= {n for n, d in depends.items() if not d}

    def _depends(self, node: Term, depends: dict[int, bool]) -> bool:
        hit = depends.get(id(node))
        if hit is None:
            own = isinstance(node, Reduce) and node.dim == self.dim
            hit = own or any(self._depends(c, depends) for c in children(node))
            depends[id(node)] = hit
        return hit

    def _divergence(self, j: int, found: Counterexample, what: str, first: bool) -> Divergence:
        it = self.run[j]
        end = self.covered[j]
        assert end is not None
        return Divergence(
            loop_line=it.loop.line,
            index_name=it.index_name,
            index=it.index,
            ordinal=j + 1,
            count=len(self.run),
            what=what,
            dim=self.dim,
            lo=self.lo,
            hi=end,
            counterexample=found,
            first=first,
            kernel=self.value_after(j),
            spec=self.spec_after(j),
        )


class _Prefix:
    """The union of ranges added so far, when it is one range ``[lo, hi)``."""

    def __init__(self, lo: int) -> None:
        self.lo = self.hi = lo
        self.waiting: list[tuple[int, int]] = []  # a heap of ranges past a gap
        self.broken = False  # a range starts before lo

    def add(self, lo: int, hi: int) -> None:
        if lo < self.lo:
            self.broken = True
        heapq.heappush(self.waiting, (lo, hi))
        while self.waiting and self.waiting[0][0] <= self.hi:
            self.hi = max(self.hi, heapq.heappop(self.waiting)[1])

    def end(self) -> int | None:
        if self.broken or self.waiting or self.hi == self.lo:
            return None
        return self.hi
