"""Move a free tenant from its seat on a shared n8n to a dedicated instance of its own (scale free ->
pro or enterprise), carrying its workflows (active ones activated again) and credentials.

Three steps, each safe to run again:
1. fill: a dedicated instance (recorded once, re-used by a rerun) gets a fresh data folder, the seat's
   workflows and credentials are imported with n8n's CLI keeping their ids (`seat_export` reads them
   from the shared process, credentials re-encrypted for the new key), then it starts, is
   bootstrapped and the workflows active on the seat are activated. Until step 2 the tenant runs on
   its seat as before; a failure stops the new process and leaves everything else as it was.
2. commit, one transaction: the seat becomes `moved` (history: the executions run there keep
   pointing at it), deployments and n8n credential links follow to the new instance (the n8n ids are
   the same), the tenant takes the new tier. Something deployed or connected on the seat after the
   copy was taken is not in the new instance: such a deployment is marked inactive (the next run
   deploys it afresh) and such a link dropped (the next deploy pushes the credential again).
3. release (`pool.release_moved`): the seat's member user is deleted on the shared process, with
   everything it owned there. A rerun of `scale`, or the pool's background pass, finishes it.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update

from spreaders.accounts.models import Tenant
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import Conflict, NotFound, UpstreamError
from spreaders.orchestrator import targets
from spreaders.orchestrator.models import Deployment
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.provisioning import n8n_cli, pool, process, seat_export
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.backends import local
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import DEDICATED, MOVED, N8nInstance
from spreaders.provisioning.seat_export import SeatExport
from spreaders.provisioning.tiers import Tier
from spreaders.vault.models import N8nCredentialLink

# A move takes well under a minute here; a lease this old was left by a move whose process died.
STALE_MOVE = timedelta(minutes=15)
# Progress lines that mark the step boundaries (tests inject failures at them).
COMMITTING = "switching the workspace to its new instance"
RELEASING = "releasing the seat"


@asynccontextmanager
async def _lease(ctx: AppContext, seat_id: str) -> AsyncIterator[None]:
    """Hold the seat's move lease: a second move of the same workspace is refused while one runs
    (both would fill, and kill the process of, the same new instance)."""
    now = utcnow()
    async with ctx.unit_of_work() as session:
        taken = await session.execute(
            update(N8nInstance)
            .where(
                N8nInstance.id == seat_id,
                (N8nInstance.move_started_at.is_(None)) | (N8nInstance.move_started_at < now - STALE_MOVE),
            )
            .values(move_started_at=now)
            .execution_options(synchronize_session=False)
        )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "This workspace is already being moved to its own instance.",
            hint=f"Wait for that move to finish; if its process died, run the scale again after "
            f"{STALE_MOVE.seconds // 60} minutes.",
        )
    try:
        yield
    finally:
        async with ctx.unit_of_work() as session:
            await session.execute(
                update(N8nInstance)
                .where(N8nInstance.id == seat_id, N8nInstance.move_started_at == now)
                .values(move_started_at=None)
                .execution_options(synchronize_session=False)
            )


async def _target(ctx: AppContext, tenant_id: str, tier: Tier, say: ProgressFn) -> N8nInstance:
    """The dedicated instance being filled: the one an earlier, interrupted move recorded, or a new one."""
    async with ctx.sessionmaker() as session:
        found = await session.scalar(
            select(N8nInstance)
            .where(N8nInstance.tenant_id == tenant_id, N8nInstance.kind == DEDICATED)
            .order_by(N8nInstance.created_at)
            .limit(1)
        )
    if found is not None:
        say(f"resuming the move into instance {found.id}")
        async with ctx.unit_of_work() as session:
            row = await session.get_one(N8nInstance, found.id)
            row.tier, row.heap_mb = tier.name, tier.resources.node_heap_mb
        found.tier, found.heap_mb = tier.name, tier.resources.node_heap_mb
        return found
    created = await provisioning.create_dedicated(ctx, tenant_id, tier.name)
    say(f"recorded dedicated instance {created.id} ({tier.name})")
    return created


async def _fresh_folder(ctx: AppContext, target: N8nInstance) -> dict[str, str]:
    """Stop whatever an earlier attempt left running in the target and empty its folder; its n8n
    database starts anew, so the API key of an earlier bootstrap is dropped."""
    await local.terminate(target.pid)
    values = process.opened(ctx, target)
    keep = {"encryption_key": values["encryption_key"], "owner_password": values["owner_password"]}
    async with ctx.unit_of_work() as session:
        row = await session.get_one(N8nInstance, target.id)
        row.pid, row.status, row.bootstrapped_at = None, "new", None
        process.seal(ctx, row, keep)
        target.pid, target.status, target.secrets = None, "new", row.secrets
    shutil.rmtree(target.data_dir, ignore_errors=True)
    return keep


async def _fill(
    ctx: AppContext, seat: N8nInstance, target: N8nInstance, say: ProgressFn
) -> tuple[SeatExport, set[str]]:
    """Copy the seat's data into the target and start it; return the copy and the workflow ids that
    were active on the seat but would not activate here."""
    assert seat.pool_id is not None
    async with ctx.sessionmaker() as session:
        shared = await session.get_one(N8nInstance, seat.pool_id)
    keys = await _fresh_folder(ctx, target)
    folder = ctx.settings.data_dir / "moves" / seat.id
    shutil.rmtree(folder, ignore_errors=True)
    try:
        copied = await seat_export.export_seat(
            Path(shared.data_dir),
            seat.n8n_user_id,
            folder,
            source_key=process.opened(ctx, shared)["encryption_key"],
            destination_key=keys["encryption_key"],
        )
        say(f"importing {len(copied.workflow_ids)} workflows and {len(copied.credential_ids)} credentials")
        await n8n_cli.import_all(await process.cli_spec(ctx, target, keys["encryption_key"]), folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    conn = await provisioning.run_dedicated(ctx, target, say)
    client = N8nClient(ctx.http, base_url=conn.base_url, api_key=conn.api_key)
    say(f"activating {len(copied.active_workflow_ids)} workflows that were active")
    refused: set[str] = set()
    for workflow_id in copied.active_workflow_ids:
        try:
            await client.activate_workflow(workflow_id)
        except (NotFound, UpstreamError) as exc:
            say(f"workflow {workflow_id} would not activate: {exc.message}")
            refused.add(workflow_id)
    return copied, refused


async def _commit(
    ctx: AppContext,
    tenant_id: str,
    seat: N8nInstance,
    target: N8nInstance,
    tier: Tier,
    copied: SeatExport,
    refused: set[str],
) -> None:
    """Make the target the tenant's instance, in one transaction (see the module docstring, step 2)."""
    live = set(copied.workflow_ids) - refused
    async with ctx.unit_of_work() as session:
        (await session.get_one(N8nInstance, seat.id)).status = MOVED
        deployments = (
            await session.scalars(select(Deployment).where(Deployment.instance_id == seat.id))
        ).all()
        for deployment in deployments:
            deployment.instance_id = target.id
            if deployment.n8n_workflow_id not in live:
                deployment.active = False
        await session.execute(
            delete(N8nCredentialLink).where(
                N8nCredentialLink.instance_id == seat.id,
                N8nCredentialLink.n8n_credential_id.not_in(copied.credential_ids),
            )
        )
        await session.execute(
            update(N8nCredentialLink)
            .where(N8nCredentialLink.instance_id == seat.id)
            .values(instance_id=target.id)
            .execution_options(synchronize_session=False)
        )
        (await session.get_one(Tenant, tenant_id)).tier = tier.name


async def _copy_and_commit(
    ctx: AppContext, tenant_id: str, seat_id: str, tier: Tier, say: ProgressFn
) -> None:
    """Steps 1 and 2, under the lease; nothing to do when a move that held it before committed."""
    async with ctx.sessionmaker() as session:
        seat = await session.get_one(N8nInstance, seat_id)
    if seat.status == MOVED:
        return
    target = await _target(ctx, tenant_id, tier, say)
    try:
        say(f"copying the workspace's workflows and credentials from its seat {seat.id}")
        copied, refused = await _fill(ctx, seat, target, say)
        say(COMMITTING)
        await _commit(ctx, tenant_id, seat, target, tier, copied, refused)
    except BaseException:
        # The seat stays the tenant's instance: no second process is left running beside it.
        await process.stop_process(ctx, target.id)
        raise


async def _refuse_off_local(ctx: AppContext, seat: N8nInstance) -> None:
    """The copy reads the shared process's database file and imports with the local CLI: both need the
    local backend on both ends. A seat on a Kubernetes pool is refused before anything changes."""
    async with ctx.sessionmaker() as session:
        shared = await session.get(N8nInstance, seat.pool_id) if seat.pool_id else None
    if shared is None or shared.backend != "local" or ctx.settings.provisioning.backend != "local":
        raise Conflict(
            "Moving a free workspace onto its own instance is built for the local backend only.",
            hint="On Kubernetes, export the workflows from n8n, create a new pro workspace and import "
            "them there (docs/kubernetes.md).",
        )


async def move_to_dedicated(
    ctx: AppContext, *, tenant_id: str, seat: N8nInstance, tier: Tier, progress: ProgressFn | None = None
) -> str:
    """Move the tenant from `seat` to a dedicated instance sized for `tier`; return that instance's id.

    A seat already moved (an earlier run stopped after the commit) only has its release finished.
    """
    say = progress or (lambda _message: None)
    if seat.status != MOVED:
        await _refuse_off_local(ctx, seat)
        async with _lease(ctx, seat.id):
            await _copy_and_commit(ctx, tenant_id, seat.id, tier, say)
        targets.forget_tenant(ctx, tenant_id=tenant_id)
    say(RELEASING)
    await pool.release_moved(ctx, tenant_id=tenant_id)
    current = await provisioning.status(ctx, tenant_id=tenant_id)
    assert current is not None
    return current.id
