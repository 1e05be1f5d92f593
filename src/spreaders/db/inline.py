"""One-statement write transactions on SQLite, run on the event loop's own thread.

aiosqlite runs every call on a worker thread: the statement, the commit and the pool's checks are
each a hop there and back. For the two writes every run makes (its record before n8n is called, its
outcome after) that was ~1.5 ms of CPU a write, where SQLite's own work is ~0.1-0.2 ms
(docs/execution.md, "Writes on the loop's thread"). Those writes go through a plain sqlite3
connection on the loop's thread instead, in a `BEGIN IMMEDIATE` transaction that never waits for a
lock (`busy_timeout` 0): the loop is held for the time SQLite takes, never for another writer. When
the database is locked (another connection is writing, in this process or another), the writer
answers None and the caller does the write the usual way, through the pool, which waits its turn.

Not used on PostgreSQL (asyncpg needs no thread) nor for in-memory databases (a second connection
would see another database).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

# Told what a committed write changed (the caller's notes, e.g. metrics events).
CommitHook = Callable[[Sequence[object]], None]

_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class InlineWriter:
    def __init__(self, url: str) -> None:
        self._engine: Engine = create_engine(
            make_url(url).set(drivername="sqlite+pysqlite"),
            poolclass=StaticPool,
            # The connection is opened on, and used from, the first thread that writes (see `write`).
            connect_args={"check_same_thread": False},
        )
        event.listen(self._engine, "connect", _configure)
        event.listen(self._engine, "begin", _begin_immediate)
        self._connection: Connection | None = None
        self._thread: int | None = None
        self.commit_hooks: list[CommitHook] = []

    def write(self, statement: Executable, parameters: Mapping[str, Any]) -> int | None:
        """Run `statement` in a transaction of its own; its row count, or None when the database is
        locked (or this is not the thread the writer belongs to): then nothing was written."""
        if self._thread is None:
            self._thread = threading.get_ident()
        elif self._thread != threading.get_ident():
            return None
        if self._connection is None:
            self._connection = self._engine.connect()
        try:
            with self._connection.begin():
                result = cast(CursorResult[Any], self._connection.execute(statement, parameters))
                return result.rowcount
        except OperationalError as exc:
            if getattr(exc.orig, "sqlite_errorcode", None) in _BUSY:
                return None
            raise

    def committed(self, notes: Sequence[object]) -> None:
        """Pass what a write changed to the hooks (called by the writer's caller after `write`)."""
        for hook in self.commit_hooks:
            hook(notes)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._engine.dispose()


def inline_writer_for(url: str) -> InlineWriter | None:
    """A writer for a SQLite database file; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("mode") == "memory" or str(parsed.database).startswith("file::memory:"):
        return None
    return InlineWriter(url)


def _configure(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by `_begin_immediate`, not by the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    # Take the write lock first: a deferred transaction reading before it writes would fail only at
    # its write (or on a snapshot another writer made stale), with its read work already done.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
