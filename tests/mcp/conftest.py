"""MCP fixtures: the server acting as a fresh tenant, the HTTP app on a loopback port, the Inspector CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from mcp.server.mcpserver import MCPServer

from spreaders.accounts.schemas import Principal
from spreaders.api.app import create_app
from spreaders.bootstrap import AppContext
from spreaders.mcp.server import build_server
from spreaders.settings import Settings

from .helpers import INSPECTOR_VERSION, node_tools_dir


@pytest.fixture
def mcp_server(app: AppContext, principal: Principal) -> MCPServer[Any]:
    """The MCP server with every call acting as the fresh `principal` (connect with `Client(mcp_server)`).

    A client cannot live in an async fixture: its task group must close in the task that opened it.
    """
    return build_server(lambda: app, principal_resolver=lambda _app: principal)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def http_url(settings: Settings) -> AsyncIterator[str]:
    """`create_app(settings)` served by uvicorn on a free loopback port; yields the MCP endpoint URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, ws="none", lifespan="on", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            pytest.fail(f"uvicorn stopped before it was ready: {task.exception()!r}")
        if time.monotonic() > deadline:
            pytest.fail("uvicorn was not ready within 30 s")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=30)


@pytest.fixture(scope="session")
def inspector() -> Path:
    """The MCP Inspector CLI, installed once into the user's cache (outside the repository)."""
    prefix = node_tools_dir()
    package = prefix / "node_modules" / "@modelcontextprotocol" / "inspector" / "package.json"
    binary = prefix / "node_modules" / ".bin" / "mcp-inspector"
    if (
        package.is_file()
        and json.loads(package.read_text())["version"] == INSPECTOR_VERSION
        and binary.exists()
    ):
        return binary
    prefix.mkdir(parents=True, exist_ok=True)
    command = [
        "npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
        f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"Cannot install the MCP Inspector with {' '.join(command)}: {exc}")
    if done.returncode != 0 or not binary.exists():
        pytest.fail(f"Installing the MCP Inspector failed ({done.returncode}): {done.stderr[-2000:]}")
    return binary
