"""The registry of sealed columns: every database column that holds a value sealed by the cipher.

Rotation, `spreaders vault status` and the start-up key checks walk this list, so a column missing here
would keep its old master key forever. A table with a sealed column is tenant-owned with a string
primary key `id`, and its values are sealed with `row_aad(tenant_id, table, id)`; a row that belongs to
no tenant (a shared n8n process, an unclaimed seat of the free pool) has `tenant_id` NULL and is sealed
as the platform's. To add one (for
example OAuth tokens), append a SealedColumn to `sealed_columns()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Column, Table

from spreaders.provisioning.models import InstanceBackup, N8nInstance
from spreaders.vault.models import Credential

PLATFORM_OWNER = "-"  # never a tenant id (those are `ten_<hex>`)


def row_aad(tenant_id: str | None, table: str, row_id: str) -> str:
    """Associated data that binds a sealed value to its tenant (or the platform), table and row."""
    return f"tenant:{tenant_id or PLATFORM_OWNER}|{table}:{row_id}"


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    blob: str
    # Set for columns holding a connected account's secret: rotation then writes an audit event
    # (action "rotate") per record, naming the platform read from this column.
    audit_platform: str | None = None

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.blob}"

    def column(self, name: str) -> Column[Any]:
        return self.table.c[name]

    def aad(self, tenant_id: str | None, row_id: str) -> str:
        return row_aad(tenant_id, self.table.name, row_id)


def sealed_columns() -> tuple[SealedColumn, ...]:
    return (
        SealedColumn(cast(Table, Credential.__table__), "secret", audit_platform="platform"),
        SealedColumn(cast(Table, N8nInstance.__table__), "secrets"),
        SealedColumn(cast(Table, InstanceBackup.__table__), "secrets"),
        SealedColumn(cast(Table, InstanceBackup.__table__), "archive"),
    )
