"""The MCP server over Streamable HTTP inside the FastAPI app, behind Spreaders API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.campaigns import service as campaigns
from spreaders.registry import service as registry

from .helpers import ORIGINAL_TOOLS, create_key, text_of

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@asynccontextmanager
async def _client(url: str, key: str) -> AsyncIterator[Client]:
    """The SDK's Streamable HTTP client sending the key; the test owns (and closes) the HTTP client."""
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def test_http_answers_the_original_tools_as_the_owner_of_the_api_key(
    app: AppContext, principal: Principal, http_url: str
) -> None:
    async with app.unit_of_work() as session:
        await registry.load_starter(session, tenant_id=principal.tenant_id)
    key = await create_key(app, principal)

    async with _client(http_url, key) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        search = await client.call_tool("workflow.search", {"query": "email"})
        created = await client.call_tool(
            "campaign.createFromPrompt", {"prompt": "Email our clients about the fair"}
        )
        link = await client.call_tool("credential.connect", {"platform": "mailchimp"})
        status = await client.call_tool("execution.getStatus", {"executionId": "exe_unknown_http"})
        execute = await client.call_tool("workflow.execute", {"workflowId": "wft_unknown_http"})

    assert set(ORIGINAL_TOOLS) <= names
    assert search.structured_content is not None
    assert [t["name"] for t in search.structured_content["items"]][:1] == ["Build an email campaign draft"]
    assert created.structured_content is not None
    assert link.structured_content is not None and "/connect/" in link.structured_content["url"]
    assert status.is_error and "exe_unknown_http" in text_of(status)
    assert execute.is_error and "wft_unknown_http" in text_of(execute)
    async with app.sessionmaker() as session:
        campaign = await campaigns.get_campaign(
            session, tenant_id=principal.tenant_id, campaign_id=created.structured_content["id"]
        )
    assert campaign.prompt == "Email our clients about the fair"


async def test_key_scopes_limit_what_the_http_caller_may_do(
    app: AppContext, principal: Principal, http_url: str
) -> None:
    key = await create_key(app, principal, scopes="workflows:read")

    async with _client(http_url, key) as client:
        allowed = await client.call_tool("workflow.search", {})
        refused = await client.call_tool("credential.connect", {"platform": "mailchimp"})

    assert not allowed.is_error
    assert refused.is_error and "lacks the 'credentials:write' scope" in text_of(refused)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer spr_not_a_real_key", "Bearer not-even-a-spreaders-key", "Basic dXNlcjpwYXNz"],
)
async def test_request_without_a_valid_key_is_refused_with_401(
    http_url: str, authorization: str | None
) -> None:
    headers = HEADERS if authorization is None else {**HEADERS, "Authorization": authorization}

    async with httpx.AsyncClient() as http:
        response = await http.post(http_url, json=INITIALIZE, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_token"


async def test_rest_api_still_answers_beside_mcp(http_url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(http_url.removesuffix("/mcp") + "/api/v1/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_a_foreign_host_header_is_refused_even_with_a_valid_key(
    app: AppContext, principal: Principal, http_url: str
) -> None:
    key = await create_key(app, principal)
    headers = {**HEADERS, "Authorization": f"Bearer {key}", "Host": "attacker.example"}

    async with httpx.AsyncClient() as http:
        response = await http.post(http_url, json=INITIALIZE, headers=headers)

    assert response.status_code == 421
