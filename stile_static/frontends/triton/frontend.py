"""The Triton front end: annotated wrappers in, one :class:`Facts` per case out.

A file is a Triton kernel file when a ``# stile:`` line sits above a function
(its host wrapper). For each case of the annotation (or the default cases),
the wrapper runs with its tensors bound to the spec's inputs, then every
kernel it launches runs program by program, for every autotune config. The
stores become obligations and writes, which the checker proves and covers as
it does for the dialect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

import libcst as cst
import numpy as np

from ...core.diagnostics import Diagnostic, Span
from ...core.errors import KernelError, Poisoned
from ...core.scope import Scope
from ...interpreter.core import StepBudget
from ...interpreter.values import Function
from ...ir.obligations import Facts, Obligation, Result, Write
from ...ir.specs import InputInfo, Spec
from ...ir.terms import (
    Binary,
    Reduce,
    Term,
    Unary,
    Where,
    at_index,
    fixed_dims,
    unit_reductions_dropped,
)
from ...ir.tiles import Slice, Tile
from ...spec.annotations import (
    Annotation,
    AnnotationError,
    Assumption,
    Configuration,
    TargetSpec,
    configurations,
    configure,
    find_annotations,
    is_annotated,
)
from ...spec.sizes import block_literals
from .. import blocks
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
from . import custom_ops, host_arrays, program_classes, wrap_sizes
from . import ints as I
from .cells import Memory
from .host import (
    AutogradClass,
    Ctx,
    HostCopy,
    HostFill,
    Launch,
    SpecScalar,
    Tensor,
    new_tensor,
    symbolic_strides,
)
from .interp import (
    DEVICE_SMS,
    VALUE_PRESERVING_DECORATORS,
    TritonInterpreter,
    _CaseRejected,
    decorator_name,
)
from .ints import Stride
from .memory import host_copy, host_fill, stored_in, undecided_copies


class TritonFrontEnd(FrontEnd):
    """Files that import triton and annotate a host wrapper with `# stile:` lines."""

    name = "triton"

    def recognises(self, source: SourceFile) -> bool:
        return imports_module(source.module, "triton") and is_annotated(source.text)

    def analyse(self, source: SourceFile) -> Analysis:
        return analyze(source)

    def run_concretely(self, source: SourceFile, seed: int, shift: float) -> list[Facts]:
        return analyze(source, concrete=(seed, shift)).facts


def analyze(source: SourceFile, concrete: tuple[int, float] | None = None) -> Analysis:
    """Facts for every configuration of every annotated wrapper. Errors of the
    annotation itself are the checker's to report (it does so for every file)."""
    interp = TritonInterpreter(source.wrapper, dict(source.positions), source.path)
    analysis = Analysis([], [], {})
    try:
        interp.run_module()
    except Exception as error:  # an analyzer bug: the module's names are not all known
        interp.report(unfollowed(error), source.module)
        analysis.diagnostics.extend(interp.diagnostics)
        return analysis
    stopped: dict[Span, list[str]] = {}
    blocks_used = block_literals(source.module)
    for annotation in find_annotations(source.module, source.path).annotations:
        check = _WrapperCheck(interp, annotation, analysis, concrete, stopped)
        check.blocks = blocks_used
        check.searched_at = annotation_line(annotation, source.text)
        check.run()
        empty = nothing_checked(source.path, annotation, check.rejected, check.tried, source.text)
        if empty is not None:
            analysis.diagnostics.append(empty)
    analysis.diagnostics.extend(interp.diagnostics)
    analysis.diagnostics[:] = with_not_checked(analysis.diagnostics, stopped)
    analysis.tile_types = shown(interp.tile_types, interp.tile_where)
    return analysis


def _bad(span: Span, message: str, path: str, help: str | None = None) -> Diagnostic:
    return Diagnostic(path, span, "STL023", message, help=help)


class _WrapperCheck:
    def __init__(
        self,
        interp: TritonInterpreter,
        annotation: Annotation,
        analysis: Analysis,
        concrete: tuple[int, float] | None,
        stopped: dict[Span, list[str]],
    ) -> None:
        self.concrete = concrete
        self.stopped = stopped  # the cases each STL002 stopped, by its span
        self.rejected: list[Rejected] = []
        self.tried = 0
        self.labelled: set[int] = set()  # indices into interp.unfollowed
        self.positive: set[str] = set()
        self.interp = interp
        self.annotation = annotation
        self.analysis = analysis
        self.path = interp.path
        self.node = annotation.function
        self.scalars = set(annotation.scalars)
        self.receiver: object = None  # the value of a method's first parameter
        self.blocks: tuple[int, ...] = ()  # the block sizes the file writes (sizes searched)
        self.searched_at: Span | None = None  # the annotation's line (sampled sizes)
        self.op: custom_ops.CustomOp | None = None  # the wrapper registered as a torch operator

    def diag(self, d: Diagnostic) -> None:
        self.analysis.diagnostics.append(d)

    def run(self) -> None:
        function = self.wrapper_value()
        if isinstance(function, custom_ops.CustomOp):
            self.op = function  # torch's checks of an operator's call, around the function
            function = function.function
        if not isinstance(function, Function):
            decorated = {self.interp.span(d) for d in self.node.decorators}
            if any(d.span in decorated for d in self.interp.diagnostics):
                return  # a decorator raised when the module ran: reported there
            # a module-level definition fails quietly until used: say why here
            unknown = [
                d
                for d in self.node.decorators
                if decorator_name(d.decorator) not in VALUE_PRESERVING_DECORATORS
            ]
            where = unknown[0] if unknown else self.node.name
            what = "a decorator the analyzer does not know" if unknown else "its definition"
            self.diag(
                Diagnostic(
                    self.path,
                    self.interp.span(where),
                    "STL002",
                    f"unsupported: the annotated wrapper cannot be followed ({what})",
                    help=(
                        "decorators known to preserve values: "
                        + ", ".join(f"@{n}" for n in sorted(VALUE_PRESERVING_DECORATORS))
                        if unknown
                        else None
                    ),
                )
            )
            return
        searched: dict[tuple, list[tuple[Configuration, range, bool]]] = {}
        for config in configurations(self.annotation, self.path, self.blocks).configurations:
            self.tried += 1
            facts, found = len(self.analysis.facts), len(self.interp.diagnostics)
            self.run_case(function, config)
            case = config.case
            if case.chosen:
                wrapped = any(d.code == "STL046" for d in self.interp.diagnostics[found:])
                ran = range(facts, len(self.analysis.facts))
                key = (case.span, case.values, case.chosen)
                searched.setdefault(key, []).append((config, ran, wrapped))
        if self.concrete is None:
            for runs in searched.values():
                self.find_wrap(function, runs)

    def find_wrap(self, function: Function, runs: list[tuple[Configuration, range, bool]]) -> None:
        """The least sizes at which an int32 value wraps, for the runs of one case whose
        sizes were searched (see :mod:`.wrap_sizes`): its STL046 findings, and the bound
        in the scope of the runs' verdicts. Not when a searched size wrapped already."""
        if any(wrapped for _, _, wrapped in runs):
            return
        clean = [(config, ran) for config, ran, _ in runs if ran]
        if not clean:
            return
        last, _ = clean[-1]  # the largest searched sizes that gave a verdict
        case = last.case
        annotation = self.annotation

        def probe(sizes: Mapping[str, int]) -> wrap_sizes.Outcome:
            dims = tuple((d, sizes[d]) for d, _ in case.dims)
            try:
                config = configure(annotation, replace(case, dims=dims), self.path)
            except AnnotationError:
                return wrap_sizes.Outcome(None, {})
            return self.probe(function, config)

        base = dict(case.dims)
        wrap = wrap_sizes.smallest_wrap(case.chosen, base, annotation.conditions, probe)
        if wrap is None:
            return
        self.analysis.diagnostics.extend(wrap.found)
        facts = self.analysis.facts
        for _, ran in clean:
            for i in ran:
                scope = facts[i].scope
                if scope is not None:
                    facts[i] = replace(facts[i], scope=replace(scope, wraps=wrap.bound))

    def probe(self, function: Function, config: Configuration) -> wrap_sizes.Outcome:
        """The STL046 findings of one run of ``config`` and the peaks of its int32
        values, keeping nothing else of it (see :class:`.wrap_sizes.Outcome`)."""
        interp = self.interp
        saved = (
            len(interp.diagnostics),
            set(interp._reported),
            interp.reports,
            interp.failures,
            len(interp.unfollowed),
            len(self.analysis.facts),
            len(self.rejected),
            {span: list(labels) for span, labels in self.stopped.items()},
            set(self.labelled),
            interp.hovers,
            interp.where,
            interp.step_limit,
            dict(interp.tile_types),
            dict(interp.tile_where),
        )
        interp.hovers, interp.probing = False, True
        interp.step_limit = wrap_sizes.MAX_STEPS
        interp.device_sms, interp.device_queried = DEVICE_SMS[0], False
        found: tuple[Diagnostic, ...] | None = None
        peaks: dict[Span, int] = {}
        I.PEAKS = peaks
        try:
            self.follow_case(function, config)
            new = interp.diagnostics[saved[0] :]
            if len(interp.unfollowed) == saved[4] and len(self.rejected) == saved[6]:
                found = tuple(d for d in new if d.code == "STL046")
        except (wrap_sizes.TooLarge, StepBudget):
            pass
        except Exception:  # noqa: BLE001 - a probe that fails says nothing
            pass
        finally:
            I.PEAKS = None
            interp.in_kernel = False
            interp.probing = False
            interp.device_sms, interp.device_queried = None, False
            (
                ndiag,
                interp._reported,
                interp.reports,
                interp.failures,
                nunfollowed,
                nfacts,
                nrejected,
                stopped,
                self.labelled,
                interp.hovers,
                interp.where,
                interp.step_limit,
                interp.tile_types,
                interp.tile_where,
            ) = saved
            del interp.diagnostics[ndiag:]
            del interp.unfollowed[nunfollowed:]
            del self.analysis.facts[nfacts:]
            del self.rejected[nrejected:]
            self.stopped.clear()
            self.stopped.update(stopped)
        return wrap_sizes.Outcome(found, peaks)

    def run_case(self, function: Function, config: Configuration) -> None:
        """One case, once per number of SMs if the wrapper queries its device (see
        DEVICE_SMS: each run's scope names the value)."""
        interp = self.interp
        for sms in DEVICE_SMS:
            interp.device_sms, interp.device_queried = sms, False
            try:
                self.run_once(function, config)
            finally:
                queried = interp.device_queried
                interp.device_sms, interp.device_queried = None, False
            if not queried:
                return

    def run_once(self, function: Function, config: Configuration) -> None:
        """One run of a case; an exception of the analyzer stops it (STL002 where it was
        raised), and a case that hit an STL002 anywhere gives no facts."""
        interp = self.interp
        interp.where = RunAt(str(config.case))  # for hovers: the run a value comes from
        interp.steps = 0  # the step budget is per case (and per program of a launch)
        mark = len(interp.unfollowed)
        try:
            self.follow_case(function, config)
        except StepBudget:
            pass  # reported where the budget ran out
        except Exception as error:  # an analyzer bug or limit, never a traceback
            interp.report(unfollowed(error), self.node.name)
        finally:
            interp.in_kernel = False
        self.stop_at(mark, str(config.case))

    def unfollowed_since(self, mark: int) -> bool:
        return len(self.interp.unfollowed) > mark

    def stop_at(self, mark: int, label: str) -> None:
        """Name ``label`` as not checked on each STL002 found since ``mark`` (and not
        already named with the autotune config it was found in)."""
        for k in range(mark, len(self.interp.unfollowed)):
            if k not in self.labelled:
                self.labelled.add(k)
                self.stopped.setdefault(self.interp.unfollowed[k], []).append(label)

    def wrapper_value(self) -> object:
        """The annotated function: a module function, or the method of a
        ``torch.autograd.Function`` subclass (``forward``, whose ``ctx`` the case
        does not name)."""
        names = self.interp.frames[0].names
        owner = _owner(self.interp.module, self.node)
        if owner is None:
            return names.get(self.node.name.value)
        cls = names.get(owner.name.value)
        if isinstance(cls, AutogradClass):
            self.receiver = Ctx()
            return cls.methods.get(self.node.name.value)
        return None

    def follow_case(self, function: Function, config: Configuration) -> None:
        first = len(self.interp.diagnostics)
        try:
            self.follow_configs(function, config)
        finally:
            # what the wrapper or its launches got wrong names the case it was found in
            # (the first: the same finding in a later case is not reported again)
            found = self.interp.diagnostics
            found[first:] = in_case(found[first:], config.case.scope())

    def follow_configs(self, function: Function, config: Configuration) -> None:
        interp = self.interp
        mark = len(interp.unfollowed)
        label = str(config.case)
        span = config.case.span or self.annotation.span
        sizes = config.sizes
        values = config.parameter_values
        params = [p.name.value for p in self.node.params.params]
        declared = {t.name: t.dims for t in self.annotation.tensors}
        dtypes = dict(self.annotation.dtypes)
        symbolic = {i.name for i in config.inputs if not i.dims}
        specs: dict[str, tuple[TargetSpec, Spec]] = {}
        unit = frozenset(d for d, n in sizes.items() if n == 1)  # dims of one index
        for target in config.specs:
            # only over dims of the result: elsewhere the dim would be left free
            term = unit_reductions_dropped(target.spec.term, unit & set(target.spec.out_dims))
            lowered = Spec(blocks.lower_term(term), target.spec.out_dims)
            specs[str(target.target)] = (target, lowered)
        args: dict[str, object] = {}
        for name in params:
            if self.receiver is not None and name == params[0]:
                args[name] = Ctx()  # a fresh context per case
            elif name in symbolic:
                args[name] = SpecScalar(name)
            elif name in declared:
                shape = tuple(sizes[d] for d in declared[name])
                strides = symbolic_strides(name, shape)
                args[name] = Tensor(
                    name, shape, declared[name], strides, "input", "input", dtype=dtypes.get(name)
                )
            elif name in specs:
                _, spec = specs[name]
                shape = tuple(sizes[d] for d in spec.out_dims)
                strides = symbolic_strides(name, shape)
                args[name] = Tensor(
                    name,
                    shape,
                    spec.out_dims,
                    strides,
                    "param",
                    "empty",
                    target=name,
                    dtype=dtypes.get(name),
                )
            elif name in values:
                args[name] = values[name]
            elif name in function.defaults:
                args[name] = function.defaults[name]
            else:
                returned = any(t.target.is_return for t in config.specs)
                self.diag(
                    _bad(
                        span,
                        f"the case gives no value for the parameter `{name}`",
                        self.path,
                        help=(
                            f"if the wrapper writes its result into `{name}` in place, make "
                            f"`{name}` the target: `# stile: {name} = SPEC` (`return` is what "
                            f"the wrapper returns); else add `{name}=VALUE` to the case line"
                            if returned
                            else f"add `{name}=VALUE` to the case line"
                        ),
                    )
                )
                return
        interp.aliases = {}
        for assumption in self.annotation.assumptions:
            if not self.apply_assume(assumption, args):
                return
        interp.launches = []
        interp.notes = {}
        interp.positive = set(self.positive)
        try:
            call_args = [args[p] for p in params]
            returned = interp.call_function(function, call_args, {}, self.node)  # type: ignore[arg-type]
            if self.op is not None:
                returned = custom_ops.checked_result(
                    self.op, call_args, {}, returned, self.node.name
                )
        except _CaseRejected as rejected:
            where = interp.span(rejected.node)
            self.rejected.append(Rejected(label, str(rejected), where, config.case.span))
            if config.case.chosen:
                return  # a searched size the wrapper rejects is outside its domain: skipped
            self.diag(
                Diagnostic(
                    self.path,
                    span,
                    "STL045",
                    f"case {label} violates a precondition of the wrapper: {rejected} "
                    f"(line {where.line}); the case is not checked",
                    severity="warning",
                    help="drop the case, or change its sizes to ones the wrapper accepts",
                    related=((where, "the precondition"),),
                )
            )
            return
        except KernelError as error:
            interp.report(error, self.node)
            return
        except Poisoned:
            return
        if self.unfollowed_since(mark):
            return  # the wrapper was not followed: what it launched is not known
        results: dict[str, Result] = {}
        bound: dict[str, Tensor] = {}
        for name, (target, spec) in specs.items():
            tensor = self.bind_target(name, returned, args, target)
            if tensor is None:
                return
            if tensor.base is not None:
                # a view of other sizes: the host reads it once every launch has run
                view = tensor
                tensor = new_tensor(view.name, view.sizes, "empty", view.dtype)
                interp.launches.append(
                    host_arrays.HostArray(
                        tensor,
                        (view,),
                        lambda operands: operands[0],
                        view.made_at or target.span,
                        self.node,
                        view=True,
                    )
                )
            if tensor.sizes != tuple(sizes[d] for d in spec.out_dims):
                self.diag(
                    Diagnostic(
                        self.path,
                        target.span,
                        "STL030",
                        f"{name} has shape {list(tensor.sizes)}, the spec gives "
                        f"{' '.join(spec.out_dims)} = {[sizes[d] for d in spec.out_dims]}",
                    )
                )
                return
            tensor.dims = spec.out_dims
            tensor.target = name
            bound[name] = tensor
            results[name] = Result(name, target.span, spec, target.text, target.span)
        input_infos = list(config.inputs)
        variants = max(
            [len(launch.kernel.configs) for launch in interp.launches if isinstance(launch, Launch)]
            + [1]
        )
        for variant in range(variants):
            start = len(interp.unfollowed)
            first = len(interp.diagnostics)
            interp.memory = Memory()
            interp.store_failed = False
            # one launch and no host writes: its classes of programs may run generically
            # (program_classes), their stores kept as boxes out of the per-element memory
            interp.families = []
            interp.allow_classes = (
                self.concrete is None
                and len(interp.launches) == 1
                and isinstance(interp.launches[0], Launch)
            )
            if interp.probing and not interp.allow_classes:
                raise wrap_sizes.TooLarge("several launches or host writes")
            described = []
            complete = True
            for launch in interp.launches:
                try:
                    if isinstance(launch, HostCopy):
                        host_copy(interp.memory, launch)
                        continue
                    if isinstance(launch, HostFill):
                        host_fill(interp.memory, launch)
                        continue
                    if isinstance(launch, host_arrays.HostArray):
                        host_arrays.run(interp.memory, launch)
                        continue
                    described.append(interp.run_launch(launch, variant))
                except KernelError as error:
                    interp.report(error, launch.node)
                    complete = False
                except Poisoned:
                    complete = False
            for error, node in undecided_copies(interp.memory):
                interp.report(error, node)
            if interp.device_queried:
                sms = interp.device_sms
                described.insert(0, f"{sms} SM{'s' if sms != 1 else ''} (multi_processor_count)")
            tuned = ", ".join(d for d in described if d)
            full_label = ", ".join([label] + [d for d in described if d])
            scope = config.case.scope(tuned)
            interp.diagnostics[first:] = in_case(interp.diagnostics[first:], scope)
            if self.unfollowed_since(start):
                # no verdict from a model that was not followed: this run is not checked
                self.stop_at(start, full_label)
                continue
            interp.stored = []
            for name, tensor in bound.items():
                stored, undefined = stored_in(interp.memory, tensor, name)
                interp.stored.extend(stored)
                base = tensor.base or tensor
                interp.stored.extend(program_classes.stored(interp.families, base.serial, name))
                for error in undefined:
                    interp.report(error, self.node)
            run_results = {
                name: replace(r, complete=complete and not interp.store_failed)
                for name, r in results.items()
            }
            if not interp.probing:  # a probe only looks for STL046
                self.analysis.facts.append(self.facts(sizes, input_infos, run_results, scope))

    def bind_target(
        self, name: str, returned: object, args: dict, target: TargetSpec
    ) -> Tensor | None:
        if name == "return":
            value = returned
        elif name.startswith("return["):
            index = int(name[7:-1])
            if not isinstance(returned, tuple) or index >= len(returned):
                self.diag(
                    _bad(
                        target.span,
                        f"the wrapper does not return a tuple with item {index}",
                        self.path,
                    )
                )
                return None
            value = returned[index]
        else:
            value = args.get(name)
            if value is None:
                self.diag(
                    _bad(target.span, f"`{name}` is not a parameter of the wrapper", self.path)
                )
                return None
        if not isinstance(value, Tensor):
            written = [p for p, a in args.items() if isinstance(a, Tensor) and a.role == "param"]
            example = (written or ["PARAM"])[0]
            in_place = value is None and name == "return"
            self.diag(
                _bad(
                    target.span,
                    "the wrapper returns nothing: `return` names what it returns"
                    if in_place
                    else f"the target {name} is not a tensor the wrapper makes",
                    self.path,
                    help=(
                        "a wrapper that writes its result into a parameter in place names "
                        f"that parameter as the target: `# stile: {example} = SPEC`"
                        if in_place
                        else None
                    ),
                )
            )
            return None
        if value.base is not None and value.sizes == value.base.sizes:
            return value.base
        return value

    def apply_assume(self, assume: Assumption, args: dict) -> bool:
        if assume.condition is not None:
            return True  # a condition on dims: the sizes of the case satisfy it
        text = re.sub(r"\s+", " ", assume.text.strip())
        parts = [p.strip() for p in text.split(" and ")]
        return all(self.apply_one(p, assume, args) for p in parts)

    def apply_one(self, text: str, assume: Assumption, args: dict) -> bool:
        match = re.fullmatch(r"(\w+)\.stride\((-?\d+)\)\s*==\s*1", text)
        if match and isinstance(args.get(match.group(1)), Tensor):
            tensor = args[match.group(1)]
            k, n = int(match.group(2)), len(tensor.sizes)
            if n and k in (-1, n - 1):
                return True  # the unit stride of the last dim is assumed anyway
        match = re.fullmatch(r"(\w+)\.is_contiguous\(\)", text)
        if match and isinstance(args.get(match.group(1)), Tensor):
            self.interp.make_contiguous(args[match.group(1)])
            return True
        match = re.fullmatch(r"(\w+)\s*>\s*0(\.0*)?", text)
        if match and match.group(1) in self.scalars:
            self.positive.add(match.group(1))
            return True
        match = re.fullmatch(r"(\w+)\.stride\((\d+)\)\s*==\s*(\w+)\.stride\((\d+)\)", text)
        if match:
            a, i, b, j = match.group(1), int(match.group(2)), match.group(3), int(match.group(4))
            ta, tb = args.get(a), args.get(b)
            if isinstance(ta, Tensor) and isinstance(tb, Tensor):
                sa = ta.strides[i] if i < len(ta.strides) else None
                sb = tb.strides[j] if j < len(tb.strides) else None
                if isinstance(sa, Stride) and isinstance(sb, Stride):
                    ta.strides = tuple(sb if s == sa else s for s in ta.strides)
                    return True
        self.diag(
            _bad(
                assume.span,
                f"cannot use the assumption `{text}`",
                self.path,
                help="supported: `x.is_contiguous()`, `y.stride(i) == x.stride(j)`, "
                "`x.stride(-1) == 1` (always assumed), `s > 0` for a scalar, joined by `and`; "
                "or a condition on dims alone (`Nk == Nq`, `M % 32 == 0`, `N <= 65536`)",
            )
        )
        return False

    @staticmethod
    def pinned(
        pieces: list[tuple[Term, list[tuple[tuple[int, int], ...]]]],
        spec: Spec | None,
        out_dims: tuple[str, ...],
    ) -> list[tuple[Term, list[tuple[tuple[int, int], ...]]]]:
        """The pieces, each box apart where a piece holds a dim fixed at the box's one
        index along it (a lane's value at its own element): there the spec is compared
        at that index too (see :func:`_pin_spec`)."""
        if spec is None:
            return pieces
        out: list[tuple[Term, list[tuple[tuple[int, int], ...]]]] = []
        for piece, boxes in pieces:
            plain = [b for b in boxes if not _pinned_dims(b, out_dims, piece)]
            if plain:
                out.append((piece, plain))
            out.extend((piece, [b]) for b in boxes if _pinned_dims(b, out_dims, piece))
        return out

    def facts(
        self,
        sizes: dict[str, int],
        inputs: list[InputInfo],
        results: dict[str, Result],
        scope: Scope,
    ) -> Facts:
        obligations: list[Obligation] = []
        writes: list[Write] = []
        seen: set[tuple[str, int, int]] = set()
        values = self.input_values(sizes, inputs) if self.concrete else {}
        for stored in self.interp.stored:
            result = results.get(stored.target)
            if result is None or result.spec is None:
                continue
            out_dims = result.spec.out_dims
            for box in stored.boxes:
                writes.append(Write(stored.target, _slices(out_dims, box), stored.span))
            for piece, boxes in self.pinned(stored.pieces, result.spec, out_dims):
                if self.concrete:
                    # every element the piece lands on; the cross-check evaluates the
                    # piece there, program by program
                    for box in boxes:
                        tile = Tile(_slices(out_dims, box), piece)
                        obligations.append(
                            Obligation(
                                "assign",
                                stored.span,
                                result.spec_span,
                                stored.target,
                                tile,
                                result.spec,
                                result.spec_text,
                            )
                        )
                    continue
                if not boxes:
                    continue
                spec = result.spec
                pins = _pinned_dims(boxes[0], out_dims, piece) if len(boxes) == 1 else []
                if _has_where(spec.term):
                    # a spec with index conditions (a causal mask) is proven row by row: on
                    # a box with one index of a dim, the conditions on that dim are decided
                    for box in boxes:
                        region = dict(zip(out_dims, box))
                        special = Spec(blocks.specialize(spec.term, region), spec.out_dims)
                        special = _pin_spec(special, pins)
                        key = (
                            stored.target,
                            blocks.term_key(piece),
                            blocks.term_key(special.term),
                        )
                        if key not in seen:
                            seen.add(key)
                            tile = Tile(_slices(out_dims, box), piece)
                            obligations.append(
                                Obligation(
                                    "assign",
                                    stored.span,
                                    result.spec_span,
                                    stored.target,
                                    tile,
                                    special,
                                    result.spec_text,
                                )
                            )
                    continue
                spec = _pin_spec(spec, pins)
                key = (stored.target, blocks.term_key(piece), blocks.term_key(spec.term))
                if key in seen:
                    continue
                seen.add(key)
                tile = Tile(_slices(out_dims, boxes[0]), piece)
                obligations.append(
                    Obligation(
                        "assign",
                        stored.span,
                        result.spec_span,
                        stored.target,
                        tile,
                        spec,
                        result.spec_text,
                    )
                )
        notes = tuple(self.interp.notes.values())
        return Facts(
            dict(sizes),
            {i.name: i for i in inputs},
            results,
            obligations,
            writes,
            values,
            scope=scope,
            notes=notes,
            searched_at=self.searched_at if scope.kind == "sampled" else None,
        )

    def input_values(self, sizes: dict[str, int], inputs: list[InputInfo]) -> dict:
        """Seeded standard-normal inputs, shifted; scalars assumed > 0 drawn in
        (0.05, 1], small enough that an unstabilised softmax in a spec stays finite."""
        assert self.concrete is not None
        seed, shift = self.concrete
        rng = np.random.default_rng(seed)
        values = {}
        for info in sorted(inputs, key=lambda i: i.name):
            array = rng.standard_normal(tuple(sizes[d] for d in info.dims)) + shift
            if info.name in self.positive:
                array = 0.05 + 0.95 * np.tanh(np.abs(array - shift) / 4)
            values[info.name] = array
        return values


def _owner(module: cst.Module, function: cst.FunctionDef) -> cst.ClassDef | None:
    """The top-level class whose body defines ``function`` (None: a module function)."""
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            if any(s is function for s in stmt.body.body):
                return stmt
    return None


def _has_where(term: object) -> bool:
    stack, seen = [term], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Where):
            return True
        if isinstance(node, Unary):
            stack.append(node.arg)
        elif isinstance(node, Binary):
            stack.extend((node.left, node.right))
        elif isinstance(node, Reduce):
            stack.append(node.body)
    return False


def _pinned_dims(
    box: tuple[tuple[int, int], ...], dims: tuple[str, ...], piece: Term
) -> list[tuple[str, int]]:
    """The dims a stored piece holds fixed at an index (a lane's value at its own
    element, ``x[M=2, N]``) where its box has just that index: the spec is compared
    there at that index too. A fixed index elsewhere is left to fail the proof."""
    fixed = fixed_dims(piece)
    return [(d, lo) for d, (lo, hi) in zip(dims, box) if hi - lo == 1 and (d, lo) in fixed]


def _pin_spec(spec: Spec, pins: list[tuple[str, int]]) -> Spec:
    """The spec at the pinned indices (its value there)."""
    term = spec.term
    for d, i in pins:
        term = at_index(term, d, i)
    return Spec(term, spec.out_dims)


def _slices(dims: tuple[str, ...], box: tuple[tuple[int, int], ...]) -> tuple[Slice, ...]:
    return tuple(Slice(d, lo, hi) for d, (lo, hi) in zip(dims, box))


__all__ = ["SpecScalar", "TritonFrontEnd", "analyze"]
