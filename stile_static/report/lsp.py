"""Language server over stdio: diagnostics while typing, tile types on hover.

Needs the ``lsp`` extra (pygls, lsprotocol). Every check reads the editor's
buffer, not the file on disk, and runs in a worker process (check_worker.py),
so the server keeps answering (hovers, cancellations) while a kernel is being
proved, and a check nobody waits for any more is killed, not waited for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import PositionCodec

from ..check.config import (
    CodeSelection,
    ConfigError,
    PerFileIgnores,
    load_config,
    selection_of,
)
from ..check.suppressions import apply_suppressions, find_suppressions
from ..core.diagnostics import Diagnostic, Span
from .check_worker import CheckWorker, Outcome, WorkerError
from .version import version

SOURCE = "stile-static"
DEBOUNCE_S = 0.3  # typing pauses shorter than this do not start a check

SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
    "information": types.DiagnosticSeverity.Information,
    "note": types.DiagnosticSeverity.Information,
}


@dataclass(frozen=True)
class Checked:
    """One check of one version of a document, kept for hovers."""

    version: int | None
    lines: tuple[str, ...]  # the text that was checked: spans index into it
    outcome: Outcome


class StileLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(SOURCE, version())
        self.debounce_s = DEBOUNCE_S
        self.checked: dict[str, Checked] = {}
        # Each check request of a URI gets the next generation; only the newest
        # generation may publish, so a slow check of an old version never
        # overwrites the diagnostics of a newer one.
        self._generation: dict[str, int] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}
        self.shutdown_requested = False
        self.worker = CheckWorker()

    def schedule_check(self, uri: str, delay: float = 0.0) -> None:
        """Check ``uri`` after ``delay`` seconds; a newer request replaces this one."""
        generation = self._generation.get(uri, 0) + 1
        self._generation[uri] = generation
        self.cancel_check(uri)
        task = asyncio.get_running_loop().create_task(self._check(uri, generation, delay))
        self._pending[uri] = task
        task.add_done_callback(lambda done: self._forget(uri, done))

    def cancel_check(self, uri: str) -> None:
        # Cancelling a task that waits for the worker kills the worker: the
        # check of an older version is abandoned, never waited for.
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()

    def close(self, uri: str) -> None:
        self.cancel_check(uri)
        self._generation.pop(uri, None)
        self.checked.pop(uri, None)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    def cancel_all(self) -> None:
        for uri in list(self._pending):
            self.cancel_check(uri)

    def stop(self) -> None:
        """The editor is done: drop every check and the worker, without waiting."""
        self.cancel_all()
        self.worker.close()

    def _forget(self, uri: str, done: asyncio.Task[None]) -> None:
        if self._pending.get(uri) is done:
            del self._pending[uri]

    def _is_current(self, uri: str, generation: int) -> bool:
        return self._generation.get(uri) == generation

    async def _check(self, uri: str, generation: int, delay: float) -> None:
        self.worker.prestart()  # loads while the debounce waits
        if delay > 0:
            await asyncio.sleep(delay)
        document = self.workspace.get_text_document(uri)
        text, version = document.source, document.version
        path = document.path or uri
        try:
            outcome = await self.worker.check(text, path)
        except WorkerError as error:  # an analyzer bug: say so, never show a clean file
            if self._is_current(uri, generation):
                self._report_internal_error(uri, version, str(error))
            return
        if not self._is_current(uri, generation):
            return
        # the project's select/ignore and `# stile: ignore` comments hold in the
        # editor as they do on the command line
        selection = self._selection(path)
        selected = [d for d in outcome.report.diagnostics if d.code in selection]
        kept = apply_suppressions(selected, find_suppressions(text), path).kept
        outcome = Outcome(replace(outcome.report, diagnostics=tuple(kept)), outcome.hovers)
        checked = Checked(version, tuple(text.splitlines(True)), outcome)
        self.checked[uri] = checked
        self.publish(uri, checked)

    def _selection(self, path: str) -> CodeSelection:
        """The codes the nearest ``[tool.stile-static]`` reports in ``path`` (all, if it
        is broken): its select and ignore, less its per-file-ignores for ``path``."""
        try:
            config = load_config(cwd=Path(path).parent)
            return selection_of(config).without(PerFileIgnores.of(config).codes_for(path))
        except ConfigError as error:
            self.window_log_message(
                types.LogMessageParams(type=types.MessageType.Warning, message=str(error))
            )
            return CodeSelection()

    def publish(self, uri: str, checked: Checked) -> None:
        codec = self.workspace.position_codec
        diagnostics = [
            to_lsp(d, uri, checked.lines, codec) for d in checked.outcome.report.diagnostics
        ]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, diagnostics=diagnostics, version=checked.version
            )
        )

    def _report_internal_error(self, uri: str, version: int | None, details: str) -> None:
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Error, message=details)
        )
        start = types.Position(line=0, character=0)
        diagnostic = types.Diagnostic(
            range=types.Range(start=start, end=start),
            message="internal error in stile-static (please report it): "
            + details.split("\n", 1)[0],
            severity=types.DiagnosticSeverity.Error,
            source=SOURCE,
        )
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[diagnostic], version=version)
        )

    def hover(self, uri: str, position: types.Position) -> types.Hover | None:
        # The last completed check answers, even while a newer edit waits for
        # its debounce: positions then refer to the text that was checked.
        checked = self.checked.get(uri)
        if checked is None:
            return None
        codec = self.workspace.position_codec
        point = codec.position_from_client_units(checked.lines, position)
        hovers = checked.outcome.hovers
        span = innermost_span(hovers, point.line + 1, point.character + 1)
        if span is None:
            return None
        text = hovers[span]
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=f"```text\n{text}\n```"
            ),
            range=to_range(span, checked.lines, codec),
        )


def innermost_span(spans: Iterable[Span], line: int, column: int) -> Span | None:
    """The smallest span containing the 1-based (line, column), or None."""
    here = (line, column)
    containing = [s for s in spans if (s.line, s.column) <= here < (s.end_line, s.end_column)]
    if not containing:
        return None
    return min(containing, key=lambda s: (s.end_line - s.line, s.end_column - s.column))


def to_position(
    line: int, column: int, lines: Sequence[str], codec: PositionCodec
) -> types.Position:
    """A 1-based line and code-point column as an LSP position in the client's units."""
    row, col = max(line - 1, 0), max(column - 1, 0)
    if row < len(lines):
        # Columns count code points; the client may count UTF-16 units (astral
        # characters are two). A column past the line's end keeps its excess.
        prefix = lines[row][:col]
        col = codec.client_num_units(prefix) + (col - len(prefix))
    return types.Position(line=row, character=col)


def to_range(span: Span, lines: Sequence[str], codec: PositionCodec) -> types.Range:
    return types.Range(
        start=to_position(span.line, span.column, lines, codec),
        end=to_position(span.end_line, span.end_column, lines, codec),
    )


def message_of(d: Diagnostic) -> str:
    """The headline, then the notes (expected beside found) and the help line."""
    parts = [d.message, *(f"note: {note}" for note in d.notes)]
    if d.help:
        parts.append(f"help: {d.help}")
    return "\n".join(parts)


def to_lsp(d: Diagnostic, uri: str, lines: Sequence[str], codec: PositionCodec) -> types.Diagnostic:
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(uri=uri, range=to_range(span, lines, codec)), message=text
        )
        for span, text in d.related
    ]
    return types.Diagnostic(
        range=to_range(d.span, lines, codec),
        message=message_of(d),
        severity=SEVERITIES.get(d.severity, types.DiagnosticSeverity.Error),
        code=d.code,
        source=SOURCE,
        related_information=related or None,
    )


def build_server() -> StileLanguageServer:
    server = StileLanguageServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: StileLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule_check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: StileLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule_check(params.text_document.uri, delay=ls.debounce_s)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: StileLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule_check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: StileLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: StileLanguageServer, params: types.HoverParams) -> types.Hover | None:
        return ls.hover(params.text_document.uri, params.position)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: StileLanguageServer, params: None) -> None:
        ls.shutdown_requested = True
        ls.stop()

    @server.feature(types.EXIT)
    def exit_(ls: StileLanguageServer, params: None) -> None:
        ls.stop()  # also without a shutdown request first

    return server


def serve() -> int:
    """Run the server on stdin/stdout until the client says exit (or goes away)."""
    server = build_server()
    # NumPy, libcst and egglog load in the worker while pygls loads here; the
    # editor's requests wait in the pipe until both are ready, so the first
    # check is answered as fast as the ones after it.
    server.worker.wait_ready()
    try:
        server.start_io()
    finally:
        server.worker.close()  # the client went away: never leave a check running
    # LSP: exit status 0 only after an orderly shutdown request.
    return 0 if server.shutdown_requested else 1
