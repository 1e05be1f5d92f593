"""Search statements compiled once and run on the DBAPI cursor (PostgreSQL) return what SQLAlchemy's
execution of the same statement returns (run the suite with each database)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import Boolean, Integer, String, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.registry import driver, fulltext, search
from spreaders.registry import service as registry
from spreaders.registry.schemas import TemplateSearch


def workflow(index: int) -> dict[str, Any]:
    kinds = ["slack", "gmail", "googleSheets", "webhook", "scheduleTrigger"]
    nodes: list[dict[str, Any]] = [
        {"name": kind, "type": f"n8n-nodes-base.{kind}", "parameters": {}}
        for position, kind in enumerate(kinds)
        if (index >> position) % 2
    ]
    note = " ".join(["email report weekly digest sheet"[: 6 + index % 27]] * (1 + index % 3))
    nodes.append({"name": "Note", "type": "n8n-nodes-base.stickyNote", "parameters": {"content": note}})
    return {"name": f"Email report {index:02}", "nodes": nodes, "connections": {}}


POSTGRESQL = create_async_engine("postgresql+asyncpg://").dialect  # compiles only: never connects
SEARCHES = [
    {"query": "email report"},
    {"query": "email report weekly digest sheet", "limit": 20, "offset": 45},
    {"query": "email", "platforms": ["slack", "email"], "capabilities": ["email_campaign", "scheduling"]},
    {"query": "report", "trigger_type": "webhook", "self_contained": False, "category": "Uncategorized"},
    {"query": "email report", "connected_only": True},
    {"query": "", "platforms": ["slack"]},
]


@pytest.mark.parametrize("search_args", SEARCHES)
async def test_a_precompiled_statement_returns_what_session_execute_returns(
    session: AsyncSession, principal: Principal, search_args: dict[str, Any]
) -> None:
    dialect = session.get_bind().dialect
    if dialect.name == "sqlite":
        return  # SQLite runs its searches through session.execute
    for index in range(60):
        await registry.import_workflow(session, tenant_id=principal.tenant_id, document=workflow(index))
    query = TemplateSearch(**search_args)
    words = fulltext.terms(query.query)
    shape, params = search._plan(
        query, words, principal.tenant_id, ["slackApi"], search.DEFAULT_RANKING, dialect.name
    )
    shapes = [shape, dataclasses.replace(shape, pruned=True)] if len(words) > 1 else [shape]
    for each in shapes:
        statement = search._search_statements(each)[0]
        expected = [dict(row._mapping) for row in await session.execute(statement, params)]
        rows = await driver.fetch(session, driver.compile_statement(statement, dialect), params)
        assert expected  # the catalogue matches every search
        assert [dict(row) for row in rows] == expected


async def test_a_search_runs_in_its_session_s_transaction(app: AppContext, principal: Principal) -> None:
    """It sees what its session wrote and has not committed, and nothing once that is rolled back,
    whether it runs before or after the session's writes."""
    query = TemplateSearch(query="email report")
    async with app.sessionmaker() as session:
        first = await search.search_templates(session, tenant_id=principal.tenant_id, query=query)
        await registry.import_workflow(session, tenant_id=principal.tenant_id, document=workflow(3))
        after = await search.search_templates(session, tenant_id=principal.tenant_id, query=query)
        await session.rollback()
        again = await search.search_templates(session, tenant_id=principal.tenant_id, query=query)
    assert (first.total, after.total, again.total) == (0, 1, 0)
    assert [item.name for item in after.items] == ["Email report 03"]


def test_a_compiled_statement_binds_its_own_literals_and_the_call_s_values_by_position() -> None:
    statement = select(
        literal(3, Integer).label("three"),
        bindparam("word", type_=String).label("word"),
        bindparam("flag", type_=Boolean).label("flag"),
        bindparam("word", type_=String).label("again"),
    )
    compiled = driver.compile_statement(statement, POSTGRESQL)
    assert len(compiled.parameters) == 3  # a value used twice is bound once
    assert compiled.arguments({"word": "mail", "flag": True}) == [3, "mail", True]
    with pytest.raises(KeyError):
        compiled.arguments({"flag": True})


def test_statements_whose_text_changes_with_their_values_are_not_compiled_once() -> None:
    expanding = select(literal(1)).where(literal("a").in_(bindparam("words", expanding=True)))
    with pytest.raises(ValueError):
        driver.compile_statement(expanding, POSTGRESQL)
