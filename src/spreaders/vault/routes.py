from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from spreaders.api.deps import Ctx, CurrentPrincipal, Session, require
from spreaders.vault import audit
from spreaders.vault import service as vault
from spreaders.vault.schemas import AuditEventRead, ConnectLink, CredentialRead

router = APIRouter(prefix="/credentials", tags=["credentials"])


class ConnectRequestBody(BaseModel):
    platform: str


@router.post("/connect", status_code=201, dependencies=[require("credentials:write")])
async def connect(
    body: ConnectRequestBody, ctx: Ctx, session: Session, principal: CurrentPrincipal
) -> ConnectLink:
    """A single-use link to the page where the user enters the account's secret (never this API)."""
    return await vault.request_connect(
        session, principal=principal, platform=body.platform, base_url=ctx.settings.api.base_url()
    )


@router.get("", dependencies=[require("credentials:read")])
async def list_credentials(session: Session, principal: CurrentPrincipal) -> list[CredentialRead]:
    return await vault.list_credentials(session, tenant_id=principal.tenant_id)


@router.delete("/{credential_id}", status_code=204, dependencies=[require("credentials:write")])
async def delete_credential(credential_id: str, session: Session, principal: CurrentPrincipal) -> Response:
    await vault.delete_credential(
        session, tenant_id=principal.tenant_id, credential_id=credential_id, user_id=principal.user_id
    )
    return Response(status_code=204)


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
