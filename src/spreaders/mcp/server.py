"""The MCP server: every domain's tools, resources and prompts on one `MCPServer`.

Front-door wiring only; tools live beside their domain (`<domain>/tools.py`) and call its service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from spreaders import __version__
from spreaders.bootstrap import AppContext
from spreaders.campaigns import tools as campaign_tools
from spreaders.mcp.toolkit import PrincipalResolver, ToolEnv, local_principal
from spreaders.monitor import tools as monitor_tools
from spreaders.orchestrator import tools as orchestrator_tools
from spreaders.provisioning import tools as provisioning_tools
from spreaders.registry import tools as registry_tools
from spreaders.vault import tools as vault_tools

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

INSTRUCTIONS = """Spreaders turns a marketing request into running n8n workflows.
Typical flow: campaign.createFromPrompt (plan + chosen workflows + missing credentials) ->
credential.connect for each missing platform (give the link to the user; never ask for secrets here) ->
campaign.launch. To run a single workflow: workflow.search -> workflow.get -> workflow.execute ->
execution.getStatus. Errors say what to do next."""

_REGISTRARS = (
    campaign_tools,
    registry_tools,
    orchestrator_tools,
    monitor_tools,
    vault_tools,
    provisioning_tools,
)


def log_level(value: str) -> LogLevel:
    """The settings' log level in the SDK's spelling (WARNING when unknown)."""
    upper = value.upper()
    match upper:
        case "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL":
            return upper
    return "WARNING"


def build_server(
    get_app: Callable[[], AppContext],
    *,
    principal_resolver: PrincipalResolver = local_principal,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
    level: LogLevel = "WARNING",
) -> MCPServer[Any]:
    """Build the server; `get_app` is read at call time, `principal_resolver` says who is calling."""
    server: MCPServer[Any] = MCPServer(
        "spreaders",
        title="Spreaders",
        version=__version__,
        instructions=INSTRUCTIONS,
        token_verifier=token_verifier,
        auth=auth,
        log_level=level,
    )
    env = ToolEnv(get_app=get_app, resolve_principal=principal_resolver)
    for module in _REGISTRARS:
        module.register(server, env)
    return server
