from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from spreaders.api.deps import Ctx, CurrentPrincipal, Session, require
from spreaders.vault import audit, n8n_sync
from spreaders.vault import service as vault
from spreaders.vault.schemas import AuditEventRead, ConnectLink, CredentialDeleted, CredentialRead

router = APIRouter(prefix="/credentials", tags=["credentials"])


class ConnectRequestBody(BaseModel):
    platform: str
    capabilities: list[str] | None = Field(
        default=None, description="OAuth2: ask only for the scopes these planner capabilities need."
    )
    credentialId: str | None = Field(default=None, description="OAuth2: reconnect this credential in place.")


@router.post("/connect", status_code=201, dependencies=[require("credentials:write")])
async def connect(
    body: ConnectRequestBody, ctx: Ctx, session: Session, principal: CurrentPrincipal
) -> ConnectLink:
    """A single-use link to the page where the user enters the secret or signs in (never this API)."""
    return await vault.request_connect(
        session,
        principal=principal,
        platform=body.platform,
        base_url=ctx.settings.api.base_url(),
        oauth=ctx.settings.oauth,
        capabilities=body.capabilities,
        credential_id=body.credentialId,
    )


@router.get("", dependencies=[require("credentials:read")])
async def list_credentials(session: Session, principal: CurrentPrincipal) -> list[CredentialRead]:
    return await vault.list_credentials(session, tenant_id=principal.tenant_id)


@router.delete("/{credential_id}", dependencies=[require("credentials:write")])
async def delete_credential(credential_id: str, ctx: Ctx, principal: CurrentPrincipal) -> CredentialDeleted:
    """Disconnect: OAuth tokens are revoked at the provider where it supports revocation; the sealed secret
    and the n8n credentials made from it are deleted."""
    return await n8n_sync.disconnect(
        ctx, tenant_id=principal.tenant_id, credential_id=credential_id, user_id=principal.user_id
    )


@router.get("/{credential_id}/audit", dependencies=[require("credentials:read")])
async def credential_audit(
    credential_id: str,
    session: Session,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
) -> list[AuditEventRead]:
    """Who stored, read, refreshed, pushed, rotated or deleted this credential's secret, newest first."""
    return await audit.list_audit(
        session, tenant_id=principal.tenant_id, credential_id=credential_id, limit=limit
    )
