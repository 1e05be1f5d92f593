"""PostgreSQL: a search statement compiled once and run on the session's DBAPI cursor.

A search builds one statement per shape (see `spreaders.registry.search`) and runs it thousands of
times with new values. Through `session.execute` each call hashed the statement's cache key, made
its parameters, result metadata and rows, and crossed into SQLAlchemy's greenlet twice: with the page
validated row by row, the search cost 0.49 ms of this process's CPU at 1,506 templates, twice the bare
full-text query's whole call. Here the statement is compiled once; a call binds its values by
position and runs the SQL on the connection's DBAPI cursor in one hop. That cursor is SQLAlchemy's
asyncpg adapter: the same transaction (begun on first use, as `session.execute` does), statement
cache and type codecs. Engine events (`before_cursor_execute`) do not see these statements. Only
Core statements belong here: `session.execute` would not autoflush for them either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_ABSENT = object()


@dataclass(frozen=True)
class DriverStatement:
    """A compiled statement and, for each positional parameter, its name, the value the statement
    holds itself (literals) or `_ABSENT` when the call supplies it, and the type's bind processor."""

    sql: str
    parameters: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for these values (`KeyError` for a value the call must supply)."""
        arguments = []
        for name, held, process in self.parameters:
            value = values[name] if held is _ABSENT else held
            arguments.append(value if process is None else process(value))
        return arguments


def compile_statement(statement: ClauseElement, dialect: Dialect) -> DriverStatement:
    """Compile once for `dialect`; only statements whose text does not change with their values."""
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    names = compiled.positiontup
    if names is None or "__[POSTCOMPILE_" in compiled.string:
        raise ValueError("compile_statement takes positional statements without expanding parameters")
    held = compiled.construct_params(_check=False)
    parameters = []
    for name in names:
        bind = compiled.binds[name]
        value = _ABSENT if bind.required else held[name]
        parameters.append((name, value, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    return DriverStatement(sql=compiled.string, parameters=tuple(parameters))


async def fetch(
    session: AsyncSession, statement: DriverStatement, values: Mapping[str, Any]
) -> Sequence[Any]:
    """Every row of the statement run with these values, as the driver returns them (asyncpg records:
    `row["column"]`)."""
    arguments = statement.arguments(values)

    def run(sync_session: Session) -> Sequence[Any]:
        raw = sync_session.connection().connection.dbapi_connection
        cursor = raw.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(statement.sql, arguments)
            return cursor.fetchall()
        finally:
            cursor.close()

    return await session.run_sync(run)
