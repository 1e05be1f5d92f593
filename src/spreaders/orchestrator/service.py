"""Deploy templates into a tenant's n8n, start them on demand and wait for their results.

Long operations span several units of work on purpose: the execution record is committed before n8n
is called, so a crash never loses track of a run that n8n started (the run carries the record's id
into n8n, see `recovery`), and an idempotency key is claimed by the database (unique per tenant)
before any run begins. The run itself goes through `runner` (one request to n8n).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Conflict, Invalid, SpreadersError, Unavailable, UpstreamError
from spreaders.monitor import service as monitor
from spreaders.monitor.metrics import ExecutionEvent, note_started
from spreaders.monitor.models import WorkflowExecution
from spreaders.monitor.schemas import FINISHED_STATUSES, ExecutionRead
from spreaders.orchestrator import records, recovery, runner, targets
from spreaders.orchestrator.entry import build_deployable, new_entry_path, takes_wait_entry
from spreaders.orchestrator.models import Deployment
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.orchestrator.runner import PROGRESS_EVERY_S, RunProgress
from spreaders.orchestrator.targets import RunTarget
from spreaders.provisioning import quotas
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.schemas import InstanceConnection
from spreaders.registry import service as registry
from spreaders.vault import n8n_sync

POLL_FIRST_S = 0.003
POLL_MAX_S = 0.25
# How often a waiter searches n8n for a run whose starter never recorded its n8n id.
SEARCH_EVERY_S = 2.0


def client_for(ctx: AppContext, conn: InstanceConnection) -> N8nClient:
    return N8nClient(ctx.http, base_url=conn.base_url, api_key=conn.api_key, streams=ctx.streams)


async def deploy(
    ctx: AppContext, *, tenant_id: str, template_id: str, conn: InstanceConnection, replace: bool = False
) -> Deployment:
    """Create and activate the template in the instance, or reuse its recorded deployment.

    The record is trusted (no call to n8n on the hot path); a run whose entry n8n no longer knows
    deploys again with `replace=True` (see `_start`).
    """
    client = client_for(ctx, conn)
    async with ctx.sessionmaker() as session:
        template = await registry.get_template(session, tenant_id=tenant_id, template_id=template_id)
        query = select(Deployment).where(
            Deployment.instance_id == conn.instance_id, Deployment.template_id == template_id
        )
        existing = (await session.execute(query)).scalar_one_or_none()
        workflow, name = dict(template.workflow), f"{template.name} [spreaders {template.id[-8:]}]"
    if existing is None:
        await quotas.check_deploy(ctx, tenant_id=tenant_id)
    needed = n8n_sync.credential_types(workflow)
    refs = (
        await n8n_sync.credentials_for(ctx, tenant_id=tenant_id, conn=conn, client=client, n8n_types=needed)
        if needed
        else {}
    )
    # Every type the nodes need, None while the tenant has not connected an account offering it.
    ref_ids: dict[str, str | None] = {t: refs[t].id if t in refs else None for t in sorted(needed)}
    workflow = n8n_sync.bind(workflow, refs)
    if existing is not None and existing.active and not replace:
        if existing.credential_refs == ref_ids:
            return existing
        return await _rebind(ctx, client, existing, workflow, name=name, ref_ids=ref_ids)
    entry_path = new_entry_path()
    wait_path = new_entry_path() if takes_wait_entry(workflow) else None
    body = build_deployable(workflow, name=name, entry_path=entry_path, wait_path=wait_path)
    created = await client.create_workflow(body)
    n8n_id = str(created["id"])
    try:
        await client.activate_workflow(n8n_id)
    except UpstreamError as exc:
        await client.delete_workflow(n8n_id)
        raise UpstreamError(
            f"n8n would not activate template {template_id}: {exc.message}",
            hint="The template may need credentials or nodes this n8n lacks; check workflow.get for details.",
        ) from exc
    async with ctx.unit_of_work() as session:
        # One deployment record per instance and template, updated in place: executions keep their
        # own n8n workflow id, so their history survives a redeploy.
        if existing is not None:
            deployment = await session.get_one(Deployment, existing.id)
        else:
            deployment = Deployment(
                id=new_id("dep"), tenant_id=tenant_id, instance_id=conn.instance_id, template_id=template_id
            )
            session.add(deployment)
        deployment.n8n_workflow_id, deployment.entry_path, deployment.active = n8n_id, entry_path, True
        deployment.wait_path = wait_path
        deployment.credential_refs = ref_ids
    return deployment


async def _rebind(
    ctx: AppContext,
    client: N8nClient,
    existing: Deployment,
    workflow: dict[str, Any],
    *,
    name: str,
    ref_ids: dict[str, str | None],
) -> Deployment:
    """Update a live deployment in place when the credentials it should use changed (new connection)."""
    wait_path = (existing.wait_path or new_entry_path()) if takes_wait_entry(workflow) else None
    body = build_deployable(workflow, name=name, entry_path=existing.entry_path, wait_path=wait_path)
    await client.update_workflow(existing.n8n_workflow_id, body)
    async with ctx.unit_of_work() as session:
        deployment = await session.get_one(Deployment, existing.id)
        deployment.credential_refs, deployment.wait_path = ref_ids, wait_path
    return deployment


# A run refused by the claim is checked again to say which quota refused it; if the check finds
# room (a run ended in between), the claim is tried again, this many times in all.
_CLAIM_ATTEMPTS = 3


async def _claim(
    ctx: AppContext,
    *,
    principal: Principal,
    template_id: str,
    parameters: dict[str, Any],
    campaign_id: str | None,
    idempotency_key: str | None,
    deployment: Deployment,
) -> tuple[WorkflowExecution, bool]:
    """Insert the execution record if the tenant's quotas admit the run (in the same statement, so
    racing runs cannot share the last slot); with an idempotency key already used, return the earlier
    record instead. A refused run raises `QuotaExceeded` saying which quota and what to do."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id("exe"),
        "tenant_id": principal.tenant_id,
        "campaign_id": campaign_id,
        "template_id": template_id,
        "deployment_id": deployment.id,
        "instance_id": deployment.instance_id,
        "n8n_workflow_id": deployment.n8n_workflow_id,
        "n8n_execution_id": None,
        "idempotency_key": idempotency_key,
        "status": "new",
        "input": parameters,
        "output": {},
        "error": "",
        "error_node": "",
        "created_at": now,
    }
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            admitted = await _admit(ctx, values)
        except IntegrityError:
            if idempotency_key is None:
                raise
            admitted = False  # the key's run was recorded since this call looked for it
        if admitted:
            return WorkflowExecution(**values, started_at=None, finished_at=None), True
        if idempotency_key is not None:
            # A concurrent call with the same key may have taken the key, or the last slot.
            earlier = await _earlier_run(
                ctx, principal=principal, template_id=template_id, parameters=parameters, key=idempotency_key
            )
            if earlier is not None:
                return earlier, False
        await quotas.check_run(ctx, tenant_id=principal.tenant_id)  # raises with the quota's name
    raise quotas.QuotaExceeded(
        "Runs of this workspace are starting and ending too fast to admit this one.",
        hint="Try again in a moment.",
    )


async def _admit(ctx: AppContext, values: dict[str, Any]) -> bool:
    """Record the run if the quotas admit it: on the loop's thread when SQLite is free (`db.inline`)."""
    if ctx.inline is not None:
        admitted = quotas.admit_run_inline(ctx.inline, values)
        if admitted is not None:
            if admitted:
                ctx.inline.committed([ExecutionEvent("started")])
            return admitted
    async with ctx.unit_of_work() as session:
        admitted = await quotas.admit_run(session, values)
        if admitted:
            note_started(session)
    return admitted


async def _earlier_run(
    ctx: AppContext, *, principal: Principal, template_id: str, parameters: dict[str, Any], key: str
) -> WorkflowExecution | None:
    async with ctx.sessionmaker() as session:
        earlier = await monitor.find_by_idempotency_key(session, tenant_id=principal.tenant_id, key=key)
    if earlier is not None and (earlier.template_id != template_id or earlier.input != parameters):
        raise Conflict(
            f"Idempotency key {key!r} was already used for a different request.",
            hint="Use a new key for a new run, or repeat the original template and parameters.",
        )
    return earlier


async def _recorded_deployment(ctx: AppContext, *, tenant_id: str, template_id: str) -> Deployment | None:
    """The template's active deployment, if any; else fail fast (before starting n8n) on an unknown id."""
    async with ctx.sessionmaker() as session:
        query = select(Deployment).where(
            Deployment.tenant_id == tenant_id, Deployment.template_id == template_id, Deployment.active
        )
        found = (await session.execute(query.limit(1))).scalar_one_or_none()
        if found is None:
            await registry.get_template(session, tenant_id=tenant_id, template_id=template_id)
        return found


async def _resolve_target(
    ctx: AppContext, *, tenant_id: str, template_id: str, progress: ProgressFn | None
) -> RunTarget:
    """Find (or make) the template's deployment in the tenant's running n8n, and remember it."""
    deployment = await _recorded_deployment(ctx, tenant_id=tenant_id, template_id=template_id)
    conn = await provisioning.ensure_running(ctx, tenant_id=tenant_id, progress=progress)
    # A template that needs credentials goes through deploy on every run: it rebinds the live workflow
    # when the tenant connected or replaced an account since.
    if deployment is None or deployment.instance_id != conn.instance_id or deployment.credential_refs:
        deployment = await deploy(ctx, tenant_id=tenant_id, template_id=template_id, conn=conn)
    target = RunTarget(deployment, conn)
    targets.remember(ctx, tenant_id=tenant_id, template_id=template_id, target=target)
    return target


async def execute(
    ctx: AppContext,
    *,
    principal: Principal,
    template_id: str,
    parameters: dict[str, Any] | None = None,
    campaign_id: str | None = None,
    idempotency_key: str | None = None,
    wait: bool = True,
    timeout_s: float = 120.0,
    provisioning_progress: ProgressFn | None = None,
    run_progress: RunProgress | None = None,
) -> ExecutionRead:
    """Start a template in the tenant's n8n and (by default) wait for it to finish.

    Two commits per run: the record before n8n is called (so a crash never loses a run n8n may have
    started) and the outcome after; a run that outlasts `runner.ID_RECORD_AFTER_S` also records its
    n8n id while it runs.
    """
    parameters = parameters or {}
    if timeout_s <= 0 or timeout_s > 3600:
        raise Invalid("timeout_s must be between 0 and 3600 seconds.")
    started = time.monotonic()
    if idempotency_key is not None:
        earlier = await _earlier_run(
            ctx, principal=principal, template_id=template_id, parameters=parameters, key=idempotency_key
        )
        if earlier is not None:
            return await _finish(ctx, principal, earlier.id, wait, timeout_s, run_progress)
    tenant_id = principal.tenant_id
    target = targets.recalled(ctx, tenant_id=tenant_id, template_id=template_id)
    if target is None:
        # Before starting n8n or deploying for it: a run over quota is refused here at no cost.
        # `_claim` admits the run against the quotas again, atomically, on every path.
        await quotas.check_run(ctx, tenant_id=tenant_id)
        target = await _resolve_target(
            ctx, tenant_id=tenant_id, template_id=template_id, progress=provisioning_progress
        )
    row, is_new = await _claim(
        ctx,
        principal=principal,
        template_id=template_id,
        parameters=parameters,
        campaign_id=campaign_id,
        idempotency_key=idempotency_key,
        deployment=target.deployment,
    )
    if not is_new:
        return await _finish(ctx, principal, row.id, wait, timeout_s, run_progress)
    conn = target.conn

    async def redeploy(lost: Deployment) -> Deployment:
        fresh = await deploy(ctx, tenant_id=tenant_id, template_id=template_id, conn=conn, replace=True)
        targets.remember(ctx, tenant_id=tenant_id, template_id=template_id, target=RunTarget(fresh, conn))
        return fresh

    try:
        report = await runner.run(
            ctx,
            client_for(ctx, conn),
            deployment=target.deployment,
            row=row,
            parameters=parameters,
            wait=wait,
            timeout_s=timeout_s,
            run_progress=run_progress,
            redeploy=redeploy,
        )
    except SpreadersError:
        targets.forget(ctx, tenant_id=tenant_id, template_id=template_id)
        raise
    if not report.follow:
        return report.execution
    remaining = max(timeout_s - (time.monotonic() - started), 0.001)
    return await wait_for(
        ctx, principal=principal, execution_id=row.id, timeout_s=remaining, run_progress=run_progress
    )


async def _finish(
    ctx: AppContext,
    principal: Principal,
    execution_id: str,
    wait: bool,
    timeout_s: float,
    run_progress: RunProgress | None,
) -> ExecutionRead:
    if not wait:
        return await get_status(ctx, principal=principal, execution_id=execution_id)
    return await wait_for(
        ctx, principal=principal, execution_id=execution_id, timeout_s=timeout_s, run_progress=run_progress
    )


async def sync(ctx: AppContext, *, principal: Principal, execution_id: str) -> ExecutionRead:
    """Refresh one execution from n8n (if it is not finished yet) and return it."""
    async with ctx.sessionmaker() as session:
        row = await monitor.get_execution_row(
            session, tenant_id=principal.tenant_id, execution_id=execution_id
        )
    if row.status in FINISHED_STATUSES or row.n8n_execution_id is None:
        return monitor.to_read(row)
    conn = await provisioning.connect(ctx, tenant_id=principal.tenant_id)
    if conn.instance_id != row.instance_id:
        # Run on an instance the workspace has left (a move to a dedicated one): its n8n id means
        # nothing here; the record stands as history and the monitor closes it.
        return monitor.to_read(row)
    n8n_execution = await client_for(ctx, conn).get_execution(row.n8n_execution_id)
    return await records.write_state(ctx, execution_id, n8n_execution)


async def get_status_stored(ctx: AppContext, *, principal: Principal, execution_id: str) -> ExecutionRead:
    """The execution as recorded, without asking n8n."""
    async with ctx.sessionmaker() as session:
        row = await monitor.get_execution_row(
            session, tenant_id=principal.tenant_id, execution_id=execution_id
        )
    return monitor.to_read(row)


async def get_status(ctx: AppContext, *, principal: Principal, execution_id: str) -> ExecutionRead:
    """Return the execution, refreshed from n8n when n8n is reachable."""
    async with ctx.sessionmaker() as session:
        row = await monitor.get_execution_row(
            session, tenant_id=principal.tenant_id, execution_id=execution_id
        )
    if row.status in FINISHED_STATUSES or row.n8n_execution_id is None:
        return monitor.to_read(row)
    return await sync(ctx, principal=principal, execution_id=execution_id)


async def recover_n8n_id(ctx: AppContext, conn: InstanceConnection, row: WorkflowExecution) -> str | None:
    """Find in n8n the execution a run without a recorded n8n id started, and record its id."""
    client = client_for(ctx, conn)
    found = await recovery.find_execution(client, workflow_id=row.n8n_workflow_id, run_id=row.id)
    if found is None:
        return None
    n8n_id = str(found["id"])
    async with ctx.unit_of_work() as session:
        await monitor.attach_n8n_id(session, execution_id=row.id, n8n_execution_id=n8n_id)
    return n8n_id


async def _n8n_id_of(
    ctx: AppContext, principal: Principal, row: WorkflowExecution, deadline: float
) -> WorkflowExecution:
    """Wait until the run has an n8n id or has finished (its starter records both); else look it up.

    The starter records the id within `runner.ID_RECORD_AFTER_S` while it is alive; a run still
    without one after that had its starter die, so n8n is searched for it (see `recovery`).
    """
    delay, searched_at = POLL_FIRST_S, 0.0
    while row.n8n_execution_id is None and row.status not in FINISHED_STATUSES:
        now = time.monotonic()
        if now >= deadline:
            return row
        age_s = (utcnow() - row.created_at).total_seconds()
        if age_s > runner.ID_RECORD_AFTER_S + 1.0 and now - searched_at >= SEARCH_EVERY_S:
            searched_at = now
            with contextlib.suppress(Unavailable):
                await recover_n8n_id(ctx, await provisioning.connect(ctx, tenant_id=principal.tenant_id), row)
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, POLL_MAX_S)
        async with ctx.sessionmaker() as session:
            row = await monitor.get_execution_row(session, tenant_id=principal.tenant_id, execution_id=row.id)
    return row


async def wait_for(
    ctx: AppContext,
    *,
    principal: Principal,
    execution_id: str,
    timeout_s: float,
    run_progress: RunProgress | None = None,
) -> ExecutionRead:
    """Poll n8n until the execution finishes or the timeout passes (then it is returned as it stands).

    The path for runs the caller did not start itself (a start-only run, a retried idempotency key,
    a resumed chain). Polls ask n8n for the status only (no run data, no database write) and start a
    few milliseconds apart, backing off to a quarter second.
    """
    started = time.monotonic()
    async with ctx.sessionmaker() as session:
        row = await monitor.get_execution_row(
            session, tenant_id=principal.tenant_id, execution_id=execution_id
        )
    row = await _n8n_id_of(ctx, principal, row, started + timeout_s)
    if row.status in FINISHED_STATUSES or row.n8n_execution_id is None:
        return monitor.to_read(row)
    conn = await provisioning.connect(ctx, tenant_id=principal.tenant_id)
    if conn.instance_id != row.instance_id:
        return monitor.to_read(row)  # run on an instance the workspace has left (see `sync`)
    client = client_for(ctx, conn)
    delay, reported, reported_at = POLL_FIRST_S, "", 0.0
    while True:
        try:
            brief = await client.get_execution(row.n8n_execution_id, include_data=False)
        except Unavailable:
            # n8n went away mid-run: the monitor marks the run crashed and restarts n8n; say what we know.
            return await get_status_stored(ctx, principal=principal, execution_id=execution_id)
        status = str(brief.get("status") or "unknown")
        elapsed = time.monotonic() - started
        if status in FINISHED_STATUSES:
            full = await client.get_execution(row.n8n_execution_id, include_data=True)
            return await records.write_state(ctx, execution_id, full)
        if elapsed >= timeout_s:
            return await records.write_state(ctx, execution_id, brief)
        if run_progress is not None and (status != reported or elapsed - reported_at >= PROGRESS_EVERY_S):
            await run_progress(elapsed, timeout_s, f"execution {execution_id} is {status}")
            reported, reported_at = status, elapsed
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, POLL_MAX_S)
