"""Campaigns: a prompt, its plan, the templates chosen for it and its lifecycle status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin


class Campaign(TenantMixin, TimestampMixin, Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    prompt: Mapped[str] = mapped_column(Text)
    plan: Mapped[dict[str, Any]] = mapped_column()
    template_ids: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(30), default="planned")
    # Refreshed while a process runs the campaign's chain; a stale one means that process died.
    heartbeat_at: Mapped[datetime | None]
