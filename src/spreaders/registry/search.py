"""Template search: a tenant's active templates by words and filters, scored, best first, one page at a time.

The words go to the database's own full-text engine through `spreaders.registry.fulltext`; this
module decides which matches are scored, how (the original points plus text relevance, see
`Ranking`), how they are paged and counted, and builds one statement per shape of search.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import TypeAdapter
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Dialect,
    Float,
    Integer,
    Select,
    Subquery,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.registry import driver, fulltext, pruning
from spreaders.registry.classify import canonical_platform
from spreaders.registry.models import SUMMARY_COLUMNS, WorkflowTemplate
from spreaders.registry.schemas import TemplatePage, TemplateSearch, TemplateSummary

# A search with words scores only the CANDIDATES most relevant matches (those holding every term
# first), in blocks of this size for pages past the first block; totals are counted up to TOTAL_CAP.
CANDIDATES: Final = 50
TOTAL_CAP: Final = 1000
# Core columns, not ORM attributes: a search reads plain rows, and the ORM's result machinery cost
# as much as a quarter of a fast search.
_TEMPLATES: Final = WorkflowTemplate.__table__
_INDEXED_ROWS: Final = "spreaders.registry.indexed_rows"
# One validation call for a page's rows (a model per row cost twice as much).
_SUMMARIES: Final = TypeAdapter(list[TemplateSummary])


@dataclass(frozen=True)
class Ranking:
    """How a template's score is made: the original points plus text relevance (0..1, times `text`).

    With `all_words_first`, templates matching every query term come before the others.
    """

    platform: float = 40
    capability: float = 30
    success: float = 20
    popularity: float = 10
    text: float = 60
    all_words_first: bool = True


DEFAULT_RANKING: Final = Ranking()


async def search_templates(
    session: AsyncSession,
    *,
    tenant_id: str,
    query: TemplateSearch,
    connected_credential_types: Collection[str] | None = None,
    ranking: Ranking = DEFAULT_RANKING,
    prune: bool | None = None,
) -> TemplatePage:
    """Find active templates by full-text relevance and filters, best match first.

    `connected_credential_types` (n8n credential types the tenant's connected accounts provide) is
    what `connected_only` checks against; `ranking` is for tuning (see benchmarks/relevance.py);
    `prune` (PostgreSQL) leaves out matches that provably cannot reach the candidates: None when the
    catalogue is large enough for it to pay, True whenever the words allow it, False never (same
    results; for tests and measurements).
    """
    words = fulltext.terms(query.query)
    if query.query.strip() and not words:
        # Only punctuation or stop words: nothing can match them.
        return TemplatePage(items=[], total=0)
    dialect = session.get_bind().dialect.name
    shape, params = _plan(query, words, tenant_id, connected_credential_types, ranking, dialect)
    # SQLite first takes only the engine's best hits (the candidates and a quarter more, room for
    # other versions' rows; each extra hit costs its place in the engine's sort and a facets read)
    # before reading the facets, when only tenancy filters them. If fewer candidates than asked for
    # and than match are left (another tenant's or version's rows ranked higher), it reads the
    # facets of every hit.
    fast = bool(words) and dialect == "sqlite" and not shape.narrowed
    rows = None
    if prune is not False:
        rows = await _pruned_search(session, shape, words, params, always=prune)
    if rows is not None:
        counted, exact = rows[0]["total"], False
    else:
        first = dataclasses.replace(shape, engine_cut=True) if fast else shape
        rows = await _page(session, first, params)
        exact = bool(rows) and dialect == "postgresql"
        if rows:
            counted = rows[0]["total"]
        elif query.offset or fast:
            counted = (await session.execute(_search_statements(first)[1], params)).scalar_one()
        else:
            counted = 0
        if fast and (rows[0]["found"] if rows else 0) < min(params["depth"], counted):
            rows = await _page(session, shape, params)
    items = _SUMMARIES.validate_python([{**row, "score": round(row["score"], 4)} for row in rows])
    if exact or counted <= TOTAL_CAP:
        return TemplatePage(items=items, total=counted)
    return TemplatePage(items=items, total=TOTAL_CAP, total_is_estimate=True)


def _plan(
    query: TemplateSearch,
    words: Sequence[str],
    tenant_id: str,
    connected_credential_types: Collection[str] | None,
    ranking: Ranking,
    dialect: str,
) -> tuple[_SearchShape, dict[str, Any]]:
    """The search's shape (which statement) and the values bound to it."""
    platforms = sorted({canonical_platform(p) for p in query.platforms if p.strip()})
    capabilities = sorted({c.strip().lower() for c in query.capabilities if c.strip()})
    shape = _SearchShape(
        dialect=dialect,
        term_count=len(words),
        folded=fulltext.folded_terms(words, dialect=dialect),
        platform_count=len(platforms),
        capability_count=len(capabilities),
        category=query.category is not None,
        trigger_type=query.trigger_type is not None,
        self_contained=query.self_contained is not None,
        connected_only=query.connected_only,
        ranking=ranking,
        deep=bool(words) and query.offset + query.limit > CANDIDATES,
    )
    blocks = -(-(query.offset + query.limit) // CANDIDATES)
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "category": query.category,
        "trigger_type": query.trigger_type,
        "self_contained": query.self_contained,
        "platforms": platforms,
        "capabilities": capabilities,
        "connected": sorted(set(connected_credential_types or ())),
        **fulltext.json_strings("platforms", platforms),
        **fulltext.json_strings("capabilities", capabilities),
        "depth": blocks * CANDIDATES,
        "fts_depth": blocks * CANDIDATES * 5 // 4,
        "page_limit": query.limit,
        "page_offset": query.offset,
        **(fulltext.text_parameters(words, dialect=dialect) if words else {}),
    }
    return shape, params


async def _page(session: AsyncSession, shape: _SearchShape, params: dict[str, Any]) -> Sequence[Any]:
    """The page statement's rows, each read by column name (`row["score"]`). PostgreSQL runs its
    statement precompiled on the DBAPI cursor (see `spreaders.registry.driver`)."""
    if shape.dialect == "postgresql":
        statement = _driver_statement(shape, session.get_bind().dialect)
        return await driver.fetch(session, statement, params)
    return [row._mapping for row in await session.execute(_search_statements(shape)[0], params)]


async def _pruned_search(
    session: AsyncSession,
    shape: _SearchShape,
    words: Sequence[str],
    params: dict[str, Any],
    *,
    always: bool | None,
) -> Sequence[Any] | None:
    """The page ranked over the matches pruning keeps (PostgreSQL), or None when that cannot be
    proven the same as ranking every match (see `spreaders.registry.pruning`)."""
    if shape.dialect != "postgresql" or shape.narrowed or not pruning.prunable(words, shape.folded):
        # Filtered, the unpruned search ranks only the matches passing the filter, while the pruned
        # one's count apart reads matches until the cap passes it (often all of them) and fewer
        # candidates are left among the kept: no faster for 11 of the 13 filtered requests at 10,000.
        return None
    if not always and await _indexed_rows(session) < pruning.MIN_ROWS:
        return None
    rows = await _page(session, dataclasses.replace(shape, pruned=True), params)
    if rows and pruning.proven(
        found=rows[0]["found"],
        total=rows[0]["total"],
        depth=params["depth"],
        worst=rows[0]["worst"],
        bound=rows[0]["bound"],
        cap=TOTAL_CAP,
    ):
        return rows
    return None


async def _indexed_rows(session: AsyncSession) -> float:
    """PostgreSQL's estimate of the indexed rows (from the last ANALYZE), read once a minute per
    connection: it only decides whether pruning is worth trying."""
    connection = await session.connection()
    rows, read_at = connection.info.get(_INDEXED_ROWS, (0.0, -math.inf))
    if time.monotonic() - read_at > 60:
        rows = (await session.execute(fulltext.estimated_rows())).scalar_one()
        connection.info[_INDEXED_ROWS] = (rows, time.monotonic())
    return float(rows)


@dataclass(frozen=True)
class _SearchShape:
    """What decides the SQL of a search (values are bound), so each shape is built once."""

    dialect: str
    term_count: int
    folded: tuple[bool, ...]  # PostgreSQL: which terms also have an unaccented form
    platform_count: int
    capability_count: int
    category: bool
    trigger_type: bool
    self_contained: bool
    connected_only: bool
    ranking: Ranking
    deep: bool = False  # a page past the first block of candidates
    engine_cut: bool = False  # SQLite: cut the FTS5 hits before reading facets (see `search`)
    pruned: bool = False  # rank only the matches pruning keeps (see `spreaders.registry.pruning`)

    @property
    def narrowed(self) -> bool:
        """Whether the search filters on more than tenancy."""
        return bool(
            self.platform_count
            or self.capability_count
            or self.category
            or self.trigger_type
            or self.self_contained
            or self.connected_only
        )


@functools.lru_cache(maxsize=256)
def _driver_statement(shape: _SearchShape, dialect: Dialect) -> driver.DriverStatement:
    return driver.compile_statement(_search_statements(shape)[0], dialect)


@functools.lru_cache(maxsize=256)
def _search_statements(shape: _SearchShape) -> tuple[Select[Any], Select[Any]]:
    """Build the page statement (rows, scores and total in one round trip) and the capped count.

    The page's total is exact on PostgreSQL and counted up to `TOTAL_CAP` + 1 on SQLite.

    With words, only the most relevant matches are scored: they are cut, best first by (holds every
    term, relevance), into blocks of `CANDIDATES`; the page comes from the first `depth` of them,
    ordered by block, then all-words-first and score, each block normalised on its own. Without
    words every match is scored in one block, as specified.
    """
    dialect = shape.dialect
    source = fulltext.FACETS[dialect].c
    matches, counted = (
        select(*columns).where(source.tenant_id == bindparam("tenant_id"), source.is_active.is_(True))
        for columns in (
            (source.id, source.name, source.usage_count, source.success_count),
            (literal(1).label("hit"),),
        )
    )
    relevance: ColumnElement[float] = literal(0.0, Float)
    all_terms: ColumnElement[bool] = true()
    extra: list[ColumnElement[Any]] = []
    # With one term every match holds every term (and PostgreSQL refuses to order by a constant).
    tiered = shape.term_count > 1 and shape.ranking.all_words_first
    if shape.term_count:
        matches, match = fulltext.match_text(
            matches,
            dialect=dialect,
            term_count=shape.term_count,
            tiered=tiered,
            engine_cut=shape.engine_cut,
            pruned=shape.pruned,
            folded=shape.folded,
        )
        relevance, all_terms = match.relevance, match.all_terms
        if match.bound is not None:
            extra.append(match.bound.label("bound"))
        counted, _ = fulltext.match_text(
            counted, dialect=dialect, term_count=shape.term_count, ranked=False, folded=shape.folded
        )
    filters: list[ColumnElement[bool]] = []
    if shape.category:
        filters.append(source.category == bindparam("category"))
    if shape.trigger_type:
        filters.append(source.trigger_type == bindparam("trigger_type"))
    if shape.self_contained:
        filters.append(source.self_contained == bindparam("self_contained"))
    if shape.platform_count:
        filters.append(
            fulltext.json_holds_any(source.platforms, "platforms", shape.platform_count, dialect=dialect)
        )
    if shape.capability_count:
        filters.append(
            fulltext.json_holds_any(
                source.capabilities, "capabilities", shape.capability_count, dialect=dialect
            )
        )
    if shape.connected_only:
        filters.append(fulltext.credentials_within(source.required_credentials, "connected", dialect=dialect))
    matches, counted = matches.where(*filters), counted.where(*filters)
    total = _capped_count(counted)
    if shape.engine_cut:
        # An embedded database mostly holds one tenant's active templates and nothing else: then
        # every FTS5 hit counts, and the engine counts them without reading each one's facets.
        total = case((_outsiders(), total), else_=_capped_count(fulltext.engine_hits()))
    tie = fulltext.tie_breaker(dialect)
    # The lists are carried to the scoring only when it counts hits in them.
    wanted = ((source.platforms, shape.platform_count), (source.capabilities, shape.capability_count))
    lists = [column for column, count in wanted if count]
    # Sort keys first, other fixed-width columns next: PostgreSQL's sorts read each key after the
    # first by walking the row up to it, past every variable-width column before it (that walk,
    # nocachegetattr, was 8 % of a small search's server CPU).
    matches = matches.with_only_columns(
        all_terms.label("all_terms"),
        relevance.label("relevance"),
        source.usage_count,
        source.success_count,
        *extra,
        tie.label("tie"),
        source.id,
        source.name,
        *lists,
        maintain_column_froms=True,
    )
    if dialect == "postgresql" and not shape.pruned:
        # PostgreSQL reads every match (no engine-side cut), so counting them all there is nearly free,
        # while a separate count would test every row's vector again. The matches are ranked in a
        # fenced subquery (OFFSET 0 keeps the planner from pulling it up), so the count and the sort
        # carry numbers rather than each row's tsvector (which made the count spill to disk).
        inner = matches.offset(literal_column("0")).subquery("matched")
        matches = select(inner, func.count().over().label("total"))
        relevance, all_terms, tie = inner.c.relevance, inner.c.all_terms, inner.c.tie
    else:
        # Pruned, PostgreSQL reads only some matches: all are counted apart, up to the cap, the
        # vectors tested but not ranked.
        matches = matches.add_columns(total.label("total"))
    by_relevance: list[ColumnElement[Any]] = [relevance.desc(), tie]
    if tiered:
        by_relevance.insert(0, all_terms.desc())
    bounded = matches
    if shape.term_count:
        bounded = matches.order_by(*by_relevance).limit(bindparam("depth", type_=Integer))
    block: ColumnElement[int] = literal(0, Integer)
    if shape.deep:
        inner = bounded.subquery("bounded")
        position = func.row_number().over(
            order_by=[
                *([inner.c.all_terms.desc()] if tiered else []),
                inner.c.relevance.desc(),
                inner.c.tie,
            ]
        )
        bounded = select(inner, ((position - 1) // CANDIDATES).label("block"))
        block = bounded.selected_columns.block
    else:
        bounded = bounded.add_columns(block.label("block"))
    blocked = bounded.subquery("blocked")
    per_block = blocked.c.block if shape.deep else None
    # Platform and capability hits are counted for the candidates only.
    platform_hits = fulltext.json_hits(
        blocked.c.get("platforms"), "platforms" if shape.platform_count else None, dialect=dialect
    )
    capability_hits = fulltext.json_hits(
        blocked.c.get("capabilities"), "capabilities" if shape.capability_count else None, dialect=dialect
    )
    candidates = select(
        blocked,
        platform_hits.label("platform_hits"),
        capability_hits.label("capability_hits"),
        func.max(blocked.c.usage_count).over(partition_by=per_block).label("most_used"),
        func.max(blocked.c.relevance).over(partition_by=per_block).label("best_relevance"),
        func.count().over().label("found"),
        *_pruning_columns(blocked, shape.pruned),
    ).subquery("candidates")
    score = _score(
        candidates,
        ranking=shape.ranking,
        platforms=shape.platform_count,
        capabilities=shape.capability_count,
    )
    c = candidates.c

    def proof(columns: Any) -> list[ColumnElement[Any]]:
        return [columns.worst, columns.bound] if shape.pruned else []

    ranked = (
        select(c.block, c.all_terms, score.label("score"), c.found, c.total, *proof(c), c.name, c.id)
        .order_by(*_page_order(c, score, tiered=tiered, dialect=dialect))
        .limit(bindparam("page_limit", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
        .subquery("ranked")
    )
    # Only the page's rows are read from the (wide) template table, in the same statement.
    page = (
        select(
            *(_TEMPLATES.c[column.key] for column in SUMMARY_COLUMNS),
            ranked.c.score,
            ranked.c.found,
            ranked.c.total,
            *proof(ranked.c),
        )
        .join_from(ranked, _TEMPLATES, _TEMPLATES.c.id == ranked.c.id)
        .order_by(*_page_order(ranked.c, ranked.c.score, tiered=tiered, dialect=dialect))
    )
    return page, select(total)


def _pruning_columns(blocked: Subquery, pruned: bool) -> list[ColumnElement[Any]]:
    """With pruning: the worst relevance among the candidates not holding every term, and the bound."""
    if not pruned:
        return []
    c = blocked.c
    worst = func.min(case((c.all_terms, None), else_=c.relevance)).over()
    return [worst.label("worst"), c.bound]


def _capped_count(rows: Select[Any]) -> ColumnElement[int]:
    return select(func.count()).select_from(rows.limit(TOTAL_CAP + 1).subquery()).scalar_subquery()


def _outsiders() -> ColumnElement[bool]:
    """Whether any template is not one of the tenant's active ones: three seeks of the templates'
    (tenant_id, is_active) index, which covers `SELECT 1` (with `SELECT *` SQLite scanned the wide
    rows instead). An index on the facets instead made SQLite drive searches from it into FTS5 row
    by row, a hundred times slower."""
    tenant: BindParameter[str] = bindparam("tenant_id")
    rows = _TEMPLATES.c
    return or_(
        *(
            select(literal(1)).where(*condition).exists()
            for condition in (
                (rows.tenant_id < tenant,),
                (rows.tenant_id > tenant,),
                (rows.tenant_id == tenant, rows.is_active.is_(False)),
            )
        )
    )


def _page_order(
    c: Any, score: ColumnElement[float], *, tiered: bool, dialect: str
) -> list[ColumnElement[Any]]:
    """Block, then all words first, then score, then name and id."""
    order: list[ColumnElement[Any]] = [c.block]
    if tiered:
        order.append(c.all_terms.desc())
    return [*order, score.desc(), fulltext.name_order(c.name, dialect=dialect), c.id]


def _score(
    candidates: Subquery, *, ranking: Ranking, platforms: int, capabilities: int
) -> ColumnElement[float]:
    """Platform 40, capability 30, success 20, popularity 10 (as specified) plus text relevance."""
    c = candidates.c
    score: ColumnElement[float] = literal(0.0, Float)
    if platforms:
        score = score + ranking.platform * c.platform_hits / float(platforms)
    if capabilities:
        score = score + ranking.capability * c.capability_hits / float(capabilities)
    track_record = case(
        (
            c.usage_count > 0,
            ranking.success * c.success_count / c.usage_count
            + ranking.popularity * c.usage_count / c.most_used,
        ),
        else_=0.0,
    )
    text_share = func.coalesce(c.relevance / func.nullif(c.best_relevance, 0.0), 0.0)
    return cast(score + track_record + ranking.text * text_share, Float)
