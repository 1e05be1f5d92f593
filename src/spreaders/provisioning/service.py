"""Provision, start, stop and describe a tenant's n8n instance (local backend).

Provisioning is long (an npm install, a process start), so each step commits its own unit of work:
a crash between steps leaves a record the next call picks up (pid re-adopted, bootstrap resumed)
instead of an orphaned process or a half-written row.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.models import Tenant
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Conflict, Unavailable
from spreaders.provisioning import installer
from spreaders.provisioning.backends import local
from spreaders.provisioning.bootstrap_n8n import bootstrap_owner_and_key, new_owner_password
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import N8nInstance
from spreaders.provisioning.schemas import InstanceConnection, InstanceRead
from spreaders.provisioning.tiers import get_tier
from spreaders.vault.sealed import row_aad


def _aad(instance: N8nInstance) -> str:
    return row_aad(instance.tenant_id, N8nInstance.__tablename__, instance.id)


def _secrets(ctx: AppContext, instance: N8nInstance) -> dict[str, str]:
    if instance.secrets is None:
        return {}
    loaded: dict[str, str] = json.loads(ctx.cipher.open(instance.secrets, aad=_aad(instance)))
    return loaded


def _seal(ctx: AppContext, instance: N8nInstance, values: dict[str, str]) -> None:
    instance.secrets = ctx.cipher.seal(json.dumps(values).encode(), aad=_aad(instance))


async def _find(session: AsyncSession, tenant_id: str) -> N8nInstance | None:
    query = select(N8nInstance).where(N8nInstance.tenant_id == tenant_id, N8nInstance.backend == "local")
    return (await session.execute(query.order_by(N8nInstance.created_at).limit(1))).scalar_one_or_none()


# States in which no process is expected: not running is not "dead" there.
RESTING = ("new", "stopped", "deprovisioned")


def _read(instance: N8nInstance) -> InstanceRead:
    running = local.pid_alive(instance.pid)
    return InstanceRead(
        id=instance.id,
        backend=instance.backend,
        status=instance.status if running or instance.status in RESTING else "dead",
        version=instance.version,
        base_url=instance.base_url,
        pid=instance.pid if running else None,
        running=running,
        bootstrapped=instance.bootstrapped_at is not None,
        data_dir=instance.data_dir,
        created_at=instance.created_at,
        last_error=instance.last_error,
        tier=instance.tier,
        heap_mb=instance.heap_mb,
    )


async def _create(ctx: AppContext, tenant_id: str) -> N8nInstance:
    settings = ctx.settings.n8n
    async with ctx.unit_of_work() as session:
        tier = get_tier((await session.get_one(Tenant, tenant_id)).tier)
        instance = N8nInstance(
            id=new_id("n8n"),
            tenant_id=tenant_id,
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
        _seal(
            ctx, instance, {"encryption_key": secrets.token_hex(32), "owner_password": new_owner_password()}
        )
    return instance


def _spec(ctx: AppContext, instance: N8nInstance, binary: Path, encryption_key: str) -> local.ProcessSpec:
    return local.ProcessSpec(
        binary=binary,
        data_dir=Path(instance.data_dir),
        host=instance.host,
        port=instance.port,
        broker_port=instance.broker_port,
        encryption_key=encryption_key,
        expression_engine=ctx.settings.n8n.expression_engine,
        memory_limit_mb=instance.heap_mb or ctx.settings.n8n.memory_limit_mb,
    )


# A live process that answered its REST check this recently is trusted without asking again.
HEALTH_TTL_S = 2.0


async def _healthy(ctx: AppContext, instance: N8nInstance) -> bool:
    if not local.pid_alive(instance.pid):
        return False
    key = f"n8n-healthy:{instance.id}:{instance.pid}"
    if ctx.recently_checked.get(key, 0.0) > time.monotonic():
        return True
    if not await local.answers_rest(ctx.http, instance.base_url):
        return False
    ctx.recently_checked[key] = time.monotonic() + HEALTH_TTL_S
    return True


async def ensure_running(
    ctx: AppContext, *, tenant_id: str, progress: ProgressFn | None = None
) -> InstanceConnection:
    """Give the tenant a running, bootstrapped n8n: install, create, start or re-adopt as needed."""
    say = progress or (lambda _message: None)
    async with ctx.sessionmaker() as session:
        instance = await _find(session, tenant_id)
    if instance is None:
        say("creating an n8n instance record")
        instance = await _create(ctx, tenant_id)
    if instance.status == "deprovisioned":
        raise Conflict(
            "This workspace's n8n was deprovisioned (its workflows and credentials are in a backup).",
            hint="Restore it with `spreaders instances restore` (or POST /api/v1/instances/{id}/restore).",
        )
    binary = await installer.ensure_installed(ctx.settings.n8n.install_dir, instance.version, progress)
    values = _secrets(ctx, instance)
    if not await _healthy(ctx, instance):
        await local.terminate(instance.pid)
        await _start(ctx, instance, binary, values["encryption_key"], say)
    if "api_key" not in values:
        say("bootstrapping n8n (owner account and API key)")
        values["api_key"] = await bootstrap_owner_and_key(
            base_url=instance.base_url,
            email=instance.owner_email,
            password=values["owner_password"],
            timeout_s=ctx.settings.n8n.request_timeout_s,
        )
        async with ctx.unit_of_work() as session:
            row = await session.get_one(N8nInstance, instance.id)
            _seal(ctx, row, values)
            row.bootstrapped_at = utcnow()
    return InstanceConnection(instance_id=instance.id, base_url=instance.base_url, api_key=values["api_key"])


async def _start(
    ctx: AppContext, instance: N8nInstance, binary: Path, encryption_key: str, say: ProgressFn
) -> None:
    async with ctx.unit_of_work() as session:
        row = await session.get_one(N8nInstance, instance.id)
        if not local.port_is_free(row.host, row.port):
            row.port = local.free_port(row.host)
        if not local.port_is_free(row.host, row.broker_port):
            row.broker_port = local.free_port(row.host)
        spec = _spec(ctx, row, binary, encryption_key)
        say(f"starting n8n {row.version} on {spec.base_url}")
        row.pid = local.spawn(spec)
        row.status = "starting"
        row.last_error = ""
        instance.pid, instance.port, instance.broker_port = row.pid, row.port, row.broker_port
    try:
        waited = await local.wait_until_ready(ctx.http, spec, instance.pid, ctx.settings.n8n.start_timeout_s)
    except Unavailable as exc:
        await local.terminate(instance.pid)
        async with ctx.unit_of_work() as session:
            row = await session.get_one(N8nInstance, instance.id)
            row.status, row.pid, row.last_error = "failed", None, exc.message[:2000]
        raise
    say(f"n8n ready after {waited:.1f}s")
    async with ctx.unit_of_work() as session:
        row = await session.get_one(N8nInstance, instance.id)
        row.status = "running"


async def connect(ctx: AppContext, *, tenant_id: str) -> InstanceConnection:
    """Return the connection to the tenant's running instance without starting anything."""
    async with ctx.sessionmaker() as session:
        instance = await _find(session, tenant_id)
    values = _secrets(ctx, instance) if instance else {}
    if instance is None or "api_key" not in values or not local.pid_alive(instance.pid):
        raise Unavailable("This workspace's n8n is not running.", hint="Start it with `spreaders n8n start`.")
    return InstanceConnection(instance_id=instance.id, base_url=instance.base_url, api_key=values["api_key"])


async def stop(ctx: AppContext, *, tenant_id: str) -> InstanceRead | None:
    """Stop the tenant's n8n process; its data folder and record stay for the next start."""
    async with ctx.unit_of_work() as session:
        instance = await _find(session, tenant_id)
        if instance is None:
            return None
        await local.terminate(instance.pid)
        instance.pid, instance.status = None, "stopped"
        await session.flush()
        return _read(instance)


async def status(ctx: AppContext, *, tenant_id: str) -> InstanceRead | None:
    async with ctx.sessionmaker() as session:
        instance = await _find(session, tenant_id)
    return _read(instance) if instance else None


# Public names for the instance operations (provisioning.lifecycle), which work on the same rows.
to_read = _read
open_secrets = _secrets
seal_secrets = _seal
