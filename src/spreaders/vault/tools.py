"""MCP tools of the vault: connect links, list and delete credentials. No tool ever carries a secret."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from spreaders.mcp.toolkit import DESTRUCTIVE, READ_ONLY, WRITES, ToolEnv, result, tool
from spreaders.vault import service as vault
from spreaders.vault.schemas import ConnectLink, CredentialRead

CONNECT = """Get a link to the Spreaders connect page where the USER connects a platform account (OAuth
sign-in, or pasting an API key on that page). Give the returned `url` to the user to open themselves.
NEVER ask the user for passwords, API keys or tokens in this conversation, and never accept them if offered:
secrets go only through the connect page. The link works once and expires (see `expires_at`); afterwards
credential.list shows the new credential."""

LIST = "List the platform credentials connected in this workspace (metadata only; values are never shown)."

DELETE = "Delete one connected credential; workflows using it fail until the platform is connected again."


class CredentialList(BaseModel):
    items: list[CredentialRead]


class CredentialDeleted(BaseModel):
    id: str
    deleted: bool


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add credential.connect, credential.list and credential.delete."""

    @tool(server, name="credential.connect", description=CONNECT, annotations=WRITES)
    async def connect(
        platform: Annotated[str, Field(description="Platform name, e.g. 'mailchimp', 'slack', 'google'.")],
    ) -> Annotated[CallToolResult, ConnectLink]:
        caller = env.caller("credentials:write")
        async with caller.app.unit_of_work() as session:
            link = await vault.request_connect(
                session,
                principal=caller.principal,
                platform=platform,
                base_url=caller.app.settings.api.base_url(),
            )
        return result(link, link.instructions)

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
        async with caller.app.unit_of_work() as session:
            await vault.delete_credential(
                session,
                tenant_id=caller.principal.tenant_id,
                credential_id=credentialId,
                user_id=caller.principal.user_id,
            )
        return result(CredentialDeleted(id=credentialId, deleted=True), f"Deleted credential {credentialId}.")
