from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from spreaders.api.deps import Ctx, CurrentPrincipal, Session, require
from spreaders.campaigns import service as campaigns
from spreaders.campaigns.schemas import CampaignCreated, CampaignRead, CampaignRunReport

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


class CampaignCreateRequest(BaseModel):
    prompt: str
    timezone: str = "UTC"
    now: datetime | None = None
    self_contained_only: bool = Field(default=False, description="Only pick templates that need no account.")


class LaunchRequest(BaseModel):
    timeout_s: float = Field(default=120.0, gt=0, le=3600)


@router.post("", status_code=201, dependencies=[require("campaigns:write")])
async def create_campaign(
    body: CampaignCreateRequest, session: Session, principal: CurrentPrincipal
) -> CampaignCreated:
    """Plan a campaign from a prompt and choose its workflows."""
    return await campaigns.create_from_prompt(
        session,
        principal=principal,
        prompt=body.prompt,
        now=body.now,
        tz=body.timezone,
        self_contained_only=body.self_contained_only,
    )


@router.get("", dependencies=[require("campaigns:read")])
async def list_campaigns(
    session: Session, principal: CurrentPrincipal, limit: int = Query(default=20, ge=1, le=100)
) -> list[CampaignRead]:
    return await campaigns.list_campaigns(session, tenant_id=principal.tenant_id, limit=limit)


@router.get("/{campaign_id}", dependencies=[require("campaigns:read")])
async def get_campaign(campaign_id: str, session: Session, principal: CurrentPrincipal) -> CampaignRead:
    return await campaigns.get_campaign(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)


@router.post("/{campaign_id}/launch", dependencies=[require("campaigns:write")])
async def launch_campaign(
    campaign_id: str, ctx: Ctx, principal: CurrentPrincipal, body: LaunchRequest | None = None
) -> CampaignRunReport:
    """Deploy and run the campaign's workflows in order; answers when the chain has finished."""
    timeout_s = body.timeout_s if body else 120.0
    return await campaigns.launch(ctx, principal=principal, campaign_id=campaign_id, timeout_s=timeout_s)
