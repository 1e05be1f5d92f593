from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Tier = Literal["free", "pro", "enterprise"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: every service call is scoped to `tenant_id`."""

    tenant_id: str
    user_id: str
    scopes: frozenset[str] = frozenset({"*"})

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


class TenantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    tier: Tier
    created_at: datetime


class ApiKeyCreated(BaseModel):
    id: str
    label: str
    key: str  # shown once, never stored


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    label: str
    prefix: str
    scopes: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
