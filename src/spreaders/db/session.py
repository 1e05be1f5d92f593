"""Engine and session factory for SQLite (embedded) and PostgreSQL (scaled)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState


def build_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # The pool's own rollback on check-in is replaced by `_rollback_if_open`: see there.
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # Up to 32 MB of page cache a connection (default 2 MB): the full-text index and search
            # facets of 10,000 templates (about 11 MB) then stay in memory instead of being re-read.
            cursor.execute("PRAGMA cache_size=-32768")
            cursor.close()

        @event.listens_for(engine.sync_engine, "reset")
        def _rollback_if_open(
            dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry, state: PoolResetState
        ) -> None:
            # The pool rolls back every connection it takes back, although a session that ends has
            # already committed or rolled back. On SQLite each call is a round trip to aiosqlite's
            # thread (a tenth of a millisecond of CPU, twice per execution); SQLite itself says
            # whether a transaction is still open (a task cancelled mid-transaction, for example).
            if state.asyncio_safe and dbapi_conn.driver_connection.in_transaction:
                dbapi_conn.rollback()

        return engine
    return create_async_engine(url, pool_pre_ping=True)


def build_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
