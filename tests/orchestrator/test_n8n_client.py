from __future__ import annotations

import httpx
import pytest

from spreaders.errors import Unavailable
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.provisioning.backends.local import free_port
from spreaders.streaming_http import open_streaming_http


async def test_unreachable_n8n_is_unavailable_with_what_to_do() -> None:
    async with httpx.AsyncClient(timeout=2) as http, open_streaming_http(connect_timeout_s=2) as streams:
        url = f"http://127.0.0.1:{free_port()}"
        client = N8nClient(http, base_url=url, api_key="unused", streams=streams)
        with pytest.raises(Unavailable, match="not reachable") as raised:
            await client.get_workflow("1")
        with pytest.raises(Unavailable, match="not reachable"):
            async with client.stream_webhook("spreaders-x", {}, headers={}):
                pass
    assert raised.value.hint is not None
    assert "spreaders n8n start" in raised.value.hint


async def test_a_run_finishing_between_two_status_queries_is_listed_once() -> None:
    """n8n's API filters executions by one status a query; a run can move on between two of them."""
    seen_as = {"running": [{"id": "7", "status": "running"}], "success": [{"id": "7", "status": "success"}]}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": seen_as.get(request.url.params["status"], [])})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = N8nClient(http, base_url="http://n8n.test", api_key="unused")
        assert await client.list_executions(workflow_id="w") == [{"id": "7", "status": "success"}]
