"""execution.list and execution.logs over REST and MCP, on real runs in the suite's n8n."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from mcp import Client

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.api.app import create_app
from spreaders.bootstrap import AppContext
from spreaders.mcp.server import build_server
from spreaders.orchestrator import service as orchestrator
from spreaders.settings import MonitorSettings, Settings

from .helpers import ECHO_JS, FAIL_JS, code_workflow, import_template

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Runs:
    good_template: str
    bad_template: str
    good: list[str]
    bad: str


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def runs(app: AppContext, e2e_principal: Principal) -> Runs:
    """Two successful runs of one template and one failed run of another."""
    good_template = await import_template(app, e2e_principal, code_workflow("echo", ECHO_JS))
    bad_template = await import_template(app, e2e_principal, code_workflow("fail", FAIL_JS))
    good = [
        (
            await orchestrator.execute(
                app, principal=e2e_principal, template_id=good_template, parameters={"n": n}
            )
        ).id
        for n in (1, 2)
    ]
    bad = await orchestrator.execute(app, principal=e2e_principal, template_id=bad_template)
    assert bad.status == "error"
    return Runs(good_template=good_template, bad_template=bad_template, good=good, bad=bad.id)


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: AppContext, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    api = create_app(settings, monitor=MonitorSettings(enabled=False))
    api.state.ctx = app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as http:
        yield http


async def _auth(app: AppContext, principal: Principal) -> dict[str, str]:
    async with app.unit_of_work() as session:
        key = (await accounts.create_api_key(session, principal=principal, label="monitor test")).key
    return {"Authorization": f"Bearer {key}"}


async def test_rest_lists_executions_filtered_by_template_and_status(
    app: AppContext, client: httpx.AsyncClient, e2e_principal: Principal, runs: Runs
) -> None:
    auth = await _auth(app, e2e_principal)

    by_template = await client.get(
        "/api/v1/executions", params={"template_id": runs.good_template}, headers=auth
    )
    failed = await client.get(
        "/api/v1/executions", params={"status": "error", "template_id": runs.bad_template}, headers=auth
    )
    newest = await client.get(
        "/api/v1/executions", params={"template_id": runs.good_template, "limit": 1}, headers=auth
    )

    assert by_template.status_code == 200, by_template.text
    assert [item["id"] for item in by_template.json()] == runs.good[::-1]  # newest first
    assert [item["id"] for item in failed.json()] == [runs.bad]
    assert [item["id"] for item in newest.json()] == [runs.good[-1]]


async def test_rest_refuses_an_unknown_status_filter(
    app: AppContext, client: httpx.AsyncClient, e2e_principal: Principal
) -> None:
    response = await client.get(
        "/api/v1/executions", params={"status": "exploded"}, headers=await _auth(app, e2e_principal)
    )
    assert response.status_code == 422


async def test_rest_logs_show_each_node_with_items_timing_and_the_error(
    app: AppContext, client: httpx.AsyncClient, e2e_principal: Principal, runs: Runs
) -> None:
    auth = await _auth(app, e2e_principal)

    good = await client.get(f"/api/v1/executions/{runs.good[0]}/logs", headers=auth)
    bad = await client.get(f"/api/v1/executions/{runs.bad}/logs", headers=auth)

    assert good.status_code == 200, good.text
    nodes = {node["node"]: node for node in good.json()["nodes"]}
    assert set(nodes) == {"When clicking Execute", "Work"}  # the platform's entry nodes are left out
    assert nodes["Work"]["status"] == "success"
    assert nodes["Work"]["items_out"] == 1
    assert nodes["Work"]["started_at"] is not None
    assert nodes["Work"]["duration_ms"] >= 0
    assert nodes["Work"]["error"] == ""
    failed = {node["node"]: node for node in bad.json()["nodes"]}
    assert failed["Work"]["status"] == "error"
    assert "on strike" in failed["Work"]["error"]
    assert bad.json()["status"] == "error"


async def test_rest_logs_of_another_tenants_execution_are_not_found(
    app: AppContext, client: httpx.AsyncClient, principal: Principal, runs: Runs
) -> None:
    response = await client.get(f"/api/v1/executions/{runs.bad}/logs", headers=await _auth(app, principal))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def _as(app: AppContext, principal: Principal) -> Any:
    return build_server(lambda: app, principal_resolver=lambda _app: principal)


async def test_mcp_lists_filtered_executions_and_reads_logs(
    app: AppContext, e2e_principal: Principal, runs: Runs
) -> None:
    async with Client(_as(app, e2e_principal)) as mcp_client:
        listed = await mcp_client.call_tool(
            "execution.list", {"workflowId": runs.bad_template, "status": "error", "limit": 5}
        )
        logs = await mcp_client.call_tool("execution.logs", {"executionId": runs.bad})

    assert not listed.is_error
    assert listed.structured_content is not None
    assert [item["id"] for item in listed.structured_content["items"]] == [runs.bad]
    assert not logs.is_error
    assert logs.structured_content is not None
    assert [node["node"] for node in logs.structured_content["nodes"]][-1] == "Work"
    summary = " ".join(getattr(block, "text", "") for block in logs.content)
    assert "node 'Work' failed" in summary and "on strike" in summary


async def test_mcp_logs_of_an_unknown_execution_is_a_tool_error_naming_it(
    app: AppContext, e2e_principal: Principal
) -> None:
    async with Client(_as(app, e2e_principal)) as mcp_client:
        result = await mcp_client.call_tool("execution.logs", {"executionId": "exe_nope"})

    assert result.is_error
    assert "exe_nope" in " ".join(getattr(block, "text", "") for block in result.content)
