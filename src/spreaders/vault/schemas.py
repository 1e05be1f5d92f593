"""Vault inputs and outputs. None of these ever carries a secret value."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from spreaders.vault.catalogue import ProviderField, ProviderKind


class ConnectLink(BaseModel):
    """What the agent hands to the user: a single-use link to the connect page."""

    platform: str
    kind: ProviderKind
    url: str
    expires_at: datetime
    scopes: list[str] = []  # OAuth2: what the user will be asked to allow
    instructions: str


class ConnectRequestView(BaseModel):
    """What the connect page shows for a pending request."""

    platform: str
    display_name: str
    kind: ProviderKind
    help: str
    fields: list[ProviderField]
    scopes: list[str]
    expires_at: datetime


class CredentialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    platform: str
    kind: str
    label: str
    status: str  # connected | broken
    status_message: str  # for `broken`: what happened and how to reconnect
    scopes: list[str]  # OAuth2: the scopes granted
    expires_at: datetime | None  # OAuth2: when the current access token expires (refreshed before)
    created_at: datetime
    updated_at: datetime | None


class CredentialDeleted(BaseModel):
    id: str
    deleted: bool
    revoked: bool | None = None  # OAuth2: tokens revoked at the provider; None where it has no revocation

    def summary(self) -> str:
        """One line for people: what was deleted and whether the provider revoked the tokens."""
        if self.revoked is None:
            return f"Deleted credential {self.id}."
        done = "were revoked" if self.revoked else "could not be revoked"
        return f"Deleted credential {self.id}; its tokens {done} at the platform."


AuditAction = Literal["store", "read", "refresh", "push", "delete", "rotate"]


class AuditEventRead(BaseModel):
    """One audit event: who did what with a credential's secret and why (never the secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    credential_id: str
    platform: str
    action: str
    reason: str
    user_id: str | None
    created_at: datetime


class VaultKeyRead(BaseModel):
    """A master key version the database has seen (its check value is not shown)."""

    key: str
    created_at: datetime
    retired_at: datetime | None


class ColumnKeyCount(BaseModel):
    column: str  # table.column
    key: str  # master key version, e.g. local:2 ("unreadable" for values with no valid header)
    count: int


class VaultStatus(BaseModel):
    """Which master keys exist and how many sealed values each one wraps."""

    backend: str
    current_key: str
    configured: list[str]
    keys: list[VaultKeyRead]
    usage: list[ColumnKeyCount]
    pending: int  # sealed values not yet under the current key


class RotationFailure(BaseModel):
    column: str
    row_id: str
    reason: str


class RotationReport(BaseModel):
    """What `spreaders vault rotate` did, and the check that nothing uses an old key any more."""

    target_key: str
    added_version: bool  # a new key version was created for this rotation
    rewrapped: int
    skipped_concurrent: int  # rows changed by a writer while re-wrapping: left as written, re-checked
    passes: int
    failed: list[RotationFailure]
    remaining: int  # values still not under the target key after the last pass (0 when done)
    retired: list[str]
    seconds: float
    usage_after: list[ColumnKeyCount]
