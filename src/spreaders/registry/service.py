"""Workflow registry use cases: import, version, search, select, usage. Services flush; the caller commits."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Row,
    Select,
    Subquery,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.db.base import new_id
from spreaders.errors import Invalid, NotFound
from spreaders.registry import dependencies
from spreaders.registry import search as fulltext
from spreaders.registry.classify import canonical_platform
from spreaders.registry.models import WorkflowTemplate
from spreaders.registry.node_catalog import NodeCatalog
from spreaders.registry.normalize import MAX_NAME_LENGTH
from spreaders.registry.parsing import workflow_problem
from spreaders.registry.prepare import Prepared, prepare_document, prepare_paths, storage_problem
from spreaders.registry.schemas import ImportReport, TemplatePage, TemplateSearch, TemplateSummary
from spreaders.registry.validate import has_errors
from spreaders.registry.versions import summarize_change

STARTER_DIR = Path(__file__).parent / "starter"
_FLUSH_EVERY = 200
_SEARCH_HINT = "Use workflow.search to find the ids of your templates."

_SUMMARY_COLUMNS = (
    WorkflowTemplate.id,
    WorkflowTemplate.name,
    WorkflowTemplate.description,
    WorkflowTemplate.category,
    WorkflowTemplate.platforms,
    WorkflowTemplate.capabilities,
    WorkflowTemplate.trigger_type,
    WorkflowTemplate.self_contained,
    WorkflowTemplate.node_count,
    WorkflowTemplate.version,
    WorkflowTemplate.usage_count,
    WorkflowTemplate.success_count,
)


@dataclass
class _Lineage:
    """What the tenant already holds under one lineage key."""

    active_id: str | None = None
    active_hash: str | None = None
    max_version: int = 0


async def import_paths(
    session: AsyncSession,
    *,
    tenant_id: str,
    paths: Sequence[Path],
    categories: Mapping[str, str] | None = None,
    catalog: NodeCatalog | None = None,
) -> ImportReport:
    """Import n8n export files, folders (recursively) and archives; bad files are reported, never fatal.

    `catalog` (the pinned n8n's node types) lets validation flag node types n8n would refuse.
    """
    # Reading, parsing and classifying is CPU and disk work: keep it off the event loop.
    batch = await asyncio.to_thread(prepare_paths, list(paths), dict(categories or {}), catalog)
    report = ImportReport(failed=batch.failed)
    lineages = await _load_lineages(session, tenant_id=tenant_id, keys=None)
    stored: list[tuple[str, dict[str, Any]]] = []
    for prepared in batch.prepared:
        template_id, outcome = await _store(
            session, tenant_id=tenant_id, prepared=prepared, lineages=lineages
        )
        report.template_ids.append(template_id)
        if outcome == "unchanged":
            report.unchanged += 1
            continue
        if outcome == "imported":
            report.imported += 1
        else:
            report.new_versions += 1
        stored.append((template_id, prepared.normalized.workflow))
        if len(stored) % _FLUSH_EVERY == 0:
            await session.flush()
    await _after_store(session, tenant_id=tenant_id, stored=stored)
    return report


async def _after_store(
    session: AsyncSession, *, tenant_id: str, stored: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Record the new rows' sub-workflow calls, then resolve every pending one the tenant now can."""
    await session.flush()
    for template_id, workflow in stored:
        await dependencies.record(session, tenant_id=tenant_id, template_id=template_id, workflow=workflow)
    await session.flush()
    await dependencies.resolve_pending(session, tenant_id=tenant_id)


async def import_workflow(
    session: AsyncSession,
    *,
    tenant_id: str,
    document: dict[str, Any],
    source: str = "",
    lineage_key: str | None = None,
    category: str | None = None,
    catalog: NodeCatalog | None = None,
) -> WorkflowTemplate:
    """Import one workflow given as a dict; return its active version."""
    problem = workflow_problem(document) or storage_problem(document)
    if problem is not None:
        raise Invalid(
            f"Not an n8n workflow: {problem}.", hint="Send an n8n workflow export with a 'nodes' list."
        )
    prepared = prepare_document(
        document, source=source, file_name=None, lineage_key=lineage_key, category=category, catalog=catalog
    )
    lineages = await _load_lineages(session, tenant_id=tenant_id, keys=[prepared.lineage_key])
    template_id, outcome = await _store(session, tenant_id=tenant_id, prepared=prepared, lineages=lineages)
    stored = [] if outcome == "unchanged" else [(template_id, prepared.normalized.workflow)]
    await _after_store(session, tenant_id=tenant_id, stored=stored)
    return await get_template(session, tenant_id=tenant_id, template_id=template_id)


async def load_starter(
    session: AsyncSession, *, tenant_id: str, catalog: NodeCatalog | None = None
) -> ImportReport:
    """Import the built-in starter workflows (no accounts, no network); safe to run again."""
    return await import_paths(session, tenant_id=tenant_id, paths=[STARTER_DIR], catalog=catalog)


async def _load_lineages(
    session: AsyncSession, *, tenant_id: str, keys: Sequence[str] | None
) -> dict[str, _Lineage]:
    stmt = select(
        WorkflowTemplate.lineage_key,
        WorkflowTemplate.id,
        WorkflowTemplate.version,
        WorkflowTemplate.content_hash,
        WorkflowTemplate.is_active,
    ).where(WorkflowTemplate.tenant_id == tenant_id)
    if keys is not None:
        stmt = stmt.where(WorkflowTemplate.lineage_key.in_(keys))
    lineages: dict[str, _Lineage] = {}
    for key, template_id, version, content_hash, is_active in await session.execute(stmt):
        lineage = lineages.setdefault(key, _Lineage())
        lineage.max_version = max(lineage.max_version, version)
        if is_active:
            lineage.active_id, lineage.active_hash = template_id, content_hash
    return lineages


async def _store(
    session: AsyncSession, *, tenant_id: str, prepared: Prepared, lineages: dict[str, _Lineage]
) -> tuple[str, str]:
    """Add a row unless the active version is identical; return its id and what happened."""
    lineage = lineages.setdefault(prepared.lineage_key, _Lineage())
    if lineage.active_id is not None and lineage.active_hash == prepared.normalized.content_hash:
        return lineage.active_id, "unchanged"
    outcome = "imported" if lineage.max_version == 0 else "new_version"
    change_summary = "first version"
    if lineage.active_id is not None:
        previous = await session.scalar(
            select(WorkflowTemplate.workflow).where(WorkflowTemplate.id == lineage.active_id)
        )
        change_summary = summarize_change(previous or {}, prepared.normalized.workflow)
        await session.execute(
            update(WorkflowTemplate)
            .where(
                WorkflowTemplate.tenant_id == tenant_id,
                WorkflowTemplate.lineage_key == prepared.lineage_key,
                WorkflowTemplate.is_active.is_(True),
            )
            .values(is_active=False)
        )
    cls = prepared.classification
    row = WorkflowTemplate(
        id=new_id("wft"),
        tenant_id=tenant_id,
        lineage_key=prepared.lineage_key,
        version=lineage.max_version + 1,
        is_active=True,
        name=prepared.normalized.workflow["name"][:MAX_NAME_LENGTH],
        description=prepared.description,
        category=prepared.category[:200],
        source=prepared.source,
        content_hash=prepared.normalized.content_hash,
        trigger_type=cls.trigger_type,
        platforms=cls.platforms,
        capabilities=cls.capabilities,
        node_types=cls.node_types,
        credential_types=cls.credential_types,
        warnings=prepared.normalized.warnings,
        node_count=cls.node_count,
        search_text=prepared.search_text,
        workflow=prepared.normalized.workflow,
        original=prepared.normalized.original,
        self_contained=cls.self_contained,
        change_summary=change_summary[:2000],
        required_credentials=cls.required_credentials_json(),
        issues=[asdict(issue) for issue in prepared.issues],
        is_valid=not has_errors(prepared.issues),
        required_inputs=cls.required_inputs,
        estimated_duration_ms=cls.estimated_duration_ms,
    )
    session.add(row)
    lineage.active_id, lineage.active_hash, lineage.max_version = row.id, row.content_hash, row.version
    return row.id, outcome


async def get_template(session: AsyncSession, *, tenant_id: str, template_id: str) -> WorkflowTemplate:
    """Return one of the tenant's templates (any version) by id."""
    row = (
        await session.execute(
            select(WorkflowTemplate).where(
                WorkflowTemplate.id == template_id, WorkflowTemplate.tenant_id == tenant_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No workflow template {template_id!r}.", hint=_SEARCH_HINT)
    return row


async def search(
    session: AsyncSession,
    *,
    tenant_id: str,
    query: TemplateSearch,
    connected_credential_types: Collection[str] | None = None,
    ranking: fulltext.Ranking = fulltext.DEFAULT_RANKING,
) -> TemplatePage:
    """Find active templates by full-text relevance and filters, best match first.

    `connected_credential_types` (n8n credential types the tenant's connected accounts provide) is
    what `connected_only` checks against; `ranking` is for tuning (see benchmarks/relevance.py).
    """
    words = fulltext.terms(query.query)
    if query.query.strip() and not words:
        # Only punctuation or stop words: nothing can match them.
        return TemplatePage(items=[], total=0)
    dialect = session.get_bind().dialect.name
    platforms = sorted({canonical_platform(p) for p in query.platforms if p.strip()})
    capabilities = sorted({c.strip().lower() for c in query.capabilities if c.strip()})
    shape = _SearchShape(
        dialect=dialect,
        term_count=len(words),
        platform_count=len(platforms),
        capability_count=len(capabilities),
        category=query.category is not None,
        trigger_type=query.trigger_type is not None,
        self_contained=query.self_contained is not None,
        connected_only=query.connected_only,
        ranking=ranking,
        deep=bool(words) and query.offset + query.limit > fulltext.CANDIDATES,
    )
    # SQLite first takes only the engine's best hits (twice the candidates) before reading the facets,
    # when only tenancy filters them. If fewer candidates than asked for and than match are left
    # (another tenant's or version's rows ranked higher), it reads the facets of every hit.
    fast = bool(words) and dialect == "sqlite" and not _narrowed(query, platforms, capabilities)
    page, count = _search_statements(dataclasses.replace(shape, engine_cut=fast))
    blocks = -(-(query.offset + query.limit) // fulltext.CANDIDATES)
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
        "depth": blocks * fulltext.CANDIDATES,
        "fts_depth": 2 * blocks * fulltext.CANDIDATES,
        "page_limit": query.limit,
        "page_offset": query.offset,
        **(fulltext.text_parameters(words, dialect=dialect) if words else {}),
    }
    rows = (await session.execute(page, params)).all()
    exact = bool(rows) and dialect == "postgresql"
    if rows:
        counted = rows[0].total
    elif query.offset or fast:
        counted = (await session.execute(count, params)).scalar_one()
    else:
        counted = 0
    if fast and (rows[0].found if rows else 0) < min(params["depth"], counted):
        rows = (await session.execute(_search_statements(shape)[0], params)).all()
    items = [TemplateSummary.model_validate({**row._mapping, "score": round(row.score, 4)}) for row in rows]
    if exact or counted <= fulltext.TOTAL_CAP:
        return TemplatePage(items=items, total=counted)
    return TemplatePage(items=items, total=fulltext.TOTAL_CAP, total_is_estimate=True)


def _narrowed(query: TemplateSearch, platforms: Sequence[str], capabilities: Sequence[str]) -> bool:
    """Whether a search filters on more than tenancy (so cutting the engine's hits first rarely pays)."""
    return bool(
        platforms
        or capabilities
        or query.connected_only
        or query.category is not None
        or query.trigger_type is not None
        or query.self_contained is not None
    )


@dataclass(frozen=True)
class _SearchShape:
    """What decides the SQL of a search (values are bound), so each shape is built once."""

    dialect: str
    term_count: int
    platform_count: int
    capability_count: int
    category: bool
    trigger_type: bool
    self_contained: bool
    connected_only: bool
    ranking: fulltext.Ranking
    deep: bool = False  # a page past the first block of candidates
    engine_cut: bool = False  # SQLite: cut the FTS5 hits before reading facets (see `search`)


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
    source = fulltext.facets(dialect).c
    matches, counted = (
        select(*columns).where(source.tenant_id == bindparam("tenant_id"), source.is_active.is_(True))
        for columns in (
            (source.id, source.name, source.usage_count, source.success_count),
            (literal(1).label("hit"),),
        )
    )
    relevance: ColumnElement[float] = literal(0.0, Float)
    all_terms: ColumnElement[bool] = true()
    # With one term every match holds every term (and PostgreSQL refuses to order by a constant).
    tiered = shape.term_count > 1 and shape.ranking.all_words_first
    if shape.term_count:
        matches, match = fulltext.match_text(
            matches, dialect=dialect, term_count=shape.term_count, tiered=tiered, engine_cut=shape.engine_cut
        )
        relevance, all_terms = match.relevance, match.all_terms
        counted, _ = fulltext.match_text(counted, dialect=dialect, term_count=shape.term_count, ranked=False)
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
    total = (
        select(func.count()).select_from(counted.limit(fulltext.TOTAL_CAP + 1).subquery()).scalar_subquery()
    )
    tie = fulltext.tie_breaker(dialect)
    # PostgreSQL reads every match (no engine-side cut), so counting them all there is nearly free,
    # while a separate count would test every row's vector again.
    exact: ColumnElement[int] = func.count().over() if dialect == "postgresql" else total
    matches = matches.add_columns(
        source.platforms,
        source.capabilities,
        relevance.label("relevance"),
        all_terms.label("all_terms"),
        tie.label("tie"),
        exact.label("total"),
    )
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
        bounded = select(inner, ((position - 1) // fulltext.CANDIDATES).label("block"))
        block = bounded.selected_columns.block
    else:
        bounded = bounded.add_columns(block.label("block"))
    blocked = bounded.subquery("blocked")
    per_block = blocked.c.block if shape.deep else None
    # Platform and capability hits are counted for the candidates only.
    platform_hits = fulltext.json_hits(
        blocked.c.platforms, "platforms" if shape.platform_count else None, dialect=dialect
    )
    capability_hits = fulltext.json_hits(
        blocked.c.capabilities, "capabilities" if shape.capability_count else None, dialect=dialect
    )
    candidates = select(
        blocked,
        platform_hits.label("platform_hits"),
        capability_hits.label("capability_hits"),
        func.max(blocked.c.usage_count).over(partition_by=per_block).label("most_used"),
        func.max(blocked.c.relevance).over(partition_by=per_block).label("best_relevance"),
        func.count().over().label("found"),
    ).subquery("candidates")
    score = _score(
        candidates,
        ranking=shape.ranking,
        platforms=shape.platform_count,
        capabilities=shape.capability_count,
    )
    c = candidates.c
    ranked = (
        select(c.id, c.found, c.total, c.block, c.all_terms, c.name, score.label("score"))
        .order_by(*_page_order(c, score, tiered=tiered, dialect=dialect))
        .limit(bindparam("page_limit", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
        .subquery("ranked")
    )
    # Only the page's rows are read from the (wide) template table, in the same statement.
    page = (
        select(*_SUMMARY_COLUMNS, ranked.c.score, ranked.c.found, ranked.c.total)
        .join_from(ranked, WorkflowTemplate, WorkflowTemplate.id == ranked.c.id)
        .order_by(*_page_order(ranked.c, ranked.c.score, tiered=tiered, dialect=dialect))
    )
    return page, select(total)


def _page_order(
    c: Any, score: ColumnElement[float], *, tiered: bool, dialect: str
) -> list[ColumnElement[Any]]:
    """Block, then all words first, then score, then name and id."""
    order: list[ColumnElement[Any]] = [c.block]
    if tiered:
        order.append(c.all_terms.desc())
    return [*order, score.desc(), fulltext.name_order(c.name, dialect=dialect), c.id]


def _score(
    candidates: Subquery, *, ranking: fulltext.Ranking, platforms: int, capabilities: int
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


async def select_for_requirements(
    session: AsyncSession,
    *,
    tenant_id: str,
    capabilities: Sequence[str],
    platforms: Sequence[str],
    self_contained_only: bool = False,
    limit_per_capability: int = 1,
    connected_credential_types: Collection[str] | None = None,
) -> list[TemplateSummary]:
    """Pick a small set of templates that together cover the required capabilities.

    With `connected_credential_types`, only templates whose every required credential is of one of
    those n8n types are candidates ("what my connected accounts can run").
    """
    if limit_per_capability < 1:
        raise Invalid("limit_per_capability must be at least 1.")
    required = list(dict.fromkeys(c.strip().lower() for c in capabilities if c.strip()))
    if not required:
        return []
    wanted_platforms = {canonical_platform(p) for p in platforms if p.strip()}
    stmt = select(*_SUMMARY_COLUMNS).where(
        WorkflowTemplate.tenant_id == tenant_id, WorkflowTemplate.is_active.is_(True)
    )
    if self_contained_only:
        stmt = stmt.where(WorkflowTemplate.self_contained.is_(True))
    # A template n8n would refuse cannot be part of a campaign.
    stmt = stmt.where(WorkflowTemplate.is_valid.is_(True))
    rows = [row for row in (await session.execute(stmt)).all() if set(required) & set(row.capabilities)]
    if connected_credential_types is not None:
        runnable = await runnable_ids(session, [row.id for row in rows], set(connected_credential_types))
        rows = [row for row in rows if row.id in runnable]
    ranked = _rank(rows, platforms=wanted_platforms, capabilities=set(required), words=[])
    covered = dict.fromkeys(required, 0)
    chosen: list[TemplateSummary] = []
    while True:
        best: TemplateSummary | None = None
        best_gain = 0
        for candidate in ranked:
            gain = sum(
                1
                for cap in candidate.capabilities
                if covered.get(cap, limit_per_capability) < limit_per_capability
            )
            # `ranked` is best-first, so among equal gains the better-scored template wins.
            if gain > best_gain:
                best, best_gain = candidate, gain
        if best is None:
            return chosen
        chosen.append(best)
        ranked.remove(best)
        for cap in best.capabilities:
            if cap in covered:
                covered[cap] += 1


async def runnable_ids(session: AsyncSession, ids: Sequence[str], connected: set[str]) -> set[str]:
    """The ids among `ids` whose required credentials are all of the `connected` n8n types."""
    rows = await session.execute(
        select(WorkflowTemplate.id, WorkflowTemplate.required_credentials).where(WorkflowTemplate.id.in_(ids))
    )
    return {
        template_id
        for template_id, required in rows
        if all(isinstance(c, dict) and c.get("type") in connected for c in required or [])
    }


async def record_run(session: AsyncSession, *, tenant_id: str, template_id: str, succeeded: bool) -> None:
    """Count one run of a template and whether it succeeded."""
    stmt = (
        update(WorkflowTemplate)
        .where(WorkflowTemplate.id == template_id, WorkflowTemplate.tenant_id == tenant_id)
        .values(
            usage_count=WorkflowTemplate.usage_count + 1,
            success_count=WorkflowTemplate.success_count + (1 if succeeded else 0),
        )
        .returning(WorkflowTemplate.id)
        .execution_options(synchronize_session="fetch")
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        raise NotFound(f"No workflow template {template_id!r}.", hint=_SEARCH_HINT)


def _rank(
    rows: Sequence[Row[Any]], *, platforms: set[str], capabilities: set[str], words: Sequence[str]
) -> list[TemplateSummary]:
    """Score as specified (platform 40, capability 30, success 20, popularity 10) plus keyword hits."""
    most_used = max((row.usage_count for row in rows), default=0)
    scored: list[TemplateSummary] = []
    for row in rows:
        score = 0.0
        if platforms:
            score += 40 * len(platforms & set(row.platforms)) / len(platforms)
        if capabilities:
            score += 30 * len(capabilities & set(row.capabilities)) / len(capabilities)
        if row.usage_count:
            score += 20 * row.success_count / row.usage_count + 10 * row.usage_count / most_used
        name = row.name.lower()
        # Every word is in the body already (the query filtered on it); one in the name counts more.
        score += sum(5 if word in name else 1 for word in words)
        scored.append(TemplateSummary.model_validate(row).model_copy(update={"score": round(score, 4)}))
    scored.sort(key=lambda item: (-item.score, item.name, item.id))
    return scored
