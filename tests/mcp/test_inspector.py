"""The official MCP Inspector CLI (a real, non-Python client) against both transports."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.registry import service as registry
from spreaders.settings import Settings

from .helpers import ORIGINAL_TOOLS, create_key, server_env

ADD_BEARER = Path(__file__).with_name("add_bearer.cjs")


async def _inspect(inspector: Path, args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(inspector),
        "--cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_inspector_lists_the_tools_over_stdio(inspector: Path, settings: Settings) -> None:
    code, out, err = await _inspect(
        inspector,
        [sys.executable, "-m", "spreaders.cli.main", "mcp", "--method", "tools/list"],
        server_env(settings),
    )

    assert code == 0, err
    tools: list[dict[str, Any]] = json.loads(out)["tools"]
    assert set(ORIGINAL_TOOLS) <= {tool["name"] for tool in tools}
    assert all("outputSchema" in tool for tool in tools)


async def test_inspector_calls_search_over_http_with_an_api_key(
    inspector: Path, app: AppContext, principal: Principal, http_url: str, settings: Settings
) -> None:
    async with app.unit_of_work() as session:
        await registry.load_starter(session, tenant_id=principal.tenant_id)
    key = await create_key(app, principal)
    env = {**server_env(settings), "NODE_OPTIONS": f"--require {ADD_BEARER}", "SPREADERS_MCP_BEARER": key}
    args = [http_url, "--transport", "http", "--method", "tools/call", "--tool-name", "workflow.search"]

    code, out, err = await _inspect(inspector, [*args, "--tool-arg", "query=post"], env)

    assert code == 0, err
    answer = json.loads(out)
    assert answer.get("isError") is not True
    names = [item["name"] for item in answer["structuredContent"]["items"]]
    assert "Draft social posts for a campaign" in names


async def test_inspector_without_a_key_is_refused_over_http(
    inspector: Path, http_url: str, settings: Settings
) -> None:
    args = [http_url, "--transport", "http", "--method", "tools/list"]

    code, out, err = await _inspect(inspector, args, server_env(settings))

    assert code != 0
    assert "tools" not in out
    assert "401" in err or "nauthorized" in err or "invalid_token" in err


async def test_inspector_calls_each_original_tool_over_stdio(inspector: Path, settings: Settings) -> None:
    server = [sys.executable, "-m", "spreaders.cli.main", "mcp", "--method", "tools/call", "--tool-name"]
    calls = {
        "workflow.search": ["query=email"],
        "campaign.createFromPrompt": ["prompt=Promote our yoga retreat on Instagram in May"],
        "credential.connect": ["platform=sendgrid"],
        "execution.getStatus": ["executionId=exe_inspector_unknown"],
        "workflow.execute": ["workflowId=wft_inspector_unknown"],
    }
    answers: dict[str, tuple[int, str, str]] = {}
    for tool_name, tool_args in calls.items():
        args = [*server, tool_name, *[part for arg in tool_args for part in ("--tool-arg", arg)]]
        answers[tool_name] = await _inspect(inspector, args, server_env(settings))

    for tool_name in ("workflow.search", "campaign.createFromPrompt", "credential.connect"):
        code, out, err = answers[tool_name]
        assert code == 0, err
        assert json.loads(out)["structuredContent"], tool_name
    assert "/connect/" in json.loads(answers["credential.connect"][1])["structuredContent"]["url"]
    for tool_name, unknown in (
        ("execution.getStatus", "exe_inspector_unknown"),
        ("workflow.execute", "wft_inspector_unknown"),
    ):
        code, out, err = answers[tool_name]
        assert code == 0, err  # Inspector 0.15 exits 0 and prints the tool error
        answer = json.loads(out)
        assert answer["isError"] is True
        assert unknown in answer["content"][0]["text"]


@pytest.mark.e2e
async def test_inspector_runs_a_workflow_and_reads_its_status_over_http(
    inspector: Path, app: AppContext, e2e_principal: Principal, http_url: str, settings: Settings
) -> None:
    key = await create_key(app, e2e_principal)
    env = {**server_env(settings), "NODE_OPTIONS": f"--require {ADD_BEARER}", "SPREADERS_MCP_BEARER": key}

    async def call(tool_name: str, *tool_args: str) -> dict[str, Any]:
        args = [http_url, "--transport", "http", "--method", "tools/call", "--tool-name", tool_name]
        code, out, err = await _inspect(
            inspector, [*args, *[part for arg in tool_args for part in ("--tool-arg", arg)]], env
        )
        assert code == 0, err
        answer: dict[str, Any] = json.loads(out)["structuredContent"]
        return answer

    found = await call("workflow.search", "query=email campaign draft")
    created = await call("campaign.createFromPrompt", "prompt=Email our list about the autumn sale")
    link = await call("credential.connect", "platform=mailchimp")
    run = await call("workflow.execute", f"workflowId={found['items'][0]['id']}")
    status = await call("execution.getStatus", f"executionId={run['id']}")

    assert created["plan"]["platforms"] == ["email"]
    assert link["url"].startswith(settings.api.base_url())
    assert run["status"] == "success" and run["n8n_execution_id"]
    assert status["n8n_execution_id"] == run["n8n_execution_id"]
