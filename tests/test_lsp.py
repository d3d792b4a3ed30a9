"""The language server, end to end: a real LSP client drives `stile-static lsp` over stdio."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pygls.protocol as pygls_protocol  # noqa: E402 - the test extra installs these
import pytest
import pytest_lsp  # noqa: E402
import pytest_lsp.client as lsp_client  # noqa: E402
from lsprotocol import types  # noqa: E402

from .fixture_expectations import FIXTURES

asyncio_test = pytest.mark.asyncio(loop_scope="module")  # the loop of the module's server

SERVER = [sys.executable, "-m", "stile_static", "lsp"]
ROOT = FIXTURES.parent
WAIT_S = 20.0  # generous: a loaded CI machine must not turn a slow check into a failure


class KernelClient(pytest_lsp.LanguageClient):
    """Keeps every publishDiagnostics notification (with its version), in order."""

    def __init__(self) -> None:
        super().__init__(converter_factory=pygls_protocol.default_converter)
        self.published: list[Any] = []
        self.arrived = asyncio.Event()

    async def diagnostics_of(self, uri: str, version: int) -> list[Any]:
        """Wait for the diagnostics published for ``version`` of ``uri``."""

        async def wait() -> list[Any]:
            while True:
                for params in self.published:
                    if params.uri == uri and params.version == version:
                        return list(params.diagnostics)
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), WAIT_S)

    async def publish_count(self, uri: str, count: int) -> None:
        """Wait until ``uri`` has had ``count`` publishDiagnostics notifications."""
        while sum(p.uri == uri for p in self.published) < count:
            self.arrived.clear()
            await self.arrived.wait()

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        uri = path.resolve().as_uri()
        document = types.TextDocumentItem(
            uri=uri,
            language_id="python",
            version=version,
            text=path.read_text() if text is None else text,
        )
        self.text_document_did_open(types.DidOpenTextDocumentParams(text_document=document))
        return uri

    def replace(self, uri: str, text: str, version: int) -> None:
        """Send the whole new text as one change, as many editors do."""
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )


def record_diagnostics(client: KernelClient, params: Any) -> None:
    client.published.append(params)
    client.arrived.set()


def make_client() -> KernelClient:
    client = KernelClient()
    features = dict(lsp_client.DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record_diagnostics
    lsp_client.register_lsp_features(client, features)
    return client


CONFIG = pytest_lsp.ClientServerConfig(server_command=SERVER, client_factory=make_client)


async def initialize(client: KernelClient) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=ROOT.as_uri(),
        )
    )


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: KernelClient) -> AsyncIterator[None]:
    """One server for the module's tests: starting Python, NumPy and egglog costs ~0.7 s."""
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG, loop_scope="module")
async def fresh_client(lsp_client: KernelClient) -> AsyncIterator[None]:
    """A server that has checked nothing yet, for the time to the first diagnostics."""
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


def as_tuple(range_: Any) -> tuple[int, int, int, int]:
    return (range_.start.line, range_.start.character, range_.end.line, range_.end.character)


@asyncio_test
async def test_correct_kernel_has_no_diagnostics(client: KernelClient) -> None:
    uri = client.open(FIXTURES / "seed_matmul.py")
    assert await client.diagnostics_of(uri, 1) == []


@asyncio_test
async def test_file_without_stile_import_is_not_checked(client: KernelClient) -> None:
    uri = client.open(ROOT / "notes.py", text="while True:\n    print('not a kernel')\n")
    assert await client.diagnostics_of(uri, 1) == []


@asyncio_test
async def test_wrong_kernel_points_at_the_assign_and_the_spec(client: KernelClient) -> None:
    uri = client.open(FIXTURES / "seed_matmul_scaled_twice.py")
    (diagnostic,) = await client.diagnostics_of(uri, 1)
    assert diagnostic.code == "STL031"
    assert diagnostic.source == "stile-static"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    # `c.assign(c_accum)`: line 19, columns 9..26 in the file (1-based, end exclusive)
    assert as_tuple(diagnostic.range) == (18, 8, 18, 25)
    lines = diagnostic.message.splitlines()
    assert lines[0].startswith("the tile does not equal result c")
    assert "note: kernel: 4 * sum[N 0:10](a[M, N] * b[N, K])" in lines
    assert "note: spec:   6 * sum[N 0:10](a[M, N] * b[N, K])" in lines
    (related,) = diagnostic.related_information
    assert related.message == "spec"
    assert related.location.uri == uri
    # the string literal "6 * (M N, N K -> M K)" on line 8
    assert as_tuple(related.location.range) == (7, 20, 7, 43)


@asyncio_test
async def test_suppression_comments_hold_in_the_editor(client: KernelClient) -> None:
    wrong = (FIXTURES / "seed_matmul_scaled_twice.py").read_text()
    silenced = wrong.replace("# E: STL031", "# stile: ignore[STL031]")
    assert silenced != wrong
    uri = client.open(ROOT / "silenced_kernel.py", text=silenced)
    assert await client.diagnostics_of(uri, 1) == []


@asyncio_test
async def test_the_projects_configuration_holds_in_the_editor(
    client: KernelClient, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.stile-static]\nignore = ["STL031"]\n')
    wrong = (FIXTURES / "seed_matmul_scaled_twice.py").read_text()
    uri = client.open(tmp_path / "kernel.py", text=wrong)
    assert await client.diagnostics_of(uri, 1) == []


@asyncio_test
async def test_per_file_ignores_hold_in_the_editor(client: KernelClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.stile-static]\nper-file-ignores = {"wip" = ["STL031"]}\n'
    )
    (tmp_path / "wip").mkdir()
    wrong = (FIXTURES / "seed_matmul_scaled_twice.py").read_text()
    ignored = client.open(tmp_path / "wip" / "kernel.py", text=wrong)
    elsewhere = client.open(tmp_path / "kernel.py", text=wrong)
    assert await client.diagnostics_of(ignored, 1) == []
    assert [d.code for d in await client.diagnostics_of(elsewhere, 1)] == ["STL031"]


@asyncio_test
async def test_an_ignored_file_has_no_diagnostics_in_the_editor(client: KernelClient) -> None:
    wrong = (FIXTURES / "seed_matmul_scaled_twice.py").read_text()
    uri = client.open(ROOT / "ignored_kernel.py", text="# stile: ignore-file\n" + wrong)
    assert await client.diagnostics_of(uri, 1) == []


@asyncio_test
async def test_file_that_does_not_parse(client: KernelClient) -> None:
    uri = client.open(FIXTURES / "syntax_error.py")
    (diagnostic,) = await client.diagnostics_of(uri, 1)
    assert diagnostic.code == "STL001"
    assert diagnostic.range.start.line == 3  # `M = dim("M", 4  # E: STL001`
    assert "syntax error" in diagnostic.message


@asyncio_test
async def test_edit_from_wrong_to_right_clears_the_error(client: KernelClient) -> None:
    wrong = (FIXTURES / "seed_matmul_scaled_twice.py").read_text()
    uri = client.open(ROOT / "edited_kernel.py", text=wrong)
    assert [d.code for d in await client.diagnostics_of(uri, 1)] == ["STL031"]
    half_fixed = wrong.replace("tile_a * 2", "tile_a * 3", 1).replace("* 2,", "* 1,", 1)
    right = wrong.replace("tile_a * 2", "tile_a * 3", 1)
    # Two quick edits: the debounce drops the check of version 2.
    client.replace(uri, half_fixed, version=2)
    client.replace(uri, right, version=3)
    assert await client.diagnostics_of(uri, 3) == []
    assert [p.version for p in client.published if p.uri == uri] == [1, 3]


@asyncio_test
async def test_save_checks_at_once(client: KernelClient) -> None:
    uri = client.open(FIXTURES / "row_sum_last_tile_skipped.py")
    assert [d.code for d in await client.diagnostics_of(uri, 1)] == ["STL032"]
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await asyncio.wait_for(client.publish_count(uri, 2), WAIT_S)
    (latest,) = [p for p in client.published if p.uri == uri][1:]
    assert [d.code for d in latest.diagnostics] == ["STL032"]


async def hover(client: KernelClient, uri: str, line: int, character: int) -> Any:
    return await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )


@asyncio_test
async def test_hover_shows_the_tile_type(client: KernelClient) -> None:
    uri = client.open(FIXTURES / "seed_matmul.py", version=7)
    await client.diagnostics_of(uri, 7)
    # line 16: `            tile_a = a.slice(M, im, im + tile_size).slice(N, in_, ...)`
    tile_a = await hover(client, uri, 15, 14)
    assert tile_a.contents.kind == types.MarkupKind.Markdown
    assert "DimType: M[im:im + 5] N[" in tile_a.contents.value
    assert "ExprType: a[M, N]" in tile_a.contents.value
    assert as_tuple(tile_a.range) == (15, 12, 15, 18)
    # the input `a` inside that line: the innermost span, not the whole call chain
    a = await hover(client, uri, 15, 21)
    assert "DimType: M[0:10] N[0:10]" in a.contents.value
    assert as_tuple(a.range) == (15, 21, 15, 22)
    # the einsum call on line 21 (the cursor on `einsum`)
    einsum = await hover(client, uri, 20, 30)
    assert "ExprType: sum[N" in einsum.contents.value
    assert await hover(client, uri, 10, 0) is None  # a blank line


@asyncio_test
async def test_first_diagnostics_arrive_within_a_second(fresh_client: KernelClient) -> None:
    start = time.perf_counter()
    uri = fresh_client.open(FIXTURES / "row_sum.py")
    assert await fresh_client.diagnostics_of(uri, 1) == []
    elapsed = time.perf_counter() - start
    print(f"didOpen -> first publishDiagnostics (row_sum.py, fresh server): {elapsed:.3f} s")
    assert elapsed < 1.0


def test_columns_are_converted_to_the_clients_units() -> None:
    from pygls.workspace import PositionCodec as codec

    from stile_static.report import lsp

    lines = ['x = "\U0001f60b" + y\n']  # an astral character: two UTF-16 units
    utf16, utf32 = codec(types.PositionEncodingKind.Utf16), codec(types.PositionEncodingKind.Utf32)
    assert lsp.to_position(1, 12, lines, utf16).character == 12  # `y`: code-point column 11
    assert lsp.to_position(1, 12, lines, utf32).character == 11
    assert lsp.to_position(1, 40, lines, utf16).character == 40  # past the end: kept


def test_innermost_span_wins() -> None:
    from stile_static.core.diagnostics import Span
    from stile_static.report import lsp

    call, name, other = Span(3, 5, 3, 30), Span(3, 5, 3, 8), Span(4, 1, 4, 2)
    assert lsp.innermost_span([call, name, other], 3, 6) == name
    assert lsp.innermost_span([call, name, other], 3, 8) == call  # end is exclusive
    assert lsp.innermost_span([call, name, other], 5, 1) is None


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def test_server_exits_cleanly_after_shutdown() -> None:
    """shutdown then exit: status 0, nothing on stderr, even with a check just started."""
    document = {
        "uri": (FIXTURES / "seed_matmul.py").as_uri(),
        "languageId": "python",
        "version": 1,
        "text": (FIXTURES / "seed_matmul.py").read_text(),
    }
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    proc = subprocess.run(
        SERVER,
        input=b"".join(frame(m) for m in messages),
        capture_output=True,
        timeout=WAIT_S,
        check=False,
    )
    assert proc.stderr.decode() == ""
    assert proc.returncode == 0
    assert b'"id": 2' in proc.stdout or b'"id":2' in proc.stdout


def slow_kernel(key_tiles: int = 16384) -> str:
    """Flash attention with its rescale bug and ``key_tiles`` key tiles, unrolled: the
    failed proof of this file takes over ten seconds (the check grows linearly with
    the key tiles, so it takes this many to be slow)."""
    text = (FIXTURES / "flash_attention_wrong_rescale.py").read_text()
    size = str(32 * key_tiles)
    slow = text.replace('dim("nctx", 128)', f'dim("nctx", {size})')
    slow = slow.replace("range(0, 128, TK)", f"range(0, {size}, TK)")
    assert slow.count(size) == 2
    return slow


@asyncio_test
async def test_a_newer_version_cancels_the_check_of_the_older(client: KernelClient) -> None:
    uri = client.open(ROOT / "slow_kernel.py", text=slow_kernel())
    await asyncio.sleep(0.5)  # the slow check is under way
    client.replace(uri, (FIXTURES / "row_sum.py").read_text(), version=2)
    # answered while the first check would still run for many seconds
    assert await client.diagnostics_of(uri, 2) == []
    assert [p.version for p in client.published if p.uri == uri] == [2]


def test_server_exits_promptly_with_a_slow_check_in_flight(tmp_path: Path) -> None:
    """exit does not wait for a check nobody will read: the worker is killed."""
    kernel = tmp_path / "slow_kernel.py"
    kernel.write_text(slow_kernel())
    document = {
        "uri": kernel.as_uri(),
        "languageId": "python",
        "version": 1,
        "text": kernel.read_text(),
    }
    opening = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}},
    ]
    closing = [
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    proc = subprocess.Popen(
        SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None
    proc.stdin.write(b"".join(frame(m) for m in opening))
    proc.stdin.flush()
    time.sleep(2.0)  # the worker has loaded and is proving the slow kernel
    start = time.perf_counter()
    proc.stdin.write(b"".join(frame(m) for m in closing))
    proc.stdin.close()
    try:
        proc.wait(timeout=WAIT_S)
    finally:
        proc.kill()
    elapsed = time.perf_counter() - start
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    print(f"exit with a slow check in flight -> process gone: {elapsed:.3f} s")
    assert err.decode() == ""
    assert proc.returncode == 0
    assert b"publishDiagnostics" not in out  # the slow check never finished
    assert elapsed < 5.0


@asyncio_test
async def test_hover_on_triton_values_names_the_run_and_covers_index_blocks(
    client: KernelClient,
) -> None:
    """Each kernel line runs once per program of every case: the hover says which run
    it shows, and index vectors, masks and pointers show their lanes."""
    uri = client.open(FIXTURES / "triton" / "softmax.py", version=3)
    await client.diagnostics_of(uri, 3)
    # line 23: `    col_offsets = tl.arange(0, BLOCK_SIZE)`; the last case is M=3 N=5
    cols = (await hover(client, uri, 22, 6)).contents.value
    assert "int32 block of 8 lanes: [0 to 7]" in cols and "consecutive: 0 + lane" in cols
    assert "Shown for case M=3 N=5, program (2, 0, 0)" in cols
    # line 25: `    mask = col_offsets < n_cols`: 5 of the 8 lanes of a 5-wide row
    mask = (await hover(client, uri, 24, 5)).contents.value
    assert "mask block of 8 lanes: 5 of 8 lanes admitted (lanes 0 to 4)" in mask
    # line 24: `    input_ptrs = row_start_ptr + col_offsets`: row 2's offsets
    ptrs = (await hover(client, uri, 23, 6)).contents.value
    assert "pointer into x, offsets int block of 8 lanes: x.stride(0) * [2] + [0 to 7]" in ptrs


@asyncio_test
async def test_hover_on_a_pallas_block_names_its_case_and_grid_step(client: KernelClient) -> None:
    uri = client.open(FIXTURES / "pallas" / "add.py", version=4)
    await client.diagnostics_of(uri, 4)
    # line 12: `    o_ref[...] = x + y`, the `x`: the last case's last grid step
    x = (await hover(client, uri, 11, 17)).contents.value
    assert "DimType: N[192:256]" in x
    assert "Shown for case N=256 block=64, grid step (3)" in x
