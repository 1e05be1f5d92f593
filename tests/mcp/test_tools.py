"""The MCP tools through the SDK's in-memory client, acting as a fresh tenant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, TextResourceContents

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.mcp.server import build_server
from spreaders.registry import service as registry

from .helpers import ORIGINAL_TOOLS, text_of

ALL_TOOLS = {
    *ORIGINAL_TOOLS,
    "campaign.get",
    "campaign.list",
    "campaign.launch",
    "campaign.analyze",
    "campaign.suggestImprovements",
    "workflow.get",
    "execution.list",
    "execution.logs",
    "credential.list",
    "credential.delete",
    "instance.status",
}


async def _load_starter(app: AppContext, principal: Principal) -> None:
    async with app.unit_of_work() as session:
        await registry.load_starter(session, tenant_id=principal.tenant_id)


async def test_every_tool_is_listed_with_a_description_an_input_schema_and_an_output_schema(
    mcp_server: MCPServer[Any],
) -> None:
    async with Client(mcp_server) as mcp_client:
        tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}

        assert set(tools) == ALL_TOOLS
        for tool in tools.values():
            assert tool.description and len(tool.description) > 40, tool.name
            assert tool.input_schema["type"] == "object", tool.name
            assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name


async def test_input_arguments_are_camel_case(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}

        assert set(tools["workflow.execute"].input_schema["properties"]) == {
            "workflowId",
            "parameters",
            "waitForCompletion",
            "timeoutSeconds",
            "idempotencyKey",
        }
        assert tools["workflow.execute"].input_schema["required"] == ["workflowId"]
        assert set(tools["campaign.createFromPrompt"].input_schema["properties"]) == {
            "prompt",
            "timezone",
            "now",
            "selfContainedOnly",
        }


async def test_search_returns_structured_templates_and_a_short_summary(
    app: AppContext, principal: Principal, mcp_server: MCPServer[Any]
) -> None:
    async with Client(mcp_server) as mcp_client:
        await _load_starter(app, principal)

        result = await mcp_client.call_tool("workflow.search", {"query": "email", "limit": 5})

        assert not result.is_error
        assert result.structured_content is not None
        items: list[dict[str, Any]] = result.structured_content["items"]
        assert items and "email" in items[0]["name"].lower()
        assert result.structured_content["total"] >= len(items)
        assert items[0]["id"] in text_of(result)
        assert len(text_of(result)) < 1000


async def test_search_only_sees_the_callers_templates(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        result = await mcp_client.call_tool("workflow.search", {})

        assert not result.is_error
        assert result.structured_content == {"items": [], "total": 0, "total_is_estimate": False}
        assert "No template matches" in text_of(result)


async def test_create_from_prompt_plans_the_campaign_and_names_the_next_step(
    app: AppContext, principal: Principal, mcp_server: MCPServer[Any]
) -> None:
    async with Client(mcp_server) as mcp_client:
        await _load_starter(app, principal)

        result = await mcp_client.call_tool(
            "campaign.createFromPrompt",
            {
                "prompt": "Email our subscribers about the spring sale next Monday, budget 500 EUR",
                "timezone": "Europe/Paris",
                "now": "2026-03-04T10:00:00+01:00",
                "selfContainedOnly": True,
            },
        )

        assert not result.is_error, text_of(result)
        created = result.structured_content
        assert created is not None
        assert created["id"].startswith("cmp_")
        assert created["plan"]["budget"]["amount"] == 500
        assert created["plan"]["timeline"]["start"] == "2026-03-09"
        assert created["workflows"] and all(w["self_contained"] for w in created["workflows"])
        assert created["next_step"] and created["next_step"] in text_of(result)


async def test_created_campaign_can_be_read_back_as_a_tool_and_as_a_plan_resource(
    app: AppContext, principal: Principal, mcp_server: MCPServer[Any]
) -> None:
    await _load_starter(app, principal)
    async with Client(mcp_server) as mcp_client:
        created = await mcp_client.call_tool(
            "campaign.createFromPrompt",
            {"prompt": "Email a draft about our webinar", "selfContainedOnly": True},
        )
        assert created.structured_content is not None
        assert created.structured_content["workflows"]
        campaign_id = created.structured_content["id"]

        fetched = await mcp_client.call_tool("campaign.get", {"campaignId": campaign_id})
        listed = await mcp_client.call_tool("campaign.list", {"limit": 5})
        plan = await mcp_client.read_resource(f"campaign://plans/{campaign_id}")

        assert not fetched.is_error, text_of(fetched)
        assert fetched.structured_content is not None
        assert fetched.structured_content["plan"] == created.structured_content["plan"]
        ids = [w["id"] for w in created.structured_content["workflows"]]
        assert [w["id"] for w in fetched.structured_content["workflows"]] == ids
        assert listed.structured_content is not None
        assert [c["id"] for c in listed.structured_content["items"]] == [campaign_id]
        content = plan.contents[0]
        assert isinstance(content, TextResourceContents)
        assert json.loads(content.text) == created.structured_content["plan"]


async def test_template_is_readable_as_a_resource_and_through_workflow_get(
    app: AppContext, principal: Principal, mcp_server: MCPServer[Any]
) -> None:
    async with Client(mcp_server) as mcp_client:
        await _load_starter(app, principal)
        found = await mcp_client.call_tool("workflow.search", {"query": "email"})
        assert found.structured_content is not None
        template_id = found.structured_content["items"][0]["id"]

        got = await mcp_client.call_tool("workflow.get", {"workflowId": template_id})
        resource = await mcp_client.read_resource(f"workflow://templates/{template_id}")

        assert got.structured_content is not None
        assert got.structured_content["workflow"]["nodes"]
        content = resource.contents[0]
        assert isinstance(content, TextResourceContents)
        assert json.loads(content.text)["workflow"] == got.structured_content["workflow"]


async def test_workflow_get_tells_the_agent_the_type_of_each_input_the_template_declares(
    app: AppContext, principal: Principal, mcp_server: MCPServer[Any]
) -> None:
    retry = {
        "name": "Retry with a count",
        "nodes": [
            {"name": "Hook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "position": [0, 0],
             "parameters": {"httpMethod": "POST", "path": "retry"}},
            {"name": "Set tries", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [220, 0],
             "parameters": {"assignments": {"assignments": [
                 {"id": "1", "name": "tries", "value": "={{ $json.body.tries }}", "type": "number"},
                 {"id": "2", "name": "note", "value": "={{ $json.body.note }} (retry)", "type": "string"},
             ]}}},
        ],
        "connections": {"Hook": {"main": [[{"node": "Set tries", "type": "main", "index": 0}]]}},
    }  # fmt: skip
    async with app.unit_of_work() as session:
        template = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=retry)

    async with Client(mcp_server) as mcp_client:
        got = await mcp_client.call_tool("workflow.get", {"workflowId": template.id})

    assert got.structured_content is not None
    assert got.structured_content["required_inputs"] == ["body.note", "body.tries"]
    # n8n fails the run when `tries` is not a number; `note` is only interpolated into a string.
    assert got.structured_content["input_types"] == {"body.tries": "number"}


async def test_unknown_template_resource_is_a_not_found_error_naming_the_id(
    mcp_server: MCPServer[Any],
) -> None:
    async with Client(mcp_server) as mcp_client:
        with pytest.raises(MCPError) as raised:
            await mcp_client.read_resource("workflow://templates/wft_not_here")

    assert raised.value.error.code == INVALID_PARAMS
    assert "wft_not_here" in raised.value.error.message


async def test_connect_gives_a_link_under_the_base_url_and_no_secret(
    app: AppContext, mcp_server: MCPServer[Any]
) -> None:
    async with Client(mcp_server) as mcp_client:
        result = await mcp_client.call_tool("credential.connect", {"platform": "mailchimp"})

        assert not result.is_error, text_of(result)
        link = result.structured_content
        assert link is not None
        assert link["url"].startswith(app.settings.api.base_url() + "/connect/")
        assert link["kind"] == "api_key"
        assert set(link) == {"platform", "kind", "url", "expires_at", "scopes", "instructions", "elicitation"}
        assert link["elicitation"] == "not_supported"
        assert "Never ask" in text_of(result)


async def test_connect_tool_tells_the_agent_never_to_ask_for_secrets(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}

        description = tools["credential.connect"].description or ""
        assert "NEVER ask" in description
        assert "link" in description


async def test_credentials_list_and_unknown_delete_is_a_tool_error(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        listed = await mcp_client.call_tool("credential.list", {})
        deleted = await mcp_client.call_tool("credential.delete", {"credentialId": "cred_missing"})

        assert listed.structured_content == {"items": []}
        assert deleted.is_error
        assert "cred_missing" in text_of(deleted)


async def test_unknown_execution_is_a_tool_error_naming_the_id(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        result = await mcp_client.call_tool("execution.getStatus", {"executionId": "exe_does_not_exist"})

        assert result.is_error
        assert "exe_does_not_exist" in text_of(result)
        assert "Traceback" not in text_of(result)


async def test_empty_prompt_is_a_tool_error_saying_what_to_write(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        result = await mcp_client.call_tool("campaign.createFromPrompt", {"prompt": "   "})

        assert result.is_error
        assert "The prompt is empty. Describe the campaign" in text_of(result)


async def test_unknown_workflow_is_refused_before_n8n_starts(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        result = await mcp_client.call_tool("workflow.execute", {"workflowId": "wft_nope"})

        assert result.is_error
        assert "wft_nope" in text_of(result)
        assert "workflow.search" in text_of(result)


async def test_executions_and_instance_status_are_empty_for_a_new_tenant(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        executions = await mcp_client.call_tool("execution.list", {})
        instance = await mcp_client.call_tool("instance.status", {})

        assert executions.structured_content == {"items": []}
        assert instance.structured_content is not None
        assert instance.structured_content["instance"] is None
        assert "No n8n instance yet" in text_of(instance)


async def test_a_key_without_the_scope_gets_a_tool_error(app: AppContext, principal: Principal) -> None:
    reader = Principal(
        tenant_id=principal.tenant_id, user_id=principal.user_id, scopes=frozenset({"workflows:read"})
    )
    server = build_server(lambda: app, principal_resolver=lambda _app: reader)
    async with Client(server) as client:
        allowed = await client.call_tool("workflow.search", {})
        refused = await client.call_tool("credential.connect", {"platform": "mailchimp"})

    assert not allowed.is_error
    assert refused.is_error
    assert "lacks the 'credentials:write' scope" in text_of(refused)


async def test_an_unexpected_failure_is_a_generic_tool_error_without_details(
    app: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_app: AppContext) -> Principal:
        raise RuntimeError("database password is hunter2")

    server = build_server(lambda: app, principal_resolver=broken)
    async with Client(server) as client:
        result = await client.call_tool("workflow.search", {})

    assert result.is_error
    assert "failed unexpectedly" in text_of(result)
    assert "hunter2" not in text_of(result)
    assert any(r.exc_info and "hunter2" in str(r.exc_info[1]) for r in caplog.records)


async def test_plan_campaign_prompt_drafts_a_request_from_the_brief(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as mcp_client:
        prompt = await mcp_client.get_prompt("plan_campaign", {"brief": "sell more bikes in spring"})

        text = json.dumps(prompt.model_dump(mode="json"))
        assert "sell more bikes in spring" in text
        assert "campaign.createFromPrompt" in text
