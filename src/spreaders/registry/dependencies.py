"""Sub-workflow calls: find them in a workflow, record them, resolve them to templates the tenant holds.

An Execute Workflow node names its sub-workflow by the author's n8n id, by name (in the resource
locator's cached name) or by a file path; only the registry's own templates can satisfy it, matched
by the original export's id, then by name, then by file stem.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.db.base import new_id
from spreaders.registry.models import WorkflowDependency, WorkflowTemplate

EXECUTE_WORKFLOW_TYPES = frozenset(
    {"n8n-nodes-base.executeWorkflow", "@n8n/n8n-nodes-langchain.toolWorkflow"}
)


def subworkflow_references(workflow: dict[str, Any]) -> list[str]:
    """References (id, `name:<name>` or `file:<stem>`) of the sub-workflows the enabled nodes call."""
    references: list[str] = []
    for node in workflow.get("nodes", []):
        if (
            not isinstance(node, dict)
            or node.get("type") not in EXECUTE_WORKFLOW_TYPES
            or node.get("disabled")
        ):
            continue
        params = node.get("parameters") or {}
        source = params.get("source", "database")
        reference: str | None = None
        if source == "database":
            target = params.get("workflowId")
            if isinstance(target, dict):  # resource locator {__rl, value, mode, cachedResultName}
                value = target.get("value")
                name = target.get("cachedResultName")
                reference = str(value) if value and not str(value).startswith("=") else None
                if reference is None and name and not str(name).startswith("="):
                    reference = f"name:{name}"
            elif isinstance(target, str | int) and target and not str(target).startswith("="):
                reference = str(target)
        elif source == "localFile" and params.get("workflowPath"):
            reference = f"file:{PurePath(str(params['workflowPath'])).stem}"
        if reference and reference not in references:
            references.append(reference)
    return references


async def record(
    session: AsyncSession, *, tenant_id: str, template_id: str, workflow: dict[str, Any]
) -> None:
    """Store the template's sub-workflow references (resolution happens in `resolve_pending`)."""
    for reference in subworkflow_references(workflow):
        session.add(
            WorkflowDependency(
                id=new_id("wdp"), tenant_id=tenant_id, template_id=template_id, reference=reference[:500]
            )
        )


def _index(rows: Sequence[Any]) -> dict[str, str]:
    index: dict[str, str] = {}
    for template_id, name, lineage_key, original in rows:
        original_id = original.get("id") if isinstance(original, dict) else None
        for key in (f"file:{lineage_key}", f"name:{name}", str(original_id) if original_id else None):
            if key:
                index.setdefault(key, template_id)
    return index


async def resolve_pending(session: AsyncSession, *, tenant_id: str) -> int:
    """Point unresolved references at the tenant's active templates where one matches; return how many."""
    pending = (
        (
            await session.execute(
                select(WorkflowDependency).where(
                    WorkflowDependency.tenant_id == tenant_id, WorkflowDependency.depends_on_id.is_(None)
                )
            )
        )
        .scalars()
        .all()
    )
    if not pending:
        return 0
    rows = (
        await session.execute(
            select(
                WorkflowTemplate.id,
                WorkflowTemplate.name,
                WorkflowTemplate.lineage_key,
                WorkflowTemplate.original,
            ).where(WorkflowTemplate.tenant_id == tenant_id, WorkflowTemplate.is_active.is_(True))
        )
    ).all()
    index = _index(rows)
    resolved = 0
    for dependency in pending:
        target = index.get(dependency.reference)
        if target is not None and target != dependency.template_id:
            dependency.depends_on_id = target
            resolved += 1
    await session.flush()
    return resolved


async def unresolved_references(session: AsyncSession, *, tenant_id: str, template_id: str) -> list[str]:
    rows = await session.execute(
        select(WorkflowDependency.reference).where(
            WorkflowDependency.tenant_id == tenant_id,
            WorkflowDependency.template_id == template_id,
            WorkflowDependency.depends_on_id.is_(None),
        )
    )
    return [reference for (reference,) in rows]


async def prerequisites(session: AsyncSession, *, tenant_id: str, template_ids: Sequence[str]) -> list[str]:
    """Template ids the given templates call (transitively), deepest first, each once."""
    ordered: list[str] = []
    seen: set[str] = set(template_ids)
    frontier = list(template_ids)
    while frontier:
        rows = await session.execute(
            select(WorkflowDependency.depends_on_id).where(
                WorkflowDependency.tenant_id == tenant_id,
                WorkflowDependency.template_id.in_(frontier),
                WorkflowDependency.depends_on_id.is_not(None),
            )
        )
        found = [target for (target,) in rows if target is not None and target not in seen]
        found = list(dict.fromkeys(found))
        seen.update(found)
        ordered[:0] = found
        frontier = found
    return ordered
