"""MCP tools of the monitor: list executions and read one execution's per-node logs."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from spreaders.mcp.toolkit import READ_ONLY, ToolEnv, result, tool
from spreaders.monitor import service as monitor
from spreaders.monitor.logs import execution_logs
from spreaders.monitor.schemas import ExecutionLogs, ExecutionRead, ExecutionStatus

LIST = """List this workspace's workflow executions, newest first, optionally filtered by campaign, status
and workflow template. Each item has its status, timing, output summary and error; use
execution.getStatus to refresh one that is running and execution.logs to see what each node did."""

LOGS = """Show what each node of an execution did, read from n8n: per node run its status, how many items
it output, when it started, how long it took and its error. Use it to find where and why a run failed
(execution.getStatus gives the overall status); n8n must be running, and executions it has pruned have no
logs left."""


class ExecutionList(BaseModel):
    items: list[ExecutionRead]


def summarize_list(items: list[ExecutionRead]) -> str:
    """One line: how many executions, by status."""
    if not items:
        return "No executions."
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"{len(items)} executions ({by_status})."


def summarize_logs(logs: ExecutionLogs) -> str:
    """One line: node runs, and the failing node and message if any."""
    text = f"Execution {logs.execution_id} is {logs.status}: {len(logs.nodes)} node runs"
    failed = next((node for node in logs.nodes if node.error), None)
    if failed is not None:
        text += f"; node '{failed.node}' failed: {failed.error}"
    elif logs.error:
        text += f"; error: {logs.error}"
    return text + "."


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add execution.list and execution.logs."""

    @tool(server, name="execution.list", description=LIST, annotations=READ_ONLY)
    async def list_(
        campaignId: Annotated[
            str | None, Field(description="Only this campaign's executions (cmp_...).")
        ] = None,
        status: Annotated[
            ExecutionStatus | None, Field(description="Only executions in this status.")
        ] = None,
        workflowId: Annotated[
            str | None, Field(description="Only runs of this workflow template (id from workflow.search).")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="Maximum number of executions.")] = 20,
    ) -> Annotated[CallToolResult, ExecutionList]:
        caller = env.caller("executions:read")
        async with caller.app.unit_of_work() as session:
            items = await monitor.list_executions(
                session,
                tenant_id=caller.principal.tenant_id,
                campaign_id=campaignId,
                status=status,
                template_id=workflowId,
                limit=limit,
            )
        return result(ExecutionList(items=items), summarize_list(items))

    @tool(server, name="execution.logs", description=LOGS, annotations=READ_ONLY)
    async def logs(
        executionId: Annotated[str, Field(description="Execution id (exe_...).")],
    ) -> Annotated[CallToolResult, ExecutionLogs]:
        caller = env.caller("executions:read")
        found = await execution_logs(caller.app, principal=caller.principal, execution_id=executionId)
        return result(found, summarize_logs(found))
