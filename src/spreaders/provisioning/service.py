"""Give each tenant its n8n, by tier: a dedicated instance (pro, enterprise, the embedded local
tenant; a local process or, on Kubernetes, its own namespace) or a seat on a shared instance of the
free pool (provisioning/pool.py, on either backend).

Either way callers get the same `InstanceConnection`: a base URL and the tenant's own API key, so the
orchestrator, the vault sync and the monitor need not know which kind they talk to.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.models import Tenant
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id
from spreaders.errors import Conflict, NotFound, Unavailable
from spreaders.provisioning import k8s_instances, pool, process
from spreaders.provisioning.backends import local
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import DEDICATED, MOVED, SEAT, N8nInstance
from spreaders.provisioning.schemas import InstanceConnection, InstanceRead
from spreaders.provisioning.tiers import get_tier


def _not_running() -> Unavailable:
    return Unavailable("This workspace's n8n is not running.", hint="Start it with `spreaders n8n start`.")


async def _find(session: AsyncSession, tenant_id: str) -> N8nInstance | None:
    # Whatever backend a tenant's instance was made on, it stays its instance: switching the setting
    # does not move data, it only decides where new instances go.
    # A moved seat is history; while a move runs, the seat (older) stays the tenant's instance and the
    # dedicated one being filled is not returned until the move commits.
    query = select(N8nInstance).where(N8nInstance.tenant_id == tenant_id, N8nInstance.status != MOVED)
    return (await session.execute(query.order_by(N8nInstance.created_at).limit(1))).scalar_one_or_none()


async def _process_row(session: AsyncSession, instance: N8nInstance) -> N8nInstance:
    """The row of the process serving `instance`: itself, or the shared process of a seat."""
    if instance.kind == SEAT and instance.pool_id is not None:
        return await session.get_one(N8nInstance, instance.pool_id)
    return instance


# States in which no process is expected: not running is not "dead" there.
RESTING = ("new", "stopped", "deprovisioned", MOVED)


def _read(instance: N8nInstance, proc: N8nInstance) -> InstanceRead:
    running = local.pid_alive(proc.pid)
    return InstanceRead(
        id=instance.id,
        kind=instance.kind,
        backend=instance.backend,
        status=proc.status if running or proc.status in RESTING else "dead",
        version=proc.version,
        base_url=proc.base_url,
        pid=proc.pid if running else None,
        running=running,
        bootstrapped=instance.bootstrapped_at is not None,
        data_dir=proc.data_dir,
        created_at=instance.created_at,
        last_error=proc.last_error,
        tier=instance.tier,
        heap_mb=instance.heap_mb,
    )


async def _wants_dedicated(session: AsyncSession, tenant_id: str) -> bool:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"There is no tenant {tenant_id!r}.", hint="Create the tenant first.")
    # The embedded mode's tenant is the only one on its machine: sharing would save nothing.
    return tenant.is_local or get_tier(tenant.tier).dedicated


async def create_dedicated(ctx: AppContext, tenant_id: str, tier_name: str | None = None) -> N8nInstance:
    """Record a new dedicated instance for the tenant, sized for `tier_name` (default: its tier)."""
    settings = ctx.settings.n8n
    async with ctx.unit_of_work() as session:
        tier = get_tier(tier_name or (await session.get_one(Tenant, tenant_id)).tier)
        instance = N8nInstance(
            id=new_id("n8n"),
            tenant_id=tenant_id,
            kind=DEDICATED,
            backend="local",
            status="new",
            version=settings.version,
            host=settings.host,
            port=settings.port or local.free_port(settings.host),
            broker_port=local.free_port(settings.host),
            owner_email=f"owner+{tenant_id}@spreaders.local",
            tier=tier.name,
            heap_mb=tier.resources.node_heap_mb,
        )
        instance.data_dir = str(ctx.settings.data_dir / "n8n" / instance.id)
        session.add(instance)
        await session.flush()
        process.seal_first_secrets(ctx, instance)
    return instance


async def ensure_running(
    ctx: AppContext, *, tenant_id: str, progress: ProgressFn | None = None
) -> InstanceConnection:
    """Give the tenant a running, bootstrapped n8n: a seat from the warm pool for a new free tenant,
    else its dedicated process (installed, created, started or re-adopted as needed); a stopped
    shared process is woken."""
    say = progress or (lambda _message: None)
    async with ctx.sessionmaker() as session:
        instance = await _find(session, tenant_id)
        dedicated = instance.kind == DEDICATED if instance else await _wants_dedicated(session, tenant_id)
    if instance is None and not dedicated:
        say("taking a seat in the shared n8n pool")
        instance = await pool.claim(ctx, tenant_id, progress)
    if instance is not None and instance.kind == SEAT:
        conn = await pool.seat_connection(ctx, instance, start=True, progress=progress)
        assert conn is not None
        return conn
    if instance is None and ctx.settings.provisioning.backend == k8s_instances.BACKEND:
        say("creating an n8n instance record")
        instance = await k8s_instances.create(ctx, tenant_id)
    if instance is not None and instance.backend == k8s_instances.BACKEND:
        return await k8s_instances.ensure_running(ctx, instance, progress)
    if instance is None:
        say("creating an n8n instance record")
        instance = await create_dedicated(ctx, tenant_id)
    if instance.status == "deprovisioned":
        raise Conflict(
            "This workspace's n8n was deprovisioned (its workflows and credentials are in a backup).",
            hint="Restore it with `spreaders instances restore` (or POST /api/v1/instances/{id}/restore).",
        )
    return await run_dedicated(ctx, instance, progress)


async def run_dedicated(
    ctx: AppContext, instance: N8nInstance, progress: ProgressFn | None = None
) -> InstanceConnection:
    """Start (or re-adopt) a dedicated instance's process and bootstrap it once (owner, API key)."""
    values = await process.ensure_bootstrapped(ctx, instance, progress)
    return InstanceConnection(instance_id=instance.id, base_url=instance.base_url, api_key=values["api_key"])


async def connect(ctx: AppContext, *, tenant_id: str) -> InstanceConnection:
    """Return the connection to the tenant's running instance without starting anything."""
    async with ctx.sessionmaker() as session:
        instance = await _find(session, tenant_id)
    if instance is None:
        raise _not_running()
    if instance.kind == SEAT:
        conn = await pool.seat_connection(ctx, instance, start=False)
        if conn is None:
            raise _not_running()
        return conn
    if instance.backend == k8s_instances.BACKEND:
        found = k8s_instances.connection(ctx, instance)
        if found is None:
            raise _not_running()
        return found
    values = process.opened(ctx, instance)
    if "api_key" not in values or not local.pid_alive(instance.pid):
        raise _not_running()
    return InstanceConnection(instance_id=instance.id, base_url=instance.base_url, api_key=values["api_key"])


async def stop(ctx: AppContext, *, tenant_id: str) -> InstanceRead | None:
    """Stop the tenant's dedicated n8n process (data folder and record stay for the next start).
    A seat's shared process serves other tenants too: it is left running (idle ones are stopped by
    `pool.stop_idle`)."""
    async with ctx.sessionmaker() as session:
        instance = await _find(session, tenant_id)
    if instance is None:
        return None
    if instance.kind == DEDICATED and instance.backend == k8s_instances.BACKEND:
        return await k8s_instances.stop(ctx, instance)
    if instance.kind == DEDICATED:
        stopped = await process.stop_process(ctx, instance.id)
        assert stopped is not None
        return _read(stopped, stopped)
    return await status(ctx, tenant_id=tenant_id)


async def status(ctx: AppContext, *, tenant_id: str) -> InstanceRead | None:
    async with ctx.sessionmaker() as session:
        instance = await _find(session, tenant_id)
    if instance is None:
        return None
    return await to_read(ctx, instance)


async def to_read(ctx: AppContext, instance: N8nInstance) -> InstanceRead:
    """The instance as people see it (a seat shows its shared instance's state)."""
    async with ctx.sessionmaker() as session:
        proc = await _process_row(session, instance)
    if proc.backend == k8s_instances.BACKEND:
        return await k8s_instances.read(ctx, proc, seat=instance if instance is not proc else None)
    return _read(instance, proc)
