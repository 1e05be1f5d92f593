"""The MCP server over Streamable HTTP, served by the FastAPI app at `/mcp` behind Spreaders API keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from mcp.server.auth.settings import AuthSettings
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

from spreaders.bootstrap import AppContext
from spreaders.mcp.auth import ApiKeyVerifier, token_principal
from spreaders.mcp.server import build_server, log_level
from spreaders.settings import ApiSettings, Settings

MCP_PATH = "/mcp"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ANY_ADDRESS = ("0.0.0.0", "::")


@dataclass(frozen=True)
class McpHttp:
    """The ASGI app answering `MCP_PATH` and the session manager the host app's lifespan must run."""

    app: Starlette
    session_manager: StreamableHTTPSessionManager


def transport_security(api: ApiSettings) -> TransportSecuritySettings:
    """Host/Origin checks against DNS rebinding: loopback names plus the configured public URL and host.

    Bound to every address with no public URL, the valid Host names are unknown: the check is off and
    the API key is the only guard.
    """
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if api.public_url:
        public = urlsplit(api.public_url)
        hosts.append(public.netloc)
        origins.append(f"{public.scheme}://{public.netloc}")
    elif api.host in _ANY_ADDRESS:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    if api.host not in _LOOPBACK + _ANY_ADDRESS:
        hosts.append(f"{api.host}:*")
        origins.append(f"http://{api.host}:*")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def build_http(settings: Settings, get_app: Callable[[], AppContext]) -> McpHttp:
    """Build the MCP server with API-key auth and its Streamable HTTP app (answers at `MCP_PATH`)."""
    server = build_server(
        get_app,
        principal_resolver=token_principal,
        token_verifier=ApiKeyVerifier(get_app),
        # Spreaders issues its own API keys: it is the issuer; no OAuth metadata is published.
        auth=AuthSettings(issuer_url=settings.api.base_url(), resource_server_url=None),
        level=log_level(settings.log_level),
    )
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH, transport_security=transport_security(settings.api)
    )
    return McpHttp(app=app, session_manager=server.session_manager)
