"""Pruned searches (PostgreSQL) rank only the matches that can reach the candidates, and find exactly
what ranking every match finds (run the suite with each database)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.registry import pruning
from spreaders.registry import service as registry
from spreaders.registry.schemas import TemplatePage, TemplateSearch
from spreaders.registry.search import search_templates

# Common words in most templates, rarer ones in a few: the shape of a real catalogue's broad searches.
COMMON = ("email", "report", "weekly", "digest", "sheet")
RARE = ("okapi", "quokka", "narwhal")


def workflow(index: int) -> dict[str, Any]:
    common = [word for position, word in enumerate(COMMON) if (index >> position) % 2 or index % 3 == 0]
    rare = [word for position, word in enumerate(RARE) if index % (7 + 4 * position) == position]
    name = " ".join([*rare[:1], *common[:2], f"flow {index:03}"]).capitalize()
    note = " ".join([*common, *rare] * (1 + index % 4))
    # The first sticky note is the description: every other template holds its words in the body only.
    notes = [note] if index % 2 else ["Runs on its own, nothing to set up.", note]
    nodes: list[dict[str, Any]] = [
        {"name": "Send", "type": "n8n-nodes-base.emailSend", "parameters": {}},
        *(
            {"name": f"Note {i}", "type": "n8n-nodes-base.stickyNote", "parameters": {"content": text}}
            for i, text in enumerate(notes)
        ),
    ]
    return {"name": name, "nodes": nodes, "connections": {}}


@pytest.fixture
async def catalogue(session: AsyncSession, principal: Principal) -> str:
    for index in range(320):
        await registry.import_workflow(session, tenant_id=principal.tenant_id, document=workflow(index))
    other = await accounts.create_tenant(session, name="other shop")
    for index in range(0, 320, 3):
        await registry.import_workflow(session, tenant_id=other.id, document=workflow(index))
    return principal.tenant_id


@pytest.fixture
def statement_runs(session: AsyncSession) -> Iterator[Callable[[bool], Awaitable[int]]]:
    """How many pruned (True) or unpruned (False) PostgreSQL ranking statements the session's
    connection has run so far (SQLite: how many pruned ones, none expected)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "ts_filter" in statement:
            seen.append(statement)

    async def runs(pruned: bool) -> int:
        if session.get_bind().dialect.name != "postgresql":
            return len(seen)
        # PostgreSQL runs search statements on the DBAPI cursor, which engine events do not see: the
        # server counts each prepared statement's runs (the patterns are split so as not to match
        # this query itself).
        count = "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements"
        where = (
            " WHERE strpos(statement, 'ts' || '_rank(') > 0"
            f" AND (strpos(statement, 'ts' || '_filter(') > 0) = {'true' if pruned else 'false'}"
        )
        return int((await session.execute(text(count + where))).scalar_one())

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    yield runs
    event.remove(engine, "before_cursor_execute", record)


async def both(session: AsyncSession, tenant_id: str, **query: Any) -> tuple[TemplatePage, TemplatePage]:
    search = TemplateSearch(**query)
    pruned = await search_templates(session, tenant_id=tenant_id, query=search, prune=True)
    full = await search_templates(session, tenant_id=tenant_id, query=search, prune=False)
    return pruned, full


@pytest.mark.parametrize(
    "query",
    [
        {"query": "okapi email report weekly digest"},
        {"query": "quokka narwhal email report sheet"},
        {"query": "email report weekly digest sheet"},
        {"query": "okapi email report weekly digest sheet", "limit": 50},
        {"query": "narwhal email weekly digest sheet", "limit": 20, "offset": 45},
        {"query": "okapi quokka email report weekly", "limit": 30, "offset": 100},
        {"query": "okapi email report weekly"},
        {"query": "okapi email report weekly digest", "capabilities": ["email_campaign"]},
        {"query": "email weekly"},
        {"query": "quokka sheet"},
        {"query": "digest report sheet", "limit": 20, "offset": 40},
        {"query": "okapi weekly sheet email", "limit": 10, "offset": 50},
    ],
)
async def test_a_pruned_search_finds_exactly_what_ranking_every_match_finds(
    session: AsyncSession, catalogue: str, query: dict[str, Any]
) -> None:
    pruned, full = await both(session, catalogue, **query)
    assert pruned.items  # the catalogue matches every query
    assert [(item.id, item.score) for item in pruned.items] == [(item.id, item.score) for item in full.items]
    assert (pruned.total, pruned.total_is_estimate) == (full.total, full.total_is_estimate)


@pytest.mark.parametrize("words", ["okapi email report weekly digest", "email weekly", "digest report sheet"])
async def test_broad_searches_are_pruned_and_proven_on_postgresql(
    session: AsyncSession, catalogue: str, statement_runs: Callable[[bool], Awaitable[int]], words: str
) -> None:
    query = TemplateSearch(query=words)
    pruned, full = await statement_runs(True), await statement_runs(False)
    await search_templates(session, tenant_id=catalogue, query=query, prune=True)
    postgresql = session.get_bind().dialect.name == "postgresql"
    assert await statement_runs(True) - pruned == (1 if postgresql else 0)
    if postgresql:  # proven: no unpruned run after it
        assert await statement_runs(False) == full
    # A catalogue this small is not worth it unless asked (its proof holds less often).
    await search_templates(session, tenant_id=catalogue, query=query)
    await search_templates(session, tenant_id=catalogue, query=query, prune=False)
    assert await statement_runs(True) - pruned == (1 if postgresql else 0)


async def test_a_search_of_few_matches_finds_them_all(session: AsyncSession, principal: Principal) -> None:
    for index in range(6):
        await registry.import_workflow(session, tenant_id=principal.tenant_id, document=workflow(index))
    pruned, full = await both(session, principal.tenant_id, query="okapi email report weekly digest")
    assert len(pruned.items) == pruned.total == 6
    assert [item.id for item in pruned.items] == [item.id for item in full.items]


@pytest.mark.parametrize("words", [COMMON[:2], ("email", "digest", "okapi"), COMMON])
async def test_no_template_left_out_ranks_above_the_bound_pruning_assumes(
    session: AsyncSession, catalogue: str, words: tuple[str, ...]
) -> None:
    """A template holding none of n words in its name or description, and not all of them, ranks at
    most 0.2 x (n - 1) / n for them (ts_rank; weights fall along the positions of
    `workflow_templates_search_vector`). SQLite is not pruned: its search ranks every match, as the
    searches above check."""
    if session.get_bind().dialect.name == "sqlite":
        return
    word_queries = [f"plainto_tsquery('english', '{word}')" for word in words]
    head = f"ts_filter(search_vector, {pruning.HEAD_WEIGHTS}) @@ q"
    ranks = (
        await session.execute(
            text(
                f"SELECT ts_rank(search_vector, q), {head}, search_vector @@ every "
                f"FROM workflow_templates_fts_facets, (SELECT {' || '.join(word_queries)} AS q, "
                f"{' && '.join(word_queries)} AS every) AS query WHERE search_vector @@ q"
            )
        )
    ).all()
    bound = pruning.BODY_WEIGHT * (len(words) - 1) / len(words)
    left_out = [rank for rank, in_head, every in ranks if not in_head and not every]
    assert left_out and max(left_out) <= bound
    assert max(rank for rank, _, _ in ranks) > bound  # templates holding a word in their name beat it


async def test_pruned_searches_find_the_kept_matches_through_an_index(session: AsyncSession) -> None:
    """The name-and-description test is migration 0015's index expression, so the planner can use it."""
    if session.get_bind().dialect.name == "sqlite":
        return
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    head = f"ts_filter(search_vector, {pruning.HEAD_WEIGHTS}) @@ 'email'::tsquery"
    plan = (
        await session.execute(text(f"EXPLAIN SELECT id FROM workflow_templates_fts_facets WHERE {head}"))
    ).all()
    assert "ix_workflow_templates_fts_facets_head_vector" in " ".join(row[0] for row in plan)


def test_a_pruned_search_is_proven_only_by_a_full_set_beating_the_bound_or_by_keeping_every_match() -> None:
    full = {"found": 50, "total": 400, "depth": 50, "cap": 1000}
    assert pruning.proven(**full, worst=0.3, bound=0.2)
    assert pruning.proven(**full, worst=None, bound=0.2)  # every candidate holds every word
    assert not pruning.proven(**full, worst=0.2, bound=0.2)
    assert not pruning.proven(found=30, total=400, depth=50, cap=1000, worst=0.9, bound=0.2)
    assert pruning.proven(found=30, total=30, depth=50, cap=1000, worst=0.01, bound=0.2)
    assert not pruning.proven(found=1001, total=1001, depth=1050, cap=1000, worst=0.01, bound=0.2)


def test_only_searches_of_two_single_words_or_more_are_pruned() -> None:
    words = ["okapi", "email", "report", "weekly", "digest", "sheet", "flow"]
    assert pruning.prunable(words, (False,) * 7)
    assert pruning.prunable(words[:2], (False,) * 2)
    assert not pruning.prunable(words[:1], (False,))
    assert not pruning.prunable([*words[:4], "e mail"], (False,) * 5)
    assert not pruning.prunable(words[:5], (False, True, False, False, False))
