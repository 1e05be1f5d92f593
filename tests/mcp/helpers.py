"""Helpers shared by the MCP tests."""

from __future__ import annotations

import os
from pathlib import Path

from mcp_types import CallToolResult, TextContent

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.settings import Settings

INSPECTOR_VERSION = "0.15.0"
ORIGINAL_TOOLS = (
    "campaign.createFromPrompt",
    "workflow.search",
    "workflow.execute",
    "credential.connect",
    "execution.getStatus",
)


def text_of(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, TextContent))


def node_tools_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "spreaders" / "node-tools"


def server_env(settings: Settings) -> dict[str, str]:
    """Environment for a child process that must open the test database."""
    return {
        **os.environ,
        "SPREADERS_DATA_DIR": str(settings.data_dir),
        "SPREADERS_DATABASE_URL": settings.database_url,
    }


async def create_key(app: AppContext, principal: Principal, scopes: str = "*") -> str:
    async with app.unit_of_work() as session:
        created = await accounts.create_api_key(session, principal=principal, label="mcp test", scopes=scopes)
    return created.key
