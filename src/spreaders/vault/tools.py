"""MCP tools of the vault: connect links, list and delete credentials. No tool ever carries a secret.

`credential.connect` asks the client to open the link itself (URL-mode elicitation, MCP 2025-11-25) when
the client declares `elicitation.url` and the connection can carry a server-to-client request mid-call;
otherwise, and whatever the user answers, it returns the link for the agent to hand over.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from spreaders.db.base import new_id
from spreaders.mcp.toolkit import DESTRUCTIVE, READ_ONLY, WRITES, ToolEnv, result, tool
from spreaders.vault import n8n_sync
from spreaders.vault import service as vault
from spreaders.vault.schemas import ConnectLink, CredentialDeleted, CredentialRead

CONNECT = """Get a link to the Spreaders connect page where the USER connects a platform account (OAuth
sign-in at the platform, or pasting an API key on that page). When your client supports URL elicitation,
Spreaders asks it to offer the page to the user directly; otherwise give the returned `url` to the user to
open themselves. NEVER ask the user for passwords, API keys or tokens in this conversation, and never accept
them if offered: secrets go only through the connect page. The link works once and expires (see
`expires_at`); afterwards credential.list shows the new credential. To repair a `broken` OAuth connection
pass its `credentialId`."""

LIST = """List the platform credentials connected in this workspace: status (`connected`, or `broken` with a
message saying how to reconnect), OAuth scopes and token expiry. Values are never shown."""

DELETE = """Delete one connected credential (OAuth tokens are revoked at the platform where it supports
that); workflows using it fail until the platform is connected again."""

ElicitOutcome = Literal["accept", "decline", "cancel", "not_supported"]


class ConnectOffer(ConnectLink):
    """The connect link, and what the user answered when the client offered it (URL elicitation)."""

    elicitation: ElicitOutcome


class CredentialList(BaseModel):
    items: list[CredentialRead]


def _client_opens_urls(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and elicitation.url is not None and bool(ctx.session.can_send_request)


async def _offer(ctx: Context[Any, Any], link: ConnectLink, elicitation_id: str) -> ElicitOutcome:
    if not _client_opens_urls(ctx):
        return "not_supported"
    message = f"Connect {link.platform}: open this Spreaders page to finish in your browser."
    try:
        answer = await ctx.elicit_url(message, link.url, elicitation_id)
    except MCPError:  # the client refused the request itself: the link is still returned
        return "not_supported"
    return answer.action


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add credential.connect, credential.list and credential.delete."""

    @tool(server, name="credential.connect", description=CONNECT, annotations=WRITES)
    async def connect(
        ctx: Context[Any, Any],
        platform: Annotated[str, Field(description="Platform name, e.g. 'mailchimp', 'linkedin', 'gmail'.")],
        capabilities: Annotated[
            list[str] | None,
            Field(description="OAuth: only the scopes these capabilities need (e.g. 'social_publishing')."),
        ] = None,
        credentialId: Annotated[
            str | None, Field(description="OAuth: reconnect this (broken) credential in place.")
        ] = None,
    ) -> Annotated[CallToolResult, ConnectOffer]:
        caller = env.caller("credentials:write")
        settings = caller.app.settings
        async with caller.app.unit_of_work() as session:
            link = await vault.request_connect(
                session,
                principal=caller.principal,
                platform=platform,
                base_url=settings.api.base_url(),
                oauth=settings.oauth,
                capabilities=capabilities,
                credential_id=credentialId,
            )
        outcome = await _offer(ctx, link, elicitation_id=new_id("eli"))
        offer = ConnectOffer(**link.model_dump(), elicitation=outcome)
        said = {
            "accept": "The user was offered the connect page and chose to open it. ",
            "decline": "The user declined to open the connect page. ",
            "cancel": "The user dismissed the connect page. ",
            "not_supported": "",
        }[outcome]
        return result(offer, said + link.instructions)

    @tool(server, name="credential.list", description=LIST, annotations=READ_ONLY)
    async def list_() -> Annotated[CallToolResult, CredentialList]:
        caller = env.caller("credentials:read")
        async with caller.app.unit_of_work() as session:
            items = await vault.list_credentials(session, tenant_id=caller.principal.tenant_id)
        names = ", ".join(f"{c.platform} ({c.id}, {c.status})" for c in items)
        return result(
            CredentialList(items=items), f"{len(items)} credentials: {names}." if items else "No credentials."
        )

    @tool(server, name="credential.delete", description=DELETE, annotations=DESTRUCTIVE)
    async def delete(
        credentialId: Annotated[str, Field(description="Credential id from credential.list.")],
    ) -> Annotated[CallToolResult, CredentialDeleted]:
        caller = env.caller("credentials:write")
        deleted = await n8n_sync.disconnect(
            caller.app,
            tenant_id=caller.principal.tenant_id,
            credential_id=credentialId,
            user_id=caller.principal.user_id,
        )
        return result(deleted, deleted.summary())
