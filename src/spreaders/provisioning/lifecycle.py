"""Operations on a tenant's n8n instance (local or Kubernetes): status, scale to another tier,
deprovision with a backup first, restore from that backup, and stopping idle instances.

Deprovisioning keeps the instance row (as `deprovisioned`, no process, no data): executions,
deployments and credential links refer to it, and their history must survive. Restore brings the
same row back with fresh data (a new folder, or a new namespace and pod), the backup imported and the
same encryption key, so the credentials in the backup decrypt and the ids the platform recorded still
name the same objects.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import func, select

from spreaders.accounts.models import Tenant
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Conflict, Invalid, NotFound, SpreadersError, UpstreamError
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator.models import Deployment
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.provisioning import (
    k8s_backup,
    k8s_instances,
    n8n_cli,
    pool,
    process,
    quotas,
    seat_move,
)
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.backends import local
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import DEDICATED, SEAT, InstanceBackup, N8nInstance
from spreaders.provisioning.schemas import InstanceConnection, InstanceRead
from spreaders.provisioning.tiers import Resources, Tier, get_tier
from spreaders.vault.sealed import row_aad


class BackupRead(BaseModel):
    id: str
    instance_id: str
    tier: str
    path: str
    workflows: int
    credentials: int
    created_at: str
    restored: bool


class InstanceStatus(BaseModel):
    instance: InstanceRead
    resources: Resources
    healthy: bool  # the process runs and its REST API answers
    quota: quotas.QuotaReport
    backups: list[BackupRead]


def _backup_read(backup: InstanceBackup) -> BackupRead:
    return BackupRead(
        id=backup.id,
        instance_id=backup.instance_id,
        tier=backup.tier,
        path=backup.path,
        workflows=backup.workflows,
        credentials=backup.credentials,
        created_at=backup.created_at.isoformat(),
        restored=backup.restored_at is not None,
    )


async def _instance(ctx: AppContext, tenant_id: str, instance_id: str) -> N8nInstance:
    """The tenant's instance `instance_id`; another tenant's id is not found, like an unknown one."""
    async with ctx.sessionmaker() as session:
        query = select(N8nInstance).where(N8nInstance.id == instance_id, N8nInstance.tenant_id == tenant_id)
        found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound(
            f"No n8n instance {instance_id} in this workspace.",
            hint="List them with `spreaders instances ls`.",
        )
    return found


async def _dedicated(ctx: AppContext, tenant_id: str, instance_id: str, operation: str) -> N8nInstance:
    """The tenant's own n8n process; a free-tier seat on a shared process has none to operate on."""
    row = await _instance(ctx, tenant_id, instance_id)
    if row.kind == SEAT:
        raise Invalid(
            f"This workspace runs on a seat of a shared free-tier n8n; {operation} applies to dedicated "
            "instances.",
            hint="Move it to an instance of its own first with `spreaders instances scale pro`.",
        )
    return row


async def describe(ctx: AppContext, *, tenant_id: str, instance_id: str) -> InstanceStatus:
    """Tier, resources, health, usage against the tier's quotas, and the instance's backups."""
    row = await _instance(ctx, tenant_id, instance_id)
    read = await provisioning.to_read(ctx, row)
    healthy = read.running and await local.answers_rest(ctx.http, read.base_url)
    async with ctx.sessionmaker() as session:
        query = select(InstanceBackup).where(
            InstanceBackup.tenant_id == tenant_id, InstanceBackup.instance_id == instance_id
        )
        backups = (await session.scalars(query.order_by(InstanceBackup.created_at.desc()))).all()
    return InstanceStatus(
        instance=read,
        resources=get_tier(row.tier).resources,
        healthy=healthy,
        quota=await quotas.report(ctx, tenant_id=tenant_id),
        backups=[_backup_read(backup) for backup in backups],
    )


async def list_instances(ctx: AppContext, *, tenant_id: str) -> list[InstanceStatus]:
    async with ctx.sessionmaker() as session:
        query = select(N8nInstance.id).where(N8nInstance.tenant_id == tenant_id)
        ids = (await session.scalars(query.order_by(N8nInstance.created_at))).all()
    return [await describe(ctx, tenant_id=tenant_id, instance_id=instance_id) for instance_id in ids]


async def scale(
    ctx: AppContext, *, tenant_id: str, instance_id: str, tier_name: str, progress: ProgressFn | None = None
) -> InstanceStatus:
    """Move the tenant to `tier_name`. From a free seat to pro or enterprise, its workflows and
    credentials move to a new dedicated instance (`seat_move`); a dedicated instance is resized in
    place: the tier is recorded and a running instance restarts with the new heap.
    """
    say = progress or (lambda _message: None)
    tier = get_tier(tier_name)
    row = await _instance(ctx, tenant_id, instance_id)
    if row.kind == SEAT:
        if not tier.dedicated:
            raise Invalid(
                f"This workspace is on the {tier.name} tier already (a seat of a shared n8n).",
                hint="Scale to pro or enterprise to move it to an instance of its own.",
            )
        moved_to = await seat_move.move_to_dedicated(
            ctx, tenant_id=tenant_id, seat=row, tier=tier, progress=say
        )
        row = await _instance(ctx, tenant_id, moved_to)
        if row.tier == tier.name:
            return await describe(ctx, tenant_id=tenant_id, instance_id=row.id)
    if not tier.dedicated and not await _is_local(ctx, tenant_id):
        raise Invalid(
            "A dedicated instance cannot move back onto the shared free-tier pool: the shared process "
            "would have to stop, for every tenant on it, to import this workspace's data.",
            hint="Keep the workspace on pro or enterprise (`spreaders instances scale pro`).",
        )
    if row.status == "deprovisioned":
        raise Conflict(f"Instance {row.id} is deprovisioned.", hint="Restore it first, then scale it.")
    # A seat left behind by a move that stopped after its commit is released now; if its shared
    # process cannot be reached the resize still goes on (the pool's background pass retries it).
    try:
        await pool.release_moved(ctx, tenant_id=tenant_id)
    except SpreadersError as exc:
        say(f"the old seat is not released yet: {exc.message}")
    return await _resize(ctx, tenant_id, row, tier, say)


async def _is_local(ctx: AppContext, tenant_id: str) -> bool:
    async with ctx.sessionmaker() as session:
        return (await session.get_one(Tenant, tenant_id)).is_local


async def _resize(
    ctx: AppContext, tenant_id: str, row: N8nInstance, tier: Tier, say: ProgressFn
) -> InstanceStatus:
    """Record the tier on the workspace and its dedicated instance; restart a running one with the new
    heap (its data stays in its folder)."""
    unchanged = row.tier == tier.name and row.heap_mb == tier.resources.node_heap_mb
    was_running = local.pid_alive(row.pid)
    async with ctx.unit_of_work() as session:
        (await session.get_one(Tenant, tenant_id)).tier = tier.name
        stored = await session.get_one(N8nInstance, row.id)
        stored.tier, stored.heap_mb = tier.name, tier.resources.node_heap_mb
    if unchanged:
        say(f"already on the {tier.name} tier")
        return await describe(ctx, tenant_id=tenant_id, instance_id=row.id)
    say(f"tier {row.tier} -> {tier.name}: heap {row.heap_mb} -> {tier.resources.node_heap_mb} MB")
    if row.backend == k8s_instances.BACKEND:
        say("resizing the pod and its volume claim; a new pod rolls out")
        await k8s_instances.scale(ctx, row, tier)
    elif was_running:
        say("restarting n8n with the new limits")
        await _stop(ctx, row.id)
        await provisioning.ensure_running(ctx, tenant_id=tenant_id, progress=say)
    return await describe(ctx, tenant_id=tenant_id, instance_id=row.id)


async def _stop(ctx: AppContext, instance_id: str) -> None:
    """Stop this instance's process; its folder and record stay (a later start re-uses them)."""
    async with ctx.unit_of_work() as session:
        row = await session.get_one(N8nInstance, instance_id)
        await local.terminate(row.pid)
        row.pid, row.status = None, "stopped"


def _backup_aad(backup: InstanceBackup) -> str:
    return row_aad(backup.tenant_id, InstanceBackup.__tablename__, backup.id)


async def deprovision(
    ctx: AppContext, *, tenant_id: str, instance_id: str, progress: ProgressFn | None = None
) -> BackupRead:
    """Back the instance up (workflows, encrypted credentials), then stop it and remove its data.

    Nothing is removed unless the export succeeded and its record is committed. Locally the process
    is stopped and the CLI exports its database; on Kubernetes the running pod is asked
    (provisioning/k8s_backup.py), then its namespace is deleted.
    """
    say = progress or (lambda _message: None)
    row = await _dedicated(ctx, tenant_id, instance_id, "deprovision")
    if row.status == "deprovisioned":
        raise Conflict(
            f"Instance {instance_id} is already deprovisioned.",
            hint="Restore it with `spreaders instances restore`.",
        )
    values = process.opened(ctx, row)
    backup_id = new_id("bak")
    archive: k8s_backup.Backup | None = None
    if row.backend == k8s_instances.BACKEND:
        archive = await k8s_backup.export(ctx, row, say)
        where = f"db://instance_backups/{backup_id}"
        workflows, credentials = len(archive.workflows), len(archive.credentials)
    else:
        folder = ctx.settings.data_dir / "backups" / backup_id
        say(f"stopping n8n; exporting workflows and credentials to {folder}")
        await _stop(ctx, instance_id)
        spec = await process.cli_spec(ctx, row, values["encryption_key"])
        workflows, credentials = await n8n_cli.export_all(spec, folder)
        where = str(folder)
    keep = {"encryption_key": values["encryption_key"], "owner_password": values["owner_password"]}
    async with ctx.unit_of_work() as session:
        backup = InstanceBackup(
            id=backup_id,
            tenant_id=tenant_id,
            instance_id=instance_id,
            tier=row.tier,
            path=where,
            workflows=workflows,
            credentials=credentials,
            secrets=b"",
        )
        backup.secrets = ctx.cipher.seal(json.dumps(keep).encode(), aad=_backup_aad(backup))
        if archive is not None:
            backup.archive = ctx.cipher.seal(json.dumps(asdict(archive)).encode(), aad=_backup_aad(backup))
        session.add(backup)
        stored = await session.get_one(N8nInstance, instance_id)
        stored.status, stored.pid, stored.bootstrapped_at = "deprovisioned", None, None
        # The API key belonged to the n8n database being removed; restore mints a new one.
        process.seal(ctx, stored, keep)
    say(f"backed up {workflows} workflows and {credentials} credentials; removing {row.data_dir}")
    if row.backend == k8s_instances.BACKEND:
        await k8s_instances.remove(ctx, row)
    else:
        shutil.rmtree(row.data_dir, ignore_errors=True)
    async with ctx.sessionmaker() as session:
        return _backup_read(await session.get_one(InstanceBackup, backup_id))


async def _latest_backup(ctx: AppContext, tenant_id: str, instance_id: str) -> InstanceBackup:
    async with ctx.sessionmaker() as session:
        query = select(InstanceBackup).where(
            InstanceBackup.tenant_id == tenant_id, InstanceBackup.instance_id == instance_id
        )
        found = (await session.scalars(query.order_by(InstanceBackup.created_at.desc()).limit(1))).first()
    if found is None:
        raise NotFound(
            f"Instance {instance_id} has no backup.", hint="Only a deprovisioned instance can be restored."
        )
    return found


async def restore(
    ctx: AppContext, *, tenant_id: str, instance_id: str, progress: ProgressFn | None = None
) -> InstanceStatus:
    """Bring a deprovisioned instance back from its latest backup, with the same encryption key.

    On Kubernetes a new instance is provisioned (once the old namespace is gone) and the backup is
    imported in its pod; a restore that failed after the pod started can be run again."""
    say = progress or (lambda _message: None)
    row = await _dedicated(ctx, tenant_id, instance_id, "restore")
    if row.status != "deprovisioned" and not await _unfinished_k8s_restore(ctx, row):
        raise Conflict(
            f"Instance {instance_id} is {row.status}, not deprovisioned.",
            hint="Only a deprovisioned instance can be restored.",
        )
    backup = await _latest_backup(ctx, tenant_id, instance_id)
    keep: dict[str, str] = json.loads(ctx.cipher.open(backup.secrets, aad=_backup_aad(backup)))
    if row.backend == k8s_instances.BACKEND:
        conn = await _restore_on_kubernetes(ctx, row, backup, keep, say)
    else:
        conn = await _restore_locally(ctx, row, backup, keep, say)
    await _reactivate(
        ctx, N8nClient(ctx.http, base_url=conn.base_url, api_key=conn.api_key), tenant_id, instance_id
    )
    return await describe(ctx, tenant_id=tenant_id, instance_id=instance_id)


async def _unfinished_k8s_restore(ctx: AppContext, row: N8nInstance) -> bool:
    """A Kubernetes instance whose latest backup's restore started (its pod runs) but did not finish."""
    if row.backend != k8s_instances.BACKEND:
        return False
    async with ctx.sessionmaker() as session:
        query = select(InstanceBackup.restored_at).where(
            InstanceBackup.tenant_id == row.tenant_id, InstanceBackup.instance_id == row.id
        )
        latest = (await session.execute(query.order_by(InstanceBackup.created_at.desc()).limit(1))).first()
    return latest is not None and latest.restored_at is None


async def _restore_on_kubernetes(
    ctx: AppContext, row: N8nInstance, backup: InstanceBackup, keep: dict[str, str], say: ProgressFn
) -> InstanceConnection:
    if row.status == "deprovisioned":
        say("waiting for the old namespace to be gone")
        await k8s_instances.wait_removed(ctx, row)
        async with ctx.unit_of_work() as session:
            stored = await session.get_one(N8nInstance, row.id)
            stored.status = "stopped"
            process.seal(ctx, stored, keep)
    assert row.tenant_id is not None
    conn = await provisioning.ensure_running(ctx, tenant_id=row.tenant_id, progress=say)
    say(f"importing {backup.workflows} workflows and {backup.credentials} credentials from {backup.path}")
    assert backup.archive is not None
    archive = json.loads(ctx.cipher.open(backup.archive, aad=_backup_aad(backup)))
    await k8s_backup.import_into(ctx, row, k8s_backup.Backup(**archive), say)
    async with ctx.unit_of_work() as session:
        (await session.get_one(InstanceBackup, backup.id)).restored_at = utcnow()
    return conn


async def _restore_locally(
    ctx: AppContext, row: N8nInstance, backup: InstanceBackup, keep: dict[str, str], say: ProgressFn
) -> InstanceConnection:
    # A left-over folder from an interrupted restore would mix two databases: start clean.
    shutil.rmtree(row.data_dir, ignore_errors=True)
    say(f"importing {backup.workflows} workflows and {backup.credentials} credentials from {backup.path}")
    await n8n_cli.import_all(await process.cli_spec(ctx, row, keep["encryption_key"]), Path(backup.path))
    async with ctx.unit_of_work() as session:
        stored = await session.get_one(N8nInstance, row.id)
        stored.status = "stopped"
        process.seal(ctx, stored, keep)
        (await session.get_one(InstanceBackup, backup.id)).restored_at = utcnow()
    assert row.tenant_id is not None
    return await provisioning.ensure_running(ctx, tenant_id=row.tenant_id, progress=say)


async def _reactivate(ctx: AppContext, client: N8nClient, tenant_id: str, instance_id: str) -> None:
    """n8n imports workflows inactive: activate each deployed one again (same id, same entry path).

    One that will not activate is marked inactive, so the next run deploys it afresh.
    """
    async with ctx.sessionmaker() as session:
        query = select(Deployment).where(
            Deployment.tenant_id == tenant_id,
            Deployment.instance_id == instance_id,
            Deployment.active.is_(True),
        )
        deployments = (await session.scalars(query)).all()
    for deployment in deployments:
        try:
            await client.activate_workflow(deployment.n8n_workflow_id)
        except (NotFound, UpstreamError):
            async with ctx.unit_of_work() as session:
                (await session.get_one(Deployment, deployment.id)).active = False


async def stop_idle(ctx: AppContext, *, idle_minutes: int) -> list[str]:
    """Stop running dedicated instances with no run for `idle_minutes`; return their ids.

    A local process ends; on Kubernetes the Deployment goes to no pod, its volume claim kept. The next
    run wakes an instance (`ensure_running` starts or scales back a stopped one); its data stays.
    Shared pool instances follow their own rule (`pool.stop_idle`): their runs are recorded by seat.
    """
    cutoff = utcnow() - timedelta(minutes=idle_minutes)
    last_run = (
        select(WorkflowExecution.instance_id, func.max(WorkflowExecution.created_at).label("at"))
        .group_by(WorkflowExecution.instance_id)
        .subquery()
    )
    async with ctx.sessionmaker() as session:
        query = (
            select(N8nInstance)
            .outerjoin(last_run, last_run.c.instance_id == N8nInstance.id)
            .where(
                N8nInstance.kind == DEDICATED,
                N8nInstance.status == "running",
                N8nInstance.created_at < cutoff,
                (last_run.c.at.is_(None)) | (last_run.c.at < cutoff),
            )
        )
        idle = (await session.scalars(query)).all()
    stopped = []
    for row in idle:
        if row.backend == k8s_instances.BACKEND:
            await k8s_instances.halt(ctx, row)
        elif local.pid_alive(row.pid):
            await _stop(ctx, row.id)
        else:
            continue
        stopped.append(row.id)
    return stopped
