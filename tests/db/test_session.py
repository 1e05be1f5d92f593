"""The SQLite engine's pool: connections come back without an open transaction, and no rollback is wasted."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from spreaders.db.session import build_engine


async def test_a_connection_returned_inside_a_transaction_is_rolled_back_and_a_committed_one_is_not(
    tmp_path: Path,
) -> None:
    engine = build_engine(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    resets: list[bool] = []

    @event.listens_for(engine.sync_engine, "reset", insert=True)  # before the engine's own
    def _seen(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry, _state: PoolResetState) -> None:
        resets.append(dbapi_conn.driver_connection.in_transaction)

    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        # Written behind SQLAlchemy's back: SQLite opens a transaction the Connection knows nothing of.
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("INSERT INTO t VALUES (1)")
        async with engine.connect() as conn:  # the pool hands the same (only) connection back
            raw = await conn.get_raw_connection()
            assert not raw.driver_connection.in_transaction
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        assert resets[-1] is False  # committed: returned with nothing to roll back
        assert True in resets  # the write above was still open when it came back
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT x FROM t"))).scalars().all() == [2]
    finally:
        await engine.dispose()
