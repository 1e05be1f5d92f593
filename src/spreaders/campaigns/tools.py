"""MCP tools of campaigns: create from a prompt, get, list, launch; plans as resources; a drafting prompt."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from spreaders.campaigns import service as campaigns
from spreaders.campaigns.schemas import CampaignCreated, CampaignRead, CampaignRunReport
from spreaders.mcp.toolkit import (
    READ_ONLY,
    RUNS_WORKFLOWS,
    WRITES,
    ProgressRelay,
    ToolEnv,
    resource_errors,
    result,
    tool,
)

CREATE = """Turn a marketing request in plain language into a campaign: a structured plan (goal, audience,
channels, dates, budget), the workflow templates chosen for it, the credentials still missing and the next
step. Nothing runs yet. Relative dates ("next Friday", "for two weeks") are resolved against `now` in
`timezone`; pass the user's current time when you know it. Then connect what `missing_credentials` lists
(credential.connect) and start it with campaign.launch."""

GET = "Get one campaign: its prompt, plan, chosen workflow templates and status."

LIST = "List this workspace's campaigns, newest first, with their plans and status."

LAUNCH = """Deploy and run a campaign's workflows in n8n, in order, each receiving the plan and the previous
step's output; stops at the first failure. Starts the workspace's n8n first if needed (the first start can
take minutes; progress notifications report each step). Returns every step's execution with its output."""

PLAN_RESOURCE = "A campaign's structured plan (goal, audience, channels, timeline, budget) as JSON."


class CampaignList(BaseModel):
    items: list[CampaignRead]


def draft_request(
    brief: Annotated[str, Field(description="What the user wants, in their own words.")],
) -> str:
    """The text of the `plan_campaign` prompt."""
    return (
        "Help me turn this into a campaign request for Spreaders.\n\n"
        f"My brief: {brief}\n\n"
        "Ask me only for what is missing among: what is promoted, the audience (ages, places, interests), "
        "the channels (e.g. email, Instagram, LinkedIn), the start date and duration, and the budget with "
        "its currency. Then write the request as one or two plain sentences and call "
        "campaign.createFromPrompt with it (pass my current time as `now` if you know it). "
        "Show me the plan and the missing credentials; for each, call credential.connect and give me the "
        "link. Never ask me to paste passwords or API keys into this conversation."
    )


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add the campaign tools, the `campaign://plans/{id}` resource and the `plan_campaign` prompt."""

    @tool(server, name="campaign.createFromPrompt", description=CREATE, annotations=WRITES)
    async def create_from_prompt(
        prompt: Annotated[
            str, Field(description="The marketing request, e.g. 'Promote our spring sale ...'.")
        ],
        timezone: Annotated[
            str, Field(description="IANA time zone of the user, e.g. 'Europe/Paris'.")
        ] = "UTC",
        now: Annotated[
            datetime | None, Field(description="The user's current time (ISO 8601); fixes relative dates.")
        ] = None,
        selfContainedOnly: Annotated[
            bool, Field(description="Only choose templates that need no accounts (useful for a first try).")
        ] = False,
    ) -> Annotated[CallToolResult, CampaignCreated]:
        caller = env.caller("campaigns:write")
        async with caller.app.unit_of_work() as session:
            created = await campaigns.create_from_prompt(
                session,
                principal=caller.principal,
                prompt=prompt,
                now=now,
                tz=timezone,
                self_contained_only=selfContainedOnly,
            )
        workflows = ", ".join(w.name for w in created.workflows) or "no workflows"
        summary = (
            f"Campaign {created.id} '{created.name}' planned with {workflows}. Next: {created.next_step}"
        )
        return result(created, summary)

    @tool(server, name="campaign.get", description=GET, annotations=READ_ONLY)
    async def get(
        campaignId: Annotated[str, Field(description="Campaign id (cmp_...).")],
    ) -> Annotated[CallToolResult, CampaignRead]:
        caller = env.caller("campaigns:read")
        async with caller.app.unit_of_work() as session:
            campaign = await campaigns.get_campaign(
                session, tenant_id=caller.principal.tenant_id, campaign_id=campaignId
            )
        return result(campaign, f"Campaign {campaign.id} '{campaign.name}' is {campaign.status}.")

    @tool(server, name="campaign.list", description=LIST, annotations=READ_ONLY)
    async def list_(
        limit: Annotated[int, Field(ge=1, le=100, description="Maximum number of campaigns.")] = 20,
    ) -> Annotated[CallToolResult, CampaignList]:
        caller = env.caller("campaigns:read")
        async with caller.app.unit_of_work() as session:
            items = await campaigns.list_campaigns(session, tenant_id=caller.principal.tenant_id, limit=limit)
        lines = "; ".join(f"{c.id} '{c.name}' ({c.status})" for c in items)
        return result(
            CampaignList(items=items), f"{len(items)} campaigns: {lines}." if items else "No campaigns yet."
        )

    @tool(server, name="campaign.launch", description=LAUNCH, annotations=RUNS_WORKFLOWS)
    async def launch(
        ctx: Context[Any, Any],
        campaignId: Annotated[str, Field(description="Campaign id (cmp_...).")],
        timeoutSeconds: Annotated[
            float, Field(gt=0, le=3600, description="How long to wait for each workflow to finish.")
        ] = 120,
    ) -> Annotated[CallToolResult, CampaignRunReport]:
        caller = env.caller("campaigns:write")
        relay = ProgressRelay(ctx)
        relay.say(f"launching campaign {campaignId}")
        try:
            report = await campaigns.launch(
                caller.app,
                principal=caller.principal,
                campaign_id=campaignId,
                timeout_s=timeoutSeconds,
                provisioning_progress=relay.say,
                run_progress=relay.run,
            )
            relay.say(f"campaign {campaignId} finished: {report.status}")
        finally:
            await relay.flush()
        done = f"{report.completed}/{report.total} workflows done"
        summary = f"Campaign {report.campaign_id}: {report.status}, {done}."
        if report.failed_step:
            summary += f" Failed at '{report.failed_step}'; see execution.getStatus for the error."
        return result(report, summary)

    @server.resource(
        "campaign://plans/{campaign_id}",
        name="campaign-plan",
        description=PLAN_RESOURCE,
        mime_type="application/json",
    )
    @resource_errors
    async def plan_resource(campaign_id: str) -> str:
        caller = env.caller("campaigns:read")
        async with caller.app.unit_of_work() as session:
            campaign = await campaigns.get_campaign(
                session, tenant_id=caller.principal.tenant_id, campaign_id=campaign_id
            )
        return json.dumps(campaign.plan.model_dump(mode="json"))

    server.prompt(
        name="plan_campaign",
        title="Plan a marketing campaign",
        description="Draft a campaign request with the user, then create it with campaign.createFromPrompt.",
    )(draft_request)
