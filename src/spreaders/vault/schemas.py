"""Vault inputs and outputs. None of these ever carries a secret value."""

from __future__ import annotations

from datetime import datetime

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
