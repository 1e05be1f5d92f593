"""MCP tools of the monitor: list executions."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from spreaders.mcp.toolkit import READ_ONLY, ToolEnv, result, tool
from spreaders.monitor import service as monitor
from spreaders.monitor.schemas import ExecutionRead

LIST = """List this workspace's workflow executions, newest first, optionally only one campaign's. Each item
has its status, timing, output summary and error; use execution.getStatus to refresh one that is running."""


class ExecutionList(BaseModel):
    items: list[ExecutionRead]


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add execution.list."""

    @tool(server, name="execution.list", description=LIST, annotations=READ_ONLY)
    async def list_(
        campaignId: Annotated[
            str | None, Field(description="Only this campaign's executions (cmp_...).")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="Maximum number of executions.")] = 20,
    ) -> Annotated[CallToolResult, ExecutionList]:
        caller = env.caller("executions:read")
        async with caller.app.unit_of_work() as session:
            items = await monitor.list_executions(
                session, tenant_id=caller.principal.tenant_id, campaign_id=campaignId, limit=limit
            )
        counts: dict[str, int] = {}
        for item in items:
            counts[item.status] = counts.get(item.status, 0) + 1
        by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return result(
            ExecutionList(items=items),
            f"{len(items)} executions ({by_status})." if items else "No executions.",
        )
