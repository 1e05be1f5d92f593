"""A template deployed into an n8n instance, with the platform-owned entry that starts it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin


class Deployment(TenantMixin, TimestampMixin, Base):
    __tablename__ = "deployments"
    __table_args__ = (
        UniqueConstraint("instance_id", "template_id", name="uq_deployments_instance_template"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(40), ForeignKey("n8n_instances.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("workflow_templates.id", ondelete="CASCADE"), index=True
    )
    n8n_workflow_id: Mapped[str] = mapped_column(String(64))
    # Secret webhook path of the entry the platform adds to start the workflow on demand.
    entry_path: Mapped[str] = mapped_column(String(200))
    # Secret path of the wait entry (execute-and-wait answered once, when the run ends); None for
    # templates that answer HTTP themselves, and for deployments made before wait entries existed.
    wait_path: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(default=False)
    # {n8n credential type the nodes need: n8n credential id bound, or None while none is connected};
    # when it no longer matches the tenant's connections the live workflow is rebound.
    credential_refs: Mapped[dict[str, Any]] = mapped_column(default=dict)
