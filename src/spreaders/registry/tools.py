"""MCP tools and resources of the workflow registry: search, get, and templates as resources."""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from spreaders.mcp.toolkit import READ_ONLY, ToolEnv, resource_errors, result, tool
from spreaders.registry import details
from spreaders.registry.schemas import TemplatePage, TemplateRead, TemplateSearch
from spreaders.registry.search import search_templates
from spreaders.vault import service as vault

SEARCH = """Search the workflow templates of this workspace (n8n workflows, ready to run).

All filters are optional and combine with AND; results come best match first. Use the returned `id` with
workflow.get (full definition, credentials it needs) or workflow.execute (run it). `self_contained`
templates need no accounts and run immediately; others need credentials (see credential.connect)."""

GET = """Get one workflow template by id: its n8n workflow JSON, the credentials it needs (n8n type and
platform), the input fields it reads from its trigger data (`required_inputs`: pass them as
workflow.execute parameters; `input_types` gives the JSON type of those the template declares one for),
its validation issues, estimated run time, version and change summary, usage, success count and this
workspace's rating. Use it before workflow.execute."""


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add workflow.search, workflow.get and the `workflow://templates/{id}` resource."""

    @tool(server, name="workflow.search", description=SEARCH, annotations=READ_ONLY)
    async def search(
        query: Annotated[
            str, Field(description="Keywords matched against name, description and nodes.")
        ] = "",
        platforms: Annotated[
            tuple[str, ...],
            Field(description="Platforms the workflow must use, e.g. ['mailchimp', 'slack']."),
        ] = (),
        capabilities: Annotated[
            tuple[str, ...],
            Field(description="Capabilities it must offer, e.g. ['email_campaign', 'scheduling']."),
        ] = (),
        category: Annotated[str | None, Field(description="Exact category name.")] = None,
        triggerType: Annotated[
            str | None,
            Field(description="manual, webhook, schedule, form, app, chat, execute_workflow or none."),
        ] = None,
        connectedOnly: Annotated[
            bool, Field(description="Only templates whose credentials this workspace has connected.")
        ] = False,
        limit: Annotated[int, Field(ge=1, le=100, description="Maximum number of results.")] = 10,
    ) -> Annotated[CallToolResult, TemplatePage]:
        caller = env.caller("workflows:read")
        query_model = TemplateSearch(
            query=query,
            platforms=list(platforms),
            capabilities=list(capabilities),
            category=category,
            trigger_type=triggerType,
            connected_only=connectedOnly,
            limit=limit,
        )
        tenant_id = caller.principal.tenant_id
        async with caller.app.unit_of_work() as session:
            connected = (
                await vault.connected_credential_types(session, tenant_id=tenant_id)
                if connectedOnly
                else None
            )
            page = await search_templates(
                session, tenant_id=tenant_id, query=query_model, connected_credential_types=connected
            )
        if not page.items:
            return result(page, "No template matches; try fewer words or filters.")
        names = "; ".join(f"{t.name} ({t.id})" for t in page.items)
        return result(page, f"{page.total_text()} templates match, best first: {names}.")

    @tool(server, name="workflow.get", description=GET, annotations=READ_ONLY)
    async def get(
        workflowId: Annotated[str, Field(description="Template id from workflow.search.")],
    ) -> Annotated[CallToolResult, TemplateRead]:
        caller = env.caller("workflows:read")
        async with caller.app.unit_of_work() as session:
            template = await details.read_template(
                session, tenant_id=caller.principal.tenant_id, template_id=workflowId
            )
        needs = ", ".join(template.credential_types) or "no credentials"
        return result(
            template, f"{template.name} (v{template.version}, {template.node_count} nodes) needs {needs}."
        )

    @server.resource(
        "workflow://templates/{template_id}",
        name="workflow-template",
        description="A workflow template of this workspace as JSON (same fields as workflow.get).",
        mime_type="application/json",
    )
    @resource_errors
    async def template_resource(template_id: str) -> str:
        caller = env.caller("workflows:read")
        async with caller.app.unit_of_work() as session:
            template = await details.read_template(
                session, tenant_id=caller.principal.tenant_id, template_id=template_id
            )
        return json.dumps(template.model_dump(mode="json"))
