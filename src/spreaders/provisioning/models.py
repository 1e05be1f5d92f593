"""n8n instances the platform runs for tenants; their secrets are kept sealed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from spreaders.db.base import Base, TenantMixin, TimestampMixin


class N8nInstance(TenantMixin, TimestampMixin, Base):
    __tablename__ = "n8n_instances"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    backend: Mapped[str] = mapped_column(String(20), default="local")
    status: Mapped[str] = mapped_column(String(20), default="new")
    version: Mapped[str] = mapped_column(String(40))
    host: Mapped[str] = mapped_column(String(200), default="127.0.0.1")
    port: Mapped[int] = mapped_column(default=0)
    broker_port: Mapped[int] = mapped_column(default=0)
    data_dir: Mapped[str] = mapped_column(String(1000), default="")
    pid: Mapped[int | None]
    owner_email: Mapped[str] = mapped_column(String(320), default="")
    # Sealed JSON {api_key, owner_password, encryption_key}: see vault.cipher.
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary)
    bootstrapped_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(2000), default="")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"
