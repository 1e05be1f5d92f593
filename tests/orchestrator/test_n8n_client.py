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
