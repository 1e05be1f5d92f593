"""n8n instances the platform runs for tenants; their secrets are kept sealed.

One table, three kinds of row (`kind`):
- `dedicated`: a tenant's own n8n process (pro, enterprise, the embedded local tenant);
- `shared`: a pooled n8n process serving several free tenants; it belongs to no tenant (`tenant_id` NULL);
- `seat`: one free tenant's membership of a shared process: its own n8n member user and API key.
  `pool_id` names the shared row; `tenant_id` is NULL while the seat waits in the warm pool. A seat
  whose tenant moved to a dedicated instance stays as history (status `moved`).

Seats are rows of this table (not of a side table) because deployments, n8n credential links and
executions reference `n8n_instances.id` as "the tenant's instance", and the orchestrator finds a
deployment by instance id alone: a per-tenant id keeps that true on a shared process.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin

DEDICATED, SHARED, SEAT = "dedicated", "shared", "seat"
# A seat whose tenant moved to a dedicated instance (`provisioning/seat_move.py`): kept because the
# executions run on it reference it; its member user is deleted, then `pool_id` is cleared.
MOVED = "moved"


class N8nInstance(TimestampMixin, Base):
    __tablename__ = "n8n_instances"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # NULL for shared processes and unclaimed seats; every tenant query filters on it, so they never match.
    tenant_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default=DEDICATED)
    pool_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("n8n_instances.id", ondelete="CASCADE"), index=True
    )
    capacity: Mapped[int] = mapped_column(default=1)  # seats a shared process serves
    n8n_user_id: Mapped[str] = mapped_column(String(64), default="")  # a seat's member user in n8n
    claimed_at: Mapped[datetime | None]
    # A seat being moved to a dedicated instance: when the move began (a lease; see seat_move).
    move_started_at: Mapped[datetime | None]
    backend: Mapped[str] = mapped_column(String(20), default="local")
    status: Mapped[str] = mapped_column(String(20), default="new")
    version: Mapped[str] = mapped_column(String(40))
    host: Mapped[str] = mapped_column(String(200), default="127.0.0.1")
    port: Mapped[int] = mapped_column(default=0)
    broker_port: Mapped[int] = mapped_column(default=0)
    data_dir: Mapped[str] = mapped_column(String(1000), default="")
    pid: Mapped[int | None]
    owner_email: Mapped[str] = mapped_column(String(320), default="")
    # Sealed JSON (see vault.cipher): {api_key, owner_password, encryption_key} (dedicated); the same
    # for a shared process, whose owner key only invites members; {api_key, password} (seat).
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary)
    bootstrapped_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(2000), default="")
    # The tier the instance is sized for, and the V8 heap (`--max-old-space-size`) derived from it;
    # 0 on instances recorded before tiers sized them (they use `SPREADERS_N8N__MEMORY_LIMIT_MB`).
    tier: Mapped[str] = mapped_column(String(20), default="free", server_default="free")
    heap_mb: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


class InstanceBackup(TenantMixin, TimestampMixin, Base):
    """Workflows and credentials exported from an instance before it was deprovisioned.

    The credentials stay encrypted with the instance's encryption key; this row keeps that key (and
    the owner password) sealed with the vault cipher, so the backup restores into an instance that can
    read it, and neither is ever stored in plaintext. A local instance's backup is two files in the
    folder `path`; a Kubernetes instance's is kept in `archive` (the platform's pods have no durable
    disk, and any replica may run the restore).
    """

    __tablename__ = "instance_backups"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Not a foreign key on purpose: the backup must outlive whatever happens to the instance row.
    instance_id: Mapped[str] = mapped_column(String(40), index=True)
    tier: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(1000))
    workflows: Mapped[int] = mapped_column(default=0)
    credentials: Mapped[int] = mapped_column(default=0)
    # Sealed JSON {encryption_key, owner_password}; see vault.cipher.
    secrets: Mapped[bytes] = mapped_column(LargeBinary)
    restored_at: Mapped[datetime | None]
    # Sealed JSON {workflows: [...], credentials: [...]} (the two files' content); NULL: files at `path`.
    archive: Mapped[bytes | None] = mapped_column(LargeBinary)
