"""The language server's checks run in a worker process, so that they can be stopped.

A check is plain Python (and egglog's Rust) that has no point at which to
give up. A thread running one cannot be stopped, and the interpreter waits
for it before it exits; a process can be killed. So the server sends each
check to a child process (``python -m stile_static.report.check_worker``),
one JSON line in, one JSON line out, and kills it when the answer would be
for a text nobody reads any more: a newer version of the document arrived,
or the editor sent ``shutdown`` or ``exit``. The next check starts a fresh
worker as soon as it is scheduled, so that loading NumPy and egglog overlaps
the typing pause the server waits for.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any

from ..check.results import StoredReport, decode, encode
from ..core.diagnostics import Span


@dataclass(frozen=True)
class Outcome:
    """A check's report, and the hover text of each tile by its source span."""

    report: StoredReport
    hovers: dict[Span, str]


class WorkerError(Exception):
    """The check failed inside the worker (an analyzer bug) or the worker died."""


class CheckWorker:
    """One child process that checks one text at a time (checks queue up).

    The process is an ordinary ``subprocess.Popen``, so that it can start
    before the server's event loop does; each exchange runs on a daemon
    thread, which never holds up the interpreter's exit, and ends as soon as
    the process is killed (its pipe closes).
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._greeted = False  # whether the process's "ready" line was read
        self._lock: asyncio.Lock | None = None
        self.closed = False  # after close(), nothing is started again

    def prestart(self) -> None:
        """Start the process now if none is running."""
        if self._process is None and not self.closed:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            self._greeted = False

    def wait_ready(self) -> None:
        """Block until the worker has loaded the checker (or died trying)."""
        self.prestart()
        if self._process is not None and not self._greeted:
            assert self._process.stdout is not None
            self._process.stdout.readline()
            self._greeted = True

    async def check(self, text: str, path: str) -> Outcome:
        """Check ``text``; cancelling this call kills the worker."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            self.prestart()
            process = self._process
            if process is None:
                raise asyncio.CancelledError  # closed: the server is going away
            loop = asyncio.get_running_loop()
            answer: asyncio.Future[bytes] = loop.create_future()
            request = (json.dumps({"text": text, "path": path}) + "\n").encode()
            greet, self._greeted = not self._greeted, True
            threading.Thread(
                target=_exchange, args=(process, greet, request, loop, answer), daemon=True
            ).start()
            try:
                line = await answer
            except asyncio.CancelledError:
                # Killed, not restarted here: the next check starts one (a newer
                # version's check calls prestart first), and a server that is
                # going away must not start processes while its loop winds down.
                self.stop()
                raise
            except (OSError, ValueError) as error:  # a broken pipe: the worker is gone
                self.stop()
                raise WorkerError(f"the check worker stopped: {error!r}") from error
            if not line:
                self.stop()
                raise WorkerError("the check worker stopped without answering")
            return _outcome(json.loads(line))

    def stop(self) -> None:
        """Kill the worker without waiting for it: its check is abandoned."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            threading.Thread(target=process.wait, daemon=True).start()  # reap it

    def close(self) -> None:
        self.closed = True
        self.stop()


def _exchange(
    process: subprocess.Popen[bytes],
    greet: bool,
    request: bytes,
    loop: asyncio.AbstractEventLoop,
    answer: asyncio.Future[bytes],
) -> None:
    """Send one request and read its answer (on a daemon thread); first the
    worker's "ready" line when nobody has read it yet."""
    assert process.stdin is not None and process.stdout is not None
    result: bytes | BaseException
    try:
        if greet:
            process.stdout.readline()
        process.stdin.write(request)
        process.stdin.flush()
        result = process.stdout.readline()
    except (OSError, ValueError) as error:
        result = error
    try:
        loop.call_soon_threadsafe(_settle, answer, result)
    except RuntimeError:  # the loop is closed: nobody waits for this answer
        pass


def _settle(answer: asyncio.Future[bytes], result: bytes | BaseException) -> None:
    if answer.done():
        return
    if isinstance(result, BaseException):
        answer.set_exception(result)
    else:
        answer.set_result(result)


def _outcome(data: dict[str, Any]) -> Outcome:
    if not data["ok"]:
        raise WorkerError(data["error"])
    hovers = {Span(*span): text for span, text in data["hovers"]}
    return Outcome(decode(data["report"]), hovers)


def answer(text: str, path: str) -> dict[str, Any]:
    """What the worker sends back for one request."""
    from ..check.checker import check_source  # heavy: NumPy, libcst, egglog

    try:
        report = check_source(text, path)
        hovers = [
            [[s.line, s.column, s.end_line, s.end_column], tile.hover()]
            for s, tile in report.tile_types.items()
        ]
        return {"ok": True, "report": encode(StoredReport.of(report)), "hovers": hovers}
    except Exception as error:  # an analyzer bug: the server shows it on the file
        details = "".join(traceback.format_exception(error))
        return {"ok": False, "error": f"{error!r}\n{details}"}


def serve() -> None:
    """The worker's loop: one request per line on stdin, one answer per line on stdout."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout = sys.stderr  # nothing the checker might print can garble the answers
    from ..check import checker  # load NumPy, libcst and egglog before the first request

    del checker
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        request = json.loads(line)
        answers.write(json.dumps(answer(request["text"], request["path"])) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
