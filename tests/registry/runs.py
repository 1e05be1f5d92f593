"""Finished runs of a template, recorded as the orchestrator records them, for tests of usage and ranking."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.db.base import new_id
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator.models import Deployment
from spreaders.provisioning.models import N8nInstance


async def finish_runs(
    session: AsyncSession, *, tenant_id: str, template_id: str, succeeded: Sequence[bool]
) -> None:
    """Record one run per entry of `succeeded` (status new), then finish each (success or error):
    the database counts them in the template's usage as it does real runs (no n8n involved)."""
    instance = N8nInstance(
        id=new_id("n8n"), tenant_id=tenant_id, backend="local", status="stopped", version="0"
    )
    session.add(instance)
    await session.flush()
    deployment = Deployment(
        id=new_id("dep"),
        tenant_id=tenant_id,
        instance_id=instance.id,
        template_id=template_id,
        n8n_workflow_id="1",
        entry_path=f"spreaders-{new_id('run')}",
        active=False,
    )
    session.add(deployment)
    await session.flush()
    runs = {new_id("exe"): ok for ok in succeeded}
    session.add_all(
        WorkflowExecution(
            id=run_id,
            tenant_id=tenant_id,
            template_id=template_id,
            deployment_id=deployment.id,
            instance_id=instance.id,
            n8n_workflow_id="1",
            status="new",
        )
        for run_id in runs
    )
    await session.flush()
    for run_id, ok in runs.items():
        finished = update(WorkflowExecution).where(WorkflowExecution.id == run_id)
        await session.execute(finished.values(status="success" if ok else "error"))
