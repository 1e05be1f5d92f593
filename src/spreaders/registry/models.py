"""Workflow templates (n8n workflow JSON, normalised and classified) and their categories."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
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
    # [{"type": n8n credential type, "platform": platform or null, "nodes": [node names]}]
    required_credentials: Mapped[list[Any]] = mapped_column(default=list)
    # Fields the workflow reads from its trigger data (e.g. "body.email").
    required_inputs: Mapped[list[Any]] = mapped_column(default=list)
    # {input path: JSON type}, for the inputs whose type the template declares (e.g. "body.tries": "number").
    input_types: Mapped[dict[str, Any]] = mapped_column(default=dict)
    estimated_duration_ms: Mapped[int] = mapped_column(default=0)
    # Validator findings: [{"level": "error"|"warning", "code", "message", "node"}]
    issues: Mapped[list[Any]] = mapped_column(default=list)
    is_valid: Mapped[bool] = mapped_column(default=True)
    change_summary: Mapped[str] = mapped_column(Text, default="")


# The columns a `TemplateSummary` is read from (search and selection).
SUMMARY_COLUMNS: Final = (
    WorkflowTemplate.id,
    WorkflowTemplate.name,
    WorkflowTemplate.description,
    WorkflowTemplate.category,
    WorkflowTemplate.platforms,
    WorkflowTemplate.capabilities,
    WorkflowTemplate.trigger_type,
    WorkflowTemplate.self_contained,
    WorkflowTemplate.node_count,
    WorkflowTemplate.version,
    WorkflowTemplate.usage_count,
    WorkflowTemplate.success_count,
)


class WorkflowDependency(TenantMixin, TimestampMixin, Base):
    """A template calls another workflow (Execute Workflow node); resolved when the registry holds it."""

    __tablename__ = "workflow_dependencies"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    template_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("workflow_templates.id", ondelete="CASCADE"), index=True
    )
    # How the caller names the sub-workflow: its id or name in the author's instance, or a file path.
    reference: Mapped[str] = mapped_column(String(500))
    depends_on_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("workflow_templates.id", ondelete="SET NULL")
    )


class TemplateRating(TenantMixin, TimestampMixin, Base):
    """One user's rating (1-5) and feedback on a template, per tenant."""

    __tablename__ = "template_ratings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "template_id", name="uq_template_ratings_user"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("workflow_templates.id", ondelete="CASCADE"), index=True
    )
    rating: Mapped[int]
    feedback: Mapped[str] = mapped_column(Text, default="")
