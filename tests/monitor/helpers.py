"""Helpers shared by the monitor and worker tests: workflows, seeded rows, waiting with a deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id, utcnow
from spreaders.monitor.metrics import MonitorMetrics
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator.models import Deployment
from spreaders.provisioning.models import N8nInstance
from spreaders.registry import service as registry

from ..orchestrator.helpers import code_workflow

ECHO_JS = "return [{ json: { received: $json.body, doubled: ($json.body.n || 0) * 2 } }];"
FAIL_JS = "throw new Error('the copywriter is on strike');"
__all__ = ["ECHO_JS", "FAIL_JS", "code_workflow"]


def wait_workflow(name: str, seconds: int) -> dict[str, Any]:
    """Manual trigger -> Wait `seconds` (under 65 s n8n keeps the run in memory, status running) -> Code."""
    document = code_workflow(name, "return [{ json: { waited: true } }];")
    document["nodes"].insert(
        1,
        {
            "id": "wait",
            "name": "Pause",
            "type": "n8n-nodes-base.wait",
            "typeVersion": 1.1,
            "position": [110, 0],
            "parameters": {"resume": "timeInterval", "amount": seconds, "unit": "seconds"},
        },
    )
    document["connections"] = {
        "When clicking Execute": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
        "Pause": {"main": [[{"node": "Work", "type": "main", "index": 0}]]},
    }
    return document


async def import_template(app: AppContext, principal: Principal, document: dict[str, Any]) -> str:
    document = {**document, "name": f"{document['name']} {uuid.uuid4().hex[:8]}"}
    async with app.unit_of_work() as session:
        row = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document)
        return row.id


async def seed_stopped_instance(app: AppContext, principal: Principal) -> Deployment:
    """A stopped instance record, a template and a deployment for a tenant without a real n8n."""
    template_id = await import_template(app, principal, code_workflow("seeded", ECHO_JS))
    async with app.unit_of_work() as session:
        return await add_stopped_deployment(session, tenant_id=principal.tenant_id, template_id=template_id)


async def add_stopped_deployment(session: AsyncSession, *, tenant_id: str, template_id: str) -> Deployment:
    """In the session's transaction: a stopped instance record and the template deployed on it."""
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
        entry_path="spreaders-seeded",
        active=True,
    )
    session.add(deployment)
    await session.flush()
    return deployment


def claim_values(deployment: Deployment, **values: Any) -> dict[str, Any]:
    """The columns the orchestrator's claim inserts for a new run of `deployment`."""
    return {
        "id": new_id("exe"),
        "tenant_id": deployment.tenant_id,
        "campaign_id": None,
        "template_id": deployment.template_id,
        "deployment_id": deployment.id,
        "instance_id": deployment.instance_id,
        "n8n_workflow_id": deployment.n8n_workflow_id,
        "n8n_execution_id": None,
        "idempotency_key": None,
        "status": "new",
        "input": {},
        "output": {},
        "error": "",
        "error_node": "",
        "created_at": utcnow(),
        **values,
    }


def instrumented(app: AppContext) -> tuple[MonitorMetrics, Callable[[], None]]:
    """Fresh metrics counting what `app` commits and requests; the second value undoes it."""
    metrics = MonitorMetrics()
    return metrics, metrics.instrument(app.engine, app.http, app.streams, app.inline)


async def seed_execution(
    app: AppContext,
    deployment: Deployment,
    *,
    tenant_id: str | None = None,
    status: str = "running",
    n8n_execution_id: str | None = "1",
    created_at: datetime | None = None,
    **values: Any,
) -> str:
    """Insert an execution row as the orchestrator would have left it."""
    row = WorkflowExecution(
        id=new_id("exe"),
        tenant_id=tenant_id or deployment.tenant_id,
        template_id=deployment.template_id,
        deployment_id=deployment.id,
        instance_id=deployment.instance_id,
        n8n_workflow_id=deployment.n8n_workflow_id,
        n8n_execution_id=n8n_execution_id,
        status=status,
        created_at=created_at or utcnow(),
        started_at=utcnow() if status != "new" else None,
        **values,
    )
    async with app.unit_of_work() as session:
        session.add(row)
    return row.id


async def stored(app: AppContext, execution_id: str) -> WorkflowExecution:
    async with app.sessionmaker() as session:
        return await session.get_one(WorkflowExecution, execution_id)


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float = 30.0, what: str = "condition"
) -> None:
    """Poll `check` until it holds; fail after `timeout_s` (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)
