"""instance.status through the SDK's in-memory client: tier, resources and usage against the quotas,
with and without an instance (a stopped instance record: no n8n needed)."""

from __future__ import annotations

from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.provisioning.tiers import TIERS

from ..monitor.helpers import seed_execution, seed_stopped_instance
from .helpers import text_of


async def test_status_without_an_instance_still_reports_the_tier_and_quotas(
    mcp_server: MCPServer[Any],
) -> None:
    async with Client(mcp_server) as mcp_client:
        result = await mcp_client.call_tool("instance.status", {})

    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["instance"] is None
    assert result.structured_content["quota"]["tier"] == "free"
    assert result.structured_content["quota"]["usage"]["workflows"] == 0
    assert "No n8n instance yet" in text_of(result)


async def test_status_reports_tier_resources_and_usage_against_the_quotas(
    app: AppContext, principal: Principal, mcp_server: MCPServer[Any]
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    await seed_execution(app, deployment, status="running")

    async with Client(mcp_server) as mcp_client:
        result = await mcp_client.call_tool("instance.status", {})

    assert not result.is_error and result.structured_content is not None
    found = result.structured_content["instance"]
    assert found["instance"]["id"] == deployment.instance_id and found["healthy"] is False
    assert found["resources"] == TIERS["free"].resources.model_dump()
    assert found["quota"]["usage"] == {"workflows": 1, "executions_today": 1, "concurrent_runs": 1}
    limits = TIERS["free"].quotas
    summary = text_of(result)
    assert "tier free" in summary and f"running 1/{limits.concurrent_runs}" in summary
    assert f"Workflows 1/{limits.workflows}" in summary
