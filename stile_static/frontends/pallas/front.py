"""The Pallas front end: annotated wrappers that launch ``pl.pallas_call``.

For every wrapper with ``# stile:`` lines and every case, the wrapper is
interpreted with arrays of the case's sizes; a ``pallas_call`` it makes runs
its kernel over the concrete grid (:mod:`grid`). What the wrapper returns is
matched with the annotation's targets: every output block written back
becomes obligations (its value must equal the spec there) and writes (for
coverage).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import libcst as cst
import numpy as np

from ...core.diagnostics import Diagnostic, Span
from ...core.errors import KernelError
from ...interpreter.library import Library
from ...ir.obligations import Facts, Obligation, Result, Write
from ...ir.specs import InputInfo, Spec
from ...ir.terms import UNDEF, Load, Term, free_dims
from ...ir.tiles import Slice, Tile
from ...spec.annotations import (
    Annotation,
    Configuration,
    configurations,
    find_annotations,
    is_annotated,
)
from ..base import Analysis, FrontEnd, SourceFile, imports_module
from . import blocks
from .blocks import Undef
from .grid import Abort, Launcher, WriteBack
from .interp import PallasInterpreter, Precondition
from .ranges import conditions, restrict
from .values import Array, Closure, Jitted, Output, Partial


def _wrapper_def(value: Any) -> cst.FunctionDef | None:
    while isinstance(value, (Jitted, Partial)):
        value = value.func
    if isinstance(value, Closure) and isinstance(value.node, cst.FunctionDef):
        return value.node
    return None


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


class PallasFrontEnd(FrontEnd):
    name = "pallas"

    def __init__(self) -> None:
        self._terms: dict[Term, Term] = {}

    def recognises(self, source: SourceFile) -> bool:
        return (
            "pallas_call" in source.text
            and imports_module(source.module, "jax")
            and is_annotated(source.module)
        )

    def analyse(self, source: SourceFile) -> Analysis:
        self._terms = {}
        diagnostics: list[Diagnostic] = []
        facts: list[Facts] = []
        for annotation, config in self._configurations(source):
            run = self._run_case(source, annotation, config, None, 0.0)
            diagnostics.extend(run.diagnostics)
            facts.append(run.facts)
        return Analysis(diagnostics, facts)

    def run_concretely(self, source: SourceFile, seed: int, shift: float) -> list[Facts]:
        return [
            self._run_case(source, annotation, config, seed, shift).facts
            for annotation, config in self._configurations(source)
        ]

    def _configurations(self, source: SourceFile) -> list[tuple[Annotation, Configuration]]:
        # the annotation's own errors are reported by the checker for every front end
        found = find_annotations(source.module, source.path)
        return [
            (annotation, config)
            for annotation in found.annotations
            for config in configurations(annotation, source.path).configurations
        ]

    # ------------------------------------------------------------------ one case

    def _run_case(
        self,
        source: SourceFile,
        annotation: Annotation,
        config: Configuration,
        seed: int | None,
        shift: float,
    ) -> _Run:
        interp = PallasInterpreter(
            source.wrapper, dict(source.positions), source.path, Library(), seed, shift
        )
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
            interp.diagnostics.append(
                Diagnostic(
                    source.path,
                    config.case.span or annotation.span,
                    "STL045",
                    f"case {config.case} violates the wrapper's precondition; it is not checked",
                    severity="warning",
                    related=((stop.span, "precondition"),),
                )
            )
            return _Run(empty, interp.diagnostics)
        except Abort:
            # after a block past the end, the rest of the case is not meaningful
            kept = [d for d in interp.diagnostics if d.code in ("STL042", "STL002")]
            return _Run(empty, kept)
        except KernelError as error:
            interp.report(error, node)
            return _Run(empty, interp.diagnostics)
        facts = Facts(dict(sizes), inputs, {}, [], [], dict(launcher.inputs), complete=True)
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
        return _Run(facts, interp.diagnostics)

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
        if not isinstance(value, Output):
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
        sizes = tuple(facts.dims[d] for d in spec.out_dims)
        if sizes != value.shape:
            interp.report(
                KernelError(
                    "STL030",
                    f"the output has shape {value.shape}, the spec's dims "
                    f"{' '.join(spec.out_dims)} have sizes {sizes}",
                    node=target.span,
                ),
                node,
            )
            result.complete = False
            return
        for wb in launcher.writebacks.get((value.launch, value.index), []):
            self._write_back(interp, wb, target, spec, facts, result)

    def _intern(self, term: Term) -> Term:
        return self._terms.setdefault(term, term)

    def _concrete_only(
        self,
        content: Any,
        local: list[slice],
        slices: list[Slice],
        wb: WriteBack,
        target: _Target,
        spec: Spec,
        facts: Facts,
    ) -> None:
        """In the concrete domain, an obligation for what a wrong block holds."""
        values = _values(content, local, slices)
        if values is not None:
            tile = Tile(tuple(slices), UNDEF, values)
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
        conditional = bool(conditions(spec.term))
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
                # the cross-check still compares what the kernel computed there
                self._concrete_only(content, local, slices, wb, target, spec, facts)
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
                        "STL044",
                        f"the write-back of {target.name} stores undefined lanes: {cell.what}",
                        node=cell.span or wb.span,
                        notes=(f"written back from the write at line {wb.span.line}",),
                    ),
                    None,  # type: ignore[arg-type]
                )
                result.complete = False
                continue
            if isinstance(cell, bool):
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
            tile = Tile(tuple(slices), cell, _values(content, local, slices))
            ob_spec = spec
            if conditional:
                # decide index conditions (a causal mask) on this block's region
                region = {s.dim: (s.lo, s.hi) for s in slices}
                ob_spec = Spec(restrict(spec.term, region), spec.out_dims)  # type: ignore[arg-type]
                tile = Tile(tile.slices, restrict(cell, region), tile.value)  # type: ignore[arg-type]
            # identical terms as one object: the prover's cache and the evaluator's
            # memo are keyed by identity (blocks of other batch rows repeat them)
            ob_spec = Spec(self._intern(ob_spec.term), ob_spec.out_dims)
            tile = Tile(tile.slices, self._intern(tile.term), tile.value)
            facts.obligations.append(
                Obligation(
                    "assign",
                    wb.span,
                    target.spec_span,
                    target.name,
                    tile,
                    ob_spec,
                    target.spec_text,
                )
            )
            written.append(tuple(slices))
        facts.writes.extend(Write(target.name, r, wb.span) for r in _merged(written))


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
        if not wb.squeezed[a] or wb.starts[a] != i:
            raise _misplaced(wb, f"it holds {d}={i} but is written to {_place(wb, a, dims)}")


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


def _unused(span: Span) -> Span:
    return span
