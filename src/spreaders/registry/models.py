"""Workflow templates (n8n workflow JSON, normalised and classified) and their categories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin


class WorkflowCategory(TimestampMixin, Base):
    __tablename__ = "workflow_categories"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class WorkflowTemplate(TenantMixin, TimestampMixin, Base):
    __tablename__ = "workflow_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "lineage_key", "version", name="uq_workflow_templates_lineage_version"),
        Index("ix_workflow_templates_tenant_active", "tenant_id", "is_active"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Versions of one workflow share a lineage key (derived from its source file name or name).
    lineage_key: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(200), default="Uncategorized")
    source: Mapped[str] = mapped_column(String(500), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    trigger_type: Mapped[str] = mapped_column(String(40), default="none")
    platforms: Mapped[list[Any]] = mapped_column(default=list)
    capabilities: Mapped[list[Any]] = mapped_column(default=list)
    node_types: Mapped[list[Any]] = mapped_column(default=list)
    credential_types: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    node_count: Mapped[int] = mapped_column(default=0)
    # Lower-case text searched by keywords: name, description, node names, sticky notes, platforms.
    search_text: Mapped[str] = mapped_column(Text, default="")
    workflow: Mapped[dict[str, Any]] = mapped_column()
    original: Mapped[dict[str, Any]] = mapped_column()
    # True when every node runs inside n8n alone: no credentials, no outside network.
    self_contained: Mapped[bool] = mapped_column(default=False)
    usage_count: Mapped[int] = mapped_column(default=0)
    success_count: Mapped[int] = mapped_column(default=0)
