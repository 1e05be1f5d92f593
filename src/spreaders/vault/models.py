"""Connected accounts (sealed secrets), connect requests, master-key checks and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin, utcnow


def credential_aad(tenant_id: str, credential_id: str) -> str:
    """Associated data that binds a sealed credential to its tenant and row."""
    return f"tenant:{tenant_id}|credentials:{credential_id}"


class Credential(TenantMixin, TimestampMixin, Base):
    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("users.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="connected")
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    # Bumped whenever the secret's content changes (a refresh), not when it is only re-wrapped.
    secret_version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime | None]
    # OAuth2 only: what was granted and when the access token expires (the tokens are in `secret`).
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    # Why a connection is `broken` and what the user should do about it.
    status_message: Mapped[str] = mapped_column(Text, default="")


class ConnectRequest(TenantMixin, TimestampMixin, Base):
    __tablename__ = "connect_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(60))
    # SHA-256 of the single-use token in the connect link; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # OAuth2: scopes to ask for, and the authorization request once the user leaves for the provider.
    # The PKCE code verifier is never stored: it waits in a cookie of the user's browser.
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    # Reconnecting a broken credential replaces its tokens in place (its n8n credentials stay bound).
    credential_id: Mapped[str | None] = mapped_column(String(40))
    state_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    state_expires_at: Mapped[datetime | None]
    redirect_uri: Mapped[str | None] = mapped_column(String(500))
    completed_at: Mapped[datetime | None]


class N8nCredentialLink(TenantMixin, TimestampMixin, Base):
    """An n8n credential made from a connected account in one instance.

    `credential_id` goes NULL when the account is disconnected while the instance cannot be reached:
    such a row names an n8n credential still to be deleted there (see `vault.n8n_sync.delete_orphans`).
    """

    __tablename__ = "n8n_credential_links"
    __table_args__ = (
        UniqueConstraint("instance_id", "credential_id", "n8n_type", name="uq_n8n_credential_links_target"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    credential_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("credentials.id", ondelete="SET NULL"), index=True
    )
    instance_id: Mapped[str] = mapped_column(String(40), ForeignKey("n8n_instances.id", ondelete="CASCADE"))
    n8n_type: Mapped[str] = mapped_column(String(120))
    n8n_credential_id: Mapped[str] = mapped_column(String(64))
    n8n_name: Mapped[str] = mapped_column(String(300))
    # The account's secret_version the n8n copy was made from; an older one is replaced on next use.
    secret_version: Mapped[int] = mapped_column(default=1)


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
