"""Command line: ``stile-static check PATH...``.

Exit status: 0 when no error diagnostics, 1 when there are, 2 for usage or
internal errors.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from .checker import FileReport, Options, check_file
from .reporters import render_json, render_text

SKIPPED_FOLDERS = {".venv", "venv", "__pycache__", ".git", "node_modules"}


def kernel_files(paths: list[str]) -> list[str]:
    """Files named directly, and every ``*.py`` under folders (sorted)."""
    files: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(path.rglob("*.py")):
                if not SKIPPED_FOLDERS.intersection(found.relative_to(path).parts[:-1]):
                    files.append(str(found))
        else:
            files.append(raw)  # a missing file becomes a diagnostic, not a crash
    return files


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stile-static", description="Prove tiled kernels equal to their specification."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check kernel files or folders")
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument(
        "--cross-check",
        action="store_true",
        help="also run the kernel on seeded random inputs with NumPy and compare with the spec",
    )
    check.add_argument("--seed", type=int, default=0, help="seed of the cross-check inputs")
    check.add_argument(
        "--show-proofs", action="store_true", help="also print each verified obligation"
    )
    commands.add_parser("lsp", help="run the language server over stdio (needs the `lsp` extra)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
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
    options = Options(cross_check=args.cross_check, seed=args.seed)
    try:
        reports: list[FileReport] = [check_file(f, options) for f in kernel_files(args.paths)]
    except Exception:  # an analyzer bug: say so, never pretend the kernel is fine
        traceback.print_exc()
        print("stile-static: internal error (please report it)", file=sys.stderr)
        return 2
    if args.format == "json":
        sys.stdout.write(render_json(reports))
    else:
        sys.stdout.write(render_text(reports, show_proofs=args.show_proofs))
    errors = any(d.severity == "error" for r in reports for d in r.diagnostics)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
