"""Per-file result cache in ``.stile_cache/``, so an unchanged file is not proven again.

An entry is found by the file's absolute path and the analysis options, and is
used only when its key matches: the hash of the file's bytes, of the analyzer's
own source and rules, of the versions of the libraries that decide verdicts
(egglog, NumPy, libcst) and of the options. Anything that could change a
verdict changes the key, so the cache never changes one. One entry per file
and option set is kept (a new version of the file overwrites it). A cache
that cannot be read, written or decoded is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .results import StoredReport, decode, encode

FOLDER_NAME = ".stile_cache"
SCHEMA = "2"  # bump when the entry format changes
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by stile-static.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n"
)
GITIGNORE = "# Automatically created by stile-static.\n*\n"
_VERDICT_LIBRARIES = ("egglog", "numpy", "libcst")


@dataclass(frozen=True)
class EntryKey:
    name: str  # the entry's file name: absolute path and options
    digest: str  # everything the verdict depends on


@dataclass(frozen=True)
class Cache:
    folder: Path

    @classmethod
    def open(cls, folder: Path) -> Cache | None:
        """The cache in ``folder``, created with its CACHEDIR.TAG and .gitignore; None when
        the folder cannot be made (a read-only checkout): the run goes on without a cache."""
        try:
            entries = folder / f"v{SCHEMA}"
            entries.mkdir(parents=True, exist_ok=True)
            for name, text in (("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", GITIGNORE)):
                if not (folder / name).exists():
                    (folder / name).write_text(text)
        except OSError:
            return None
        return cls(folder)

    def key(self, path: str, data: bytes, options: Mapping[str, object]) -> EntryKey:
        where = json.dumps([os.path.abspath(path), dict(options)], sort_keys=True)
        content = hashlib.sha256(data).hexdigest()
        digest = _sha256(json.dumps([tool_fingerprint(), where, content]))
        return EntryKey(_sha256(where)[:32], digest)

    def _entry(self, key: EntryKey) -> Path:
        return self.folder / f"v{SCHEMA}" / f"{key.name}.json"

    def load(self, key: EntryKey, path: str) -> StoredReport | None:
        try:
            entry = json.loads(self._entry(key).read_text(encoding="utf-8"))
            if not isinstance(entry, dict) or entry.get("key") != key.digest:
                return None
            return decode(entry["report"]).at_path(path)
        except Exception:  # noqa: BLE001 - a damaged entry of any shape is a miss
            return None

    def store(self, key: EntryKey, report: StoredReport) -> None:
        entry = self._entry(key)
        temporary = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps({"key": key.digest, "report": encode(report)}))
            os.replace(temporary, entry)  # readers see the old entry or the new, never half
        except OSError:
            temporary.unlink(missing_ok=True)


@lru_cache(maxsize=1)
def tool_fingerprint() -> str:
    """A hash of the analyzer's source, its rules and the libraries behind its verdicts.

    The source rather than the version number: a development checkout changes
    the code without bumping the version, and a stale verdict must not survive that.
    """
    h = hashlib.sha256()
    h.update(f"{SCHEMA}\0{sys.version}\0".encode())
    for library in _VERDICT_LIBRARIES:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "?"
        h.update(f"{library}={version}\0".encode())
    package = Path(__file__).resolve().parent.parent
    sources = sorted(package.rglob("*.py")) + sorted(rules_dir().glob("*.egg"))
    for source in sources:
        name = source.relative_to(package) if source.is_relative_to(package) else source.name
        h.update(str(name).encode() + b"\0" + source.read_bytes() + b"\0")
    return h.hexdigest()


def rules_dir() -> Path:
    """Where the prover reads its rules (``prover.rules_dir``, which is not imported here:
    importing the prover loads egglog, the start-up a cache hit avoids)."""
    packaged = importlib.resources.files("stile_static") / "rules"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent.parent / "rules"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
