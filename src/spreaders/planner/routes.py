from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from spreaders.api.deps import require
from spreaders.planner import service as planner
from spreaders.planner.schemas import CampaignPlan

router = APIRouter(prefix="/planner", tags=["planner"])


class AnalyzeRequest(BaseModel):
    prompt: str = Field(description="The marketing request in plain words.")
    timezone: str = Field(default="UTC", description="IANA zone that relative dates are resolved in.")
    now: datetime | None = Field(
        default=None, description="Reference time for relative dates (default: now)."
    )


@router.post("/analyze", dependencies=[require("campaigns:write")])
async def analyze(body: AnalyzeRequest) -> CampaignPlan:
    """Turn a prompt into a structured campaign plan (offline, deterministic)."""
    return await planner.analyze_prompt(body.prompt, now=body.now, tz=body.timezone)
