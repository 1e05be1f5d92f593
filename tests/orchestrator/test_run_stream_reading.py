"""Reading a run's stream: chunks cut at newlines wherever the network splits them, lines of any size.

A small aiohttp server stands in for n8n's streaming webhook (the stream's shape is n8n's: one JSON
object a line), so the reads split where the test says.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from spreaders.errors import Unavailable, UpstreamError
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.streaming_http import open_streaming_http

BIG = "x" * 300_000  # over the 128 KiB aiohttp's readline accepts


@asynccontextmanager
async def _serve(pieces: list[bytes], *, status: int = 200, cut: bool = False) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=status)
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
            await asyncio.sleep(0.01)  # each piece leaves in its own network write
        if cut:
            assert request.transport is not None
            request.transport.close()  # the process died mid-run
            return response
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/webhook/{path}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _read(base_url: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient() as http, open_streaming_http(connect_timeout_s=5) as streams:
        client = N8nClient(http, base_url=base_url, api_key="unused", streams=streams)
        async with client.stream_webhook("entry", {"name": "x"}, headers={}) as chunks:
            return [chunk async for chunk in chunks]


async def test_chunks_are_cut_at_newlines_whatever_the_network_splits() -> None:
    first = json.dumps({"type": "item", "content": "a"}).encode()
    big = json.dumps({"type": "item", "content": BIG}).encode()
    last = json.dumps({"type": "end"}).encode()
    # Split inside lines, a blank line, a line that is not JSON, no newline after the last.
    pieces = [first[:7], first[7:] + b"\n\n" + big[:1000], big[1000:] + b"\nnot json\n", last]
    async with _serve(pieces) as url:
        chunks = await _read(url)
    assert chunks == [{"type": "item", "content": "a"}, {"type": "item", "content": BIG}, {"type": "end"}]


async def test_a_refused_webhook_says_what_n8n_said() -> None:
    refusal = json.dumps({"message": "Workflow could not be started!"}).encode()
    async with _serve([refusal], status=500) as url:
        with pytest.raises(UpstreamError, match="answered 500: Workflow could not be started!"):
            await _read(url)


async def test_a_stream_cut_midway_is_unavailable_with_what_to_do() -> None:
    async with _serve([b'{"type": "begin"}\n', b'{"type": "item", "cont'], cut=True) as url:
        with pytest.raises(Unavailable, match="dropped the run's stream") as raised:
            await _read(url)
    assert raised.value.hint is not None and "n8n status" in raised.value.hint
