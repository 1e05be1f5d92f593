"""Finished runs of a template, recorded as the orchestrator records them, for tests of usage and ranking."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.db.base import new_id
from spreaders.monitor.models import WorkflowExecution

from ..monitor.helpers import add_stopped_deployment


async def finish_runs(
    session: AsyncSession, *, tenant_id: str, template_id: str, succeeded: Sequence[bool]
) -> None:
    """Record one run per entry of `succeeded` (status new), then finish each (success or error):
    the database counts them in the template's usage as it does real runs (no n8n involved)."""
    deployment = await add_stopped_deployment(session, tenant_id=tenant_id, template_id=template_id)
    runs = {new_id("exe"): ok for ok in succeeded}
    session.add_all(
        WorkflowExecution(
            id=run_id,
            tenant_id=tenant_id,
            template_id=template_id,
            deployment_id=deployment.id,
            instance_id=deployment.instance_id,
            n8n_workflow_id="1",
            status="new",
        )
        for run_id in runs
    )
    await session.flush()
    for run_id, ok in runs.items():
        finished = update(WorkflowExecution).where(WorkflowExecution.id == run_id)
        await session.execute(finished.values(status="success" if ok else "error"))
