"""Command line: ``stile-static check [PATH...]``, ``stile-static rule CODE``, ``stile-static lsp``.

Exit status: 0 when no error diagnostics (or with ``--exit-zero``), 1 when
there are, 2 for usage, configuration or internal errors, 141 when the reader
of standard output went away (``| head``). Settings come from
``[tool.stile-static]`` in the nearest pyproject.toml (config.py); flags given
here override them.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..check.cache import FOLDER_NAME, Cache
from ..check.config import (
    CodeSelection,
    Config,
    ConfigError,
    PerFileIgnores,
    load_config,
    resolve_codes,
    selection_of,
)
from ..check.discovery import SKIPPED_FOLDERS, FileFilter, kernel_files, named_files
from ..check.results import StoredReport
from ..check.runner import Analysis, Checked, check_paths, default_jobs
from ..check.suppressions import IGNORE_FILE, UNUSED, apply_suppressions, find_suppressions
from ..core.diagnostics import CODES
from .colour import ANSI, PLAIN, wants_colour
from .reporters import FORMATS, STATISTICS_FORMATS, View, render
from .version import version

__all__ = ["SKIPPED_FOLDERS", "build_parser", "kernel_files", "main"]

CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a process a closed pipe ended


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stile-static", description="Prove tiled kernels equal to their specification."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check kernel files or folders")
    check.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders (default: the current folder)"
    )
    check.add_argument("--format", choices=FORMATS, default="text")
    check.add_argument("--output", metavar="FILE", help="write the report to FILE, not stdout")
    check.add_argument(
        "--config",
        metavar="FILE",
        help="read [tool.stile-static] from FILE, not the nearest pyproject.toml",
    )
    check.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="report only these codes or code prefixes, comma-separated (default: all)",
    )
    check.add_argument(
        "--ignore", action="append", metavar="CODES", help="do not report these codes"
    )
    check.add_argument(
        "--warnings-as-errors",
        action="append",
        metavar="CODES",
        help="report the warnings of these codes as errors, comma-separated "
        "(STL049: verified at searched sizes only)",
    )
    check.add_argument(
        "--cross-check",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run the kernel on seeded random inputs with NumPy and compare with the spec",
    )
    check.add_argument("--seed", type=int, default=None, help="seed of the cross-check inputs")
    check.add_argument(
        "--show-proofs",
        action="store_true",
        help="also report each verified obligation (text, json and sarif; severity note)",
    )
    check.add_argument(
        "--summary",
        action="store_true",
        help='with --format json: print {"diagnostics": [...], "summary": {...}}, '
        "not the bare list",
    )
    check.add_argument(
        "--statistics",
        action="store_true",
        help="print a count per code instead of the diagnostics (text or json)",
    )
    check.add_argument(
        "-e",
        "--exit-zero",
        action="store_true",
        help="exit with 0 even when there are error diagnostics",
    )
    talk = check.add_mutually_exclusive_group()
    talk.add_argument(
        "-q", "--quiet", action="store_true", help="print the diagnostics only, no summary line"
    )
    talk.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also say on standard error which configuration was read and what each file was",
    )
    check.add_argument(
        "--report-unused-ignores",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"report `# stile: ignore` comments that silence nothing ({UNUSED})",
    )
    check.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="check up to N files at once in worker processes (default: the number of CPUs)",
    )
    check.add_argument(
        "--no-cache", action="store_true", help=f"neither read nor write {FOLDER_NAME}/"
    )
    check.add_argument(
        "--cache-dir",
        metavar="DIR",
        help=f"keep the cache in DIR (default: {FOLDER_NAME}/ in the project root)",
    )
    rule = commands.add_parser("rule", help="explain a diagnostic code, or list them all")
    rule.add_argument("code", nargs="?", metavar="CODE")
    commands.add_parser("lsp", help="run the language server over stdio (needs the `lsp` extra)")
    return parser


@dataclass(frozen=True)
class Settings:
    """The configuration file and the flags, merged: what one ``check`` run does."""

    analysis: Analysis
    selection: CodeSelection
    report_unused: bool
    file_filter: FileFilter
    cache_dir: Path | None  # None: no cache
    jobs: int
    per_file: PerFileIgnores = PerFileIgnores()
    as_errors: frozenset[str] = frozenset()  # codes whose warnings are errors


def settings(args: argparse.Namespace, config: Config) -> Settings:
    selection = selection_of(
        config,
        _codes(args.select) if args.select else None,
        _codes(args.ignore) if args.ignore else None,
    )
    if args.no_cache:
        cache_dir = None
    elif args.cache_dir:
        cache_dir = Path(args.cache_dir)
    else:
        cache_dir = config.root / FOLDER_NAME
    cross_check = config.cross_check if args.cross_check is None else args.cross_check
    report_unused = (
        config.report_unused_ignores
        if args.report_unused_ignores is None
        else args.report_unused_ignores
    )
    return Settings(
        analysis=Analysis(
            cross_check=cross_check, seed=config.seed if args.seed is None else args.seed
        ),
        selection=selection,
        report_unused=report_unused,
        file_filter=FileFilter.of(config.root, config.include, config.excluded),
        cache_dir=cache_dir,
        jobs=args.jobs or default_jobs(),
        per_file=PerFileIgnores.of(config),
        as_errors=_as_errors(args, config),
    )


def _as_errors(args: argparse.Namespace, config: Config) -> frozenset[str]:
    """``--warnings-as-errors`` (which replaces the file's ``warnings-as-errors``)."""
    if args.warnings_as_errors:
        return resolve_codes(_codes(args.warnings_as_errors), "--warnings-as-errors")
    if not config.warnings_as_errors:
        return frozenset()
    return resolve_codes(config.warnings_as_errors, f"{config.path}: [tool.stile-static]")


def _codes(values: Sequence[str]) -> list[str]:
    return [code for value in values for code in value.split(",") if code.strip()] or [""]


def finish(checked: Checked, run: Settings) -> StoredReport:
    """The report as shown: codes not selected (here) dropped, suppression comments applied."""
    report = checked.report
    selection = run.selection.without(run.per_file.codes_for(report.path))
    diagnostics = [d for d in report.diagnostics if d.code in selection]
    source = checked.source
    if report.is_kernel and source is not None and b"stile:" in source:
        # A file that did not parse was not analyzed: every comment in it would look unused.
        analyzed = not any(d.code == "STL001" for d in report.diagnostics)
        outcome = apply_suppressions(
            diagnostics,
            find_suppressions(source),
            report.path,
            report_unused=run.report_unused and analyzed and UNUSED in selection,
            enabled=selection,
        )
        diagnostics = sorted(outcome.kept + outcome.unused, key=lambda d: d.sort_key)
    # a CI that wants every verdict for all sizes fails on STL049, as on an error
    diagnostics = [
        replace(d, severity="error") if d.code in run.as_errors and d.severity == "warning" else d
        for d in diagnostics
    ]
    return replace(report, diagnostics=tuple(diagnostics))


def run_check(args: argparse.Namespace) -> int:
    if args.statistics and args.format not in STATISTICS_FORMATS:
        formats = " or ".join(STATISTICS_FORMATS)
        print(f"stile-static: --statistics prints {formats}, not {args.format}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
        run = settings(args, config)
    except ConfigError as error:
        print(f"stile-static: {error}", file=sys.stderr)
        return 2
    if args.verbose:
        read = config.path or "none found; the defaults apply"
        print(f"stile-static: configuration: {read}", file=sys.stderr)
    paths = args.paths or ["."]  # as ruff and mypy: no path is the current folder
    files = kernel_files(paths, run.file_filter)
    cache = None if run.cache_dir is None else Cache.open(run.cache_dir)
    try:
        checked = check_paths(files, run.analysis, cache, run.jobs)
    except Exception:  # an analyzer bug: say so, never pretend the kernel is fine
        traceback.print_exc()
        print("stile-static: internal error (please report it)", file=sys.stderr)
        return 2
    reports = [finish(c, run) for c in checked]
    if args.verbose:
        for c, report in zip(checked, reports):
            print(f"{report.path}: {what_it_was(c, report)}", file=sys.stderr)
    warn_not_kernels(reports, named_files(paths))
    to_terminal = not args.output and args.format == "text"
    view = View(
        show_proofs=args.show_proofs,
        with_summary=args.summary,
        quiet=args.quiet,
        statistics=args.statistics,
        palette=ANSI if to_terminal and wants_colour(sys.stdout, os.environ) else PLAIN,
    )
    text = render(reports, args.format, view)
    if args.output:
        try:
            output = Path(args.output)
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"stile-static: cannot write {args.output}: {error.strerror}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    errors = any(d.severity == "error" for r in reports for d in r.diagnostics)
    return 1 if errors and not args.exit_zero else 0


def what_it_was(checked: Checked, report: StoredReport) -> str:
    """A file's fate in a word or two, for ``--verbose``."""
    if report.ignored_at is not None:
        return f"skipped: `{IGNORE_FILE}` at line {report.ignored_at}"
    if not report.is_kernel:
        return "skipped: not a kernel file" if checked.source is not None else "cannot be read"
    return "checked (answered from the cache)" if checked.cached else "checked"


NOT_A_KERNEL = (
    "not a kernel file (it neither imports `stile` nor has a `# stile:` annotation); "
    "nothing in it was checked"
)


def warn_not_kernels(reports: Sequence[StoredReport], named: set[str]) -> None:
    """A warning on stderr for each file named on the command line that is not a kernel.

    Folders skip such files silently, but a file asked for by name that is
    skipped is most likely a kernel that lost its import. The exit status
    stays 0: pre-commit names every staged Python file, kernels or not.
    """
    for report in reports:
        if (
            report.path in named
            and not report.is_kernel
            and not report.diagnostics
            and report.ignored_at is None  # skipped on purpose: nothing to warn about
        ):
            print(f"{report.path}: warning: {NOT_A_KERNEL}", file=sys.stderr)


def run_rule(code: str | None) -> int:
    from .rule_docs import rule_markdown
    from .rule_pages import link_line

    if code is None:
        width = max(len(info.name) for info in CODES.values())
        for c, info in CODES.items():
            print(f"{c}  {info.name:<{width}}  {info.summary}")
        return 0
    if code.upper() not in CODES:
        print(f"stile-static: unknown code `{code}`", file=sys.stderr)
        return 2
    sys.stdout.write(rule_markdown(code.upper()) + "\n" + link_line(code.upper()))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        status = run_command(argv)
        # here, where a closed pipe can be caught, not at exit; the language server
        # closes standard output itself when the client says exit
        if not sys.stdout.closed:
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`stile-static rule | head -1`): end quietly, with
        # standard output on devnull so that the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return CLOSED_PIPE
    return status


def run_command(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
    if args.command == "rule":
        return run_rule(args.code)
    if args.command == "lsp":
        try:
            from .lsp import serve
        except ImportError as error:
            print(
                "stile-static lsp needs the `lsp` extra: "
                f"pip install 'stile-static[lsp]' ({error})",
                file=sys.stderr,
            )
            return 2
        return serve()
    return run_check(args)


if __name__ == "__main__":
    sys.exit(main())
