"""Where an int32 value of a kernel starts to wrap, as a condition on the searched sizes.

The sizes searched for a dim no case line gives (``spec/sizes.py``) are small,
so an int32 offset (``pid * BLOCK_SIZE``, ``row * stride``) never wraps at
them, and the kernel would read "verified at sizes ... only" with no word of
the sizes where it breaks. After a case's searched runs, each searched dim is
grown alone from its largest searched size (the other dims held at theirs,
dims an ``assume`` makes equal grown together): a run at :data:`TOP` first,
since an offset that grows by at least one per element wraps by then, and if
that run gives an STL046, bisection down to the first size whose run does.

Every probe is a real run of the case at those sizes (the generic program
classes make a launch of 2^31 elements cost what one of 1000 does), so a size
is reported only when its own run gives the STL046, and the size just below it
ran without one: the finding is never a guess, only its being the least relies
on the largest value growing with the size, which it does for the affine
offsets the analyzer follows. A probe that would not be cheap says nothing
(:class:`TooLarge`: a launch run program by program, whose per-element memory
holds every element; an array over more than :data:`MAX_PROGRAMS` programs of
a class, a block of more than :data:`MAX_LANES` lanes, more than
:data:`MAX_STEPS` statements, several launches or host writes); nor does a size the wrapper
rejects or a run that hits an STL002. Sizes the ``assume`` lines exclude are
never reported: the first admitted size at or past the first wrapping one (up
to :data:`SCAN` sizes on) is probed and reported instead, so ``assume N * D <
2**31`` or ``N <= 65536`` excludes the wrap. Finding nothing claims nothing:
the verdicts stay "at sizes ... only".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ...core.diagnostics import Diagnostic, Span
from ...spec.sizes import DimCondition

TOP = 2**31 + 1  # an int32 offset that grows by one per element has wrapped by here
MAX_PROGRAMS = 2**22  # an array over more programs of a class: the probe says nothing
MAX_LANES = 2**16  # a block of more lanes (a block sized by the dim): likewise
MAX_STEPS = 20_000  # statements per probe run
SCAN = 4096  # admitted sizes looked for past the first wrapping one
MAX_HINTS = 4  # probes at estimated sizes per dim; bisection does the rest
_NEAR = 65  # sizes just past each power of two tried for an admitted one (N % 64 == 0)


class TooLarge(BaseException):  # noqa: N818 - a signal, not an error
    """A probe run that would not be cheap: it stops, and says nothing. A
    ``BaseException``, so that no handler of the interpreter takes it."""


@dataclass(frozen=True)
class Outcome:
    """One probe run: its STL046 findings (empty: none; None when the run says nothing:
    the wrapper rejects the sizes, it is not cheap, it was not followed), and how far
    each int32 operation's exact value went (:data:`.ints.PEAKS`), by its span."""

    found: tuple[Diagnostic, ...] | None
    peaks: Mapping[Span, int]


Probe = Callable[[Mapping[str, int]], Outcome]


@dataclass(frozen=True)
class Wrap:
    """The least sizes found at which an int32 value wraps: ``dim`` was grown, ``sizes``
    are every dim's, ``found`` the STL046 findings of the run there."""

    dim: str
    sizes: tuple[tuple[str, int], ...]
    found: tuple[Diagnostic, ...]

    @property
    def bound(self) -> tuple[tuple[str, int], ...]:
        """For :attr:`Scope.wraps`: the grown dim first, then the dims held."""
        grown = dict(self.sizes)[self.dim]
        return ((self.dim, grown), *((d, n) for d, n in self.sizes if d != self.dim))


def smallest_wrap(
    dims: Sequence[str],
    base: Mapping[str, int],
    conditions: Sequence[DimCondition],
    probe: Probe,
) -> Wrap | None:
    """Of the searched ``dims`` grown one at a time from ``base`` (every dim's size,
    a case that ran clean), the wrap at the least sizes, or None."""
    parts = [p for c in conditions for p in c.parts]
    found: list[Wrap] = []
    done: set[frozenset[str]] = set()
    for dim in dims:
        group = _equal_to(dim, dims, parts)
        if group in done:
            continue
        done.add(group)

        def ray(n: int, group: frozenset[str] = group) -> dict[str, int]:
            return {**base, **dict.fromkeys(group, n)}

        def admitted(n: int, ray: Callable[[int], dict[str, int]] = ray) -> bool:
            sizes = ray(n)
            return all(p.holds(sizes) for p in parts if p.names <= set(sizes))

        wrap = _along(dim, base[dim], ray, admitted, probe)
        if wrap is not None:
            found.append(wrap)
    if not found:
        return None
    return min(found, key=lambda w: (max(n for _, n in w.sizes), sum(n for _, n in w.sizes)))


def _along(
    dim: str,
    start: int,
    ray: Callable[[int], dict[str, int]],
    admitted: Callable[[int], bool],
    probe: Probe,
) -> Wrap | None:
    """Bisection between the largest size known clean and the least known to wrap. The
    size probed next is, where one lies between them, the least at which an int32
    value would reach 2**31 if it kept growing as it did over the clean runs, and
    after a hint that wraps the size just below it: two runs settle the bound when
    the value is affine in the size. :data:`TOP` is such a hint (an element offset
    wraps first there), and the run at twice the start gives the clean runs a slope."""
    if start >= TOP or not _any_admitted(start, admitted):
        return None
    first = probe(ray(start))
    top = probe(ray(TOP))
    if first.found is None or first.found or not top.found:
        return None
    clean = [(start, first.peaks)]
    low, high, at_high = start, TOP, top.found  # low: no wrap found there; high: a wrap
    tried = {start, TOP}
    below_high = True  # whether high was a hint (then the size below it is next)
    hints = 0
    while high - low > 1:
        estimates = [e for e in _estimates(clean) if low < e < high and e not in tried]
        if below_high and high - 1 not in tried:
            n, estimated = high - 1, False
        elif len(clean) == 1 and low < 2 * start < high and 2 * start not in tried:
            n, estimated = 2 * start, False
        elif estimates and hints < MAX_HINTS:
            n, estimated = min(estimates), True
            hints += 1
        else:
            n, estimated = (low + high) // 2, False
        tried.add(n)
        outcome = probe(ray(n))
        if outcome.found:
            high, at_high, below_high = n, outcome.found, estimated
            continue
        low, below_high = n, False
        if outcome.found is not None:
            clean.append((n, outcome.peaks))
    if not admitted(high):
        # the first size past it that the assumptions admit, checked on its own
        later = next((n for n in range(high + 1, high + SCAN + 1) if admitted(n)), None)
        if later is None:
            return None
        at_later = probe(ray(later)).found
        if not at_later:
            return None
        high, at_high = later, at_later
    return Wrap(dim, tuple(ray(high).items()), tuple(at_high))


def _estimates(clean: list[tuple[int, Mapping[Span, int]]]) -> set[int]:
    """Per int32 operation that grew between the last two clean runs, the least size at
    which its peak reaches 2**31 on that line (a hint for the bisection, never a result)."""
    if len(clean) < 2:
        return set()
    # the widest baseline: a value that grows in steps (a block at a time) has its
    # slope best measured over the longest run of sizes
    (n1, p1), (n2, p2) = min(clean, key=lambda c: c[0]), max(clean, key=lambda c: c[0])
    out = set()
    for span, peak in p2.items():
        before = p1.get(span)
        if before is None or peak <= before or n2 <= n1 or peak >= 2**31:
            continue  # not growing, or wrapped already with no finding (masked lanes)
        # least n with peak + (n - n2) * (peak - before) / (n2 - n1) >= 2**31
        need = (2**31 - peak) * (n2 - n1)
        out.add(n2 + max(1, -(-need // (peak - before))))
    return out


def _any_admitted(start: int, admitted: Callable[[int], bool]) -> bool:
    """Whether the assumptions admit some size past ``start`` that a wrap could be at:
    :data:`TOP`, or one just past a power of two (a bound such as ``N <= 65536`` or
    ``N * D < 2**31`` admits none of them beyond it; ``N % 64 == 0`` some)."""
    if admitted(TOP):
        return True
    return any(
        admitted(n)
        for k in range(max(start, 1).bit_length(), TOP.bit_length())
        for n in range(2**k, 2**k + _NEAR)
        if n > start
    )


def _equal_to(dim: str, dims: Sequence[str], parts: Sequence[DimCondition]) -> frozenset[str]:
    """The searched dims an ``assume`` makes equal to ``dim`` (they share one size)."""
    group = {dim}
    grown = True
    while grown:
        grown = False
        for p in parts:
            for a, b in p.equal:
                if (a in group) != (b in group) and a in dims and b in dims:
                    group |= {a, b}
                    grown = True
    return frozenset(group)
