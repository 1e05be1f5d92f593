"""Connected platform accounts (sealed secrets) and pending connect requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin


class Credential(TenantMixin, TimestampMixin, Base):
    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("users.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="connected")
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime | None]


class ConnectRequest(TenantMixin, TimestampMixin, Base):
    __tablename__ = "connect_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(60))
    # SHA-256 of the single-use token in the connect link; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
