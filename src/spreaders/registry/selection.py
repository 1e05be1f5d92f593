"""Choose the templates for a plan: cover its capabilities and platforms, add prerequisites, say the gaps."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.errors import Invalid
from spreaders.registry import dependencies
from spreaders.registry.classify import canonical_platform
from spreaders.registry.models import SUMMARY_COLUMNS, WorkflowTemplate
from spreaders.registry.schemas import Selection, SelectRequest, TemplateSummary


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


async def select_for_requirements(
    session: AsyncSession,
    *,
    tenant_id: str,
    capabilities: Sequence[str],
    platforms: Sequence[str],
    self_contained_only: bool = False,
    limit_per_capability: int = 1,
    connected_credential_types: Collection[str] | None = None,
) -> list[TemplateSummary]:
    """Pick a small set of templates that together cover the required capabilities.

    With `connected_credential_types`, only templates whose every required credential is of one of
    those n8n types are candidates ("what my connected accounts can run").
    """
    if limit_per_capability < 1:
        raise Invalid("limit_per_capability must be at least 1.")
    required = list(dict.fromkeys(c.strip().lower() for c in capabilities if c.strip()))
    if not required:
        return []
    wanted_platforms = {canonical_platform(p) for p in platforms if p.strip()}
    stmt = select(*SUMMARY_COLUMNS).where(
        WorkflowTemplate.tenant_id == tenant_id, WorkflowTemplate.is_active.is_(True)
    )
    if self_contained_only:
        stmt = stmt.where(WorkflowTemplate.self_contained.is_(True))
    # A template n8n would refuse cannot be part of a campaign.
    stmt = stmt.where(WorkflowTemplate.is_valid.is_(True))
    rows = [row for row in (await session.execute(stmt)).all() if set(required) & set(row.capabilities)]
    if connected_credential_types is not None:
        runnable = await _runnable_ids(session, [row.id for row in rows], set(connected_credential_types))
        rows = [row for row in rows if row.id in runnable]
    ranked = _rank(rows, platforms=wanted_platforms, capabilities=set(required))
    covered = dict.fromkeys(required, 0)
    chosen: list[TemplateSummary] = []
    while True:
        best: TemplateSummary | None = None
        best_gain = 0
        for candidate in ranked:
            gain = sum(
                1
                for cap in candidate.capabilities
                if covered.get(cap, limit_per_capability) < limit_per_capability
            )
            # `ranked` is best-first, so among equal gains the better-scored template wins.
            if gain > best_gain:
                best, best_gain = candidate, gain
        if best is None:
            return chosen
        chosen.append(best)
        ranked.remove(best)
        for cap in best.capabilities:
            if cap in covered:
                covered[cap] += 1


async def _runnable_ids(session: AsyncSession, ids: Sequence[str], connected: set[str]) -> set[str]:
    """The ids among `ids` whose required credentials are all of the `connected` n8n types."""
    rows = await session.execute(
        select(WorkflowTemplate.id, WorkflowTemplate.required_credentials).where(WorkflowTemplate.id.in_(ids))
    )
    return {
        template_id
        for template_id, required in rows
        if all(isinstance(c, dict) and c.get("type") in connected for c in required or [])
    }


def _rank(rows: Sequence[Row[Any]], *, platforms: set[str], capabilities: set[str]) -> list[TemplateSummary]:
    """Score as specified (platform 40, capability 30, success 20, popularity 10), best first."""
    most_used = max((row.usage_count for row in rows), default=0)
    scored: list[TemplateSummary] = []
    for row in rows:
        score = 0.0
        if platforms:
            score += 40 * len(platforms & set(row.platforms)) / len(platforms)
        if capabilities:
            score += 30 * len(capabilities & set(row.capabilities)) / len(capabilities)
        if row.usage_count:
            score += 20 * row.success_count / row.usage_count + 10 * row.usage_count / most_used
        scored.append(TemplateSummary.model_validate(row).model_copy(update={"score": round(score, 4)}))
    scored.sort(key=lambda item: (-item.score, item.name, item.id))
    return scored
