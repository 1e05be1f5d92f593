"""MCP tools of provisioning: the workspace's n8n instance status, tier and quota usage."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel

from spreaders.mcp.toolkit import READ_ONLY, ToolEnv, result, tool
from spreaders.provisioning import lifecycle, quotas
from spreaders.provisioning.lifecycle import InstanceStatus

STATUS = """Show this workspace's n8n instance: whether it exists, runs and answers, its version, URL,
tier and resources, the last error, and usage against the tier's quotas (active workflows, runs today,
concurrent runs). No instance yet is normal: workflow.execute and campaign.launch create and start it."""


class InstanceStatusResult(BaseModel):
    instance: InstanceStatus | None
    quota: quotas.QuotaReport  # the workspace's, with or without an instance


def _summary(found: InstanceStatus) -> str:
    instance, used, limits = found.instance, found.quota.usage, found.quota.quotas
    state = "running" if found.healthy else f"not running ({instance.status})"
    error = f" Last error: {instance.last_error}" if instance.last_error else ""
    return (
        f"n8n {instance.version} at {instance.base_url} is {state}; tier {instance.tier} "
        f"(heap {instance.heap_mb} MB). Workflows {used.workflows}/{limits.workflows}, runs today "
        f"{used.executions_today}/{limits.executions_per_day}, running {used.concurrent_runs}/"
        f"{limits.concurrent_runs}.{error}"
    )


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add instance.status."""

    @tool(server, name="instance.status", description=STATUS, annotations=READ_ONLY)
    async def status() -> Annotated[CallToolResult, InstanceStatusResult]:
        caller = env.caller("instances:read")
        tenant_id = caller.principal.tenant_id
        found = await lifecycle.list_instances(caller.app, tenant_id=tenant_id)
        if not found:
            report = await quotas.report(caller.app, tenant_id=tenant_id)
            return result(
                InstanceStatusResult(instance=None, quota=report),
                f"No n8n instance yet; running a workflow creates one (tier {report.tier}).",
            )
        return result(InstanceStatusResult(instance=found[0], quota=found[0].quota), _summary(found[0]))
