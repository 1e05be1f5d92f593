from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from spreaders.api.deps import CurrentPrincipal, Session, require
from spreaders.registry import service as registry
from spreaders.registry.schemas import TemplatePage, TemplateRead, TemplateSearch

router = APIRouter(prefix="/workflows", tags=["workflows"])


@router.post("/search", dependencies=[require("workflows:read")])
async def search(body: TemplateSearch, session: Session, principal: CurrentPrincipal) -> TemplatePage:
    """Search templates by words, platforms, capabilities, category and trigger."""
    return await registry.search(session, tenant_id=principal.tenant_id, query=body)


@router.post("/import", status_code=201, dependencies=[require("workflows:write")])
async def import_workflow(
    document: dict[str, Any], session: Session, principal: CurrentPrincipal
) -> TemplateRead:
    """Import one n8n workflow export (JSON body); a changed re-import becomes a new version."""
    row = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document)
    return TemplateRead.model_validate(row)


@router.get("/{template_id}", dependencies=[require("workflows:read")])
async def get_template(template_id: str, session: Session, principal: CurrentPrincipal) -> TemplateRead:
    row = await registry.get_template(session, tenant_id=principal.tenant_id, template_id=template_id)
    return TemplateRead.model_validate(row)
