"""n8n instances on Kubernetes (`SPREADERS_PROVISIONING__BACKEND=kubernetes`): a dedicated tenant's, or
a shared free-pool instance (whose seats provisioning/pool.py manages): the instance record, its sealed
secrets and the `KubernetesBackend` calls, behind the provisioning service.

The record is the local backend's row with `backend="kubernetes"`: host and port name the instance's
Service, `data_dir` is `k8s://<namespace>/<name>` (the data lives on the pod's volume claim) and `pid`
stays empty. The encryption key and owner password are generated once and sealed in the row; every
provision call re-sends the same ones (a new key would lock n8n out of its own credentials).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from spreaders.accounts.models import Tenant
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Conflict, Unavailable
from spreaders.provisioning import process
from spreaders.provisioning.backends.kubernetes import targets
from spreaders.provisioning.backends.kubernetes.backend import KubernetesBackend, owner_email
from spreaders.provisioning.backends.kubernetes.manifests import InstanceSecrets, InstanceTarget
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import DEDICATED, SHARED, N8nInstance
from spreaders.provisioning.schemas import InstanceConnection, InstanceRead
from spreaders.provisioning.tiers import Tier, get_tier

BACKEND = "kubernetes"
SERVICE_PORT = 80  # the Service's port (manifests.service); n8n listens on 5678 behind it


def target(ctx: AppContext, row: N8nInstance, tier: Tier | None = None) -> InstanceTarget:
    if row.kind == SHARED:
        return targets.pool_target(ctx.settings, instance_id=row.id, capacity=row.capacity)
    assert row.tenant_id is not None
    # A dedicated row exists only for a tier that has one or for the embedded mode's tenant.
    return targets.dedicated_target(
        ctx.settings,
        tenant_id=row.tenant_id,
        instance_id=row.id,
        tier=tier or get_tier(row.tier),
        embedded=True,
    )


def reach_url(ctx: AppContext, row: N8nInstance) -> str:
    return targets.reach_url(ctx.settings.kubernetes, target(ctx, row))


@asynccontextmanager
async def cluster(ctx: AppContext) -> AsyncIterator[KubernetesBackend]:
    """A backend connected to the configured cluster, closed on leaving."""
    backend = await KubernetesBackend.connect(ctx.settings.kubernetes)
    try:
        yield backend
    finally:
        await backend.close()


def place(ctx: AppContext, row: N8nInstance) -> None:
    """Fill a new record's address (its Service), data location (its volume claim) and owner."""
    where = target(ctx, row)
    row.backend, row.port = BACKEND, SERVICE_PORT
    row.host, row.data_dir = where.service_host, f"k8s://{where.namespace}/{where.name}"
    row.owner_email = owner_email(where)


async def reload(ctx: AppContext, instance_id: str) -> N8nInstance:
    async with ctx.sessionmaker() as session:
        return await session.get_one(N8nInstance, instance_id)


async def create(ctx: AppContext, tenant_id: str) -> N8nInstance:
    """Record the tenant's instance and seal its encryption key and owner password (made once)."""
    async with ctx.unit_of_work() as session:
        tier = get_tier((await session.get_one(Tenant, tenant_id)).tier)
        row = N8nInstance(
            id=new_id("n8n"),
            tenant_id=tenant_id,
            kind=DEDICATED,
            status="new",
            version=ctx.settings.n8n.version,
            tier=tier.name,
            heap_mb=tier.resources.node_heap_mb,
        )
        place(ctx, row)
        session.add(row)
        await session.flush()
        process.seal_first_secrets(ctx, row)
    return row


async def _set_status(ctx: AppContext, instance_id: str, status: str, error: str = "") -> None:
    async with ctx.unit_of_work() as session:
        row = await session.get_one(N8nInstance, instance_id)
        row.status, row.last_error = status, error[:2000]


async def _ready(ctx: AppContext, row: N8nInstance, where: InstanceTarget, values: dict[str, str]) -> bool:
    """A running, bootstrapped instance whose pod the cluster reports ready (asked at most every
    HEALTH_TTL_S): every run resolves its target through `ensure_running`, which must stay cheap."""
    if row.status != "running" or "api_key" not in values:
        return False
    key = f"k8s-ready:{row.id}"
    if ctx.recently_checked.get(key, 0.0) > time.monotonic():
        return True
    async with cluster(ctx) as backend:
        found = await backend.status(where)
    if found is None or not found.ready:
        return False
    ctx.recently_checked[key] = time.monotonic() + process.HEALTH_TTL_S
    return True


async def ensure_running(
    ctx: AppContext, row: N8nInstance, progress: ProgressFn | None
) -> InstanceConnection:
    """Apply the instance's objects (idempotent), wait for its pod, bootstrap it once, seal the key."""
    say = progress or (lambda _message: None)
    if row.status == "deprovisioned":
        raise Conflict("This workspace's n8n on Kubernetes was deprovisioned.", hint="Provision a new one.")
    values = process.opened(ctx, row)
    where = target(ctx, row)
    if await _ready(ctx, row, where, values):
        return InstanceConnection(instance_id=row.id, base_url=reach_url(ctx, row), api_key=values["api_key"])
    keys = InstanceSecrets(encryption_key=values["encryption_key"], owner_password=values["owner_password"])
    async with cluster(ctx) as backend:
        say(f"applying n8n's objects in namespace {where.namespace}")
        await backend.provision(where, keys)
        await _set_status(ctx, row.id, "starting")
        say("waiting for the n8n pod to be ready")
        try:
            waited = await backend.wait_ready(where, timeout_s=ctx.settings.kubernetes.ready_timeout_s)
        except Unavailable as exc:
            await _set_status(ctx, row.id, "failed", exc.message)
            raise
        say(f"n8n ready after {waited:.1f}s")
        if "api_key" not in values:
            say("bootstrapping n8n (owner account and API key) through its Service")
            values["api_key"] = await backend.bootstrap(
                where, keys, timeout_s=ctx.settings.n8n.request_timeout_s
            )
    async with ctx.unit_of_work() as session:
        stored = await session.get_one(N8nInstance, row.id)
        stored.status, stored.last_error = "running", ""
        if stored.bootstrapped_at is None:
            process.seal(ctx, stored, values)
            stored.bootstrapped_at = utcnow()
    return InstanceConnection(instance_id=row.id, base_url=reach_url(ctx, row), api_key=values["api_key"])


def connection(ctx: AppContext, row: N8nInstance) -> InstanceConnection | None:
    """The recorded connection of a running, bootstrapped instance; None otherwise (nothing is asked
    of the cluster: the orchestrator's calls find out soon enough if the pod went away)."""
    values = process.opened(ctx, row)
    if row.status != "running" or "api_key" not in values:
        return None
    return InstanceConnection(instance_id=row.id, base_url=reach_url(ctx, row), api_key=values["api_key"])


async def read(ctx: AppContext, row: N8nInstance, seat: N8nInstance | None = None) -> InstanceRead:
    """The record (or a seat on this shared instance), with readiness as the cluster reports it."""
    async with cluster(ctx) as backend:
        found = await backend.status(target(ctx, row))
    ready = found is not None and found.ready
    shown = seat or row
    return InstanceRead(
        id=shown.id,
        kind=shown.kind,
        backend=row.backend,
        # Recorded as running, yet the cluster has no ready pod (evicted, crashing, rolling out).
        status="not ready" if row.status == "running" and not ready else row.status,
        version=row.version,
        base_url=reach_url(ctx, row),
        pid=None,
        running=ready,
        bootstrapped=shown.bootstrapped_at is not None,
        data_dir=row.data_dir,
        created_at=shown.created_at,
        last_error=row.last_error or (found.message if found and not ready else ""),
        tier=shown.tier,
        heap_mb=shown.heap_mb,
    )


async def halt(ctx: AppContext, row: N8nInstance) -> None:
    """Scale the Deployment to no pod; the volume, Secret and record stay, the next run scales it back."""
    async with cluster(ctx) as backend:
        await backend.stop(target(ctx, row))
    ctx.recently_checked.pop(f"k8s-ready:{row.id}", None)
    await _set_status(ctx, row.id, "stopped")
    row.status = "stopped"


async def stop(ctx: AppContext, row: N8nInstance) -> InstanceRead:
    """Stop the instance (`halt`) and read it back."""
    await halt(ctx, row)
    return await read(ctx, row)


async def scale(ctx: AppContext, row: N8nInstance, tier: Tier) -> None:
    """Resize the pod (requests, limits, heap) and grow the volume claim; a new pod rolls out, and the
    next `ensure_running` waits for it."""
    if row.status == "deprovisioned":
        raise Conflict(f"Instance {row.id} is deprovisioned.", hint="Provision a new one, then scale it.")
    async with cluster(ctx) as backend:
        await backend.scale(target(ctx, row, tier))
    if row.status == "running":
        await _set_status(ctx, row.id, "starting")


async def remove(ctx: AppContext, row: N8nInstance) -> None:
    """Delete a dedicated instance's namespace with everything in it (its volume's data included)."""
    async with cluster(ctx) as backend:
        await backend.deprovision(target(ctx, row).namespace)
    ctx.recently_checked.pop(f"k8s-ready:{row.id}", None)


async def wait_removed(ctx: AppContext, row: N8nInstance) -> None:
    """Wait until the namespace of a removed instance is gone, so a new one can be made under its name."""
    async with cluster(ctx) as backend:
        await backend.wait_gone(target(ctx, row).namespace, timeout_s=ctx.settings.kubernetes.ready_timeout_s)
