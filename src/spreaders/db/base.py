"""Declarative base, id helper and the tenant mixin every tenant-owned table uses."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Dialect,
    ForeignKey,
    MetaData,
    String,
    TypeDecorator,
    literal_column,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")


def new_id(prefix: str) -> str:
    """Return a readable unique id such as `cmp_3f2a...` (prefix says what it names)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def inline_strings(values: Iterable[str]) -> list[ColumnElement[str]]:
    """Fixed strings (statuses, kinds) written into a statement for `in_` / `not_in`: a list of plain
    values becomes an expanding parameter that SQLAlchemy re-renders on every execution (a tenth of a
    millisecond for the statement every run ends with)."""
    checked = sorted(values)
    if any(not value.replace("_", "").isalnum() for value in checked):
        raise ValueError("inline_strings takes identifiers only (letters, digits, underscores)")
    return [literal_column(f"'{value}'", String) for value in checked]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on both databases (SQLite drops the zone; we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
    }


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantMixin:
    """Every tenant-owned row names its tenant; every query filters on it."""

    @declared_attr
    def tenant_id(cls) -> Mapped[str]:
        return mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
