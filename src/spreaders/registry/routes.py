from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from spreaders.api.deps import Ctx, CurrentPrincipal, Session, require
from spreaders.registry import details, ratings, selection
from spreaders.registry import service as registry
from spreaders.registry.schemas import (
    RatingCreate,
    RatingRead,
    Selection,
    SelectRequest,
    TemplatePage,
    TemplateRead,
    TemplateSearch,
)
from spreaders.registry.search import search_templates
from spreaders.vault import service as vault

router = APIRouter(prefix="/workflows", tags=["workflows"])


@router.post("/search", dependencies=[require("workflows:read")])
async def search(body: TemplateSearch, session: Session, principal: CurrentPrincipal) -> TemplatePage:
    """Search templates by words, platforms, capabilities, category and trigger."""
    connected = (
        await vault.connected_credential_types(session, tenant_id=principal.tenant_id)
        if body.connected_only
        else None
    )
    return await search_templates(
        session, tenant_id=principal.tenant_id, query=body, connected_credential_types=connected
    )


@router.post("/import", status_code=201, dependencies=[require("workflows:write")])
async def import_workflow(
    document: dict[str, Any], ctx: Ctx, session: Session, principal: CurrentPrincipal
) -> TemplateRead:
    """Import one n8n workflow export (JSON body); a changed re-import becomes a new version."""
    row = await registry.import_workflow(
        session, tenant_id=principal.tenant_id, document=document, catalog=ctx.node_catalog()
    )
    return await details.read_template(session, tenant_id=principal.tenant_id, template_id=row.id)


@router.post("/select", dependencies=[require("workflows:read")])
async def select_templates(body: SelectRequest, session: Session, principal: CurrentPrincipal) -> Selection:
    """A non-redundant set of templates for a plan's needs, prerequisites first, gaps named."""
    connected = (
        await vault.connected_credential_types(session, tenant_id=principal.tenant_id)
        if body.connected_only
        else set()
    )
    return await selection.select_templates(
        session, tenant_id=principal.tenant_id, request=body, connected_credential_types=connected
    )


@router.get("/{template_id}", dependencies=[require("workflows:read")])
async def get_template(template_id: str, session: Session, principal: CurrentPrincipal) -> TemplateRead:
    return await details.read_template(session, tenant_id=principal.tenant_id, template_id=template_id)


@router.post("/{template_id}/ratings", status_code=201, dependencies=[require("workflows:write")])
async def rate_template(
    template_id: str, body: RatingCreate, session: Session, principal: CurrentPrincipal
) -> RatingRead:
    """Rate a template 1-5 with optional feedback; a second rating by the same user replaces the first."""
    return await ratings.rate(session, principal=principal, template_id=template_id, data=body)


@router.get("/{template_id}/ratings", dependencies=[require("workflows:read")])
async def list_ratings(template_id: str, session: Session, principal: CurrentPrincipal) -> list[RatingRead]:
    return await ratings.list_ratings(session, tenant_id=principal.tenant_id, template_id=template_id)
