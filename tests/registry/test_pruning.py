"""Pruned searches rank only the matches that can reach the candidates, and find exactly what ranking
every match finds (run the suite with each database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.registry import pruning
from spreaders.registry import service as registry
from spreaders.registry.fulltext import BM25_WEIGHTS, FTS_TABLE, fts5_query
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
    nodes: list[dict[str, Any]] = [
        {"name": "Send", "type": "n8n-nodes-base.emailSend", "parameters": {}},
        {"name": "Note", "type": "n8n-nodes-base.stickyNote", "parameters": {"content": note}},
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
def pruned_statements(session: AsyncSession) -> Iterator[list[str]]:
    """The pruned search statements the session's engine runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "+rowid IN" in statement or "two_terms" in statement:
            seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


async def both(session: AsyncSession, tenant_id: str, **query: Any) -> tuple[TemplatePage, TemplatePage]:
    search = TemplateSearch(**query)
    pruned = await search_templates(session, tenant_id=tenant_id, query=search)
    full = await search_templates(session, tenant_id=tenant_id, query=search, prune=False)
    return pruned, full


@pytest.mark.parametrize(
    "query",
    [
        {"query": "okapi email report weekly digest"},
        {"query": "quokka narwhal email report sheet"},
        {"query": "email report weekly digest sheet"},
        {"query": "okapi email report", "limit": 50},
        {"query": "narwhal email weekly", "limit": 20, "offset": 45},
        {"query": "okapi quokka email report weekly", "limit": 30, "offset": 100},
        {"query": "okapi email report", "capabilities": ["email_campaign"]},
    ],
)
async def test_a_pruned_search_finds_exactly_what_ranking_every_match_finds(
    session: AsyncSession, catalogue: str, query: dict[str, Any]
) -> None:
    pruned, full = await both(session, catalogue, **query)
    assert pruned.items  # the catalogue matches every query
    assert [(item.id, item.score) for item in pruned.items] == [(item.id, item.score) for item in full.items]
    assert (pruned.total, pruned.total_is_estimate) == (full.total, full.total_is_estimate)


async def test_broad_searches_are_pruned(
    session: AsyncSession, catalogue: str, pruned_statements: list[str]
) -> None:
    query = TemplateSearch(query="okapi email report weekly digest")
    await search_templates(session, tenant_id=catalogue, query=query)
    assert pruned_statements
    pruned_statements.clear()
    await search_templates(session, tenant_id=catalogue, query=query, prune=False)
    assert not pruned_statements


async def test_a_search_of_few_matches_finds_them_all(session: AsyncSession, principal: Principal) -> None:
    for index in range(6):
        await registry.import_workflow(session, tenant_id=principal.tenant_id, document=workflow(index))
    pruned, full = await both(session, principal.tenant_id, query="okapi email report weekly digest")
    assert len(pruned.items) == pruned.total == 6
    assert [item.id for item in pruned.items] == [item.id for item in full.items]


async def test_no_match_ranks_above_the_bound_pruning_assumes(session: AsyncSession, catalogue: str) -> None:
    if session.get_bind().dialect.name == "sqlite":
        await assert_bm25_bounds(session)
    else:
        await assert_ts_rank_bound(session)


async def assert_ts_rank_bound(session: AsyncSession) -> None:
    """A template holding one of five words ranks at most 1/5 for them (weights fall along positions)."""
    word_queries = [f"plainto_tsquery('english', '{word}')" for word in COMMON]
    held = " + ".join(f"(search_vector @@ {query})::int" for query in word_queries)
    ranks = (
        await session.execute(
            text(
                f"SELECT ts_rank(search_vector, q), {held} FROM workflow_templates_fts_facets, "
                f"(SELECT {' || '.join(word_queries)} AS q) AS query WHERE search_vector @@ q"
            )
        )
    ).all()
    single = [rank for rank, count in ranks if count == 1]
    assert single and max(single) <= 1 / len(COMMON)
    assert max(rank for rank, _ in ranks) > 1 / len(COMMON)  # templates holding more words can beat it


async def assert_bm25_bounds(session: AsyncSession) -> None:
    rows = (await session.execute(text(f"SELECT count(*) FROM {FTS_TABLE}_docsize"))).scalar_one()
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    for word in (*COMMON, *RARE):
        scores = (
            (
                await session.execute(
                    text(f"SELECT -bm25({FTS_TABLE}, {weights}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q"),
                    {"q": fts5_query([word], operator="OR")},
                )
            )
            .scalars()
            .all()
        )
        bound = pruning.bm25_bound(rows, len(scores))
        assert max(scores) < bound
        assert max(scores) > 0.5 * bound  # the bound is the engine's idf, not a loose guess


def test_plans_drop_the_commonest_terms_while_their_bounds_stay_below_the_worst_candidate() -> None:
    rows, hits = 10_000, [80, 1500, 2500, 3000]
    bounds = [pruning.bm25_bound(rows, n) for n in hits]
    plan = pruning.plan_sqlite(rows, hits, depth=62, worst=bounds[3] + bounds[2] + 0.01)
    assert plan == pruning.Plan(essential=(0, 1), bound=bounds[3] + bounds[2])
    assert pruning.plan_sqlite(rows, hits, depth=62, worst=bounds[3] * 0.9) is None
    assert pruning.plan_sqlite(rows, [10, 20, 30], depth=62) is None  # too few matches to pay
    assert pruning.exact(None, 5.0) and pruning.exact(5.1, 5.0) and not pruning.exact(5.0, 5.0)
