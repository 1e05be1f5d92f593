"""Alembic environment: runs on a connection handed in by `spreaders.db.migrate`, or its own."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import Connection

from spreaders.db.models import Base

target_metadata = Base.metadata

# Full-text tables made by migrations 0002 and 0004 and absent from the models (FTS5 keeps shadow
# tables named after its virtual table; the facets tables share the prefix).
_FULLTEXT_TABLE = "workflow_templates_fts"


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Keep autogenerate from dropping the full-text tables the models do not describe."""
    return not (type_ == "table" and name is not None and name.startswith(_FULLTEXT_TABLE))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_standalone() -> None:
    from spreaders.db.session import build_engine

    engine = build_engine(context.config.get_main_option("sqlalchemy.url") or "")

    async def go() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        await engine.dispose()

    asyncio.run(go())


connection = context.config.attributes.get("connection")
if connection is None:
    _run_standalone()
else:
    _run(connection)
