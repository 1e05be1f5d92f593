"""Reading a run's stream and its wait entry's answer from n8n's webhooks.

The stream: chunks cut at newlines wherever the network splits them, lines of any size. The answer:
whatever status n8n gives, and a connection dropped after the request told apart from one never made.
A small aiohttp server stands in for n8n's webhooks (the stream's shape is n8n's: one JSON object a
line), so the reads split and the connection drops where the test says.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from spreaders.errors import NotFound, Unavailable, UpstreamError
from spreaders.orchestrator.n8n_client import N8nClient, RunDropped, WebhookAnswer
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


async def _call(base_url: str) -> WebhookAnswer:
    async with httpx.AsyncClient() as http, open_streaming_http(connect_timeout_s=5) as streams:
        client = N8nClient(http, base_url=base_url, api_key="unused", streams=streams)
        return await client.call_webhook("wait", {"name": "x"}, headers={})


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
        with pytest.raises(RunDropped, match="dropped the run's request") as raised:
            await _read(url)
    assert raised.value.hint is not None and "n8n status" in raised.value.hint


async def test_the_wait_entrys_answer_is_returned_whatever_its_status() -> None:
    summary = {"spreaders_result": True, "executionId": "12", "ends": 1}
    async with _serve([json.dumps(summary).encode()]) as url:
        assert await _call(url) == WebhookAnswer(200, summary)
    async with _serve([b'{"message": "Error in workflow"}'], status=500) as url:
        assert await _call(url) == WebhookAnswer(500, {"message": "Error in workflow"})
    async with _serve([b"Workflow was started"]) as url:
        assert await _call(url) == WebhookAnswer(200, None)
    async with _serve([b'{"message": "The requested webhook is not registered."}'], status=404) as url:
        with pytest.raises(NotFound, match="entry webhook"):
            await _call(url)


async def test_an_answer_cut_midway_is_a_dropped_run_and_no_server_is_not() -> None:
    async with _serve([b'{"spreaders_result": tr'], cut=True) as url:
        with pytest.raises(RunDropped):
            await _call(url)
    async with _serve([]) as url:
        pass  # the port is free again: nothing listens there
    with pytest.raises(Unavailable, match="not reachable") as raised:
        await _call(url)
    assert not isinstance(raised.value, RunDropped)  # the run was never sent: safe to report refused
