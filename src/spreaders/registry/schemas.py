"""What the registry takes in and hands out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TemplateSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    category: str
    platforms: list[str]
    capabilities: list[str]
    trigger_type: str
    self_contained: bool
    node_count: int
    version: int
    score: float = 0


class RatingSummary(BaseModel):
    average: float | None = Field(description="Mean of this workspace's ratings (1-5), None when unrated.")
    count: int


class TemplateRead(TemplateSummary):
    workflow: dict[str, Any]
    credential_types: list[str]
    required_credentials: list[dict[str, Any]] = Field(
        default_factory=list, description="[{type: n8n credential type, platform, nodes}]"
    )
    required_inputs: list[str] = Field(default_factory=list, description="Fields read from the trigger data.")
    input_types: dict[str, str] = Field(
        default_factory=dict,
        description="JSON type (string, number, boolean, array, object) of the required inputs whose "
        "type the template declares; n8n fails the run when a parameter has another type.",
    )
    estimated_duration_ms: int = 0
    is_valid: bool = True
    issues: list[dict[str, Any]] = Field(default_factory=list, description="[{level, code, message, node}]")
    warnings: list[str]
    source: str
    change_summary: str = ""
    usage_count: int = 0
    success_count: int = 0
    rating: RatingSummary | None = None


class TemplateSearch(BaseModel):
    query: str = ""
    platforms: list[str] = Field(default_factory=list)
    capabilities: list[str] = Field(default_factory=list)
    category: str | None = None
    trigger_type: str | None = None
    self_contained: bool | None = None
    # Only templates whose required credentials are all on platforms the tenant has connected.
    connected_only: bool = Field(
        default=False, description="Only templates whose credentials this workspace has connected."
    )
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


class TemplatePage(BaseModel):
    items: list[TemplateSummary]
    total: int
    total_is_estimate: bool = Field(
        default=False, description="True when more templates match than were counted (total is a floor)."
    )

    def total_text(self) -> str:
        """The total as people read it: "1000+" when only counted up to a cap."""
        return f"{self.total}+" if self.total_is_estimate else str(self.total)


class ImportFailure(BaseModel):
    path: str
    reason: str


class ImportReport(BaseModel):
    """`imported` counts new templates, `new_versions` changed ones, `unchanged` identical re-imports."""

    imported: int = 0
    new_versions: int = 0
    unchanged: int = 0
    failed: list[ImportFailure] = Field(default_factory=list)
    template_ids: list[str] = Field(default_factory=list)


class SelectRequest(BaseModel):
    capabilities: list[str] = Field(description="Capabilities the plan needs (the planner's vocabulary).")
    platforms: list[str] = Field(default_factory=list, description="Platforms the plan targets.")
    self_contained_only: bool = Field(default=False, description="Only templates that need no account.")
    connected_only: bool = Field(
        default=False, description="Only templates whose credentials this workspace has connected."
    )


class Selection(BaseModel):
    """Templates to run, prerequisites first, and what no template could cover."""

    templates: list[TemplateSummary]
    prerequisites: list[TemplateSummary] = Field(
        default_factory=list, description="Sub-workflows the chosen templates call; deploy these first."
    )
    uncovered_capabilities: list[str] = Field(default_factory=list)
    uncovered_platforms: list[str] = Field(default_factory=list)
    unresolved_subworkflows: list[str] = Field(
        default_factory=list, description="Sub-workflow references no template in the registry satisfies."
    )


class RatingCreate(BaseModel):
    rating: int = Field(ge=1, le=5)
    feedback: str = Field(default="", max_length=4000)


class RatingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    template_id: str
    user_id: str
    rating: int
    feedback: str
    created_at: datetime
