"""The loop-thread writer of SQLite: it commits, never waits for a lock, keeps to its thread, and lets
every other error through with nothing written."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert
from sqlalchemy.exc import IntegrityError

from spreaders.db.inline import InlineWriter, inline_writer_for

_METADATA = MetaData()
_ITEMS = Table("items", _METADATA, Column("id", Integer, primary_key=True), Column("name", String))


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "inline.db"
    engine = create_engine(f"sqlite:///{path}")
    _METADATA.create_all(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()
    yield path


def _names(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM items ORDER BY id")]


def test_only_sqlite_files_get_a_writer(tmp_path: Path) -> None:
    assert inline_writer_for("postgresql+asyncpg://user@localhost/db") is None
    assert inline_writer_for("sqlite+aiosqlite://") is None
    assert inline_writer_for("sqlite+aiosqlite:///:memory:") is None
    writer = inline_writer_for(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert isinstance(writer, InlineWriter)
    writer.close()


def test_a_write_is_committed_and_seen_by_other_connections(database: Path) -> None:
    writer = InlineWriter(f"sqlite+aiosqlite:///{database}")
    try:
        assert writer.write(insert(_ITEMS), {"id": 1, "name": "first"}) == 1
        assert _names(database) == ["first"]
    finally:
        writer.close()


def test_a_locked_database_is_answered_at_once_with_nothing_written(database: Path) -> None:
    writer = InlineWriter(f"sqlite+aiosqlite:///{database}")
    other = sqlite3.connect(database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO items (id, name) VALUES (1, 'other')")
        started = time.monotonic()
        assert writer.write(insert(_ITEMS), {"id": 2, "name": "mine"}) is None
        # No wait for the lock (the pool's connections wait up to 30 s).
        assert time.monotonic() - started < 1.0
        other.execute("COMMIT")
        assert _names(database) == ["other"]
        assert writer.write(insert(_ITEMS), {"id": 2, "name": "mine"}) == 1
        assert _names(database) == ["other", "mine"]
    finally:
        other.close()
        writer.close()


def test_other_errors_are_raised_and_roll_the_write_back(database: Path) -> None:
    writer = InlineWriter(f"sqlite+aiosqlite:///{database}")
    try:
        assert writer.write(insert(_ITEMS), {"id": 1, "name": "first"}) == 1
        with pytest.raises(IntegrityError):
            writer.write(insert(_ITEMS), {"id": 1, "name": "again"})
        # The connection is usable again and the failed write left nothing.
        assert writer.write(insert(_ITEMS), {"id": 2, "name": "second"}) == 1
        assert _names(database) == ["first", "second"]
    finally:
        writer.close()


def test_another_thread_is_turned_away(database: Path) -> None:
    writer = InlineWriter(f"sqlite+aiosqlite:///{database}")
    answers: list[int | None] = []
    try:
        assert writer.write(insert(_ITEMS), {"id": 1, "name": "owner"}) == 1
        thread = threading.Thread(
            target=lambda: answers.append(writer.write(insert(_ITEMS), {"id": 2, "name": "intruder"}))
        )
        thread.start()
        thread.join()
        assert answers == [None]
        assert _names(database) == ["owner"]
    finally:
        writer.close()
