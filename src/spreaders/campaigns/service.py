"""A campaign from prompt to results: plan, pick templates, list missing credentials, run as a chain."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.campaigns.models import Campaign
from spreaders.campaigns.schemas import (
    CampaignCreated,
    CampaignRead,
    CampaignRunReport,
    MissingCredential,
    PlanDraft,
)
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Invalid, NotFound, SpreadersError
from spreaders.monitor import service as monitor
from spreaders.monitor.schemas import ExecutionRead
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.runner import RunProgress
from spreaders.planner import service as planner
from spreaders.planner.prompting import PlannerBackend
from spreaders.planner.schemas import Audience, CampaignPlan
from spreaders.provisioning.installer import ProgressFn
from spreaders.registry import selection
from spreaders.registry import service as registry
from spreaders.registry.schemas import SelectRequest, TemplateSummary
from spreaders.vault import service as vault
from spreaders.vault.catalogue import load_catalogue

logger = logging.getLogger(__name__)

_FAILED = frozenset({"error", "crashed", "canceled"})

# A campaign's chain runs content first, then channels, then measurement; each step feeds the next.
_STAGE_ORDER = (
    "content_generation_text",
    "content_generation_image",
    "content_generation_video",
    "social_publishing",
    "email_campaign",
    "ad_campaign",
    "lead_capture",
    "crm_sync",
    "analytics_tracking",
    "scheduling",
)


def _chain_order(workflows: list[TemplateSummary]) -> list[TemplateSummary]:
    def stage(template: TemplateSummary) -> int:
        ranks = [_STAGE_ORDER.index(c) for c in template.capabilities if c in _STAGE_ORDER]
        return min(ranks, default=len(_STAGE_ORDER))

    return sorted(workflows, key=stage)


async def _missing_credentials(
    session: AsyncSession, *, tenant_id: str, templates: list[TemplateSummary]
) -> list[MissingCredential]:
    needed: list[str] = []
    for summary in templates:
        template = await registry.get_template(session, tenant_id=tenant_id, template_id=summary.id)
        needed += [t for t in template.credential_types if t not in needed]
    if not needed:
        return []
    by_type = load_catalogue().platforms_by_n8n_type()
    connected = await vault.find_connected(
        session, tenant_id=tenant_id, platforms=sorted(set(by_type.values()))
    )
    return [
        MissingCredential(n8n_credential_type=cred_type, platform=by_type.get(cred_type))
        for cred_type in needed
        if by_type.get(cred_type) not in connected
    ]


def _next_step(workflows: list[TemplateSummary], missing: list[MissingCredential]) -> str:
    if not workflows:
        return "No template matches this plan yet: import templates with `spreaders registry import PATH`."
    if missing:
        platforms = sorted({m.platform or m.n8n_credential_type for m in missing})
        return f"Connect {', '.join(platforms)} with credential.connect, then launch the campaign."
    return "Launch the campaign (campaign.launch) to deploy and run its workflows in n8n."


async def create_from_prompt(
    session: AsyncSession,
    *,
    principal: Principal,
    prompt: str,
    now: datetime | None = None,
    tz: str = "UTC",
    self_contained_only: bool = False,
    backend: PlannerBackend | None = None,
    answers: Mapping[str, str] | None = None,
) -> CampaignCreated:
    """Plan the prompt (offline, or refined by `backend`), choose templates and record the campaign."""
    plan = await planner.analyze_prompt(prompt, now=now, tz=tz, backend=backend, answers=answers)
    chosen = await selection.select_templates(
        session,
        tenant_id=principal.tenant_id,
        request=SelectRequest(
            capabilities=list(plan.required_workflows),
            platforms=plan.platforms,
            self_contained_only=self_contained_only,
        ),
    )
    # Sub-workflows first: the templates that call them need them deployed.
    workflows = [*chosen.prerequisites, *_chain_order(chosen.templates)]
    campaign = Campaign(
        id=new_id("cmp"),
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        name=plan.name,
        prompt=prompt,
        plan=plan.model_dump(mode="json"),
        template_ids=[w.id for w in workflows],
        status="planned",
    )
    session.add(campaign)
    await session.flush()
    missing = await _missing_credentials(session, tenant_id=principal.tenant_id, templates=workflows)
    return CampaignCreated(
        **_read(campaign, workflows).model_dump(),
        missing_credentials=missing,
        uncovered_capabilities=chosen.uncovered_capabilities,
        uncovered_platforms=chosen.uncovered_platforms,
        next_step=_next_step(workflows, missing),
    )


def plan_uri(campaign_id: str) -> str:
    """The MCP resource that serves a campaign's plan."""
    return f"campaign://plans/{campaign_id}"


async def draft_from_prompt(
    session: AsyncSession,
    *,
    principal: Principal,
    prompt: str,
    now: datetime | None = None,
    tz: str = "UTC",
    backend: PlannerBackend | None = None,
    answers: Mapping[str, str] | None = None,
) -> PlanDraft:
    """Plan the prompt and store the plan alone, as a campaign in status "draft" with no workflows."""
    plan = await planner.analyze_prompt(prompt, now=now, tz=tz, backend=backend, answers=answers)
    campaign = Campaign(
        id=new_id("cmp"),
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        name=plan.name,
        prompt=prompt,
        plan=plan.model_dump(mode="json"),
        template_ids=[],
        status="draft",
    )
    session.add(campaign)
    await session.flush()
    return PlanDraft(campaign_id=campaign.id, plan=plan, resource_uri=plan_uri(campaign.id))


async def get_plan(session: AsyncSession, *, tenant_id: str, campaign_id: str) -> CampaignPlan:
    """The stored plan of one campaign (drafts included)."""
    campaign = await _get_row(session, tenant_id=tenant_id, campaign_id=campaign_id)
    return CampaignPlan.model_validate(campaign.plan)


def _read(campaign: Campaign, workflows: list[TemplateSummary]) -> CampaignRead:
    return CampaignRead(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        prompt=campaign.prompt,
        plan=CampaignPlan.model_validate(campaign.plan),
        workflows=workflows,
        created_at=campaign.created_at,
    )


async def _get_row(session: AsyncSession, *, tenant_id: str, campaign_id: str) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.tenant_id != tenant_id:
        raise NotFound(
            f"No campaign {campaign_id!r} in this workspace.", hint="List campaigns with campaign.list."
        )
    return campaign


async def get_campaign(session: AsyncSession, *, tenant_id: str, campaign_id: str) -> CampaignRead:
    campaign = await _get_row(session, tenant_id=tenant_id, campaign_id=campaign_id)
    workflows = [
        TemplateSummary.model_validate(
            await registry.get_template(session, tenant_id=tenant_id, template_id=template_id)
        )
        for template_id in campaign.template_ids
    ]
    return _read(campaign, workflows)


async def list_campaigns(session: AsyncSession, *, tenant_id: str, limit: int = 20) -> list[CampaignRead]:
    query = select(Campaign).where(Campaign.tenant_id == tenant_id).order_by(Campaign.created_at.desc())
    rows = (await session.execute(query.limit(limit))).scalars().all()
    return [await get_campaign(session, tenant_id=tenant_id, campaign_id=row.id) for row in rows]


def describe_audience(audience: Audience) -> str:
    """The audience as a phrase templates can put in copy ("18-30 year olds in Berlin; runners")."""
    who = "people"
    if audience.age_min is not None and audience.age_max is not None:
        who = f"{audience.age_min}-{audience.age_max} year olds"
    elif audience.age_min is not None:
        who = f"people over {audience.age_min}"
    elif audience.age_max is not None:
        who = f"people under {audience.age_max}"
    if audience.locations:
        who += " in " + ", ".join(audience.locations)
    extras = audience.interests + audience.segments
    if who == "people" and not extras:
        return ""
    return "; ".join([who, *extras]) if who != "people" else ", ".join(extras)


def step_parameters(plan: CampaignPlan, previous: ExecutionRead | None) -> dict[str, Any]:
    """What each workflow of the chain receives: the plan's facts and the previous step's output."""
    return {
        "campaign_name": plan.name,
        "campaign_type": plan.campaign_type,
        "platforms": plan.platforms,
        "objectives": plan.objectives,
        "content_requirements": plan.content_requirements,
        "start_date": plan.timeline.start.isoformat() if plan.timeline.start else None,
        "end_date": plan.timeline.end.isoformat() if plan.timeline.end else None,
        "budget": plan.budget.model_dump(mode="json"),
        "audience": describe_audience(plan.target_audience),
        "audience_details": plan.target_audience.model_dump(mode="json"),
        "_previousOutput": previous.output if previous else None,
    }


async def _step_key(ctx: AppContext, *, tenant_id: str, base: str, resuming: bool) -> str:
    """The idempotency key of a chain step: a step that succeeded (or still runs in n8n) is not run
    again on a relaunch, while a step that failed gets a fresh key and so a new run.

    When resuming a chain whose process died, a step it recorded but never got an n8n id for is
    marked crashed and run again: the process died before n8n confirmed the start.
    """
    attempt = 0
    async with ctx.unit_of_work() as session:
        while True:
            key = base if attempt == 0 else f"{base}:retry{attempt}"
            earlier = await monitor.find_by_idempotency_key(session, tenant_id=tenant_id, key=key)
            if (
                earlier is not None
                and resuming
                and earlier.status == "new"
                and earlier.n8n_execution_id is None
            ):
                earlier.status, earlier.error = (
                    "crashed",
                    "the platform stopped before n8n confirmed the start",
                )
                earlier.finished_at = utcnow()
            if earlier is None or earlier.status not in _FAILED:
                return key
            attempt += 1


async def _set_status(ctx: AppContext, campaign_id: str, status: str) -> None:
    async with ctx.unit_of_work() as session:
        campaign = await session.get_one(Campaign, campaign_id)
        campaign.status, campaign.heartbeat_at = status, utcnow()


async def _beat(ctx: AppContext, campaign_id: str) -> None:
    async with ctx.unit_of_work() as session:
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(heartbeat_at=utcnow())
        )


async def launch(
    ctx: AppContext,
    *,
    principal: Principal,
    campaign_id: str,
    timeout_s: float = 120.0,
    provisioning_progress: ProgressFn | None = None,
    run_progress: RunProgress | None = None,
    resuming: bool = False,
) -> CampaignRunReport:
    """Run the campaign's workflows in order, each given the previous output; stop at the first failure.

    The chain's state is the campaign's status plus one execution record per step, keyed by step:
    launching again (or `resume_stalled` after a crash) skips finished steps and waits for a step
    n8n is still running instead of starting it twice.
    """
    async with ctx.sessionmaker() as session:
        campaign = await get_campaign(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)
    if campaign.status == "draft":
        raise Invalid(
            f"Campaign {campaign_id} is a draft plan without workflows.",
            hint="Create the campaign from its prompt (campaign.createFromPrompt), then launch that one.",
        )
    await _set_status(ctx, campaign_id, "running")
    results: list[ExecutionRead] = []
    previous: ExecutionRead | None = None
    total = len(campaign.workflows)

    async def beat(_done: float, _total: float | None, _message: str) -> None:
        await _beat(ctx, campaign_id)

    for index, template in enumerate(campaign.workflows):
        if run_progress is not None:
            await run_progress(index, total, f"running {template.name} ({index + 1}/{total})")
        await _beat(ctx, campaign_id)
        try:
            result = await orchestrator.execute(
                ctx,
                principal=principal,
                template_id=template.id,
                parameters=step_parameters(campaign.plan, previous),
                campaign_id=campaign_id,
                idempotency_key=await _step_key(
                    ctx,
                    tenant_id=principal.tenant_id,
                    base=f"{campaign_id}:{index}:{template.id}",
                    resuming=resuming,
                ),
                timeout_s=timeout_s,
                provisioning_progress=provisioning_progress,
                run_progress=beat,
            )
        except SpreadersError:
            await _set_status(ctx, campaign_id, "failed")
            raise
        results.append(result)
        if result.status != "success":
            await _set_status(ctx, campaign_id, "failed")
            return CampaignRunReport(
                campaign_id=campaign_id,
                status="failed" if index == 0 else "partial",
                completed=index,
                total=total,
                results=results,
                failed_step=template.name,
            )
        previous = result
    await _set_status(ctx, campaign_id, "completed")
    return CampaignRunReport(
        campaign_id=campaign_id, status="success", completed=total, total=total, results=results
    )


async def resume_stalled(ctx: AppContext, *, stale_after_s: float = 30.0) -> list[CampaignRunReport]:
    """Finish the chains whose running process died (no heartbeat for `stale_after_s`), any tenant."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    async with ctx.sessionmaker() as session:
        stalled = (
            await session.execute(
                select(Campaign.id, Campaign.tenant_id, Campaign.user_id).where(
                    Campaign.status == "running",
                    or_(Campaign.heartbeat_at.is_(None), Campaign.heartbeat_at < cutoff),
                )
            )
        ).all()
    reports = []
    for campaign_id, tenant_id, user_id in stalled:
        principal = Principal(tenant_id=tenant_id, user_id=user_id or "")
        logger.warning("resuming campaign %s: its runner stopped sending heartbeats", campaign_id)
        try:
            reports.append(await launch(ctx, principal=principal, campaign_id=campaign_id, resuming=True))
        except SpreadersError:
            logger.exception("resuming campaign %s failed", campaign_id)
    return reports
