"""What the registry takes in and hands out."""

from __future__ import annotations

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


class TemplateRead(TemplateSummary):
    workflow: dict[str, Any]
    credential_types: list[str]
    warnings: list[str]
    source: str


class TemplateSearch(BaseModel):
    query: str = ""
    platforms: list[str] = Field(default_factory=list)
    capabilities: list[str] = Field(default_factory=list)
    category: str | None = None
    trigger_type: str | None = None
    self_contained: bool | None = None
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


class TemplatePage(BaseModel):
    items: list[TemplateSummary]
    total: int


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
