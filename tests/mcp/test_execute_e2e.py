"""workflow.execute and campaign.launch through MCP against the real n8n the suite starts."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.mcp.server import build_server

from .helpers import text_of

pytestmark = pytest.mark.e2e


class Progress:
    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))

    def increasing(self) -> bool:
        values = [event[0] for event in self.events]
        return values == sorted(set(values))


async def test_execute_runs_a_starter_template_in_n8n_and_reports_progress(
    app: AppContext, e2e_principal: Principal
) -> None:
    server = build_server(lambda: app, principal_resolver=lambda _app: e2e_principal)
    progress = Progress()

    async with Client(server) as client:
        found = await client.call_tool("workflow.search", {"query": "email"})
        assert found.structured_content is not None
        template_id = found.structured_content["items"][0]["id"]
        result = await client.call_tool(
            "workflow.execute",
            {"workflowId": template_id, "parameters": {"campaign": "Spring sale"}, "timeoutSeconds": 60},
            progress_callback=progress,
        )
        execution: dict[str, Any] | None = result.structured_content
        assert execution is not None
        status = await client.call_tool("execution.getStatus", {"executionId": execution["id"]})

    assert not result.is_error, text_of(result)
    assert execution["status"] == "success"
    assert execution["n8n_execution_id"]
    assert execution["output"]["items"]
    assert execution["n8n_execution_id"] in text_of(result)
    assert status.structured_content is not None
    assert status.structured_content["n8n_execution_id"] == execution["n8n_execution_id"]
    messages = [event[2] or "" for event in progress.events]
    assert messages[0] == f"running workflow {template_id}"
    assert messages[-1] == f"execution {execution['id']} is success"
    assert progress.increasing()


async def test_launch_runs_the_campaign_chain_with_progress_per_step(
    app: AppContext, e2e_principal: Principal
) -> None:
    server = build_server(lambda: app, principal_resolver=lambda _app: e2e_principal)
    progress = Progress()

    async with Client(server) as client:
        created = await client.call_tool(
            "campaign.createFromPrompt",
            {"prompt": "Email and Instagram posts for our spring bike sale", "selfContainedOnly": True},
        )
        assert created.structured_content is not None
        total = len(created.structured_content["workflows"])
        launched = await client.call_tool(
            "campaign.launch",
            {"campaignId": created.structured_content["id"], "timeoutSeconds": 60},
            progress_callback=progress,
        )
        executions = await client.call_tool(
            "execution.list", {"campaignId": created.structured_content["id"]}
        )

    assert not launched.is_error, text_of(launched)
    report = launched.structured_content
    assert report is not None
    assert total >= 1
    assert report["status"] == "success" and report["completed"] == total
    assert all(step["status"] == "success" for step in report["results"])
    step_messages = [m for _, _, m in progress.events if m and m.startswith("running ")]
    assert len(step_messages) == total
    assert progress.increasing()
    assert executions.structured_content is not None
    assert len(executions.structured_content["items"]) == total
