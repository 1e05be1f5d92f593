from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from spreaders.monitor.schemas import ExecutionRead
from spreaders.planner.schemas import CampaignPlan
from spreaders.registry.schemas import TemplateSummary


class MissingCredential(BaseModel):
    n8n_credential_type: str
    platform: str | None = Field(description="Platform to connect with credential.connect, when known.")


class CampaignRead(BaseModel):
    id: str
    name: str
    status: str
    prompt: str
    plan: CampaignPlan
    workflows: list[TemplateSummary]
    created_at: datetime


class CampaignCreated(CampaignRead):
    missing_credentials: list[MissingCredential]
    uncovered_capabilities: list[str] = Field(
        default_factory=list, description="What the plan needs that no template in the registry offers."
    )
    uncovered_platforms: list[str] = Field(default_factory=list)
    next_step: str


class PlanDraft(BaseModel):
    """A plan analysed without choosing workflows, stored as a campaign with status "draft"."""

    campaign_id: str
    plan: CampaignPlan
    resource_uri: str = Field(description="Read the stored plan again at this MCP resource.")


class CampaignRunReport(BaseModel):
    campaign_id: str
    status: Literal["success", "failed", "partial"]
    completed: int
    total: int
    results: list[ExecutionRead]
    failed_step: str | None = None
