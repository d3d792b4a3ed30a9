"""Check many files: answer from the cache where it can, prove the rest in parallel.

The checker is imported only when a file has to be proven (by a worker, or
here when one process does it all), so a run answered from the cache skips
loading NumPy, libcst and egglog. Workers are started with ``spawn``: the
checker keeps a long-lived thread, and a process forked from one that has it
would wait on a thread that is not there.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from .cache import Cache
from .results import StoredReport, decode, encode


@dataclass(frozen=True)
class Analysis:
    """The fields of ``checker.Options`` (tests keep the two in step), without importing it."""

    cross_check: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Checked:
    report: StoredReport
    source: bytes | None  # the bytes that were checked; None when the file cannot be read
    cached: bool = False


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_paths(
    files: Sequence[str], analysis: Analysis, cache: Cache | None = None, jobs: int = 1
) -> list[Checked]:
    """One ``Checked`` per file, in the order given."""
    sources = [_read(f) for f in files]
    options = asdict(analysis)
    keys = [
        None if cache is None or data is None else cache.key(f, data, options)
        for f, data in zip(files, sources)
    ]
    done: dict[int, Checked] = {}
    for i, key in enumerate(keys):
        if cache is not None and key is not None:
            hit = cache.load(key, files[i])
            if hit is not None:
                done[i] = Checked(hit, sources[i], cached=True)
    todo = [i for i in range(len(files)) if i not in done]
    fresh = _check_all([(files[i], sources[i]) for i in todo], analysis, jobs)
    for i, report in zip(todo, fresh):
        key = keys[i]
        if cache is not None and key is not None:
            cache.store(key, report)
        done[i] = Checked(report, sources[i])
    return [done[i] for i in range(len(files))]


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None  # the checker turns the same failure into an STL001 diagnostic


def _check_all(
    work: list[tuple[str, bytes | None]], analysis: Analysis, jobs: int
) -> list[StoredReport]:
    if jobs <= 1 or len(work) <= 1:
        return [check_one(path, data, analysis) for path, data in work]
    # Largest files first, so that a long proof does not start last and run alone.
    order = sorted(range(len(work)), key=lambda i: -len(work[i][1] or b""))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=context) as pool:
        futures = {i: pool.submit(_check_encoded, *work[i], asdict(analysis)) for i in order}
        # Plain JSON data crosses the process boundary: unpickling the checker's own
        # objects here would import it, and deep terms can exceed pickle's recursion.
        return [decode(futures[i].result()) for i in range(len(work))]


def check_one(path: str, data: bytes | None, analysis: Analysis) -> StoredReport:
    from .checker import Options, check_file, check_source  # heavy: only when proving

    options = Options(**asdict(analysis))
    report = check_file(path, options) if data is None else check_source(data, path, options)
    return StoredReport.of(report)


def _check_encoded(path: str, data: bytes | None, analysis: dict[str, Any]) -> dict[str, Any]:
    return encode(check_one(path, data, Analysis(**analysis)))
