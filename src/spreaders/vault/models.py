"""Connected accounts (sealed secrets), connect requests, master-key checks and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin, utcnow


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


class VaultKey(Base):
    """One master key version seen by this database, with a check value sealed under it.

    Opening the check value at start tells a wrong key from the right one before any secret is touched.
    `retired_at` is set once rotation has verified that no sealed value uses the version any more; only
    then may its key be dropped from the key ring.
    """

    __tablename__ = "vault_keys"

    backend: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    check_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class AuditEvent(TenantMixin, TimestampMixin, Base):
    """Who did what with a credential's secret, and why. Never holds a secret value.

    No foreign keys to the credential or user: the trail outlives both.
    """

    __tablename__ = "vault_audit"
    __table_args__ = (Index("ix_vault_audit_tenant_credential", "tenant_id", "credential_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(40))
    credential_id: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
