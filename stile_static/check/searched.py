"""Verdicts reached at searched sizes: what they cover, and the warning that says so.

A dim no case line sizes is checked at sizes the analyzer searched, one run
each (``spec/sizes.py``): no proof for all sizes exists yet. The proofs of all
those runs read as one, ``verified at sizes N in {1, 3, 129} only`` (the sizes
actually checked: those the wrapper's guards reject are skipped), and each
annotation verified that way gets one STL049 warning at its first line, which
CI can make an error (``warnings-as-errors``). When a searched size fails, the
failure is the report; no warning claims a verification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..core.diagnostics import Diagnostic, Span
from ..core.scope import Scope
from ..ir.obligations import Facts
from ..prover.verify import Verdict

SAMPLED = "STL049"
REASON = "the analyzer checks each searched size on its own and has no symbolic proof over sizes"


@dataclass
class _Group:
    """The runs of one case (or of no case line) whose sizes were searched."""

    at: Span
    scope: Scope  # of every run: no sizes of its own
    sizes: dict[str, set[int]] = field(default_factory=dict)  # checked, per searched dim
    proofs: list[int] = field(default_factory=list)  # indices into the report's proofs


class Searched:
    """Collects the runs at searched sizes of one file while they are verified."""

    def __init__(self) -> None:
        self.groups: dict[tuple, _Group] = {}

    def add(self, facts: Facts, proofs: range) -> None:
        """``facts`` was verified, giving the proofs at ``proofs`` in the report."""
        scope = facts.scope
        if facts.searched_at is None or scope is None or scope.kind != "sampled":
            return
        every = replace(scope.of_every_run(), config="")
        key = (facts.searched_at, every)
        group = self.groups.setdefault(key, _Group(facts.searched_at, every))
        for dim in scope.chosen:
            group.sizes.setdefault(dim, set()).add(dict(scope.sizes)[dim])
        group.proofs.extend(proofs)

    def finish(
        self,
        proved: list[tuple[Span, str, Verdict]],
        diagnostics: Sequence[Diagnostic],
        path: str,
    ) -> list[Diagnostic]:
        """Rewrite the proofs' scopes to the sizes checked; the STL049 warnings."""
        warnings = []
        for group in self.groups.values():
            checked = tuple((d, tuple(sorted(group.sizes[d]))) for d in group.scope.chosen)
            for i in group.proofs:
                span, target, verdict = proved[i]
                assert verdict.scope is not None
                scope = replace(verdict.scope.of_every_run(), searched=checked)
                proved[i] = (span, target, replace(verdict, scope=scope))
            if group.proofs and not _failed(group, diagnostics):
                warnings.append(_warning(path, group, checked))
        return warnings


def _failed(group: _Group, diagnostics: Sequence[Diagnostic]) -> bool:
    """Whether an error was found in one of the group's runs (or at its annotation): by
    the annotation and case line its scope names, not by its sizes, which another
    annotation of the file may search too."""
    own = group.scope
    for d in diagnostics:
        if d.severity != "error":
            continue
        if d.span == group.at:
            return True
        s = d.scope
        if (
            s is not None
            and s.kind == "sampled"
            and s.annotation == own.annotation
            and (s.values, s.chosen) == (own.values, own.chosen)
            and s.of_every_run().sizes == own.sizes  # the sizes its case line gives
        ):
            return True
    return False


def _warning(
    path: str, group: _Group, checked: tuple[tuple[str, tuple[int, ...]], ...]
) -> Diagnostic:
    scope = replace(group.scope, searched=checked)
    notes = []
    skipped = [
        f"{d} in {{{', '.join(str(n) for n in sorted(set(all_sizes) - set(dict(checked)[d])))}}}"
        for d, all_sizes in group.scope.searched
        if set(all_sizes) - set(dict(checked)[d])
    ]
    if skipped:
        notes.append(
            f"also searched, not checked: {', '.join(skipped)} (the wrapper's guards reject "
            "them, or a run stopped)"
        )
    unsized = ", ".join(group.scope.chosen)
    notes.append(f"no case line gives {unsized} a size")
    return Diagnostic(
        path,
        group.at,
        SAMPLED,
        f"verified {scope.verdict}: no proof for all sizes yet ({REASON})",
        severity="warning",
        notes=tuple(notes),
        help=(
            "add `# stile: case ...` lines with the sizes the kernel is used at (each is "
            "checked exactly), or make this warning an error in CI: "
            f'`warnings-as-errors = ["{SAMPLED}"]` in [tool.stile-static]'
        ),
        scope=scope,
    )
