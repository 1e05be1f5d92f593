"""MCP tools of provisioning: the workspace's n8n instance status."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel

from spreaders.mcp.toolkit import READ_ONLY, ToolEnv, result, tool
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.schemas import InstanceRead

STATUS = """Show this workspace's n8n instance: whether it exists and runs, its version and URL, and the
last error. No instance yet is normal: workflow.execute and campaign.launch create and start it."""


class InstanceStatus(BaseModel):
    instance: InstanceRead | None


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add instance.status."""

    @tool(server, name="instance.status", description=STATUS, annotations=READ_ONLY)
    async def status() -> Annotated[CallToolResult, InstanceStatus]:
        caller = env.caller("instances:read")
        instance = await provisioning.status(caller.app, tenant_id=caller.principal.tenant_id)
        if instance is None:
            return result(
                InstanceStatus(instance=None), "No n8n instance yet; running a workflow creates one."
            )
        state = "running" if instance.running else f"not running ({instance.status})"
        error = f" Last error: {instance.last_error}" if instance.last_error else ""
        summary = f"n8n {instance.version} at {instance.base_url} is {state}.{error}"
        return result(InstanceStatus(instance=instance), summary)
