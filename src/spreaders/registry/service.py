"""Workflow registry use cases: import, version, look up, count runs. Services flush; the caller commits.

Search lives in `registry.search`, selection for a plan in `registry.selection`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.db.base import new_id
from spreaders.errors import Invalid, NotFound
from spreaders.registry import dependencies
from spreaders.registry.models import WorkflowTemplate
from spreaders.registry.node_catalog import NodeCatalog
from spreaders.registry.normalize import MAX_NAME_LENGTH
from spreaders.registry.parsing import workflow_problem
from spreaders.registry.prepare import Prepared, prepare_document, prepare_paths, storage_problem
from spreaders.registry.schemas import ImportReport
from spreaders.registry.validate import has_errors
from spreaders.registry.versions import summarize_change

STARTER_DIR = Path(__file__).parent / "starter"
_FLUSH_EVERY = 200
_SEARCH_HINT = "Use workflow.search to find the ids of your templates."


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
        if prepared.classification.input_types:  # rows imported before input types were read hold none
            await session.execute(
                update(WorkflowTemplate)
                .where(WorkflowTemplate.tenant_id == tenant_id, WorkflowTemplate.id == lineage.active_id)
                .values(input_types=prepared.classification.input_types)
            )
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
        input_types=cls.input_types,
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
