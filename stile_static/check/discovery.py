"""Which files a run checks: the files named, and the Python files under the folders named.

Globs (``include``, ``exclude``) are matched against a file's path relative
to the project root, with ``/`` between parts. A glob without ``/`` matches
one part anywhere: ``"*.py"`` a file name, ``"fixtures"`` a folder of that name
at any depth. A glob with ``/`` matches from the root: ``"kernels/**/*.py"``;
``**`` stands for any number of folders. ``exclude`` also applies to files
named on the command line, because pre-commit names every changed file;
``include`` only filters what is found in folders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

# Never searched: environments, VCS data and caches hold no kernels, only noise.
SKIPPED_FOLDERS = frozenset(
    {".venv", "venv", "__pycache__", ".git", "node_modules", ".stile_cache", ".tox", ".nox"}
)


@dataclass(frozen=True)
class Glob:
    pattern: str

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(_translate(self._body))

    @property
    def _body(self) -> str:
        body = self.pattern.strip()
        while body.startswith("./"):
            body = body[2:]
        return body.rstrip("/")

    @property
    def anchored(self) -> bool:
        return "/" in self._body

    def matches(self, text: str) -> bool:
        return self._regex.fullmatch(text) is not None

    def matches_path(self, relative: str) -> bool:
        """Whether the file at ``relative`` (to the root, ``/`` between parts) or a folder
        it is in matches: by any one name, or from the root when the glob has a ``/``."""
        parts = relative.split("/")
        if not self.anchored:
            return any(self.matches(part) for part in parts)
        return any(self.matches("/".join(parts[: i + 1])) for i in range(len(parts)))


def _translate(glob: str) -> str:
    """A glob as a regular expression in which only ``**`` crosses ``/``."""
    parts = glob.split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_translate_part(part))
        if not last:
            out.append("/")
    return "".join(out)


def _translate_part(part: str) -> str:
    out, i = [], 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := _class_end(part, i)) > 0:
            inner = part[i + 1 : end].replace("\\", "\\\\")
            if inner.startswith("^"):  # literal in a glob, negation in a regex
                inner = "\\" + inner
            elif inner.startswith("!"):
                inner = "^" + inner[1:]
            out.append("[" + inner + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _class_end(part: str, start: int) -> int:
    """Where the ``[...]`` class opened at ``start`` closes (a leading ``]`` or ``!]`` is
    literal, as in fnmatch), or -1 when it does not: then ``[`` is an ordinary character."""
    first = start + 1
    if part[first : first + 1] == "!":
        first += 1
    return part.find("]", first + 1 if part[first : first + 1] == "]" else first)


def relative_path(root: Path, path: str | os.PathLike[str]) -> str:
    """``path`` relative to ``root`` (absolute) with ``/``; absolute when outside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


@dataclass(frozen=True)
class FileFilter:
    root: Path
    include: tuple[Glob, ...] = (Glob("*.py"),)
    exclude: tuple[Glob, ...] = ()

    @classmethod
    def of(cls, root: Path, include: Iterable[str], exclude: Iterable[str]) -> FileFilter:
        return cls(
            Path(os.path.abspath(root)),
            tuple(Glob(g) for g in include),
            tuple(Glob(g) for g in exclude),
        )

    def relative(self, path: str | os.PathLike[str]) -> str:
        return relative_path(self.root, path)

    def excluded(self, path: str | os.PathLike[str]) -> bool:
        relative = self.relative(path)
        return any(glob.matches_path(relative) for glob in self.exclude)

    def included(self, path: str | os.PathLike[str]) -> bool:
        relative = self.relative(path)
        name = relative.rsplit("/", 1)[-1]
        return any(g.matches(relative if g.anchored else name) for g in self.include)


def kernel_files(paths: Iterable[str], file_filter: FileFilter | None = None) -> list[str]:
    """Files named directly (unless excluded), and the included files under folders, sorted."""
    file_filter = file_filter or FileFilter(Path.cwd())
    files: list[str] = []
    for raw in paths:
        if os.path.isdir(raw):
            files.extend(_walk(raw, file_filter))
        elif not file_filter.excluded(raw):
            files.append(raw)  # a missing file becomes a diagnostic, not a crash
    return files


def named_files(paths: Iterable[str]) -> set[str]:
    """The paths named that are not folders: files the user asked for by name."""
    return {raw for raw in paths if not os.path.isdir(raw)}


def _walk(top: str, file_filter: FileFilter) -> list[str]:
    found: list[tuple[tuple[str, ...], str]] = []
    for folder, subfolders, names in os.walk(top):
        # Pruning in place keeps os.walk out of skipped and excluded folders.
        subfolders[:] = [
            s
            for s in subfolders
            if s not in SKIPPED_FOLDERS and not file_filter.excluded(os.path.join(folder, s))
        ]
        for name in names:
            path = str(Path(folder, name))
            if file_filter.included(path) and not file_filter.excluded(path):
                found.append((Path(os.path.relpath(path, top)).parts, path))
    return [path for _, path in sorted(found)]
