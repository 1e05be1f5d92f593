"""Planning over MCP with the client's help: its model through sampling, its user through elicitation.

The SDK's in-memory `Client` plays the MCP client; its sampling and elicitation callbacks stand in for
the client's model and its user. "auto" negotiates the 2026-07-28 protocol (requests ride
`InputRequiredResult` rounds), "legacy" the handshake-era one (requests sent mid-call).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import (
    INVALID_REQUEST,
    CallToolResult,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequestFormParams,
    ElicitRequestParams,
    ElicitResult,
    ErrorData,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from .helpers import text_of

NOW = "2026-03-05T10:00:00+01:00"
COMPLETE = "launch our spring sneaker drop on Instagram next Monday, $2k budget, for runners in Berlin"
VAGUE = "promote our spring sale"
MODEL_PLAN = {
    "name": "Spring sneaker drop",
    "campaign_type": "product_launch",
    "platforms": ["Instagram", "TikTok"],
    "content_requirements": ["images", "reels"],
    "timeline": {"start": "2026-03-09", "duration_days": 14},
}
MODEL_SUGGESTIONS = {
    "suggestions": [
        {"kind": "channels", "text": "Add TikTok for runners under 30.", "field": "platforms"},
        {"kind": "timing", "text": "Tease the drop from 2026-03-06.", "field": "timeline.start"},
        {"kind": "audience", "text": "Target Berlin running clubs.", "field": "target_audience"},
    ]
}


class Model:
    """The client's model: answers every sampling request with `answer`, remembering the requests."""

    def __init__(self, answer: str | ErrorData) -> None:
        self.answer = answer
        self.requests: list[CreateMessageRequestParams] = []

    async def __call__(
        self, context: ClientRequestContext, params: CreateMessageRequestParams
    ) -> CreateMessageResult | ErrorData:
        self.requests.append(params)
        if isinstance(self.answer, ErrorData):
            return self.answer
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text=self.answer), model="stand-in"
        )


class User:
    """The client's user: answers each form with `action` and `content`, remembering the forms."""

    def __init__(
        self, action: Literal["accept", "decline", "cancel"], content: dict[str, str] | None = None
    ) -> None:
        self.action = action
        self.content = content
        self.forms: list[ElicitRequestParams] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.forms.append(params)
        return ElicitResult(action=self.action, content=self.content)


def _plan(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    plan: dict[str, Any] = result.structured_content["plan"]
    return plan


async def _create(client: Client, prompt: str = COMPLETE) -> dict[str, Any]:
    arguments = {"prompt": prompt, "now": NOW, "timezone": "Europe/Berlin"}
    return _plan(await client.call_tool("campaign.createFromPrompt", arguments))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_client_model_refines_the_plan_when_the_client_supports_sampling(
    mcp_server: MCPServer[Any], mode: str
) -> None:
    model = Model(json.dumps(MODEL_PLAN))
    async with Client(mcp_server, mode=mode, sampling_callback=model) as client:
        plan = await _create(client)

    assert plan["provenance"]["backend"] == "sampling"
    assert plan["platforms"] == ["instagram", "tiktok"]
    assert plan["timeline"]["end"] == "2026-03-22"
    [asked] = model.requests
    assert asked.system_prompt is not None and "campaign planner" in asked.system_prompt
    assert isinstance(asked.messages[0].content, TextContent)
    assert COMPLETE in asked.messages[0].content.text
    assert "2026-03-05 (Thursday), time zone Europe/Berlin" in asked.messages[0].content.text


async def test_unusable_sampled_answer_falls_back_to_the_offline_plan(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server, sampling_callback=Model("I cannot help with marketing.")) as client:
        plan = await _create(client)

    assert plan["provenance"]["backend"] == "offline"
    assert any(
        n.startswith("sampling failed: the answer is not valid JSON") for n in plan["provenance"]["notes"]
    )
    assert plan["platforms"] == ["instagram"]


async def test_schema_violating_sampled_answer_falls_back_to_the_offline_plan(
    mcp_server: MCPServer[Any],
) -> None:
    answer = json.dumps(MODEL_PLAN | {"platforms": "Instagram"})
    async with Client(mcp_server, sampling_callback=Model(answer)) as client:
        plan = await _create(client)

    assert plan["provenance"]["backend"] == "offline"
    assert any("does not match the plan schema" in n for n in plan["provenance"]["notes"])


async def test_handshake_era_client_refusing_sampling_gets_the_offline_plan(
    mcp_server: MCPServer[Any],
) -> None:
    refusal = Model(ErrorData(code=INVALID_REQUEST, message="the user rejected sampling"))
    async with Client(mcp_server, mode="legacy", sampling_callback=refusal) as client:
        plan = await _create(client)

    assert plan["provenance"]["backend"] == "offline"
    assert any(
        n.startswith("sampling failed: the client did not sample") for n in plan["provenance"]["notes"]
    )


async def test_client_without_sampling_gets_the_offline_plan_and_is_never_asked(
    mcp_server: MCPServer[Any],
) -> None:
    async with Client(mcp_server) as client:
        plan = await _create(client)

    assert plan["provenance"]["backend"] == "offline"
    assert not any("sampling" in n for n in plan["provenance"]["notes"])


async def test_analyze_stores_the_plan_as_a_draft_readable_as_a_resource(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as client:
        result = await client.call_tool(
            "campaign.analyze", {"prompt": COMPLETE, "now": NOW, "timezone": "Europe/Berlin"}
        )
        plan = _plan(result)
        assert result.structured_content is not None
        uri = result.structured_content["resource_uri"]
        stored = await client.read_resource(uri)
        listed = await client.call_tool("campaign.list", {})
        launched = await client.call_tool(
            "campaign.launch", {"campaignId": result.structured_content["campaign_id"]}
        )

    [link] = [block for block in result.content if isinstance(block, ResourceLink)]
    assert link.uri == uri == f"campaign://plans/{result.structured_content['campaign_id']}"
    [contents] = stored.contents
    assert isinstance(contents, TextResourceContents) and json.loads(contents.text) == plan
    assert plan["timeline"]["start"] == "2026-03-09"
    assert listed.structured_content is not None
    assert [c["status"] for c in listed.structured_content["items"]] == ["draft"]
    assert launched.is_error and "draft" in text_of(launched)


async def test_analyze_uses_the_client_model_too(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server, sampling_callback=Model(json.dumps(MODEL_PLAN))) as client:
        result = await client.call_tool("campaign.analyze", {"prompt": COMPLETE, "now": NOW})

    assert _plan(result)["provenance"]["backend"] == "sampling"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_user_answers_to_the_missing_facts_complete_the_plan(
    mcp_server: MCPServer[Any], mode: str
) -> None:
    user = User("accept", {"platforms": "Instagram and email", "timeline": "next Monday for two weeks"})
    async with Client(mcp_server, mode=mode, elicitation_callback=user) as client:
        plan = await _create(client, VAGUE)

    [form] = user.forms
    assert isinstance(form, ElicitRequestFormParams)
    assert set(form.requested_schema["properties"]) == {"platforms", "timeline", "budget", "target_audience"}
    assert form.requested_schema["properties"]["timeline"]["description"].startswith("When should")
    assert plan["platforms"] == ["instagram", "email"]
    assert (plan["timeline"]["start"], plan["timeline"]["end"]) == ("2026-03-09", "2026-03-22")
    assert {m["field"] for m in plan["missing"]} == {"budget", "target_audience"}
    assert "completed with the user's answers for platforms, timeline" in plan["provenance"]["notes"]


async def test_declined_questions_leave_the_facts_missing(mcp_server: MCPServer[Any]) -> None:
    user = User("decline")
    async with Client(mcp_server, elicitation_callback=user) as client:
        plan = await _create(client, VAGUE)

    assert len(user.forms) == 1
    assert plan["platforms"] == []
    assert {m["field"] for m in plan["missing"]} == {"platforms", "timeline", "budget", "target_audience"}


async def test_complete_prompt_asks_the_user_nothing(mcp_server: MCPServer[Any]) -> None:
    user = User("accept", {})
    async with Client(mcp_server, elicitation_callback=user) as client:
        plan = await _create(client)

    assert user.forms == []
    assert plan["platforms"] == ["instagram"]


async def test_answers_and_the_client_model_work_together(mcp_server: MCPServer[Any]) -> None:
    user = User("accept", {"platforms": "TikTok"})
    model = Model(json.dumps(MODEL_PLAN))
    async with Client(mcp_server, elicitation_callback=user, sampling_callback=model) as client:
        plan = await _create(client, VAGUE)

    [asked] = model.requests
    assert isinstance(asked.messages[0].content, TextContent)
    assert "Channels: TikTok." in asked.messages[0].content.text
    assert plan["provenance"]["backend"] == "sampling"


async def test_suggestions_for_a_stored_plan_come_from_the_offline_rules(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as client:
        analyzed = await client.call_tool("campaign.analyze", {"prompt": VAGUE, "now": NOW})
        assert analyzed.structured_content is not None
        campaign_id = analyzed.structured_content["campaign_id"]
        result = await client.call_tool("campaign.suggestImprovements", {"campaignId": campaign_id})

    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    suggestions = result.structured_content["suggestions"]
    assert 3 <= len(suggestions) <= 5
    assert [s["kind"] for s in suggestions[:3]] == ["channels", "timing", "budget"]
    assert result.structured_content["provenance"]["backend"] == "offline"
    assert "1. Choose the channels" in text_of(result)


async def test_suggestions_come_from_the_client_model_when_it_samples(mcp_server: MCPServer[Any]) -> None:
    model = Model(json.dumps(MODEL_SUGGESTIONS))
    async with Client(mcp_server, sampling_callback=model) as client:
        result = await client.call_tool("campaign.suggestImprovements", {"prompt": COMPLETE, "now": NOW})

    assert result.structured_content is not None, text_of(result)
    assert result.structured_content["provenance"]["backend"] == "sampling"
    assert [s["kind"] for s in result.structured_content["suggestions"]] == ["channels", "timing", "audience"]
    [asked] = model.requests
    assert asked.system_prompt is not None and "3 to 5" in asked.system_prompt


async def test_suggestions_need_exactly_one_of_a_campaign_and_a_prompt(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as client:
        neither = await client.call_tool("campaign.suggestImprovements", {})
        unknown = await client.call_tool("campaign.suggestImprovements", {"campaignId": "cmp_missing"})

    assert neither.is_error and "exactly one of campaignId and prompt" in text_of(neither)
    assert unknown.is_error and "No campaign 'cmp_missing'" in text_of(unknown)


async def test_planning_tools_expose_only_their_own_arguments(mcp_server: MCPServer[Any]) -> None:
    async with Client(mcp_server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert set(tools["campaign.analyze"].input_schema["properties"]) == {"prompt", "timezone", "now"}
    assert set(tools["campaign.suggestImprovements"].input_schema["properties"]) == {
        "campaignId",
        "prompt",
        "timezone",
        "now",
    }
    assert tools["campaign.analyze"].output_schema is not None
