"""Alembic environment: runs on a connection handed in by `spreaders.db.migrate`, or its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from spreaders.db.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
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
