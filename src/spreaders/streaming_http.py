"""The HTTP client that carries runs: n8n's streamed webhook answers, read as they arrive.

A run is the platform's hot path, and reading its stream with httpx cost 3.0 ms of CPU per short run
against 1.4 ms with aiohttp (same n8n, same stream of six chunks; docs/execution.md), most of the
platform's overhead on a run. Runs go through aiohttp; n8n's REST API, where requests are few and
retried, keeps the httpx client and its test transports.

Observers (the metrics) hear of each answered request when its answer starts, as httpx's response
hooks do: method, URL path, seconds to the answer's headers, status.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp

RequestObserver = Callable[[str, str, float, int], None]
# Below the keep-alive of n8n's server (Node's default, 5 s), so a run is never sent on a pooled
# connection n8n is closing: it would fail, and runs are not resent (one could start twice).
KEEPALIVE_S = 4.0


@dataclass
class StreamingHttp:
    session: aiohttp.ClientSession
    observers: list[RequestObserver] = field(default_factory=list)


def _tracing(observers: list[RequestObserver]) -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()

    def notify(method: str, path: str, began: float, status: int) -> None:
        for observer in list(observers):
            observer(method, path, time.perf_counter() - began, status)

    async def started(_: aiohttp.ClientSession, context: SimpleNamespace, __: object) -> None:
        context.began = time.perf_counter()

    async def answered(
        _: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        notify(params.method, params.url.path, context.began, params.response.status)

    trace.on_request_start.append(started)
    trace.on_request_end.append(answered)
    return trace


@asynccontextmanager
async def open_streaming_http(*, connect_timeout_s: float) -> AsyncIterator[StreamingHttp]:
    """One pooled aiohttp session for the process (it must be opened inside the running loop)."""
    observers: list[RequestObserver] = []
    # No total or read timeout: a run may stream for minutes; the caller bounds the whole exchange.
    timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s, sock_read=None)
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_S)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=connector, trace_configs=[_tracing(observers)]
    ) as session:
        yield StreamingHttp(session=session, observers=observers)
