"""Workflow registry use cases: import, version, search, select, usage. Services flush; the caller commits."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.db.base import new_id
from spreaders.errors import Invalid, NotFound
from spreaders.registry.classify import canonical_platform
from spreaders.registry.models import WorkflowTemplate
from spreaders.registry.normalize import MAX_NAME_LENGTH
from spreaders.registry.parsing import workflow_problem
from spreaders.registry.prepare import Prepared, prepare_document, prepare_paths, storage_problem
from spreaders.registry.schemas import ImportReport, TemplatePage, TemplateSearch, TemplateSummary

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
) -> ImportReport:
    """Import n8n export files and folders (recursively); bad files are reported, never fatal."""
    # Reading, parsing and classifying is CPU and disk work: keep it off the event loop.
    batch = await asyncio.to_thread(prepare_paths, list(paths), dict(categories or {}))
    report = ImportReport(failed=batch.failed)
    lineages = await _load_lineages(session, tenant_id=tenant_id, keys=None)
    pending = 0
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
        pending += 1
        if pending >= _FLUSH_EVERY:
            await session.flush()
            pending = 0
    await session.flush()
    return report


async def import_workflow(
    session: AsyncSession,
    *,
    tenant_id: str,
    document: dict[str, Any],
    source: str = "",
    lineage_key: str | None = None,
    category: str | None = None,
) -> WorkflowTemplate:
    """Import one workflow given as a dict; return its active version."""
    problem = workflow_problem(document) or storage_problem(document)
    if problem is not None:
        raise Invalid(
            f"Not an n8n workflow: {problem}.", hint="Send an n8n workflow export with a 'nodes' list."
        )
    prepared = prepare_document(
        document, source=source, file_name=None, lineage_key=lineage_key, category=category
    )
    lineages = await _load_lineages(session, tenant_id=tenant_id, keys=[prepared.lineage_key])
    template_id, _ = await _store(session, tenant_id=tenant_id, prepared=prepared, lineages=lineages)
    await session.flush()
    return await get_template(session, tenant_id=tenant_id, template_id=template_id)


async def load_starter(session: AsyncSession, *, tenant_id: str) -> ImportReport:
    """Import the built-in starter workflows (no accounts, no network); safe to run again."""
    return await import_paths(session, tenant_id=tenant_id, paths=[STARTER_DIR])


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
    if lineage.active_id is not None:
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


async def search(session: AsyncSession, *, tenant_id: str, query: TemplateSearch) -> TemplatePage:
    """Find active templates by keywords and filters, best match first."""
    words = _words(query.query)
    stmt = select(*_SUMMARY_COLUMNS).where(
        WorkflowTemplate.tenant_id == tenant_id, WorkflowTemplate.is_active.is_(True)
    )
    for word in words:
        stmt = stmt.where(WorkflowTemplate.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    if query.category is not None:
        stmt = stmt.where(WorkflowTemplate.category == query.category)
    if query.trigger_type is not None:
        stmt = stmt.where(WorkflowTemplate.trigger_type == query.trigger_type)
    if query.self_contained is not None:
        stmt = stmt.where(WorkflowTemplate.self_contained.is_(query.self_contained))
    platforms = {canonical_platform(p) for p in query.platforms if p.strip()}
    capabilities = {c.strip().lower() for c in query.capabilities if c.strip()}
    # Lists are JSON on both databases; filter them here so the query stays portable.
    rows = [
        row
        for row in (await session.execute(stmt)).all()
        if (not platforms or platforms & set(row.platforms))
        and (not capabilities or capabilities & set(row.capabilities))
    ]
    ranked = _rank(rows, platforms=platforms, capabilities=capabilities, words=words)
    return TemplatePage(items=ranked[query.offset : query.offset + query.limit], total=len(ranked))


async def select_for_requirements(
    session: AsyncSession,
    *,
    tenant_id: str,
    capabilities: Sequence[str],
    platforms: Sequence[str],
    self_contained_only: bool = False,
    limit_per_capability: int = 1,
) -> list[TemplateSummary]:
    """Pick a small set of templates that together cover the required capabilities."""
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
    rows = [row for row in (await session.execute(stmt)).all() if set(required) & set(row.capabilities)]
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


def _words(text: str) -> list[str]:
    words = (word.strip(".,;:!?\"'()[]{}") for word in text.lower().split())
    return list(dict.fromkeys(word for word in words if word))


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
