"""Ratings and feedback on templates: one per user and template, visible to the user's tenant only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.schemas import Principal
from spreaders.db.base import new_id, utcnow
from spreaders.registry.models import TemplateRating
from spreaders.registry.schemas import RatingCreate, RatingRead, RatingSummary
from spreaders.registry.service import get_template


async def rate(
    session: AsyncSession, *, principal: Principal, template_id: str, data: RatingCreate
) -> RatingRead:
    """Record the user's rating of a template, replacing their earlier one."""
    await get_template(session, tenant_id=principal.tenant_id, template_id=template_id)
    existing = await session.scalar(
        select(TemplateRating).where(
            TemplateRating.tenant_id == principal.tenant_id,
            TemplateRating.user_id == principal.user_id,
            TemplateRating.template_id == template_id,
        )
    )
    if existing is None:
        existing = TemplateRating(
            id=new_id("rat"),
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            template_id=template_id,
        )
        session.add(existing)
    existing.rating, existing.feedback, existing.created_at = data.rating, data.feedback.strip(), utcnow()
    await session.flush()
    return RatingRead.model_validate(existing)


async def list_ratings(session: AsyncSession, *, tenant_id: str, template_id: str) -> list[RatingRead]:
    await get_template(session, tenant_id=tenant_id, template_id=template_id)
    rows = await session.scalars(
        select(TemplateRating)
        .where(TemplateRating.tenant_id == tenant_id, TemplateRating.template_id == template_id)
        .order_by(TemplateRating.created_at.desc())
    )
    return [RatingRead.model_validate(row) for row in rows]


async def summary(session: AsyncSession, *, tenant_id: str, template_id: str) -> RatingSummary:
    average, count = (
        await session.execute(
            select(func.avg(TemplateRating.rating), func.count(TemplateRating.id)).where(
                TemplateRating.tenant_id == tenant_id, TemplateRating.template_id == template_id
            )
        )
    ).one()
    return RatingSummary(average=round(float(average), 2) if average is not None else None, count=count)
