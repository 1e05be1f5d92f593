"""The planner's output: a `CampaignPlan`, also the output schema of the MCP planning tool.

Types stay simple (str, int, float, date, lists, nested models) so the JSON schema is easy for agents.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CampaignType = Literal[
    "product_launch",
    "promotion",
    "brand_awareness",
    "event",
    "webinar",
    "lead_generation",
    "re_engagement",
    "seasonal_sale",
    "newsletter",
    "content_marketing",
    "general",
]

ContentType = Literal[
    "images",
    "videos",
    "copy",
    "stories",
    "reels",
    "blog_posts",
    "email_copy",
    "ad_creatives",
    "landing_page",
    "hashtags",
]

Capability = Literal[
    "content_generation_image",
    "content_generation_video",
    "content_generation_text",
    "social_publishing",
    "email_campaign",
    "ad_campaign",
    "analytics_tracking",
    "lead_capture",
    "crm_sync",
    "scheduling",
]

Backend = Literal["offline", "llm", "sampling"]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Timeline(_Schema):
    """When the campaign runs; `text` holds the phrases the dates were read from."""

    start: date | None = None
    end: date | None = None
    duration_days: int | None = Field(default=None, ge=1)
    text: str = ""


class Budget(_Schema):
    """Total budget (ISO 4217 `currency`) and its per-platform `split` when the prompt states one."""

    amount: float | None = Field(default=None, ge=0)
    currency: str | None = None
    split: dict[str, float] = Field(default_factory=dict)


class Audience(_Schema):
    age_min: int | None = Field(default=None, ge=0)
    age_max: int | None = Field(default=None, ge=0)
    locations: list[str] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)


class MissingFact(_Schema):
    """A fact that matters for the campaign and the prompt did not give, with the question to ask."""

    field: str
    question: str


class Provenance(_Schema):
    backend: Backend
    notes: list[str] = Field(default_factory=list)


class CampaignPlan(_Schema):
    name: str
    campaign_type: CampaignType
    objectives: list[str]
    platforms: list[str]
    content_requirements: list[ContentType]
    timeline: Timeline
    budget: Budget
    target_audience: Audience
    required_workflows: list[Capability]
    confidence: float = Field(ge=0.0, le=1.0)
    missing: list[MissingFact]
    provenance: Provenance


SuggestionKind = Literal["channels", "timing", "budget", "content", "audience", "objectives"]


class Suggestion(_Schema):
    """One concrete change that would make the plan better, and the plan field it touches."""

    kind: SuggestionKind
    text: str = Field(min_length=1, max_length=600)
    field: str = Field(description="The plan field it concerns, e.g. 'platforms' or 'budget.split'.")


class ImprovementSuggestions(_Schema):
    """3-5 suggestions for a plan; `provenance` says which backend wrote them and why it fell back."""

    suggestions: list[Suggestion]
    provenance: Provenance
