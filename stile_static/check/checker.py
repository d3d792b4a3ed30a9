"""Check one kernel file: parse, interpret, prove, check coverage, cross-check."""

from __future__ import annotations

import atexit
import gc
import queue
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..core.diagnostics import Diagnostic, Span, in_scope
from ..frontends import SourceFile, front_end_for
from ..ir.obligations import Facts
from ..prover import egraph as prover
from ..prover.coverage import check_coverage
from ..prover.iterations import Divergence, find_divergence, forms
from ..prover.verify import Verdict, Verifier
from ..spec.annotations import annotation_diagnostics, is_annotated
from .crosscheck import cross_check
from .one_per_bug import blame, fold_cross_check, smallest_failing
from .searched import Searched
from .suppressions import find_ignore_file

T = TypeVar("T")
DEEP_RECURSION = 200_000
DEEP_STACK_BYTES = 512 * 1024 * 1024
SHORT_FORM = 200  # characters of a kernel or spec form shown as is

# What an author can do about "not proven" (STL033), in the terms of their dialect:
# `assert_equivalent` exists only in the typed-NumPy dialect.
NOT_PROVEN_HELP = {
    "typed-numpy": "simplify the kernel expression or state an intermediate assert_equivalent",
    "triton": (
        "write the spec as the kernel computes it: the same functions (`exp2(x * log2(e))` "
        "for a kernel that calls `tl.exp2`) and the same constants (a decimal in the kernel "
        "is that float, not the exact value it approximates: pass such a constant as a "
        "wrapper parameter that the spec names, as in `x[N] * scale`)"
    ),
    "pallas": (
        "write the spec as the kernel computes it: the same functions (`exp2(x * log2(e))` "
        "for a kernel that calls `jnp.exp2`) and the same constants (a decimal in the kernel "
        "is that float, not the exact value it approximates: pass such a constant as a "
        "wrapper parameter that the spec names, as in `x[N] * scale`)"
    ),
}


@dataclass(frozen=True)
class Options:
    cross_check: bool = False
    seed: int = 0


@dataclass
class FileReport:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    proved: list[tuple[Span, str, Verdict]] = field(default_factory=list)
    is_kernel: bool = True
    tile_types: dict[Span, Any] = field(default_factory=dict)  # for hovers
    ignored_at: int | None = None  # the line of a `# stile: ignore-file` that skipped it


def _file_error(
    path: str, message: str, line: int = 1, column: int = 1, is_kernel: bool = True
) -> FileReport:
    span = Span(line, column, line, column + 1)
    return FileReport(path, [Diagnostic(path, span, "STL001", message)], is_kernel=is_kernel)


def check_file(path: str, options: Options = Options()) -> FileReport:
    try:
        data = Path(path).read_bytes()
    # A file that cannot be read is reported, but it is no checked kernel file.
    except FileNotFoundError:
        return _file_error(path, "no such file or directory", is_kernel=False)
    except OSError as error:
        return _file_error(path, f"cannot read the file: {error.strerror}", is_kernel=False)
    return check_source(data, path, options)


def check_source(data: bytes | str, path: str, options: Options = Options()) -> FileReport:
    """Check one file's text; runs on a thread with a deep stack (see deep_stack)."""
    return deep_stack(lambda: _check_source(data, path, options))


def deep_stack(work: Callable[[], T]) -> T:
    """Run ``work`` on the worker thread, which has a large stack and recursion limit.

    Unrolled kernels build terms thousands of levels deep, and hashing,
    printing and evaluating them recurses that deep. One long-lived worker
    also keeps per-thread state (the prover's parsed rules) across files.
    """
    done: queue.Queue = queue.Queue()
    _worker().put((work, done))
    ok, value = done.get()
    if not ok:
        raise value
    return value


_jobs: queue.Queue | None = None
_jobs_lock = threading.Lock()


def _worker() -> queue.Queue:
    global _jobs
    with _jobs_lock:
        if _jobs is None:
            _jobs = queue.Queue()
            previous = threading.stack_size(DEEP_STACK_BYTES)
            try:
                threading.Thread(target=_serve, args=(_jobs,), daemon=True).start()
            finally:
                threading.stack_size(previous)
            atexit.register(deep_stack, prover.release)
        return _jobs


def _serve(jobs: queue.Queue) -> None:
    while True:
        work, done = jobs.get()
        # The limit is process-wide: raise it only while a job runs on this
        # thread's deep stack (the caller is blocked meanwhile).
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, DEEP_RECURSION))
        # A check builds hundreds of thousands of immutable, acyclic objects
        # (terms, canonical forms) that reference counting frees; the cycle
        # collector only re-traverses them, which made large unrolled kernels
        # superlinear (a third of the time at 4096 tiles). It runs again after.
        collecting = gc.isenabled()
        gc.disable()
        try:
            done.put((True, work()))
        except BaseException as error:  # re-raised on the calling thread
            done.put((False, error))
        finally:
            sys.setrecursionlimit(limit)
            if collecting:
                gc.enable()


def _check_source(data: bytes | str, path: str, options: Options) -> FileReport:
    if isinstance(data, bytes):
        if b"\x00" in data:
            return _file_error(path, "not a Python source file (it contains NUL bytes)")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            return _file_error(path, f"not UTF-8 text (byte {error.start} cannot be decoded)")
    ignored_at = find_ignore_file(data)
    if ignored_at is not None:  # the author asked for it: checked no more than a non-kernel
        return FileReport(path, is_kernel=False, ignored_at=ignored_at)
    try:
        # the whole compiler, symbol table included (a duplicate parameter, `return`
        # outside a function): a file Python refuses never runs, so it is never verified
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the kernel's own warnings are not ours to print
            compile(data, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        line, column = error.lineno or 1, error.offset or 1
        return _file_error(path, f"syntax error: {error.msg}", line, column)
    except (ValueError, RecursionError, MemoryError) as error:
        return _file_error(path, f"cannot parse the file: {error}")
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as error:
        return _file_error(
            path, f"syntax error: {error.message}", error.raw_line, error.raw_column + 1
        )
    except (RecursionError, MemoryError):
        return _file_error(path, "the file is too deeply nested to parse")
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    source = SourceFile(path, data, module, wrapper, wrapper.resolve(PositionProvider))
    front_end = front_end_for(source)
    # A `# stile:` annotation makes a kernel file even where no front end reads it
    # (its own errors are reported then; front ends that read it report the same).
    annotated = is_annotated(source.text)
    if front_end is None and not annotated:
        return FileReport(path, is_kernel=False)
    notes = annotation_diagnostics(source.module, path) if annotated else []
    if front_end is None:
        return FileReport(path, _dedupe(notes))
    analysis = front_end.analyse(source)
    report = FileReport(path, [*analysis.diagnostics, *notes], tile_types=analysis.tile_types)
    # the verdict diagnostic of each failed obligation, by the obligation's span
    failed: dict[Span, Diagnostic] = {}
    covered: set[tuple[Span, str]] = set()
    searched = Searched()
    for facts in analysis.facts:
        before = len(report.proved)
        _verify(facts, options, path, report, failed, front_end.name)
        searched.add(facts, range(before, len(report.proved)))
        for d in check_coverage(facts, path):
            # one report per place and code when several configurations are checked
            # (at searched sizes, smallest_failing keeps the smallest and names the rest)
            if (d.span, d.code) not in covered or facts.searched_at is not None:
                covered.add((d.span, d.code))
                report.diagnostics.append(_in_configuration(d, facts))
    if options.cross_check:
        explains: dict[Span, list[Span]] = {}
        for facts in analysis.facts:
            for where, causes in blame(facts, failed).items():
                explains.setdefault(where, []).extend(causes)
        cross = cross_check(front_end, source, options.seed)
        # one diagnostic per bug: a finding the static verdict explains is a note on it
        report.diagnostics.extend(fold_cross_check(failed, explains, cross))
    report.diagnostics.extend(failed.values())
    report.diagnostics = smallest_failing(_dedupe(report.diagnostics))
    report.diagnostics.extend(searched.finish(report.proved, report.diagnostics, path))
    report.diagnostics = _dedupe(report.diagnostics)
    return report


def _verify(
    facts: Facts,
    options: Options,
    path: str,
    report: FileReport,
    failed: dict[Span, Diagnostic],
    dialect: str = "typed-numpy",
) -> None:
    verifier = Verifier(facts.inputs, facts.dims, options.seed)
    obligations = list(facts.obligations)
    while obligations:
        ob = obligations.pop(0)
        if ob.span in failed and ob.kind == "assign" and not ob.assumes:
            continue  # one verdict per place: the first failure is the one reported
        verdict = verifier.verify(ob)
        if verdict.status != "proved" and ob.pieces is not None:
            obligations[:0] = ob.pieces()  # the same claim, piece by piece
            continue
        broken = [s for s in ob.assumes if s in failed]
        if verdict.status == "proved" and not broken:
            scope = facts.scope.of_every_run() if facts.scope is not None else None
            report.proved.append((ob.span, ob.target, replace(verdict, scope=scope)))
        elif verdict.status == "proved":
            # proven only from loop invariants that do not hold: not a verification
            for s in broken:
                failed[s] = replace(
                    failed[s],
                    notes=(*failed[s].notes, f"the proof at line {ob.span.line} relies on it"),
                )
        elif ob.span not in failed:
            divergence = None
            if verdict.status == "wrong":
                divergence = find_divergence(ob, facts.iterations, verifier)
            failed[ob.span] = _in_configuration(
                _verdict_diagnostic(path, ob, verdict, divergence, verifier, dialect), facts
            )


def _in_configuration(d: Diagnostic, facts: Facts) -> Diagnostic:
    """``d`` with the configuration it was found in, when the file has several."""
    return in_scope(d, facts.scope, *facts.notes)


def _verdict_diagnostic(
    path: str,
    ob,  # noqa: ANN001
    verdict: Verdict,
    divergence: Divergence | None = None,
    verifier: Verifier | None = None,
    dialect: str = "typed-numpy",
) -> Diagnostic:
    what = f"result {ob.target}" if ob.kind == "assign" else "the asserted spec"
    notes = [f"kernel: {verdict.kernel_form}", f"spec:   {verdict.spec_form}"]
    notes += [f"where {d}" for d in verdict.shared]
    if divergence is not None and verifier is not None and _short(verdict):
        notes.insert(0, divergence.note())
    elif divergence is not None and verifier is not None:
        # The values where the loop goes wrong are small and to the point; the
        # final ones of a long loop are neither.
        kernel, spec, shared = forms(divergence, verifier)
        labels = (
            f"kernel after iteration {divergence.ordinal}:",
            f"spec over {divergence.dim}[{divergence.lo}:{divergence.hi}):",
        )
        width = max(len(label) for label in labels)
        notes = [
            divergence.note(),
            f"{labels[0]:<{width}} {kernel}",
            f"{labels[1]:<{width}} {spec}",
            *(f"where {d}" for d in shared),
        ]
    if verdict.status == "not-proven":
        return Diagnostic(
            path,
            ob.span,
            "STL033",
            f"could not prove the tile equals {what} (`{ob.spec_text}`); "
            "NumPy finds no difference on random inputs",
            severity="error",
            notes=tuple(notes),
            help=NOT_PROVEN_HELP.get(dialect, NOT_PROVEN_HELP["typed-numpy"]),
            related=((ob.spec_span, "spec"),),
        )
    assert verdict.counterexample is not None
    notes.append(f"counterexample {verdict.counterexample}")
    code, headline = "STL031", f"the tile does not equal {what} (`{ob.spec_text}`)"
    if verdict.reduction_note is not None:
        incomplete, note = verdict.reduction_note
        if incomplete:
            code, headline = "STL032", note
        else:
            notes.insert(0, note)
    return Diagnostic(
        path,
        ob.span,
        code,
        headline,
        notes=tuple(notes),
        related=((ob.spec_span, "spec"),),
    )


def _short(verdict: Verdict) -> bool:
    """Whether the final forms are short enough to read whole."""
    return max(len(verdict.kernel_form), len(verdict.spec_form)) <= SHORT_FORM


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple] = set()
    out = []
    for d in sorted(diagnostics, key=lambda d: d.sort_key):
        key = (d.span, d.code, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
