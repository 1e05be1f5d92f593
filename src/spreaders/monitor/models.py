"""Every execution the platform started, kept in step with n8n's own record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin


class WorkflowExecution(TenantMixin, TimestampMixin, Base):
    __tablename__ = "workflow_executions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_workflow_executions_idem"),
        # The run quota's counts (provisioning.quotas.check_run), before every run.
        Index("ix_workflow_executions_tenant_created", "tenant_id", "created_at"),
        Index("ix_workflow_executions_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    template_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("workflow_templates.id", ondelete="CASCADE")
    )
    deployment_id: Mapped[str] = mapped_column(String(40), ForeignKey("deployments.id", ondelete="CASCADE"))
    instance_id: Mapped[str] = mapped_column(String(40), ForeignKey("n8n_instances.id", ondelete="CASCADE"))
    n8n_workflow_id: Mapped[str] = mapped_column(String(64))
    n8n_execution_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="new")
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    error_node: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
