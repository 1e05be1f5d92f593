"""Workflow registry use cases: import, version, search, select, usage. Services flush; the caller commits."""

from __future__ import annotations

import asyncio
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
    )
    page, count = _search_statements(shape)
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "category": query.category,
        "trigger_type": query.trigger_type,
        "self_contained": query.self_contained,
        "platforms": platforms,
        "capabilities": capabilities,
        "connected": sorted(set(connected_credential_types or ())),
        "page_limit": query.limit,
        "page_offset": query.offset,
        **(fulltext.text_parameters(words, dialect=dialect) if words else {}),
    }
    ranked = (await session.execute(page, params)).all()
    total = ranked[0].total if ranked else (await session.execute(count, params)).scalar_one()
    # Only the page's rows are read from the (wide) template table.
    rows = {
        row.id: row
        for row in await session.execute(
            select(*_SUMMARY_COLUMNS).where(WorkflowTemplate.id.in_([hit.id for hit in ranked]))
        )
    }
    items = [
        TemplateSummary.model_validate(rows[hit.id]).model_copy(update={"score": round(hit.score, 4)})
        for hit in ranked
    ]
    return TemplatePage(items=items, total=total)


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


@functools.lru_cache(maxsize=256)
def _search_statements(shape: _SearchShape) -> tuple[Select[Any], Select[Any]]:
    """Build the ranked-page and total-count statements for one shape of search."""
    dialect = shape.dialect
    source = fulltext.facets(dialect).c
    stmt = select(source.id, source.name, source.usage_count, source.success_count).where(
        source.tenant_id == bindparam("tenant_id"), source.is_active.is_(True)
    )
    relevance: ColumnElement[float] = literal(0.0, Float)
    all_terms: ColumnElement[bool] = true()
    if shape.term_count:
        stmt, match = fulltext.match_text(stmt, dialect=dialect, term_count=shape.term_count)
        relevance, all_terms = match.relevance, match.all_terms
    if shape.category:
        stmt = stmt.where(source.category == bindparam("category"))
    if shape.trigger_type:
        stmt = stmt.where(source.trigger_type == bindparam("trigger_type"))
    if shape.self_contained:
        stmt = stmt.where(source.self_contained == bindparam("self_contained"))
    platform_hits = fulltext.json_hits(
        source.platforms, "platforms" if shape.platform_count else None, dialect=dialect
    )
    capability_hits = fulltext.json_hits(
        source.capabilities, "capabilities" if shape.capability_count else None, dialect=dialect
    )
    if shape.platform_count:
        stmt = stmt.where(platform_hits > 0)
    if shape.capability_count:
        stmt = stmt.where(capability_hits > 0)
    if shape.connected_only:
        stmt = stmt.where(
            fulltext.credentials_within(source.required_credentials, "connected", dialect=dialect)
        )
    candidates = stmt.add_columns(
        platform_hits.label("platform_hits"),
        capability_hits.label("capability_hits"),
        relevance.label("relevance"),
        all_terms.label("all_terms"),
        func.max(source.usage_count).over().label("most_used"),
        func.max(relevance).over().label("best_relevance"),
        func.count().over().label("total"),
    ).subquery("candidates")
    score = _score(
        candidates,
        ranking=shape.ranking,
        platforms=shape.platform_count,
        capabilities=shape.capability_count,
    )
    order: list[ColumnElement[Any]] = []
    if shape.term_count and shape.ranking.all_words_first:
        order.append(candidates.c.all_terms.desc())
    order += [score.desc(), fulltext.name_order(candidates.c.name, dialect=dialect), candidates.c.id]
    page = (
        select(candidates.c.id, score.label("score"), candidates.c.total)
        .order_by(*order)
        .limit(bindparam("page_limit", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
    )
    return page, select(func.count()).select_from(candidates)


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
