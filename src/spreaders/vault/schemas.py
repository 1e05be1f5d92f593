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
    instructions: str


class ConnectRequestView(BaseModel):
    """What the connect page shows for a pending request."""

    platform: str
    display_name: str
    kind: ProviderKind
    help: str
    fields: list[ProviderField]
    expires_at: datetime


class CredentialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    platform: str
    kind: str
    label: str
    status: str
    created_at: datetime
    updated_at: datetime | None
