"""The MCP server over stdio (embedded mode): the caller is the local user of this data directory."""

from __future__ import annotations

from spreaders.bootstrap import open_app
from spreaders.mcp.server import build_server, log_level
from spreaders.mcp.toolkit import local_principal
from spreaders.settings import Settings


async def run_stdio(settings: Settings) -> None:
    """Open the app and serve MCP on stdin/stdout until the client closes the stream."""
    async with open_app(settings) as ctx:
        server = build_server(
            lambda: ctx, principal_resolver=local_principal, level=log_level(settings.log_level)
        )
        await server.run_stdio_async()
