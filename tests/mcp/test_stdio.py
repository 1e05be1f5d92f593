"""The MCP server as a subprocess over stdio (embedded mode), as an agent's MCP client starts it."""

from __future__ import annotations

import sys

from mcp import Client, StdioServerParameters

from spreaders.bootstrap import AppContext
from spreaders.campaigns import service as campaigns
from spreaders.settings import Settings

from .helpers import ORIGINAL_TOOLS, server_env, text_of


async def test_stdio_server_lists_and_answers_the_original_tools_as_the_local_user(
    app: AppContext, settings: Settings
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "spreaders.cli.main", "mcp"], env=server_env(settings)
    )

    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        search = await client.call_tool("workflow.search", {"query": "post"})
        created = await client.call_tool(
            "campaign.createFromPrompt", {"prompt": "Announce our new bakery on Instagram"}
        )
        link = await client.call_tool("credential.connect", {"platform": "mailchimp"})
        status = await client.call_tool("execution.getStatus", {"executionId": "exe_unknown_stdio"})
        execute = await client.call_tool("workflow.execute", {"workflowId": "wft_unknown_stdio"})

    assert set(ORIGINAL_TOOLS) <= names
    assert not search.is_error and search.structured_content is not None
    assert not created.is_error and created.structured_content is not None
    assert link.structured_content is not None
    assert link.structured_content["url"].startswith(settings.api.base_url() + "/connect/")
    assert status.is_error and "exe_unknown_stdio" in text_of(status)
    assert execute.is_error and "wft_unknown_stdio" in text_of(execute)
    async with app.sessionmaker() as session:
        campaign = await campaigns.get_campaign(
            session, tenant_id=app.local_principal.tenant_id, campaign_id=created.structured_content["id"]
        )
    assert campaign.prompt == "Announce our new bakery on Instagram"
