"""One template as the front doors show it: its row plus this workspace's ratings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.registry import dependencies, ratings
from spreaders.registry.schemas import TemplateRead
from spreaders.registry.service import get_template


async def read_template(session: AsyncSession, *, tenant_id: str, template_id: str) -> TemplateRead:
    row = await get_template(session, tenant_id=tenant_id, template_id=template_id)
    read = TemplateRead.model_validate(row)
    read.rating = await ratings.summary(session, tenant_id=tenant_id, template_id=template_id)
    for reference in await dependencies.unresolved_references(
        session, tenant_id=tenant_id, template_id=template_id
    ):
        read.issues.append(
            {
                "level": "warning",
                "code": "subworkflow-unresolved",
                "message": f"calls sub-workflow {reference!r}, which no template in this workspace provides",
                "node": None,
            }
        )
    return read
