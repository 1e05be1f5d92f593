from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from spreaders.api.deps import Ctx, require
from spreaders.planner import service as planner
from spreaders.planner.schemas import CampaignPlan, ImprovementSuggestions

router = APIRouter(prefix="/planner", tags=["planner"])

BackendChoice = Literal["offline", "llm"]


class AnalyzeRequest(BaseModel):
    prompt: str = Field(description="The marketing request in plain words.")
    timezone: str = Field(default="UTC", description="IANA zone that relative dates are resolved in.")
    now: datetime | None = Field(
        default=None, description="Reference time for relative dates (default: now)."
    )
    backend: BackendChoice | None = Field(
        default=None, description="offline, or llm (the configured model); default: the server's setting."
    )


class SuggestRequest(BaseModel):
    plan: CampaignPlan | None = Field(default=None, description="A plan to improve (from /planner/analyze).")
    prompt: str | None = Field(default=None, description="Or a prompt, planned offline first.")
    timezone: str = "UTC"
    now: datetime | None = None
    backend: BackendChoice | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SuggestRequest:
        if (self.plan is None) == (self.prompt is None):
            raise ValueError("send exactly one of `plan` and `prompt`")
        return self


@router.post("/analyze", dependencies=[require("campaigns:write")])
async def analyze(body: AnalyzeRequest, ctx: Ctx) -> CampaignPlan:
    """Turn a prompt into a structured campaign plan (offline, or refined by the configured model)."""
    backend = planner.select_backend(ctx.settings.planner, ctx.http, body.backend)
    return await planner.analyze_prompt(body.prompt, now=body.now, tz=body.timezone, backend=backend)


@router.post("/suggest-improvements", dependencies=[require("campaigns:read")])
async def suggest_improvements(body: SuggestRequest, ctx: Ctx) -> ImprovementSuggestions:
    """Suggest 3-5 concrete improvements to a plan, or to the offline plan of a prompt."""
    backend = planner.select_backend(ctx.settings.planner, ctx.http, body.backend)
    plan = body.plan or await planner.analyze_prompt(body.prompt or "", now=body.now, tz=body.timezone)
    return await planner.suggest_improvements(plan, backend=backend)
