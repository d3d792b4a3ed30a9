"""The Pallas front end: annotated wrappers that launch ``pl.pallas_call``.

For every wrapper with ``# stile:`` lines and every case, the wrapper is
interpreted with arrays of the case's sizes; a ``pallas_call`` it makes runs
its kernel over the concrete grid (:mod:`grid`). What the wrapper returns is
matched with the annotation's targets: every output block written back
becomes obligations (its value must equal the spec there) and writes (for
coverage).
"""

from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst
import numpy as np

from ...core.diagnostics import Diagnostic, Span
from ...core.errors import KernelError
from ...interpreter.core import StepBudget
from ...interpreter.library import Library
from ...ir import symbolic as sym
from ...ir.obligations import Facts, Obligation, Result, Write
from ...ir.specs import InputInfo, Spec
from ...ir.terms import (
    UNDEF,
    Load,
    Reduce,
    Term,
    free_dims,
    subterms,
)
from ...ir.tiles import Slice, Tile
from ...spec.annotations import (
    Annotation,
    Configuration,
    Target,
    configurations,
    configure,
    find_annotations,
    is_annotated,
)
from ...spec.sizes import block_literals
from ..base import Analysis, FrontEnd, SourceFile, imports_module
from ..cases import (
    Rejected,
    annotation_line,
    in_case,
    nothing_checked,
    unfollowed,
    with_not_checked,
)
from ..shown import RunAt, shown
from . import blocks
from .blocks import Block, Undef
from .grid import Abort, Launcher, WriteBack
from .interp import PallasInterpreter, Precondition, ScalarTest
from .ranges import conditions, restrict
from .values import Array, Closure, Jitted, Output, Partial


def _rejection(code: str) -> str:
    """Why a case is rejected, from the line of the precondition that stops it."""
    raised = re.match(r"raise\s+([\w.]+)", code)
    if raised:
        return f"the wrapper raises {raised.group(1)}"
    if len(code) > 60:
        code = code[:57] + "..."
    return f"`{code}` fails for this case" if code else "the wrapper rejects it"


def _wrapper_def(value: Any) -> cst.FunctionDef | None:
    while isinstance(value, (Jitted, Partial)):
        value = value.func
    if isinstance(value, Closure) and isinstance(value.node, cst.FunctionDef):
        return value.node
    return None


MAX_SCALAR_TESTS = 4  # tests of symbolic scalars followed per case (2**4 runs at most)
# verdicts a case that was not followed must not give
VERDICTS = frozenset({"STL030", "STL031", "STL032", "STL040", "STL041", "STL044"})


@dataclass(frozen=True)
class _Target:
    """One output line of the annotation, for one case."""

    name: str  # "return", "return[1]" or a parameter
    index: int | None
    span: Span
    spec: Spec | None
    spec_text: str
    spec_span: Span


@dataclass
class _Run:
    facts: Facts
    diagnostics: list[Diagnostic]
    hovers: dict[Span, Any] = field(default_factory=dict)  # blocks by source range
    rejected: Rejected | None = None  # the wrapper's precondition rejects the case
    stopped: str | None = None  # the case, when an STL002 stopped it (no facts)


class PallasFrontEnd(FrontEnd):
    name = "pallas"

    def __init__(self) -> None:
        self._terms: dict[Term, Term] = {}
        self._restricted: dict = {}  # memo of ranges.restrict, for one file

    def recognises(self, source: SourceFile) -> bool:
        return (
            "pallas_call" in source.text
            and imports_module(source.module, "jax")
            and is_annotated(source.module)
        )

    def analyse(self, source: SourceFile) -> Analysis:
        self._terms, self._restricted = {}, {}
        diagnostics: list[Diagnostic] = []
        hovers: dict[Span, Any] = {}
        facts: list[Facts] = []
        stopped: dict[Span, list[str]] = {}
        for annotation, configs in self._annotations(source):
            rejected: list[Rejected] = []
            for config in configs:
                runs = self._runs(source, annotation, config, None, 0.0, {})
                for run in runs:
                    diagnostics.extend(run.diagnostics)
                    facts.append(run.facts)
                    hovers.update(run.hovers)
                    for d in run.diagnostics:
                        if run.stopped is not None and d.code == "STL002":
                            stopped.setdefault(d.span, []).append(run.stopped)
                if runs and all(run.rejected is not None for run in runs):
                    rejected.append(runs[0].rejected)  # type: ignore[arg-type]
            empty = nothing_checked(source.path, annotation, rejected, len(configs), source.text)
            if empty is not None:
                diagnostics.append(empty)
        return Analysis(with_not_checked(diagnostics, stopped), facts, hovers)

    def run_concretely(self, source: SourceFile, seed: int, shift: float) -> list[Facts]:
        return [
            run.facts
            for annotation, config in self._configurations(source)
            for run in self._runs(source, annotation, config, seed, shift, {})
        ]

    def _configurations(self, source: SourceFile) -> list[tuple[Annotation, Configuration]]:
        return [(a, config) for a, configs in self._annotations(source) for config in configs]

    def _annotations(
        self, source: SourceFile
    ) -> list[tuple[Annotation, tuple[Configuration, ...]]]:
        # the annotation's own errors are reported by the checker for every front end
        found = find_annotations(source.module, source.path)
        blocks_used = block_literals(source.module)
        return [
            (annotation, configurations(annotation, source.path, blocks_used).configurations)
            for annotation in found.annotations
        ]

    # ------------------------------------------------------------------ one case

    def _runs(
        self,
        source: SourceFile,
        annotation: Annotation,
        config: Configuration,
        seed: int | None,
        shift: float,
        assumed: dict[tuple[str, Any], bool],
    ) -> list[_Run]:
        """The case, split where the wrapper or kernel tests a symbolic scalar
        against a number (``if sm_scale != 1.0``): once with the scalar equal to
        it (a constant, in the specs too), once for the other values (checked
        for all values, which covers them)."""
        try:
            return [self._run_case(source, annotation, config, seed, shift, assumed)]
        except ScalarTest as test:
            if len(assumed) >= MAX_SCALAR_TESTS:
                span = config.case.span or annotation.span
                message = (
                    f"unsupported: more than {MAX_SCALAR_TESTS} tests of symbolic scalars "
                    "against numbers in one case"
                )
                empty = Facts(dict(config.sizes), {}, {}, [], [])
                diagnostic = Diagnostic(source.path, span, "STL002", message)
                return [_Run(empty, [diagnostic], stopped=str(config.case))]
            other = dict(assumed)
            other[(test.name, test.value)] = False
            runs = self._runs(source, annotation, config, seed, shift, other)
            case = config.case
            values = tuple(v for v in case.values if v[0] != test.name)
            equal = replace(case, values=(*values, (test.name, test.value)))
            try:
                bound = configure(annotation, equal, source.path)
            except ValueError:
                return runs
            return runs + self._runs(source, annotation, bound, seed, shift, assumed)

    def _run_case(
        self,
        source: SourceFile,
        annotation: Annotation,
        config: Configuration,
        seed: int | None,
        shift: float,
        assumed: dict[tuple[str, Any], bool],
    ) -> _Run:
        """One case; an exception of the analyzer stops it (STL002 where it was raised),
        and a case that hits an STL002 anywhere gives no facts and no verdicts."""
        interp = PallasInterpreter(
            source.wrapper, dict(source.positions), source.path, Library(), seed, shift
        )
        interp.assumed = assumed
        interp.where = RunAt(str(config.case), unit="grid step")  # for hovers
        empty = Facts(dict(config.sizes), {}, {}, [], [])
        try:
            run = self._follow_case(source, annotation, config, interp, seed, shift)
        except ScalarTest:
            raise  # the case is run again for each outcome (see _runs)
        except StepBudget:
            run = _Run(empty, interp.diagnostics)  # reported where the budget ran out
        except Exception as error:  # an analyzer bug or limit, never a traceback
            interp.report(unfollowed(error), annotation.function.name)
            run = _Run(empty, interp.diagnostics)
        run.diagnostics = in_case(run.diagnostics, config.case.scope())
        if run.rejected is None and any(d.code == "STL002" for d in run.diagnostics):
            # no verdict from a model that was not followed: the case is not checked
            kept = [d for d in run.diagnostics if d.code not in VERDICTS]
            return _Run(empty, kept, run.hovers, stopped=str(config.case))
        return run

    def _follow_case(
        self,
        source: SourceFile,
        annotation: Annotation,
        config: Configuration,
        interp: PallasInterpreter,
        seed: int | None,
        shift: float,
    ) -> _Run:
        launcher = Launcher(interp)
        interp.launcher = launcher
        sizes = config.sizes
        empty = Facts(dict(sizes), {}, {}, [], [])
        interp.run_module()
        wrapper = interp.frames[0].names.get(annotation.name)
        node = _wrapper_def(wrapper)
        if node is None:
            interp.report(
                KernelError("STL002", f"the annotated wrapper `{annotation.name}` is not followed"),
                annotation.function,
            )
            return _Run(empty, interp.diagnostics)
        in_place = [s.target for s in config.specs if not s.target.is_return]
        for target in in_place:
            interp.report(_written_in_place(target), annotation.function)
        if in_place:
            return _Run(empty, interp.diagnostics)
        inputs: dict[str, InputInfo] = {}
        kwargs: dict[str, Any] = {}
        for info in config.inputs:
            shape = tuple(sizes[d] for d in info.dims)
            inputs[info.name] = info
            value = None
            if seed is not None:
                rng = np.random.default_rng([seed, zlib.crc32(info.name.encode())])
                launcher.inputs[info.name] = value = rng.standard_normal(shape) + shift
            if info.dims:
                kwargs[info.name] = Array(info.name, info.dims, shape)
            else:  # a scalar the case leaves symbolic
                kwargs[info.name] = blocks.scalar(Load(info.name, ()), value)
        kwargs.update(config.parameter_values)
        try:
            returned = interp.call_value(wrapper, [], kwargs, node)
        except Precondition as stop:
            lines = source.text.splitlines()
            code = lines[stop.span.line - 1].strip() if stop.span.line <= len(lines) else ""
            reason = _rejection(code)
            rejected = Rejected(str(config.case), reason, stop.span, config.case.span)
            if config.case.chosen:
                # a searched size the wrapper rejects is outside its domain: skipped
                return _Run(empty, interp.diagnostics, rejected=rejected)
            interp.diagnostics.append(
                Diagnostic(
                    source.path,
                    config.case.span or annotation.span,
                    "STL045",
                    f"case {config.case} violates the wrapper's precondition: {reason} "
                    f"(line {stop.span.line}); it is not checked",
                    severity="warning",
                    help="drop the case, or change its sizes to ones the wrapper accepts",
                    related=((stop.span, "precondition"),),
                )
            )
            return _Run(empty, interp.diagnostics, rejected=rejected)
        except Abort:
            # after a block past the end, the rest of the case is not meaningful
            kept = [d for d in interp.diagnostics if d.code in ("STL042", "STL048", "STL002")]
            return _Run(empty, kept)
        except KernelError as error:
            interp.report(error, node)
            return _Run(empty, interp.diagnostics)
        if any(d.code in ("STL004", "STL005") for d in interp.diagnostics):
            # Python or JAX raises while tracing: the program never runs, and what
            # it would have written is not a finding of its own
            kept = [d for d in interp.diagnostics if d.code in ("STL002", "STL004", "STL005")]
            return _Run(empty, kept)
        if any(d.code == "STL002" for d in interp.diagnostics):
            return _Run(empty, interp.diagnostics)  # what the wrapper returns is not known
        facts = Facts(
            dict(sizes),
            inputs,
            {},
            [],
            [],
            dict(launcher.inputs),
            complete=True,
            scope=config.case.scope(),
            searched_at=annotation_line(annotation, source.text) if config.case.chosen else None,
        )
        for spec in config.specs:
            target = _Target(
                str(spec.target),
                spec.target.index,
                spec.target.span,
                spec.spec,
                spec.text,
                spec.span,
            )
            self._target(interp, launcher, target, returned, facts, node)
        return _Run(facts, interp.diagnostics, shown(interp.tile_types, interp.tile_where))

    def _target(
        self,
        interp: PallasInterpreter,
        launcher: Launcher,
        target: _Target,
        returned: Any,
        facts: Facts,
        node: cst.FunctionDef,
    ) -> None:
        value = returned
        if target.index is not None:
            if not isinstance(returned, (tuple, list)) or target.index >= len(returned):
                interp.report(
                    KernelError(
                        "STL023",
                        f"the wrapper does not return an item {target.index}",
                        node=target.span,
                    ),
                    node,
                )
                return
            value = returned[target.index]
        if value is None and target.index is None:
            interp.report(_returns_nothing(launcher.launches, target.span), node)
            return
        computed = isinstance(value, (Block, blocks.LaneSum))
        if not isinstance(value, Output) and not computed:
            interp.report(
                KernelError(
                    "STL002",
                    f"{target.name} is not the output of a pallas_call "
                    f"(the wrapper returns {type(value).__name__})",
                    node=target.span,
                ),
                node,
            )
            return
        spec = target.spec
        result = Result(target.name, target.span, spec, target.spec_text, target.spec_span)
        facts.results[target.name] = result
        if spec is None:
            return
        made = interp.made_at.get(id(value)) if computed else None
        # an array the wrapper computed is reported at the expression that made it
        span = made[1] if made is not None and made[0] is value else target.span
        sizes = tuple(facts.dims[d] for d in spec.out_dims)
        if sizes != value.shape:
            interp.report(
                KernelError(
                    "STL030",
                    f"the output has shape {value.shape}, the spec's dims "
                    f"{' '.join(spec.out_dims)} have sizes {sizes}",
                    node=span,
                ),
                node,
            )
            result.complete = False
            return
        if computed:
            # an array the wrapper computed from launches' results: one write of
            # the whole array
            content = blocks.settle(value, "the result")
            ndim = len(value.shape)
            whole = WriteBack(0, content, (0,) * ndim, (False,) * ndim, span)
            self._write_back(interp, whole, target, spec, facts, result)
            return
        for wb in launcher.writebacks.get((value.launch, value.index), []):
            self._write_back(interp, wb, target, spec, facts, result)

    def _intern(self, term: Term) -> Term:
        return self._terms.setdefault(term, term)

    def _wrong(
        self,
        content: Any,
        local: list[slice],
        slices: list[Slice],
        wb: WriteBack,
        target: _Target,
        spec: Spec,
        facts: Facts,
    ) -> None:
        """An obligation for what a wrong block holds: no term expresses it (the
        prover proves nothing about UNDEF), and in the concrete domain it carries
        the numbers the kernel computed, for the cross-check."""
        tile = Tile(tuple(slices), UNDEF, _values(content, local, slices))
        facts.obligations.append(
            Obligation(
                "assign", wb.span, target.spec_span, target.name, tile, spec, target.spec_text
            )
        )

    def _write_back(
        self,
        interp: PallasInterpreter,
        wb: WriteBack,
        target: _Target,
        spec: Spec,
        facts: Facts,
        result: Result,
    ) -> None:
        dims = spec.out_dims
        content = wb.content
        ref_axes = [a for a, squeezed in enumerate(wb.squeezed) if not squeezed]
        try:
            _check_alignment(wb, dims)
            misplaced = False
        except KernelError as error:
            interp.report(error, None)  # type: ignore[arg-type]
            misplaced = True
        written: list[tuple[Slice, ...]] = []
        # output dims that index conditions of the spec compare with others
        row_dims = {d for c in conditions(spec.term) for d, _ in c.coeffs if d in dims}
        if content.value is not None:
            row_dims = set()  # the concrete domain keeps the spec's conditions as they are
        for box, cell in content.boxes():
            if isinstance(cell, Undef) and cell.fresh:
                continue
            slices = []
            local = []
            for a, d in enumerate(dims):
                start = wb.starts[a]
                if wb.squeezed[a]:
                    lo, hi = start, start + 1
                else:
                    k = ref_axes.index(a)
                    lo, hi = start + box[k][0], start + box[k][1]
                    hi = min(hi, facts.dims[d])
                    local.append(slice(lo - start, hi - start))
                slices.append(Slice(d, lo, hi))
            if any(s.lo >= s.hi for s in slices):
                continue  # past the end of the output: dropped
            if misplaced or (isinstance(cell, Undef) and cell.wrong):
                self._wrong(content, local, slices, wb, target, spec, facts)
            if misplaced:
                written.append(tuple(slices))
                continue
            if isinstance(cell, Undef) and cell.wrong:
                interp.report(
                    KernelError(
                        "STL031",
                        f"the block written to {target.name} is wrong: {cell.what}",
                        help="check the index maps and which grid step initialises the values",
                        node=wb.span,
                    ),
                    None,  # type: ignore[arg-type]
                )
                written.append(tuple(slices))
                continue
            if isinstance(cell, Undef):
                interp.report(
                    KernelError(
                        cell.code,
                        f"the write-back of {target.name} stores undefined lanes: {cell.what}",
                        node=cell.span or wb.span,
                        notes=(f"written back from the write at line {wb.span.line}",),
                    ),
                    None,  # type: ignore[arg-type]
                )
                result.complete = False
                continue
            if isinstance(cell, (bool, blocks.PosCond, blocks.DataCmp)):
                interp.report(
                    KernelError("STL002", "unsupported: a mask written to an output", node=wb.span),
                    None,  # type: ignore[arg-type]
                )
                continue
            extra = free_dims(cell) - set(dims)
            if extra:
                interp.report(
                    KernelError(
                        "STL030",
                        f"the block written to {target.name} still depends on "
                        f"{', '.join(sorted(extra))}",
                        notes=(f"expected dims: {' '.join(dims)}",),
                        help="reduce over those dims before writing",
                        node=wb.span,
                    ),
                    None,  # type: ignore[arg-type]
                )
                result.complete = False
                continue
            values = _values(content, local, slices)
            cell = self._intern(cell)
            claim = _Claim(wb.span, target, spec, cell, self._restricted, self._intern)
            rows = _rows(slices, values, row_dims)
            if len(rows) == 1:
                facts.obligations.append(claim.make(*rows[0], rows[0][0]))
            else:
                facts.obligations.extend(claim.symbolic(tuple(slices), values, row_dims))
            written.append(tuple(slices))
        facts.writes.extend(Write(target.name, r, wb.span) for r in _merged(written))


@dataclass(frozen=True)
class _Claim:
    """Obligations for one cell of a write-back, with index conditions decided on
    their region: for the block at once with a symbolic row (one proof for all
    rows when the forms agree), else row by row."""

    span: Span
    target: _Target
    spec: Spec
    cell: Term
    memo: dict
    intern: Any

    def make(
        self,
        slices: tuple[Slice, ...],
        values: np.ndarray | None,
        region_slices: tuple[Slice, ...],
        rows: Any = None,
    ) -> Obligation:
        spec_term, term = self.spec.term, self.cell
        if region_slices is not None and conditions(spec_term):
            region = {s.dim: (s.lo, s.hi) for s in region_slices}
            spec_term = restrict(spec_term, region, self.memo)  # type: ignore[arg-type]
            term = restrict(term, region, self.memo)  # type: ignore[arg-type]
        # identical terms as one object: the prover's cache and the evaluator's
        # memo are keyed by identity (blocks of other batch rows repeat them)
        spec = Spec(self.intern(spec_term), self.spec.out_dims)
        tile = Tile(slices, self.intern(term), values)
        pieces = None
        if rows is not None:
            pieces = lambda: [self.make(*row, row[0]) for row in rows]  # noqa: E731
        t = self.target
        return Obligation(
            "assign", self.span, t.spec_span, t.name, tile, spec, t.spec_text, pieces=pieces
        )

    def symbolic(
        self, slices: tuple[Slice, ...], values: np.ndarray | None, row_dims: set[str]
    ) -> list[Obligation]:
        """One obligation per band of rows, each for a symbolic row of the band.

        Bands end where the kernel's reductions along the other dims of the
        conditions have bounds, so that every split point a row makes falls
        inside a reduction's range for the whole band.
        """
        if len(row_dims) != 1:
            return [self.make(slices, values, slices, _rows(list(slices), values, row_dims))]
        (row_dim,) = row_dims
        axis = next(k for k, s in enumerate(slices) if s.dim == row_dim)
        first, last = slices[axis].lo, slices[axis].hi
        assert isinstance(first, int) and isinstance(last, int)
        cuts = {first, last}
        for b in _bounds(self.cell, {d for c in conditions(self.cell) for d, _ in c.coeffs}):
            cuts |= {b - 1, b, b + 1}
        edges = sorted(c for c in cuts if first <= c <= last)
        out = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            band = list(slices)
            band[axis] = Slice(row_dim, lo, hi)
            part = None
            if values is not None:
                where: list[Any] = [slice(None)] * len(slices)
                where[axis] = slice(lo - first, hi - first)
                part = values[tuple(where)]
            if hi - lo == 1:
                out.append(self.make(tuple(band), part, tuple(band)))
                continue
            row = sym.variable(_row_variable(row_dim, lo, hi))
            region = list(band)
            region[axis] = Slice(row_dim, row, sym.add(row, 1))
            rows = _rows(band, part, row_dims)
            out.append(self.make(tuple(band), part, tuple(region), rows))
        return out


_ROWS: dict[tuple[str, int, int], sym.LoopVar] = {}


def _row_variable(dim: str, lo: int, hi: int) -> sym.LoopVar:
    """One symbolic row per band, shared, so equal claims have equal terms."""
    key = (dim, lo, hi)
    if key not in _ROWS:
        _ROWS[key] = sym.LoopVar(dim, range(lo, hi))
    return _ROWS[key]


def _bounds(term: Term, dims: set[str]) -> set[int]:
    """The integer bounds of the reductions of ``term`` along ``dims``."""
    found: set[int] = set()
    for node in subterms(term):
        if isinstance(node, Reduce) and node.dim in dims:
            found |= {b for b in (node.lo, node.hi) if isinstance(b, int)}
    return found


def _rows(
    slices: list[Slice], values: np.ndarray | None, row_dims: set[str]
) -> list[tuple[tuple[Slice, ...], np.ndarray | None]]:
    """The region cut into one piece per index of ``row_dims``."""
    if not row_dims:
        return [(tuple(slices), values)]
    axes = [k for k, s in enumerate(slices) if s.dim in row_dims]
    out = []
    for index in itertools.product(*(range(slices[k].lo, slices[k].hi) for k in axes)):  # type: ignore[arg-type]
        piece = list(slices)
        where: list[Any] = [slice(None)] * len(slices)
        for k, i in zip(axes, index):
            piece[k] = Slice(slices[k].dim, i, i + 1)
            where[k] = slice(i - slices[k].lo, i - slices[k].lo + 1)  # type: ignore[operator]
        out.append((tuple(piece), None if values is None else values[tuple(where)]))
    return out


def _values(content: Any, local: list[slice], slices: list[Slice]) -> np.ndarray | None:
    if content.value is None:
        return None
    shape = tuple(s.hi - s.lo for s in slices)
    return np.asarray(content.value[tuple(local)], dtype=np.float64).reshape(shape)  # type: ignore[arg-type]


def _merged(regions: list[tuple[Slice, ...]]) -> list[tuple[Slice, ...]]:
    """One region when the pieces of a write-back tile their bounding box."""
    if len(regions) <= 1:
        return regions
    box = tuple(
        Slice(parts[0].dim, min(p.lo for p in parts), max(p.hi for p in parts))  # type: ignore[type-var]
        for parts in zip(*regions)
    )
    volume = 1
    for s in box:
        volume *= s.hi - s.lo  # type: ignore[operator]
    pieces = 0
    for r in regions:
        size = 1
        for s in r:
            size *= s.hi - s.lo  # type: ignore[operator]
        pieces += size
    return [box] if pieces == volume else regions


def _check_alignment(wb: WriteBack, dims: tuple[str, ...]) -> None:
    """The written block's elements are the output's elements at its place."""
    content = wb.content
    ref_axes = [a for a, squeezed in enumerate(wb.squeezed) if not squeezed]
    for k, a in enumerate(ref_axes):
        axis = content.axes[k]
        want = f"{dims[a]}[{wb.starts[a]}:{wb.starts[a] + content.shape[k]}]"
        if axis.dim is None:
            continue
        if axis.dim != dims[a] or axis.offset != wb.starts[a]:
            have = axis.describe(content.shape[k])
            raise _misplaced(wb, f"it holds {have} but is written to {want}")
    for d, i in content.fixed:
        if d not in dims:
            continue  # reported as a dim the output lacks, if the value depends on it
        a = dims.index(d)
        if not wb.squeezed[a] and wb.starts[a] == i and _one_wide(content, ref_axes.index(a)):
            continue  # a row taken out and given back its axis (`x_ref[...][0][None, :]`)
        if not wb.squeezed[a] or wb.starts[a] != i:
            raise _misplaced(wb, f"it holds {d}={i} but is written to {_place(wb, a, dims)}")


def _one_wide(content: Any, k: int) -> bool:
    """Whether axis ``k`` of a written block has size 1 and follows no dim."""
    return content.shape[k] == 1 and content.axes[k].dim is None


def _place(wb: WriteBack, a: int, dims: tuple[str, ...]) -> str:
    if wb.squeezed[a]:
        return f"{dims[a]}={wb.starts[a]}"
    return f"{dims[a]}[{wb.starts[a]}:...]"


def _misplaced(wb: WriteBack, detail: str) -> KernelError:
    return KernelError(
        "STL031",
        f"the block written back holds other elements than the output block it goes to: {detail}",
        help="check the out_specs index map against the in_specs index maps",
        node=wb.span,
    )


# a pallas_call writes no argument in place: JAX arrays are immutable, and an output
# ref, aliased to an input or not, becomes a new array that pallas_call returns
_NO_IN_PLACE = (
    "a pallas_call writes no array argument in place (JAX arrays are immutable): its "
    "output refs "
    "(aliased to an input with `input_output_aliases=` or not) become new arrays, "
    "which it returns"
)


def _returns_nothing(launches: int, span: Span) -> KernelError:
    """`# stile: return = ...` on a wrapper whose pallas_call result is dropped."""
    return KernelError(
        "STL023",
        "the wrapper returns nothing: `return` names what it returns",
        notes=(
            (
                f"the wrapper launches {launches} pallas_call{'s' if launches > 1 else ''} "
                f"and drops {'their results' if launches > 1 else 'its result'}",
            )
            if launches
            else ()
        )
        + (_NO_IN_PLACE,),
        help="return the call's result (`return pl.pallas_call(...)(...)`) and keep "
        "`# stile: return = SPEC`; for several outputs, `# stile: return[i] = SPEC`. "
        "The in-place form `# stile: PARAM = SPEC` is for a Triton wrapper whose kernel "
        "stores into the parameter",
        node=span,
    )


def _written_in_place(target: Target) -> KernelError:
    """`# stile: PARAM = ...`, the in-place target form, on a Pallas wrapper."""
    return KernelError(
        "STL023",
        f"the target `{target.name}` is a parameter written in place, "
        "but a Pallas wrapper's outputs are what it returns",
        notes=(_NO_IN_PLACE,),
        help="name the returned array: `# stile: return = SPEC` (item i of a returned "
        "tuple: `# stile: return[i] = SPEC`)",
        node=target.span,
    )
