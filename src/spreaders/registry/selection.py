"""Choose the templates for a plan: cover its capabilities and platforms, add prerequisites, say the gaps."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.registry import dependencies
from spreaders.registry.classify import canonical_platform
from spreaders.registry.models import WorkflowTemplate
from spreaders.registry.schemas import Selection, SelectRequest, TemplateSummary
from spreaders.registry.service import select_for_requirements


async def select_templates(
    session: AsyncSession,
    *,
    tenant_id: str,
    request: SelectRequest,
    connected_credential_types: Collection[str] = (),
) -> Selection:
    """A non-redundant set covering the request, prerequisites first, and what is left uncovered."""
    chosen = await select_for_requirements(
        session,
        tenant_id=tenant_id,
        capabilities=request.capabilities,
        platforms=request.platforms,
        self_contained_only=request.self_contained_only,
        connected_credential_types=connected_credential_types if request.connected_only else None,
    )
    chosen_ids = [template.id for template in chosen]
    prerequisite_ids = await dependencies.prerequisites(session, tenant_id=tenant_id, template_ids=chosen_ids)
    prerequisites = []
    if prerequisite_ids:
        rows = (
            await session.scalars(select(WorkflowTemplate).where(WorkflowTemplate.id.in_(prerequisite_ids)))
        ).all()
        by_id = {row.id: TemplateSummary.model_validate(row) for row in rows}
        prerequisites = [by_id[i] for i in prerequisite_ids if i in by_id]
    unresolved: list[str] = []
    for template_id in [*prerequisite_ids, *chosen_ids]:
        unresolved += await dependencies.unresolved_references(
            session, tenant_id=tenant_id, template_id=template_id
        )
    covered_caps = {cap for t in chosen for cap in t.capabilities}
    covered_platforms = {p for t in [*chosen, *prerequisites] for p in t.platforms}
    wanted_platforms = list(dict.fromkeys(canonical_platform(p) for p in request.platforms if p.strip()))
    return Selection(
        templates=chosen,
        prerequisites=prerequisites,
        uncovered_capabilities=[c for c in dict.fromkeys(request.capabilities) if c not in covered_caps],
        uncovered_platforms=[p for p in wanted_platforms if p not in covered_platforms],
        unresolved_subworkflows=list(dict.fromkeys(unresolved)),
    )
