"""Settings from ``[tool.stile-static]`` in pyproject.toml, checked key by key.

The file is the nearest ``pyproject.toml`` in the current directory or above
it (one file per run, as mypy does; ``--config FILE`` names another), and its
folder is the project root: exclude globs are relative to it and the cache
lives there. A key that is unknown or has the wrong type is an error naming the
key and the file, never silently ignored: a typo in ``ignore`` must not turn
into checks that quietly stop running. ``per-file-ignores`` (glob -> codes) and
``extend-exclude`` follow ruff's keys of the same names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.diagnostics import CODES
from .discovery import Glob, relative_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TABLE = "tool.stile-static"


class ConfigError(Exception):
    """A configuration the run cannot honour; the CLI prints it and exits with 2."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # the file read; None when there is none
    root: Path = Path(".")  # the project root: the file's folder, else the current directory
    include: tuple[str, ...] = ("*.py",)
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()  # added to exclude (a shared file's, say)
    select: tuple[str, ...] | None = None  # None: every code
    ignore: tuple[str, ...] = ()
    cross_check: bool = False
    seed: int = 0
    report_unused_ignores: bool = False
    warnings_as_errors: tuple[str, ...] = ()  # codes (or prefixes) whose warnings fail the run
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, codes), in order

    @property
    def excluded(self) -> tuple[str, ...]:
        return self.exclude + self.extend_exclude


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _globs_to_codes(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    if not isinstance(value, dict):
        return None
    pairs = [(glob, _strings(codes)) for glob, codes in value.items()]
    if any(codes is None for _, codes in pairs):
        return None
    return tuple((glob, codes) for glob, codes in pairs if codes is not None)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# key -> (Config field, what it must be, converter that gives None on a wrong type)
_KEYS: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "include": ("include", "a list of glob strings", _strings),
    "exclude": ("exclude", "a list of glob strings", _strings),
    "extend-exclude": ("extend_exclude", "a list of glob strings", _strings),
    "select": ("select", "a list of codes", _strings),
    "ignore": ("ignore", "a list of codes", _strings),
    "cross-check": ("cross_check", "true or false", _bool),
    "seed": ("seed", "an integer", _int),
    "report-unused-ignores": ("report_unused_ignores", "true or false", _bool),
    "warnings-as-errors": ("warnings_as_errors", "a list of codes", _strings),
    "per-file-ignores": (
        "per_file_ignores",
        "a table of globs to lists of codes",
        _globs_to_codes,
    ),
}


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or a folder above it."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: str | None = None, cwd: Path | None = None) -> Config:
    """The configuration of this run: ``explicit`` if given, else the nearest pyproject.toml."""
    cwd = (cwd or Path.cwd()).absolute()
    if explicit is not None:
        named = cwd / explicit
        if not named.is_file():
            raise ConfigError(f"{explicit}: no such configuration file")
        return parse_config(named)
    found = find_pyproject(cwd)
    return Config(root=cwd) if found is None else parse_config(found)


def parse_config(path: Path) -> Config:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the file ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    table = document.get("tool", {}).get("stile-static", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{TABLE}] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            known = ", ".join(_KEYS)
            raise ConfigError(f"{path}: unknown key `{key}` in [{TABLE}] (known keys: {known})")
        field_name, expected, convert = _KEYS[key]
        converted = convert(value)
        if converted is None:
            raise ConfigError(
                f"{path}: `{key}` in [{TABLE}] must be {expected}, not {_describe(value)}"
            )
        values[field_name] = converted
    for key in ("select", "ignore", "warnings-as-errors"):
        name = _KEYS[key][0]
        if name in values:
            resolve_codes(values[name], f"{path}: `{key}` in [{TABLE}]")
    config = Config(path=path, root=path.parent, **values)
    PerFileIgnores.of(config)  # unknown codes are errors now, not when a file matches
    return config


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def resolve_codes(selectors: Iterable[str], where: str) -> frozenset[str]:
    """The codes named by ``selectors``: each a code or a prefix of codes (``STL03``)."""
    codes: set[str] = set()
    for selector in selectors:
        matched = {code for code in CODES if code.startswith(selector.strip().upper())}
        if not selector.strip() or not matched:
            raise ConfigError(f"{where}: unknown code `{selector}`")
        codes |= matched
    return frozenset(codes)


@dataclass(frozen=True)
class CodeSelection:
    """Which codes are reported: those selected (all by default) and not ignored."""

    enabled: frozenset[str] = frozenset(CODES)

    def __contains__(self, code: str) -> bool:
        return code in self.enabled

    def without(self, codes: frozenset[str]) -> CodeSelection:
        return self if not codes else CodeSelection(self.enabled - codes)


@dataclass(frozen=True)
class PerFileIgnores:
    """``per-file-ignores``: codes not reported in the files a glob matches, as ruff's.

    A glob matches as ``exclude`` does (a name anywhere, or a path from the root
    when it has a ``/``, the file or a folder it is in); ``!`` in front negates it:
    the codes are ignored in every file it does not match.
    """

    root: Path = Path(".")
    rules: tuple[tuple[Glob, bool, frozenset[str]], ...] = ()  # (glob, negated, codes)

    @classmethod
    def of(cls, config: Config) -> PerFileIgnores:
        rules = []
        for pattern, codes in config.per_file_ignores:
            where = f"{config.path}: `per-file-ignores` in [{TABLE}], glob `{pattern}`"
            negated = pattern.startswith("!")
            glob = Glob(pattern[1:] if negated else pattern)
            if not glob.pattern.strip():
                raise ConfigError(f"{where}: the glob is empty")
            rules.append((glob, negated, resolve_codes(codes, where) if codes else frozenset()))
        return cls(config.root.absolute(), tuple(rules))

    def codes_for(self, path: str) -> frozenset[str]:
        """The codes ignored in the file at ``path``."""
        relative = relative_path(self.root, path)
        codes: set[str] = set()
        for glob, negated, ignored in self.rules:
            if glob.matches_path(relative) != negated:
                codes |= ignored
        return frozenset(codes)


def selection_of(
    config: Config,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
) -> CodeSelection:
    """The codes reported: ``select`` (all by default) less ``ignore``; the
    command-line ``select``/``ignore``, when given, replace the file's."""
    where = f"{config.path}: [tool.stile-static]"
    if select:
        chosen = resolve_codes(select, "--select")
    elif config.select is not None:
        chosen = resolve_codes(config.select, where)
    else:
        chosen = frozenset(CODES)
    dropped = resolve_codes(ignore, "--ignore") if ignore else resolve_codes(config.ignore, where)
    return CodeSelection(chosen - dropped)
